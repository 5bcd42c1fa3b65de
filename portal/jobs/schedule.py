"""Periodic jobs, in one list, enqueued by RQ's cron scheduler that `flask worker` runs alongside."""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Entry:
    """One periodic job: the function, its queue and its interval in seconds."""

    func: Callable
    queue: str
    interval: int


def entries(config):
    """Every periodic job of the portal."""
    from portal.jobs import media, uploads

    return [
        # Uploads idle past UPLOAD_SESSION_TTL lose their chunks
        Entry(uploads.cleanup_expired_uploads, "uploads", int(config["UPLOAD_CLEANUP_INTERVAL"])),
        # Media management: finish Stream changes and deletions whose jobs Redis may have lost
        Entry(media.requeue_unfinished, media.QUEUE, int(config["MEDIA_REQUEUE_INTERVAL"])),
    ]


def build_scheduler(connection, config):
    """An rq.cron.CronScheduler with every entry registered."""
    from rq.cron import CronScheduler

    scheduler = CronScheduler(connection=connection, name="portal-cron")
    for entry in entries(config):
        scheduler.register(entry.func, entry.queue, interval=entry.interval)
    return scheduler


def start_in_thread(connection, config, stop_event=None):
    """Run the scheduler's enqueue loop in a daemon thread (RQ's own `start` needs the main thread)."""
    scheduler = build_scheduler(connection, config)
    stop_event = stop_event or threading.Event()

    def loop():
        while not stop_event.is_set():
            try:
                scheduler.enqueue_jobs()
            except Exception:  # a Redis hiccup must not end the schedule
                log.exception("Scheduled jobs could not be enqueued")
            stop_event.wait(max(1.0, scheduler.calculate_sleep_interval()))

    thread = threading.Thread(target=loop, name="portal-cron", daemon=True)
    thread.start()
    return stop_event
