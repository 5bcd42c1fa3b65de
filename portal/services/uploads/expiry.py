"""Expiring idle uploads: the Redis index and the upload directory are both searched."""

import logging
import os
import shutil
import time

from portal.extensions import db
from portal.models import MediaAsset, MediaAssetStatus

from .store import UPLOAD_ID, last_change

log = logging.getLogger(__name__)

EXPIRED_REASON = "The upload was not finished within 24 hours; start it again."
INCOMING = ".incoming"


def cleanup_expired(service, now=None):
    """Delete uploads idle for longer than UPLOAD_SESSION_TTL; returns how many were removed.

    Finalized uploads are kept while their push can still succeed (their asset is not failed).
    Multipart files a crashed request left in the incoming folder are deleted too.
    """
    cutoff = (now or time.time()) - int(service.config["UPLOAD_SESSION_TTL"])
    store = service.store
    candidates = set(store.active_ids(idle_before=cutoff))
    names = os.listdir(service.upload_dir) if os.path.isdir(service.upload_dir) else []
    for name in names:
        if UPLOAD_ID.match(name) and last_change(os.path.join(service.upload_dir, name)) < cutoff:
            candidates.add(name)
    _remove_stale_incoming(os.path.join(service.upload_dir, INCOMING), cutoff)
    removed = 0
    for upload_id in sorted(candidates):
        try:
            removed += _expire(service, upload_id, cutoff)
        except Exception:
            # one unreadable session must not stop the others from being cleaned up, run after run
            log.exception("Upload %s could not be checked for expiry; skipped", upload_id)
    return removed


def _expire(service, upload_id, cutoff):
    """Remove one idle upload; 1 when an upload session was expired, else 0."""
    store = service.store
    session = store.load(upload_id)
    if session is None:
        store.forget(upload_id, 0, "expired")
        shutil.rmtree(store.directory(upload_id), ignore_errors=True)
        return 0
    if session["updated_at"] >= cutoff or session["status"] == "complete":
        return 0
    asset = db.session.get(MediaAsset, session["asset_id"])
    pushing = asset is not None and asset.status != MediaAssetStatus.FAILED
    if session["status"] == "finalizing" and pushing:
        return 0
    service.drop(session, "expired", EXPIRED_REASON)
    log.info("Upload %s expired; its chunks were deleted", upload_id)
    return 1


def _remove_stale_incoming(directory, cutoff):
    for name in os.listdir(directory) if os.path.isdir(directory) else []:
        path = os.path.join(directory, name)
        try:
            if os.path.getmtime(path) < cutoff:
                os.unlink(path)
        except OSError:
            pass
