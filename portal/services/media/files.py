"""Images and documents: stored in object storage after their checks, downloaded through expiring links."""

import logging
import secrets

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from portal.errors import APIError
from portal.extensions import db
from portal.models import MediaAccessLevel, MediaAsset, MediaAssetStatus, MediaType, StorageProvider, User
from portal.services.media import access, editing
from portal.services.media.file_types import HEAD_BYTES, check_file
from portal.services.storage import StorageError, get_storage

log = logging.getLogger(__name__)
SALT = "media-download"


def store_file(user, fileobj, filename, fields, max_bytes):
    """Check and store an uploaded image or document with its metadata; returns the new asset (flushed).

    `fileobj` is seekable (werkzeug spools uploads to disk); it is read in chunks, never whole.
    """
    fileobj.seek(0, 2)
    size = fileobj.tell()
    fileobj.seek(0)
    if size > max_bytes:
        raise APIError(
            413, "file_too_large", f"Files are limited to {max_bytes // (1024 * 1024)} MB.", field="file"
        )
    kind = check_file(fileobj.read(HEAD_BYTES), filename, fields.pop("media_type", None) or None)
    fileobj.seek(0)
    draft = MediaAsset(title="", description="", access_level=MediaAccessLevel.MEMBERS_ONLY)
    fields.setdefault("title", (filename or "").rsplit(".", 1)[0][:200] or "Untitled")
    values = editing.parse_changes(fields, draft)
    asset = MediaAsset(
        title=values["title"],
        description=values["description"],
        access_level=values["access_level"],
        required_tier=values["required_tier"],
        entity_type=values["entity_type"],
        entity_id=values["entity_id"],
        media_type=MediaType(kind.media_type),
        storage_provider=StorageProvider.ZERODB,
        status=MediaAssetStatus.READY,
        filename=(filename or f"file{kind.extensions[0]}")[-255:],
        file_size_bytes=size,
        mime_type=kind.mime,
        created_by=user.id,
    )
    asset.tags = values["tags"]
    db.session.add(asset)
    db.session.flush()
    asset.object_storage_key = f"media/{asset.id}/{secrets.token_hex(8)}{kind.extensions[0]}"
    try:
        get_storage().put(asset.object_storage_key, fileobj, kind.mime)
    except (StorageError, OSError) as error:
        log.warning("Storing %s failed: %s", asset.id, error)
        raise APIError(
            503,
            "storage_unavailable",
            "The file store could not take the file; nothing was saved. Try again.",
        ) from None
    db.session.flush()
    return asset


def _serializer(secret_key):
    return URLSafeTimedSerializer(secret_key, salt=SALT)


def download(asset, user, secret_key, expires_in):
    """Count a download and return ("url", presigned URL) for S3 or ("token", signed token) for the filesystem."""
    if not asset.object_storage_key:
        raise APIError(409, "not_a_file", "This asset has no stored file to download.")
    asset.download_count = (asset.download_count or 0) + 1
    db.session.flush()
    storage = get_storage()
    if storage.presigns:
        return "url", storage.download_url(
            asset.object_storage_key, asset.filename or "download", asset.mime_type, expires_in
        )
    token = _serializer(secret_key).dumps({"a": asset.id, "u": getattr(user, "id", None)})
    return "token", token


def asset_for_token(token, secret_key, max_age, visitor=None):
    """The asset a filesystem download token names, or a 403/404 APIError (expired, forged, gone).

    The link is checked again when it is followed: the member it was made for must still be allowed
    to open the file (its access or their tier may have changed), and a signed-in visitor must be
    that member.
    """
    try:
        data = _serializer(secret_key).loads(token, max_age=max_age)
    except SignatureExpired:
        raise APIError(
            403, "link_expired", "This download link has expired; open the file again from the portal."
        ) from None
    except BadSignature:
        raise APIError(403, "invalid_link", "This download link is not valid.") from None
    asset = db.session.get(MediaAsset, data.get("a")) if isinstance(data, dict) else None
    if asset is None or asset.deletion_requested_at is not None or not asset.object_storage_key:
        raise APIError(404, "not_found", "This file no longer exists.")
    holder_id = data.get("u")
    if visitor is not None and holder_id is not None and visitor.id != holder_id:
        raise APIError(403, "not_your_link", "This download link was made for another account.")
    holder = db.session.get(User, holder_id) if isinstance(holder_id, int) else None
    decision = access.visibility(holder, asset)
    if not decision.visible or decision.locked:
        raise APIError(
            403, "no_longer_allowed", "This file is no longer open to you; open it again from the portal."
        )
    return asset
