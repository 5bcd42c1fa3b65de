"""Jobs that finish what a Stream outage interrupted (requireSignedURLs changes and deletions), and
the removal of Stream videos no asset uses."""

import logging

from flask import current_app
from rq import Retry
from rq.exceptions import DuplicateJobError
from sqlalchemy import select

from portal.extensions import db
from portal.jobs import in_app_context
from portal.models import MediaAsset
from portal.services import stream_orphans
from portal.services.media import deletion, editing

log = logging.getLogger(__name__)

QUEUE = "default"
RETRY_INTERVALS = [5, 30, 60, 300, 900, 1800]
JOB_TIMEOUT = 120
REQUEUE_INTERVAL = 300  # seconds between periodic re-enqueues (portal/jobs/schedule.py)


def _enqueue(function, job_id, asset_id):
    """Enqueue a job under its deterministic id; False when one with that id is already there."""
    queue = current_app.extensions["redis"].queue(QUEUE)
    try:
        queue.enqueue(
            function,
            asset_id,
            job_id=job_id,
            unique=True,
            retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
            job_timeout=JOB_TIMEOUT,
        )
    except DuplicateJobError:
        return False
    return True


def enqueue_access_sync(asset_id):
    """Queue `sync_stream_access` for an asset (after the commit that marked it pending)."""
    return _enqueue(sync_stream_access, f"media-access-sync-{asset_id}", asset_id)


def enqueue_deletion(asset_id):
    """Queue `finish_media_deletion` for an asset (after the commit that marked it for deletion)."""
    return _enqueue(finish_media_deletion, f"media-delete-{asset_id}", asset_id)


@in_app_context
def sync_stream_access(asset_id):
    """RQ job: set Stream's requireSignedURLs to the asset's access level; StreamError propagates for Retry."""
    asset = db.session.get(MediaAsset, asset_id)
    if asset is None or not asset.stream_sync_pending or not asset.stream_video_id:
        return "nothing to do"
    try:
        editing.sync_signed_urls(asset)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return "synced"


@in_app_context
def finish_media_deletion(asset_id):
    """RQ job: delete a marked asset's Stream video and then the asset; raises while Stream fails."""
    asset = db.session.get(MediaAsset, asset_id)
    if asset is None or asset.deletion_requested_at is None:
        return "nothing to do"
    try:
        done = deletion.delete_asset(asset, None)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    if not done:
        raise RuntimeError(f"Stream could not delete the video of asset {asset_id} yet")
    return "deleted"


@in_app_context
def requeue_unfinished():
    """Periodic: enqueue the jobs of assets still pending a Stream change or a deletion (Redis may have lost them)."""
    pending = db.session.scalars(select(MediaAsset.id).where(MediaAsset.stream_sync_pending.is_(True))).all()
    deleting = db.session.scalars(
        select(MediaAsset.id).where(MediaAsset.deletion_requested_at.is_not(None))
    ).all()
    for asset_id in pending:
        enqueue_access_sync(asset_id)
    for asset_id in deleting:
        enqueue_deletion(asset_id)
    return {"access": len(pending), "deletions": len(deleting)}


@in_app_context
def remove_stream_orphans():
    """Scheduled job: delete the portal's Stream videos no asset uses (portal/services/stream_orphans.py)."""
    counts = stream_orphans.remove_orphans()
    db.session.rollback()  # read only
    return counts
