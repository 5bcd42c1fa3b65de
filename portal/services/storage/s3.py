"""Any S3-compatible store (Cloudflare R2, AWS S3, MinIO) through boto3; downloads are presigned URLs."""

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError


class StorageError(Exception):
    """The object store failed or refused; the message says what happened."""


def attachment_header(filename):
    """`attachment; filename=...` with an ASCII fallback and the UTF-8 name (RFC 6266)."""
    from urllib.parse import quote

    ascii_name = (
        "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\' else "_" for ch in filename) or "download"
    )
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


class S3Storage:
    """Objects in one bucket; the portal never streams them: browsers fetch presigned, expiring URLs."""

    name = "s3"
    presigns = True

    def __init__(self, bucket, endpoint_url=None, region=None, access_key_id=None, secret_access_key=None):
        self.bucket = bucket
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint_url or None,
            region_name=region or "auto",
            aws_access_key_id=access_key_id or None,
            aws_secret_access_key=secret_access_key or None,
            config=BotoConfig(
                signature_version="s3v4",
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=10,
                read_timeout=60,
            ),
        )

    @classmethod
    def from_config(cls, config):
        """The bucket and credentials from the S3_* settings."""
        if not config.get("S3_BUCKET"):
            raise RuntimeError("MEDIA_STORAGE_BACKEND=s3 needs S3_BUCKET")
        return cls(
            config["S3_BUCKET"],
            config.get("S3_ENDPOINT_URL"),
            config.get("S3_REGION"),
            config.get("S3_ACCESS_KEY_ID"),
            config.get("S3_SECRET_ACCESS_KEY"),
        )

    def put(self, key, fileobj, content_type):
        """Upload a readable file object (multipart above boto3's threshold, never whole in memory)."""
        extra = {"ContentType": content_type, "ContentDisposition": "attachment"}
        try:
            self.client.upload_fileobj(fileobj, self.bucket, key, ExtraArgs=extra)
        except (BotoCoreError, ClientError) as error:
            raise StorageError(f"the object store did not take the file: {error}") from error

    def delete(self, key):
        """Remove an object (S3 answers a missing one as done)."""
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except (BotoCoreError, ClientError) as error:
            raise StorageError(f"the object store did not delete the file: {error}") from error

    def exists(self, key):
        """Whether the object is there."""
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise StorageError(str(error)) from error
        return True

    def download_url(self, key, filename, content_type, expires_in):
        """A presigned GET that expires, answered as an attachment of the stored type."""
        return self.client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": key,
                "ResponseContentDisposition": attachment_header(filename),
                "ResponseContentType": content_type,
            },
            ExpiresIn=int(expires_in),
        )
