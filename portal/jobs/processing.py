"""Following videos Stream is processing, so none stays stuck when its webhook never comes.

`follow_processing(asset_id)`, called after an asset is set to processing (and committed), schedules
a check of that one asset in 30 s; the check asks Stream and applies its answer through the same
never-backwards operation as the webhook job (`stream_events.settle`), then, while the video is
still processing, RQ runs it again after 60 s, 120 s, 240 s, then every 300 s (one job id per
asset, rescheduled by RQ's Repeat). `sweep_processing`, a periodic job, follows every processing
asset nobody is following (older ones, or ones whose checks ran out).
"""

import logging
from datetime import UTC, datetime, timedelta

from flask import current_app
from rq import Repeat, get_current_job
from rq.job import JobStatus
from sqlalchemy import select

from portal.extensions import db
from portal.jobs import in_app_context
from portal.jobs.notifications import committing_notifications
from portal.jobs.unique import enqueue_once
from portal.models import MediaAsset, MediaAssetStatus
from portal.services import stream_events
from portal.services.stream import StreamError, get_client
from portal.services.stream_payloads import InvalidPayload, check_video

log = logging.getLogger(__name__)

QUEUE = "default"
JOB_TIMEOUT = 60
FOLLOWED = (MediaAssetStatus.UPLOADING, MediaAssetStatus.PROCESSING)


def follow_job_id(asset_id):
    """The deterministic RQ job id of an asset's follow-up checks."""
    return f"follow-processing-{asset_id}"


def backoff_repeat(intervals, times):
    """An RQ Repeat waiting intervals[0], intervals[1], ... then the last interval, `times` times.

    RQ picks a repeat's interval by the repeats *left* (index repeats_left - 1, the last item when
    out of range), so the list it gets is the schedule reversed, one item per repeat.
    """
    waits = [intervals[min(n, len(intervals) - 1)] for n in range(times)]
    return Repeat(times=times, interval=list(reversed(waits)))


def follow_processing(asset_id):
    """Start following a committed processing asset: its first check runs in 30 s.

    Returns False when its checks are already scheduled or queued (calling twice is harmless).
    A finished, failed or stopped earlier run of the same id is replaced. Redis errors propagate.
    """
    config = current_app.config
    intervals = list(config["FOLLOW_PROCESSING_INTERVALS"])
    queue = current_app.extensions["redis"].queue(QUEUE)
    job_id = follow_job_id(asset_id)

    def schedule():
        # Queue.enqueue_in ignores unique=True, so the job is built and scheduled in two steps.
        job = queue.create_job(
            check_processing,
            args=(asset_id,),
            job_id=job_id,
            status=JobStatus.SCHEDULED,
            repeat=backoff_repeat(intervals[1:], config["FOLLOW_PROCESSING_CHECKS"] - 1),
            timeout=JOB_TIMEOUT,
            result_ttl=0,  # a settled asset's job is deleted, so it can be followed again later
            failure_ttl=7 * 24 * 3600,
        )
        queue.schedule_job(job, datetime.now(UTC) + timedelta(seconds=intervals[0]), unique=True)

    return enqueue_once(queue, job_id, schedule)


def check_asset(asset_id, stream=None):
    """Ask Stream about one followed asset and apply its answer; returns what happened.

    "settled" (ready or failed, by us or before), "processing" (ask again later), "gone" (no such
    asset) or "stream_error" (Stream did not answer; ask again later). Flushes; the caller commits.
    """
    asset = db.session.get(MediaAsset, asset_id)
    if asset is None:
        return "gone"
    if asset.status not in FOLLOWED:
        return "settled"
    if not asset.stream_video_id:
        return "processing"  # the upload has not reached Stream yet
    try:
        video = (stream or get_client()).get_video(asset.stream_video_id)
    except StreamError as error:
        db.session.refresh(asset, with_for_update=True)
        if asset.status in FOLLOWED and error.status_code == 404:
            stream_events.fail_missing(asset)
            return "settled"
        log.warning("Follow-up: Stream lookup of %s failed: %s", asset.stream_video_id, error)
        return "stream_error"
    try:
        check_video(video)
    except InvalidPayload as error:
        log.error("Follow-up: Stream's answer for %s cannot be applied: %s", asset.stream_video_id, error)
        return "stream_error"
    db.session.refresh(asset, with_for_update=True)  # a webhook may have settled it meanwhile
    stream_events.settle(asset, video)
    db.session.flush()
    return "settled" if asset.status not in FOLLOWED else "processing"


@in_app_context
def check_processing(asset_id):
    """RQ job: one follow-up check of an asset; stops its repeats once the asset has settled."""
    with committing_notifications():
        outcome = check_asset(asset_id)
    job = get_current_job()
    if job is not None and outcome in ("settled", "gone"):
        job.repeats_left = 0  # the worker reads this after we return: no further checks
    return outcome


@in_app_context
def sweep_processing(limit=500):
    """Periodic job: follow every processing asset nobody is following yet."""
    ids = db.session.scalars(
        select(MediaAsset.id)
        .where(MediaAsset.status == MediaAssetStatus.PROCESSING, MediaAsset.stream_video_id.is_not(None))
        .order_by(MediaAsset.updated_at)
        .limit(limit)
    ).all()
    db.session.rollback()  # end the read transaction; nothing was changed
    followed = sum(1 for asset_id in ids if follow_processing(asset_id))
    return {"processing": len(ids), "newly_followed": followed}
