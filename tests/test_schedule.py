"""Periodic jobs: one schedule, run by RQ's cron scheduler beside `flask worker`; reconciliation
runs on it, so deliveries recorded while Redis was down are applied without anyone's help."""

import threading
from datetime import UTC, datetime, timedelta

from rq import SimpleWorker
from rq.cron import CronScheduler
from sqlalchemy import update

from portal.extensions import db
from portal.jobs.schedule import SCHEDULE, build_scheduler, run_scheduler
from portal.jobs.webhooks import reconcile_stream
from portal.models import MediaAsset, MediaAssetStatus, WebhookDelivery
from portal.services.stream_events import record_delivery

UID = "0123456789abcdef0123456789abcdef"
BODY = (
    b'{"uid":"%s","modified":"2024-05-01T10:00:00Z","status":{"state":"ready"},"duration":3}' % UID.encode()
)


def test_reconciliation_is_on_the_schedule():
    entries = {(job.func, job.queue) for job in SCHEDULE}
    assert (reconcile_stream, "webhooks") in entries
    assert all(job.interval > 0 for job in SCHEDULE)
    assert (
        f"{reconcile_stream.__module__}.{reconcile_stream.__qualname__}"
        == "portal.jobs.webhooks.reconcile_stream"
    )


def test_a_scheduler_round_enqueues_the_periodic_jobs(app):
    connection = app.extensions["redis"].connection
    scheduler = build_scheduler(connection)
    stop = threading.Event()
    stop.set()  # one round, then stop
    run_scheduler(scheduler, stop)
    queue = app.extensions["redis"].queue("webhooks")
    assert [job.func_name for job in queue.get_jobs()] == ["portal.jobs.webhooks.reconcile_stream"]
    assert CronScheduler.all(connection) == []  # it said goodbye


def test_flask_worker_runs_the_cron_scheduler_and_stops_with_it(app, runner):
    result = runner.invoke(args=["worker", "--burst", "--queue", "default"])
    assert result.exit_code == 0, result.output
    queue = app.extensions["redis"].queue("webhooks")
    assert "portal.jobs.webhooks.reconcile_stream" in [job.func_name for job in queue.get_jobs()]
    assert CronScheduler.all(app.extensions["redis"].connection) == []
    assert not [thread for thread in threading.enumerate() if thread.name == "rq-cron"]


def test_the_scheduled_reconcile_applies_a_delivery_recorded_while_redis_was_down(app):
    asset = MediaAsset(title="Seminar", stream_video_id=UID, status=MediaAssetStatus.PROCESSING)
    db.session.add(asset)
    record_delivery(BODY, 1_700_000_000, {"uid": UID, "status": {"state": "ready"}})
    db.session.commit()  # recorded, never enqueued (Redis was down)
    db.session.execute(update(WebhookDelivery).values(received_at=datetime.now(UTC) - timedelta(minutes=5)))
    db.session.commit()

    queue = app.extensions["redis"].queue("webhooks")
    queue.enqueue(reconcile_stream)
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    db.session.expire_all()
    assert db.session.get(MediaAsset, asset.id).status == MediaAssetStatus.READY
