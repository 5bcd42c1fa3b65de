"""Object storage for images and documents: the filesystem (embedded default) or any S3-compatible store."""

import threading

from portal.services.storage.filesystem import FilesystemStorage
from portal.services.storage.s3 import S3Storage, StorageError

BACKENDS = {"filesystem": FilesystemStorage, "s3": S3Storage}
_lock = threading.Lock()

__all__ = ["BACKENDS", "FilesystemStorage", "S3Storage", "StorageError", "build_storage", "get_storage"]


def build_storage(config):
    """The backend MEDIA_STORAGE_BACKEND names, built from its settings."""
    name = (config.get("MEDIA_STORAGE_BACKEND") or "filesystem").lower()
    if name not in BACKENDS:
        raise RuntimeError(f"MEDIA_STORAGE_BACKEND must be one of {', '.join(BACKENDS)}, not {name!r}")
    return BACKENDS[name].from_config(config)


def get_storage(app=None):
    """The storage backend of `app` (or the current app), built on first use."""
    if app is None:
        from flask import current_app

        app = current_app._get_current_object()
    storage = app.extensions.get("media_storage")
    if storage is None:
        with _lock:
            storage = app.extensions.get("media_storage")
            if storage is None:
                storage = app.extensions["media_storage"] = build_storage(app.config)
    return storage
