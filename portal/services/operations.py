"""What the operations page shows: queues, failed jobs, webhook deliveries, stuck assets, uploads
in flight and the disk they hold, and the Stream backend. Reads only, apart from requeueing a job."""

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from rq import Queue
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from sqlalchemy import select

from portal.extensions import db
from portal.models import MediaAsset, MediaAssetStatus, WebhookDelivery

FAILED_JOBS_SHOWN = 50
JOB_ID_MAX = 200


class JobNotFound(LookupError):
    """No failed job with that id in that queue (it was requeued, expired or never existed)."""


@dataclass
class FailedJob:
    """A job in a queue's failed registry, with the last line of its error."""

    id: str
    queue: str
    function: str
    ended_at: datetime | None
    error: str


def as_utc(moment):
    """A datetime with its timezone (SQLite hands back naive UTC times)."""
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)


def queue_depths(connection, names):
    """Per queue: jobs waiting, running, scheduled and failed."""
    rows = []
    for name in names:
        queue = Queue(name, connection=connection)
        rows.append(
            {
                "name": name,
                "queued": queue.count,
                "started": queue.started_job_registry.count,
                "scheduled": queue.scheduled_job_registry.count,
                "failed": queue.failed_job_registry.count,
            }
        )
    return rows


def last_error_line(exc_info):
    """The last non-empty line of a job's traceback (the exception and its message)."""
    lines = [line for line in (exc_info or "").strip().splitlines() if line.strip()]
    return lines[-1].strip()[:500] if lines else "(no error recorded)"


def failed_jobs(connection, names, limit=FAILED_JOBS_SHOWN):
    """The newest failed jobs across the queues, with their errors."""
    found = []
    for name in names:
        registry = Queue(name, connection=connection).failed_job_registry
        for job_id in registry.get_job_ids(0, limit - 1, desc=True):
            try:
                job = Job.fetch(job_id, connection=connection)
            except NoSuchJobError:
                continue
            result = job.latest_result()
            error = last_error_line(result.exc_string if result is not None else "")
            found.append(FailedJob(job.id, name, job.func_name, as_utc(job.ended_at), error))
    found.sort(key=lambda job: job.ended_at or datetime.min.replace(tzinfo=UTC), reverse=True)
    return found[:limit]


def requeue_failed_job(connection, queue_name, job_id):
    """Put a failed job back on its queue; JobNotFound when it is not in that failed registry."""
    registry = Queue(queue_name, connection=connection).failed_job_registry
    try:
        return registry.requeue(job_id)
    except (NoSuchJobError, InvalidJobOperation):
        raise JobNotFound(job_id) from None


def recent_deliveries(limit=20):
    """The latest webhook deliveries (newest first) with what applying them did."""
    return db.session.scalars(
        select(WebhookDelivery)
        .order_by(WebhookDelivery.received_at.desc(), WebhookDelivery.id.desc())
        .limit(limit)
    ).all()


def stuck_assets(older_than, limit=50):
    """Assets uploading or processing with no change for longer than `older_than`, with their age."""
    now = datetime.now(UTC)
    assets = db.session.scalars(
        select(MediaAsset)
        .where(
            MediaAsset.status.in_((MediaAssetStatus.UPLOADING, MediaAssetStatus.PROCESSING)),
            MediaAsset.updated_at < now - older_than,
        )
        .order_by(MediaAsset.updated_at)
        .limit(limit)
    ).all()
    return [(asset, now - as_utc(asset.updated_at)) for asset in assets]


def uploads_in_flight(upload_dir):
    """Each folder under UPLOAD_DIR (one per upload): its files, bytes and last change; and the total."""
    uploads, total = [], 0
    try:
        entries = sorted(os.scandir(upload_dir), key=lambda entry: entry.name)
    except FileNotFoundError:
        return uploads, 0
    for entry in entries:
        # An upload's folder holds its manifest; anything else (a seed's sample files, the folder
        # where direct uploads arrive) is not an upload in flight.
        if not entry.is_dir(follow_symlinks=False) or not os.path.exists(
            os.path.join(entry.path, "manifest.json")
        ):
            continue
        files, size, latest = 0, 0, entry.stat(follow_symlinks=False).st_mtime
        for root, _dirs, names in os.walk(entry.path):
            for name in names:
                try:
                    stat = os.stat(os.path.join(root, name), follow_symlinks=False)
                except FileNotFoundError:
                    continue  # finished and removed while we looked
                files, size, latest = files + 1, size + stat.st_size, max(latest, stat.st_mtime)
        uploads.append(
            {"id": entry.name, "files": files, "bytes": size, "changed": datetime.fromtimestamp(latest, UTC)}
        )
        total += size
    return uploads, total


def stream_backend(config):
    """Which Stream the portal talks to, for the page: the backend name and its API address."""
    return {
        "backend": config.get("STREAM_BACKEND") or "emulator",
        "api_base": config.get("CLOUDFLARE_API_BASE"),
    }


def human_age(delta):
    """'3 h 20 min', '12 min', '40 s'."""
    seconds = int(delta.total_seconds() if isinstance(delta, timedelta) else delta)
    if seconds >= 86400:
        return f"{seconds // 86400} d {seconds % 86400 // 3600} h"
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    if seconds >= 60:
        return f"{seconds // 60} min"
    return f"{max(seconds, 0)} s"


def human_bytes(count):
    """'1.5 GB', '320 KB', '12 B'."""
    for unit, size in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count} B"
