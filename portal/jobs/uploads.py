"""Upload jobs: push a finalized upload to Stream over tus, copy a video from a URL, expire idle uploads."""

import logging

from flask import current_app
from redis import RedisError
from rq import Retry, get_current_job
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus

from portal.extensions import db
from portal.jobs import in_app_context
from portal.jobs import media as media_jobs
from portal.jobs.processing import follow_processing
from portal.models import MediaAsset, MediaAssetStatus
from portal.services.stream import get_client
from portal.services.stream.errors import StreamError
from portal.services.stream_orphans import portal_tag
from portal.services.uploads import get_upload_service, requires_signed_urls
from portal.services.uploads.push import ChunkReader, resume_offset, send_chunks

log = logging.getLogger(__name__)

QUEUE = "uploads"
FAILURE_TTL = 30 * 24 * 3600


def push_job_id(upload_id):
    """The deterministic RQ job id of an upload's push."""
    return f"upload-push-{upload_id}"


def _enqueue(func, arg, job_id, timeout):
    """Enqueue once per id; a failed job under that id is requeued (the uploader asked again)."""
    config = current_app.config
    queue = current_app.extensions["redis"].queue(QUEUE)
    intervals = list(config["UPLOAD_RETRY_INTERVALS"])
    try:
        queue.enqueue(
            func,
            arg,
            job_id=job_id,
            unique=True,
            retry=Retry(max=len(intervals), interval=intervals) if intervals else None,
            job_timeout=timeout,
            failure_ttl=FAILURE_TTL,
        )
    except DuplicateJobError:
        try:
            job = Job.fetch(job_id, connection=queue.connection)
        except NoSuchJobError:
            return job_id
        if job.get_status() == JobStatus.FAILED:
            job.requeue()
    return job_id


def enqueue_push(upload_id):
    """Enqueue the push of a finalized upload (after the commit); returns its job id."""
    return _enqueue(push_upload, upload_id, push_job_id(upload_id), current_app.config["UPLOAD_JOB_TIMEOUT"])


def enqueue_copy(asset_id):
    """Enqueue the Stream copy of a URL upload; returns its job id."""
    return _enqueue(copy_from_url, asset_id, f"upload-copy-{asset_id}", 300)


def stream_metadata(asset):
    """What every Stream upload of the portal carries: name, signed URLs unless public, max duration,
    and the asset and portal it belongs to (portal/services/stream_orphans.py)."""
    fields = {
        "name": asset.title,
        "require_signed_urls": requires_signed_urls(asset),
        "max_duration_seconds": int(current_app.config["STREAM_MAX_DURATION_SECONDS"]),
        "meta": {"asset_id": asset.id, "portal": portal_tag()},
    }
    if asset.created_by:
        fields["creator"] = str(asset.created_by)
    return fields


def _last_attempt():
    job = get_current_job()
    return job is None or not job.retries_left


def _fail(asset_id, reason, final):
    """Record a failure the instructor can read; the asset is `failed` once no retry is left."""
    db.session.rollback()
    asset = db.session.get(MediaAsset, asset_id)
    if asset is None:
        return
    asset.processing_error = reason if final else f"{reason} Retrying."
    if final:
        asset.status = MediaAssetStatus.FAILED
    db.session.commit()


UNREACHABLE = "The portal could not reach Stream (the network or Stream was down)."


def push_failure(error):
    """The instructor's words for a failed push: Stream's refusal, or that Stream could not be reached.

    A transport failure (no HTTP answer) or a 5xx is not a refusal of the video; its details are
    in the job's log, not in the reason the instructor reads.
    """
    if error.status_code is None or error.status_code >= 500:
        log.warning("Stream unreachable during a push: %s", error.message)
        return UNREACHABLE
    return f"Stream refused the video: {error.message}"


@in_app_context
def push_upload(upload_id):
    """RQ job: stream the upload's chunks to Stream over tus, resuming from Stream's offset.

    Saves the tus URL and uid on the asset (committed) before the first byte; sets the asset
    `processing`, commits, and only then deletes the local chunks. Errors propagate for Retry.
    """
    service = get_upload_service()
    manifest = service.store.read_manifest(upload_id)
    if manifest is None:
        log.info("Upload %s has no chunks on disk (already pushed or removed); nothing to do", upload_id)
        return "missing"
    asset_id = manifest["asset_id"]
    try:
        return _push(service, manifest, asset_id)
    except StreamError as error:
        _fail(asset_id, push_failure(error), _last_attempt())
        raise
    except OSError:
        _fail(asset_id, "A part of the upload could not be read from the portal's disk.", _last_attempt())
        raise


def _push(service, manifest, asset_id):
    upload_id = manifest["upload_id"]
    asset = db.session.get(MediaAsset, asset_id)
    if asset is None:
        service.complete(upload_id)
        return "asset_deleted"
    client = get_client()
    reader = ChunkReader(service.store.directory(upload_id), manifest)
    try:
        offset = resume_offset(client, asset.stream_upload_url) if asset.stream_upload_url else None
        if asset.stream_upload_url and offset is None:
            log.warning(
                "Upload %s: Stream's tus URL for video %s expired; starting a fresh Stream upload",
                upload_id,
                asset.stream_video_id,
            )
        if offset is None:
            if manifest.get("sha256") and reader.sha256() != manifest["sha256"]:
                _fail(asset_id, "The file's SHA-256 does not match the one given at the start.", True)
                return "checksum_mismatch"
            created = client.initiate_chunked_upload(manifest["file_size"], stream_metadata(asset))
            asset.stream_upload_url, asset.stream_video_id = created["upload_url"], created["video_id"]
            asset.processing_error = None
            db.session.commit()
            sync_access_if_changed(asset)
            offset = 0
        log.info(
            "Upload %s: sending to Stream video %s from byte %d", upload_id, asset.stream_video_id, offset
        )
        send_chunks(client, asset.stream_upload_url, reader, offset)
    finally:
        reader.close()
    if asset.status in (MediaAssetStatus.UPLOADING, MediaAssetStatus.FAILED):
        asset.status = MediaAssetStatus.PROCESSING
    asset.processing_error = None
    db.session.commit()
    follow_after_push(asset_id)
    service.complete(upload_id)
    log.info(
        "Upload %s: Stream has all %d bytes of video %s",
        upload_id,
        manifest["file_size"],
        asset.stream_video_id,
    )
    return "pushed"


@in_app_context
def copy_from_url(asset_id):
    """RQ job: ask Stream to copy the asset's source URL; saves the uid and sets `processing`."""
    asset = db.session.get(MediaAsset, asset_id)
    if asset is None or asset.stream_video_id:
        return "nothing_to_do"
    try:
        video = get_client().upload_from_url(asset.extra_metadata["source_url"], stream_metadata(asset))
    except StreamError as error:
        _fail(asset_id, f"Stream could not copy the video: {error.message}", _last_attempt())
        raise
    asset.stream_video_id = video["uid"]
    asset.status = MediaAssetStatus.PROCESSING
    db.session.commit()
    sync_access_if_changed(asset)
    follow_after_push(asset_id)
    return "copying"


def sync_access_if_changed(asset):
    """Queue the requireSignedURLs sync if staff changed who may watch while the video was on its way."""
    if not asset.stream_sync_pending:
        return
    try:
        media_jobs.enqueue_access_sync(asset.id)
    except RedisError:
        log.warning("Could not queue the access sync of asset %s; the periodic requeue will", asset.id)


def follow_after_push(asset_id):
    """Follow the processing video until it settles, in case its webhook never comes.

    A Redis error is logged, not raised: the periodic sweep (portal/jobs/schedule.py) follows any
    processing video nobody follows.
    """
    try:
        follow_processing(asset_id)
    except RedisError:
        log.warning("Could not schedule the follow-up checks of asset %s; the sweep will", asset_id)


@in_app_context
def cleanup_expired_uploads():
    """Scheduled job: delete uploads idle for longer than UPLOAD_SESSION_TTL; returns how many."""
    removed = get_upload_service().cleanup_expired_uploads()
    db.session.commit()
    return removed
