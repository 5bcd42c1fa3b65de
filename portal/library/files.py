"""Serving stored files from the filesystem backend through signed, expiring links, as attachments."""

from flask import abort, current_app, redirect, send_file, url_for
from flask_login import current_user

from portal.errors import APIError
from portal.extensions import db
from portal.library import bp
from portal.services.media import files
from portal.services.media.permissions import viewable_asset
from portal.services.storage import get_storage


@bp.route("/files/<token>")
def media_file(token):
    """The file a download link names, as an attachment of its checked type (never rendered in the portal)."""
    try:
        asset = files.asset_for_token(
            token,
            current_app.config["SECRET_KEY"],
            current_app.config["MEDIA_DOWNLOAD_SECONDS"],
            current_user if current_user.is_authenticated else None,
        )
    except APIError as error:
        abort(error.status, error.message)
    path = get_storage().path(asset.object_storage_key)
    if not path.is_file():
        abort(404)
    response = send_file(
        path, mimetype=asset.mime_type, as_attachment=True, download_name=asset.filename or "download"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/download/<asset_id>")
def open_file(asset_id):
    """Count a download of a file the visitor may open, and send them to its expiring link."""
    try:
        asset = viewable_asset(current_user if current_user.is_authenticated else None, asset_id)
        kind, value = files.download(
            asset,
            current_user,
            current_app.config["SECRET_KEY"],
            current_app.config["MEDIA_DOWNLOAD_SECONDS"],
        )
    except APIError as error:
        abort(error.status, error.message)
    db.session.commit()
    return redirect(value if kind == "url" else url_for("library.media_file", token=value))
