"""Periodic jobs, registered with RQ's cron in one place and run beside `flask worker`."""

import logging
import threading

from rq.cron import CronScheduler

from portal.jobs import media

log = logging.getLogger(__name__)

# (function, queue, interval in seconds)
ENTRIES = [
    # Media management: finish Stream changes and deletions whose jobs Redis may have lost.
    (media.requeue_unfinished, media.QUEUE, 300),
]


def build_scheduler(connection, entries=None):
    """A CronScheduler holding every entry."""
    scheduler = CronScheduler(connection=connection)
    for function, queue_name, interval in ENTRIES if entries is None else entries:
        scheduler.register(function, queue_name, interval=interval)
    return scheduler


def run_scheduler(scheduler, stop):
    """Enqueue due jobs until `stop` is set (no signal handlers, so it can run in a thread)."""
    scheduler.register_birth()
    try:
        while not stop.is_set():
            if scheduler.enqueue_jobs():
                scheduler.save()
            scheduler.heartbeat()
            stop.wait(max(1.0, min(60.0, scheduler.calculate_sleep_interval())))
    finally:
        scheduler.register_death()


def start_in_background(connection):
    """Run the schedule in a daemon thread; returns the Event that stops it."""
    stop = threading.Event()
    thread = threading.Thread(
        target=run_scheduler, args=(build_scheduler(connection), stop), name="rq-cron", daemon=True
    )
    thread.start()
    log.info("Periodic jobs scheduled: %s", ", ".join(entry[0].__name__ for entry in ENTRIES))
    return stop
