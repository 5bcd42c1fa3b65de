"""The ONE list of the portal's periodic jobs, run by RQ's cron (`rq.cron`) inside `flask worker`."""

import logging
import threading
from dataclasses import dataclass
from typing import Any

from rq.cron import CronScheduler

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScheduleEntry:
    """A function RQ enqueues on a queue every `interval` seconds."""

    func: Any
    queue: str
    interval: int


def entries(config):
    """The periodic jobs, with intervals from the settings."""
    from portal.jobs.analytics import refresh_default_analytics
    from portal.jobs.processing import sweep_processing

    return [
        ScheduleEntry(sweep_processing, "default", config["PROCESSING_SWEEP_SECONDS"]),
        ScheduleEntry(refresh_default_analytics, "default", config["ANALYTICS_REFRESH_SECONDS"]),
    ]


def build_cron_scheduler(connection, config):
    """An rq.cron CronScheduler with every entry registered."""
    scheduler = CronScheduler(connection=connection, name=f"portal-cron-{threading.get_ident()}")
    for entry in entries(config):
        scheduler.register(entry.func, queue_name=entry.queue, interval=entry.interval)
    return scheduler


def run_in_background(connection, config, stop_event):
    """Run the cron scheduler's loop in a daemon thread until `stop_event` is set.

    (CronScheduler.start() installs signal handlers, which only the main thread may do, and the
    main thread belongs to the worker; so the thread runs the same enqueue/sleep loop itself.)
    """
    scheduler = build_cron_scheduler(connection, config)

    def loop():
        scheduler.register_birth()
        try:
            while not stop_event.is_set():
                try:
                    if scheduler.enqueue_jobs():
                        scheduler.save()
                    scheduler.heartbeat()
                except Exception:  # noqa: BLE001 - a Redis hiccup must not end the schedule
                    log.exception("Periodic jobs: enqueueing failed; trying again shortly")
                stop_event.wait(max(1.0, min(scheduler.calculate_sleep_interval(), 30)))
        finally:
            scheduler.register_death()

    thread = threading.Thread(target=loop, name="portal-cron", daemon=True)
    thread.start()
    return thread
