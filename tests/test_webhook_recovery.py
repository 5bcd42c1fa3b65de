"""Webhook cases C6–C7 beyond the endpoint's: out-of-order deliveries end in Stream's newest state
and the uploader hears once; a worker killed while applying a delivery, run again, ends the same."""

import json
import os
import subprocess
import sys
import time

import pytest
from rq import SimpleWorker
from rq.job import Job
from sqlalchemy import func, select

from portal.extensions import db
from portal.jobs.webhooks import job_id_for
from portal.models import MediaAsset, MediaAssetStatus, Notification, Role, Tier, WebhookDelivery
from portal.services.stream.webhooks import signature_header
from tests.conftest import shareable_database

URL = "/api/webhooks/cloudflare/stream"
SECRET = "test-webhook-secret-0123456789abcdef"
UID = "6b9e68b07dfee8cc2d116e4c51d6a957"


def body_for(state, modified, **status):
    video = {"uid": UID, "modified": modified, "status": {"state": state, **status}, "duration": 4.0}
    return json.dumps(video, separators=(",", ":")).encode()


def post(client, body, timestamp=None):
    headers = {
        "Webhook-Signature": signature_header(body, SECRET, timestamp),
        "Content-Type": "application/json",
    }
    return client.post(URL, data=body, headers=headers)


@pytest.fixture
def app(app_factory, tmp_path):
    app = app_factory(CLOUDFLARE_STREAM_WEBHOOK_SECRET=SECRET, **shareable_database(tmp_path))
    with app.app_context():
        yield app


@pytest.fixture
def asset(app, make_user):
    owner = make_user(role=Role.INSTRUCTOR, tier=Tier.LIFETIME)
    make_user(role=Role.ADMIN, tier=Tier.LIFETIME)
    asset = MediaAsset(
        title="Kata", stream_video_id=UID, status=MediaAssetStatus.PROCESSING, created_by=owner.id
    )
    db.session.add(asset)
    db.session.commit()
    asset.owner_id = owner.id
    return asset


def run_worker(app):
    queue = app.extensions["redis"].queue("webhooks")
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def kinds_for(user_id):
    return db.session.scalars(select(Notification.kind).where(Notification.user_id == user_id)).all()


def test_error_after_ready_with_an_older_modified_stays_ready_and_notifies_once(app, client, asset):
    post(client, body_for("ready", "2024-05-01T10:00:05Z"))
    post(client, body_for("error", "2024-05-01T10:00:01Z", errorReasonCode="ERR_UNKNOWN"))
    post(client, body_for("ready", "2024-05-01T10:00:05Z"), timestamp=int(time.time()) - 5)  # a resend
    run_worker(app)
    db.session.expire_all()
    stored = db.session.get(MediaAsset, asset.id)
    assert stored.status == MediaAssetStatus.READY and stored.processing_error is None
    assert kinds_for(asset.owner_id) == ["video_ready"]
    outcomes = sorted(db.session.scalars(select(WebhookDelivery.outcome)).all())
    assert outcomes == ["applied", "unchanged", "unchanged"]


def test_deliveries_in_any_order_end_in_the_newest_state(app, client, asset):
    # Stream failed the first upload attempt, then a newer state says ready; they arrive reversed.
    post(client, body_for("ready", "2024-05-01T10:00:09Z"))
    post(client, body_for("error", "2024-05-01T10:00:02Z", errorReasonCode="ERR_MALFORMED_VIDEO"))
    run_worker(app)
    db.session.expire_all()
    assert db.session.get(MediaAsset, asset.id).status == MediaAssetStatus.READY
    assert kinds_for(asset.owner_id) == ["video_ready"]


def test_replaying_the_same_delivery_notifies_once(app, client, asset):
    body, now = body_for("error", "2024-05-01T10:00:00Z", errorReasonCode="ERR_NON_VIDEO"), int(time.time())
    for _ in range(3):
        assert post(client, body, timestamp=now).status_code == 200
    run_worker(app)
    assert kinds_for(asset.owner_id) == ["video_failed"]
    assert (
        db.session.scalar(select(func.count()).select_from(Notification)) == 2
    )  # the uploader and the admin


KILL_WHILE_APPLYING = """
import os, signal
from rq import SimpleWorker
from sqlalchemy import event
from sqlalchemy.orm import Session
from portal import create_app

def die_once_the_asset_changed(session, flush_context):
    if any(getattr(obj, "__tablename__", "") == "media_assets" for obj in session.dirty):
        os.kill(os.getpid(), signal.SIGKILL)  # mid-apply: flushed, not committed

event.listen(Session, "after_flush", die_once_the_asset_changed)
app = create_app()
with app.app_context():
    queue = app.extensions["redis"].queue("webhooks")
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
"""


def test_a_worker_killed_while_applying_then_run_again_ends_the_same(app, client, asset, redis_url, tmp_path):
    assert post(client, body_for("ready", "2024-05-01T10:00:00Z")).status_code == 200
    env = dict(os.environ, PORTAL_ENV="test", TEST_REDIS_URL=redis_url, PORTAL_INSTANCE_DIR=str(tmp_path))
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        env["TEST_DATABASE_URL"] = app.config["SQLALCHEMY_DATABASE_URI"]
    killed = subprocess.run(
        [sys.executable, "-c", KILL_WHILE_APPLYING], env=env, cwd=os.getcwd(), timeout=120
    )
    assert killed.returncode == -9  # SIGKILL, in the middle of the job
    delivery_id = db.session.scalar(select(WebhookDelivery.id))  # the drain job stored it first

    db.session.expire_all()
    assert db.session.get(MediaAsset, asset.id).status == MediaAssetStatus.PROCESSING  # nothing half-applied
    assert db.session.get(WebhookDelivery, delivery_id).processed_at is None
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 0
    queue = app.extensions["redis"].queue("webhooks")
    assert queue.started_job_registry.get_job_ids() == [job_id_for(delivery_id)]

    # RQ's maintenance finds the abandoned job (its heartbeat ran out) and retries it.
    queue.started_job_registry.cleanup(timestamp=time.time() + 3600)
    job = Job.fetch(job_id_for(delivery_id), connection=queue.connection)
    assert job.get_status() == "scheduled" and job.retries_left == 4
    queue.scheduled_job_registry.remove(job)
    queue.enqueue_job(job)
    run_worker(app)

    db.session.expire_all()
    stored = db.session.get(MediaAsset, asset.id)
    assert stored.status == MediaAssetStatus.READY and stored.duration_seconds == 4
    delivery = db.session.get(WebhookDelivery, delivery_id)
    assert delivery.processed_at is not None and delivery.outcome == "applied"
    assert kinds_for(asset.owner_id) == ["video_ready"]
    run_worker(app)  # nothing left to do; running again changes nothing
    assert kinds_for(asset.owner_id) == ["video_ready"]
