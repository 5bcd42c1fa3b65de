"""Images and documents through the API: upload to object storage, and expiring download links."""

from flask import current_app, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from portal.api import bp
from portal.auth.access import api_login_required, api_user
from portal.body_limits import allows_body
from portal.errors import APIError
from portal.extensions import db
from portal.models import Role
from portal.services.media import files
from portal.services.media.permissions import viewable_asset

FORM_FIELDS = (
    "title",
    "description",
    "tags",
    "access_level",
    "required_tier",
    "entity_type",
    "entity_id",
    "media_type",
)


def file_json(asset):
    """A stored file as the API returns it (no storage key, no URL: downloads go through /download)."""
    return {
        "id": asset.id,
        "title": asset.title,
        "media_type": asset.media_type.value,
        "mime_type": asset.mime_type,
        "filename": asset.filename,
        "file_size_bytes": asset.file_size_bytes,
        "access_level": asset.access_level.value,
        "required_tier": asset.required_tier.value if asset.required_tier else None,
        "entity_type": asset.entity_type.value if asset.entity_type else None,
        "entity_id": asset.entity_id,
        "download_count": asset.download_count,
    }


@bp.post("/media/files")
@allows_body("MEDIA_FILE_MAX_BYTES", "file_too_large", "The file is larger than the portal accepts.")
@api_login_required(Role.ADMIN, Role.INSTRUCTOR)
def upload_file():
    """Store an image or a PDF document (multipart `file` + metadata fields) → 201."""
    try:
        upload = request.files.get("file")
        fields = {name: request.form[name] for name in FORM_FIELDS if name in request.form}
    except RequestEntityTooLarge:
        raise APIError(413, "file_too_large", "The file is larger than the portal accepts.") from None
    if upload is None:
        raise APIError(400, "missing_field", "Send the file as a multipart field 'file'.", field="file")
    if "tags" in fields:
        fields["tags"] = fields["tags"].split(",")
    asset = files.store_file(
        api_user(), upload.stream, upload.filename, fields, current_app.config["MEDIA_FILE_MAX_BYTES"]
    )
    db.session.commit()
    return {"asset": file_json(asset)}, 201


@bp.get("/media/<asset_id>/download")
def download_file(asset_id):
    """An expiring download link for a file the caller may open (counted): presigned (S3) or signed (portal)."""
    asset = viewable_asset(api_user(), asset_id)
    expires_in = current_app.config["MEDIA_DOWNLOAD_SECONDS"]
    kind, value = files.download(asset, api_user(), current_app.config["SECRET_KEY"], expires_in)
    db.session.commit()
    url = value if kind == "url" else url_for("library.media_file", token=value, _external=True)
    return {"asset_id": asset.id, "download_url": url, "expires_in": expires_in}
