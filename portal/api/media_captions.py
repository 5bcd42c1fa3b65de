"""Caption tracks through the API: upload (.vtt/.srt), list, delete, and ask Stream to generate one."""

from flask import request
from werkzeug.exceptions import RequestEntityTooLarge

from portal.api import bp
from portal.auth.access import api_login_required, api_user
from portal.body_limits import allows_body
from portal.errors import APIError
from portal.extensions import db
from portal.models import Role
from portal.services.media import captions
from portal.services.media.caption_files import MAX_CAPTION_BYTES
from portal.services.media.permissions import managed_asset, viewable_asset

# The caption file plus the multipart envelope and the small text fields.
CAPTION_BODY_BYTES = MAX_CAPTION_BYTES + 64 * 1024
STAFF = (Role.ADMIN, Role.INSTRUCTOR)


def caption_form():
    """(bytes, filename, language, label) of a multipart caption upload, read under the caption cap."""
    request.max_content_length = CAPTION_BODY_BYTES
    try:
        upload = request.files.get("caption_file")
        language, label = request.form.get("language"), request.form.get("label")
        if upload is None:
            raise APIError(
                400,
                "missing_field",
                "Send the captions as a multipart file field 'caption_file'.",
                field="caption_file",
            )
        data = upload.stream.read(MAX_CAPTION_BYTES + 1)
    except RequestEntityTooLarge:
        raise APIError(
            413, "caption_too_large", "The caption file is larger than Cloudflare's 10 MB limit."
        ) from None
    return data, upload.filename, language, label


@bp.post("/media/<asset_id>/captions")
@allows_body(
    CAPTION_BODY_BYTES, "caption_too_large", "The caption file is larger than Cloudflare's 10 MB limit."
)
@api_login_required(*STAFF)
def upload_caption(asset_id):
    """Add or replace the track of one language; SRT is converted to WebVTT for Stream."""
    asset = managed_asset(api_user(), asset_id)
    data, filename, language, label = caption_form()
    caption = captions.upload_caption(asset, api_user(), data, filename, language, label)
    db.session.commit()
    return {"caption": captions.caption_json(caption)}, 201


@bp.get("/media/<asset_id>/captions")
def list_captions(asset_id):
    """The video's tracks (generated ones still in progress are asked about on Stream)."""
    asset = viewable_asset(api_user(), asset_id)
    if captions.refresh_generating(asset):
        db.session.commit()
    return {"captions": [captions.caption_json(c) for c in asset.captions]}


@bp.delete("/media/<asset_id>/captions/<language>")
@api_login_required(*STAFF)
def delete_caption(asset_id, language):
    """Remove one language's track from Stream and the portal."""
    asset = managed_asset(api_user(), asset_id)
    captions.delete_caption(asset, api_user(), language)
    db.session.commit()
    return "", 204


@bp.post("/media/<asset_id>/captions/<language>/generate")
@api_login_required(*STAFF)
def generate_caption(asset_id, language):
    """Ask Stream to generate a track from the audio; it shows as generating until Stream is done."""
    asset = managed_asset(api_user(), asset_id)
    caption = captions.generate_caption(asset, api_user(), language)
    db.session.commit()
    return {"caption": captions.caption_json(caption)}, 202
