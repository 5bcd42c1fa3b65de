"""The periodic jobs, all listed here, and the RQ cron scheduler (`rq.cron`) that `flask worker` runs
beside its worker.

Each entry is a job function (importable by dotted path, taking no arguments, idempotent), the queue
it goes to and how often, in seconds. Several workers each run a scheduler, so a job may be enqueued
once per worker per interval: the jobs are idempotent and cheap when there is nothing to do.
"""

import logging
import threading
from dataclasses import dataclass

from redis import RedisError
from rq.cron import CronScheduler

from config import Config
from portal.jobs import media
from portal.jobs.analytics import refresh_default_analytics
from portal.jobs.processing import sweep_processing
from portal.jobs.uploads import cleanup_expired_uploads
from portal.jobs.webhooks import reconcile_stream

log = logging.getLogger(__name__)

RETRY_AFTER_ERROR_SECONDS = 5


@dataclass(frozen=True)
class PeriodicJob:
    """A job RQ's cron scheduler enqueues every `interval` seconds on `queue`."""

    func: object
    queue: str
    interval: int
    job_timeout: int = 600


SCHEDULE = [
    # Deliveries recorded while Redis was down, and videos stuck in processing (webhook lost).
    PeriodicJob(reconcile_stream, "webhooks", interval=300),
    # Uploads idle for UPLOAD_SESSION_TTL lose their chunks (and stale incoming files go).
    PeriodicJob(cleanup_expired_uploads, "uploads", interval=Config.UPLOAD_CLEANUP_INTERVAL),
    # Every processing video followed by its own backing-off checks (portal/jobs/processing.py).
    PeriodicJob(sweep_processing, "default", interval=Config.PROCESSING_SWEEP_SECONDS),
    # Stream's minutes viewed for the analytics page, and the monthly cost alert.
    PeriodicJob(refresh_default_analytics, "default", interval=Config.ANALYTICS_REFRESH_SECONDS),
    # Media management: Stream changes and deletions whose retry jobs Redis may have lost.
    PeriodicJob(media.requeue_unfinished, media.QUEUE, interval=media.REQUEUE_INTERVAL),
    # Stream videos made by the portal that no asset uses any more (they cost storage).
    PeriodicJob(media.remove_stream_orphans, media.QUEUE, interval=Config.STREAM_ORPHAN_SWEEP_SECONDS),
]


def build_scheduler(connection, schedule=None):
    """An RQ CronScheduler with every periodic job registered."""
    scheduler = CronScheduler(connection=connection)
    for job in SCHEDULE if schedule is None else schedule:
        scheduler.register(job.func, job.queue, interval=job.interval, job_timeout=job.job_timeout)
    return scheduler


def run_scheduler(scheduler, stop):
    """Enqueue due jobs until `stop` is set (the first round always runs); Redis errors are logged
    and retried, so the schedule outlives a Redis restart. CronScheduler.start() installs signal
    handlers, which only the main thread may; this is its loop, for a thread beside the worker."""
    registered = False
    while True:
        try:
            if not registered:
                scheduler.register_birth()
                registered = True
            if scheduler.enqueue_jobs():
                scheduler.save()
            scheduler.heartbeat()
            wait = scheduler.calculate_sleep_interval()
        except RedisError as error:
            log.warning("Cron scheduler: Redis unavailable (%s); retrying", error)
            wait = RETRY_AFTER_ERROR_SECONDS
        if stop.wait(wait):
            break
    try:
        scheduler.register_death()
    except RedisError:
        pass


def start_scheduler(connection, schedule=None):
    """Run the cron scheduler in a daemon thread; returns a function that stops it and waits."""
    scheduler = build_scheduler(connection, schedule)
    stop = threading.Event()
    thread = threading.Thread(target=run_scheduler, args=(scheduler, stop), name="rq-cron", daemon=True)
    thread.start()

    def stop_scheduler():
        stop.set()
        thread.join(timeout=10)

    return stop_scheduler
