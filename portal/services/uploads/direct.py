"""Uploads that skip the chunk API: a whole file sent at once, and a video Stream copies from a URL."""

import os

from portal.extensions import db

from . import containers, metadata
from .assets import new_asset
from .errors import UploadError
from .store import chunk_name

FILE_FIELDS = {"file_name", "file_size", "sha256", "mime_type"}


def receive_direct_upload(service, path, file_name, user_id, metadata_fields):
    """A whole file already streamed to `path` under UPLOAD_DIR becomes a finalized one-chunk upload.

    The file is moved (renamed on the same disk), never copied. Returns the session.
    """
    size = os.path.getsize(path)
    fields = metadata.checked_metadata(
        {**metadata_fields, "file_name": file_name}, service.config["UPLOAD_DIRECT_MAX_SIZE"], size=size
    )
    with open(path, "rb") as handle:
        if not containers.matches_extension(handle.read(64), fields["extension"]):
            raise UploadError(
                415,
                "unsupported_container",
                f"The file does not start like a {containers.describe(fields['extension'])} video.",
            )
    session = service.open_session(fields, user_id, size, 1, "direct")
    os.replace(path, os.path.join(service.store.directory(session["upload_id"]), chunk_name(0)))
    service.store.record_chunk(session, 0, "")
    service.store.finalize(session["upload_id"])
    return service.store.load(session["upload_id"])


def create_copy_asset(service, url, user_id, metadata_fields):
    """The asset (`uploading`) of a video Stream will copy from `url`; the copy job asks Stream.

    The file's own fields (name, size, checksum) belong to uploads of a file and are refused here.
    """
    refused = sorted(FILE_FIELDS & set(metadata_fields))
    if refused:
        raise UploadError(422, "unknown_field", f"A URL upload takes no '{refused[0]}'.", field=refused[0])
    checked = {**metadata_fields, "file_name": "copy.mp4", "file_size": 1}
    fields = metadata.checked_metadata(checked, service.config["UPLOAD_MAX_FILE_SIZE"])
    asset = new_asset(fields, user_id)
    asset.filename, asset.file_size_bytes, asset.mime_type = None, None, None
    asset.extra_metadata = {"source_url": url}
    db.session.add(asset)
    db.session.flush()
    return asset
