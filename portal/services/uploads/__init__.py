"""Chunked uploads: sessions in Redis, chunks under UPLOAD_DIR, one UploadService per app."""

from flask import current_app

from .assets import requires_signed_urls
from .errors import UploadError
from .service import UploadService

__all__ = ["UploadError", "UploadService", "get_upload_service", "requires_signed_urls"]


def get_upload_service(app=None):
    """An UploadService on the app's Redis and settings (cheap: no network until used)."""
    app = app or current_app
    return UploadService(app.extensions["redis"].connection, app.config)
