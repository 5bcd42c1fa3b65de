"""The Stream webhook endpoint (reliability cases C1–C7): signature, size and payload checks, the
idempotent record, the enqueued job, and a real emulator posting to a live portal."""

import io
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from rq import SimpleWorker
from rq.job import Job, JobStatus
from sqlalchemy import event, func, select

from portal.extensions import db
from portal.jobs.webhooks import apply_stream_webhook, enqueue_new_deliveries
from portal.models import (
    EntityType,
    MediaAsset,
    MediaAssetStatus,
    RecordingStatus,
    TrainingSession,
    WebhookDelivery,
)
from portal.redis_runtime import RedisServices
from portal.services import webhook_inbox
from portal.services.stream import get_client, reset_client
from portal.services.stream.webhooks import signature_header
from portal.services.stream_events import dedupe_key
from portal.services.stream_orphans import portal_tag
from tests.conftest import serving, shareable_database

URL = "/api/webhooks/cloudflare/stream"
SECRET = "test-webhook-secret-0123456789abcdef"
UID = "6b9e68b07dfee8cc2d116e4c51d6a957"


def video_body(uid=UID, state="ready", modified="2024-05-01T10:00:00.000000Z", **extra):
    """A webhook body shaped like Cloudflare's video object, as raw bytes."""
    video = {
        "uid": uid,
        "readyToStream": state == "ready",
        "modified": modified,
        "duration": 5.5,
        "status": {"state": state, "pctComplete": "100.000000", "errorReasonCode": "", "errorReasonText": ""},
        "thumbnail": f"https://customer-x.cloudflarestream.com/{uid}/thumbnails/thumbnail.jpg",
        "preview": f"https://customer-x.cloudflarestream.com/{uid}/watch",
        "input": {"width": 560, "height": 320},
        "playback": {"hls": f"https://customer-x.cloudflarestream.com/{uid}/manifest/video.m3u8"},
    }
    video.update(extra)
    return json.dumps(video, separators=(",", ":")).encode()


def post_signed(client, body, secret=SECRET, timestamp=None, header=None):
    """POST a body with a Webhook-Signature computed over its exact bytes (or the given header)."""
    header = header if header is not None else signature_header(body, secret, timestamp)
    headers = {"Content-Type": "application/json"}
    if header is not False:
        headers["Webhook-Signature"] = header
    return client.post(URL, data=body, headers=headers)


def webhook_queue(app):
    return app.extensions["redis"].queue("webhooks")


def drain(app):
    """Run the one pending drain job the webhook scheduled, here, leaving the apply jobs it enqueues."""
    queue = webhook_queue(app)
    drains = [
        job for job in queue.get_jobs() if job.func_name == "portal.jobs.webhooks.enqueue_new_deliveries"
    ]
    assert len(drains) == 1, queue.job_ids
    queue.remove(drains[0])
    return enqueue_new_deliveries()


def inbox_count(app):
    return webhook_inbox.waiting(app.extensions["redis"].connection)


def latest_delivery():
    return db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id.desc())).first()


def run_worker(app):
    """Run the webhooks queue to empty in this process (inside the test's app context)."""
    queue = webhook_queue(app)
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def delivery_count():
    return db.session.scalar(select(func.count()).select_from(WebhookDelivery))


@pytest.fixture
def app(app_factory):
    """The portal with a webhook secret configured."""
    app = app_factory(CLOUDFLARE_STREAM_WEBHOOK_SECRET=SECRET)
    with app.app_context():
        yield app


@pytest.fixture
def make_asset(app):
    """Factory: a processing asset for a uid, linked to a new training session."""

    def make(uid=UID, status=MediaAssetStatus.PROCESSING):
        session = TrainingSession(title="Seminar", recording_status=RecordingStatus.PROCESSING)
        db.session.add(session)
        db.session.flush()
        asset = MediaAsset(
            title="Seminar video",
            stream_video_id=uid,
            status=status,
            entity_type=EntityType.TRAINING_SESSION,
            entity_id=session.id,
        )
        db.session.add(asset)
        db.session.commit()
        return asset, session

    return make


def assert_rejected(app, response, status, code):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == code
    assert response.get_json()["error"]["message"]
    assert delivery_count() == 0 and inbox_count(app) == 0
    assert webhook_queue(app).count == 0


# -- C1: accepted, recorded, enqueued -------------------------------------------------------------


def test_valid_delivery_is_acknowledged_from_the_inbox_then_stored_and_enqueued_with_retry(app, client):
    body = video_body()
    now = int(time.time())
    response = post_signed(client, body, timestamp=now)
    assert response.status_code == 200 and response.get_json() == {"status": "accepted"}
    assert inbox_count(app) == 1 and delivery_count() == 0  # acknowledged once Redis holds it

    assert drain(app) == {"stored": 1, "enqueued": 1, "already_queued": 0}
    assert inbox_count(app) == 0
    delivery = latest_delivery()
    assert (delivery.video_uid, delivery.state, delivery.signature_time) == (UID, "ready", now)
    assert delivery.body.encode() == body and delivery.processed_at is None
    assert delivery.dedupe_key == dedupe_key(now, body)
    assert abs((delivery.received_at.replace(tzinfo=UTC) - datetime.now(UTC)).total_seconds()) < 60
    queue = webhook_queue(app)
    assert queue.job_ids == [f"stream-webhook-{delivery.id}"]
    job = Job.fetch(queue.job_ids[0], connection=queue.connection)
    assert job.func_name == "portal.jobs.webhooks.apply_stream_webhook"
    assert job.args == (delivery.id,)
    assert job.retries_left == 5 and job.retry_intervals == [10, 30, 60, 300, 900]
    assert job.failure_ttl == 30 * 24 * 3600


def test_acknowledging_touches_no_table_and_storing_does_not_grow_with_assets(app, client, make_asset):
    statements = []

    def count(*args):
        statements.append(args[2])

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        for n in range(3):
            assert post_signed(client, video_body(modified=str(n))).status_code == 200
        acknowledging = list(statements)
        drain(app)
        few = len(statements)
        for n in range(30):
            make_asset(uid=f"uid-{n}")
        statements.clear()
        for n in range(3):
            post_signed(client, video_body(modified=f"b{n}"))
        drain(app)
        many = len(statements)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert acknowledging == []
    assert few == many and not any("media_assets" in s for s in statements), statements


def test_a_burst_of_deliveries_schedules_one_drain_which_stores_and_enqueues_them_all(app, client):
    for n in range(5):
        assert post_signed(client, video_body(uid=f"{n:032x}")).get_json()["status"] == "accepted"
    queue = webhook_queue(app)
    assert len(queue.job_ids) == 1  # one drain for the burst, not five jobs
    flag = app.extensions["redis"].connection.ttl(webhook_inbox.DRAIN_PENDING_KEY)
    assert 0 < flag <= 60  # a flag whose drain was lost expires
    assert drain(app) == {"stored": 5, "enqueued": 5, "already_queued": 0}
    ids = [d.id for d in db.session.scalars(select(WebhookDelivery))]
    assert sorted(queue.job_ids) == sorted(f"stream-webhook-{i}" for i in ids)

    # The drain cleared its flag before reading: the next delivery schedules a new drain, which
    # stores and enqueues only the new one (the five are still queued).
    post_signed(client, video_body(uid="f" * 32))
    assert drain(app) == {"stored": 1, "enqueued": 1, "already_queued": 5}
    assert f"stream-webhook-{latest_delivery().id}" in queue.job_ids


def test_the_drain_goes_ahead_of_a_backlog_of_apply_jobs(app, client):
    """Acknowledged deliveries reach the database first: a burst's apply jobs (and their retries)
    must not hold the next drain back while the inbox is the only copy."""
    for n in range(5):
        post_signed(client, video_body(uid=f"{n:032x}"))
    drain(app)
    post_signed(client, video_body(uid="f" * 32))
    first = Job.fetch(webhook_queue(app).job_ids[0], connection=webhook_queue(app).connection)
    assert first.func_name == "portal.jobs.webhooks.enqueue_new_deliveries"


def test_a_worker_killed_between_commit_and_removal_stores_nothing_twice(app, client, monkeypatch):
    for n in range(3):
        post_signed(client, video_body(uid=f"{n:032x}"))

    def killed(*args):
        raise SystemExit("worker killed")

    monkeypatch.setattr(webhook_inbox, "_remove", killed)  # dies after the commit, before the removal
    with pytest.raises(SystemExit):
        drain(app)
    monkeypatch.undo()
    assert delivery_count() == 3 and inbox_count(app) == 3
    assert enqueue_new_deliveries()["stored"] == 3  # read again: inserts nothing
    assert delivery_count() == 3 and inbox_count(app) == 0


def test_two_drains_at_once_store_each_delivery_once_and_lose_none(app, client, monkeypatch):
    for n in range(4):
        post_signed(client, video_body(uid=f"{n:032x}"))
    connection = app.extensions["redis"].connection
    real_remove = webhook_inbox._remove

    def a_second_drain_runs_meanwhile(conn, entries):
        monkeypatch.setattr(webhook_inbox, "_remove", real_remove)
        post_signed(client, video_body(uid="e" * 32))  # arrives while both drains run
        assert webhook_inbox.store_inbox(conn) == 5  # the other drain: the same four, and the new one
        real_remove(conn, entries)

    monkeypatch.setattr(webhook_inbox, "_remove", a_second_drain_runs_meanwhile)
    assert webhook_inbox.store_inbox(connection) == 4
    assert delivery_count() == 5 and inbox_count(app) == 0


def test_an_unreadable_inbox_entry_is_dropped_not_retried_forever(app, client, caplog):
    post_signed(client, video_body())
    app.extensions["redis"].connection.lpush(webhook_inbox.INBOX_KEY, b"not json")
    assert drain(app)["stored"] == 1
    assert inbox_count(app) == 0 and delivery_count() == 1
    assert any("unreadable webhook inbox entry" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    "entry",
    [
        '{"key":"k","time":Infinity,"received":"2026-01-01T00:00:00+00:00","body":"{\\"uid\\":\\"a\\"}"}',
        '{"key":"k","time":1e30,"received":"2026-01-01T00:00:00+00:00","body":"{\\"uid\\":\\"a\\"}"}',
        '{"key":"k","time":-1,"received":"2026-01-01T00:00:00+00:00","body":"{\\"uid\\":\\"a\\"}"}',
        '{"key":"k","time":1,"received":5,"body":"{\\"uid\\":\\"a\\"}"}',
        "[" * 100_000 + "]" * 100_000,
    ],
    ids=["infinite_time", "huge_time", "negative_time", "numeric_received", "deeply_nested"],
)
def test_a_poison_inbox_entry_does_not_block_the_deliveries_behind_it(app, client, entry, caplog):
    app.extensions["redis"].connection.rpush(webhook_inbox.INBOX_KEY, entry)
    post_signed(client, video_body())
    assert drain(app)["stored"] == 1
    assert inbox_count(app) == 0 and delivery_count() == 1
    assert any("unreadable webhook inbox entry" in r.getMessage() for r in caplog.records)


def test_a_worker_applies_a_burst_end_to_end(app, client, make_asset):
    assets = [make_asset(uid=f"{n:032x}")[0] for n in range(3)]
    for n in range(3):
        post_signed(client, video_body(uid=f"{n:032x}"))
    run_worker(app)  # the drain, then the apply jobs it enqueued, in one burst
    assert all(db.session.get(MediaAsset, a.id).status == MediaAssetStatus.READY for a in assets)
    assert all(d.processed_at for d in db.session.scalars(select(WebhookDelivery)))


# -- C2–C4: every rejection is a 4xx/503 JSON error, with nothing stored or enqueued --------------


def test_one_tampered_byte_is_rejected(app, client):
    body = video_body()
    header = signature_header(body, SECRET)
    tampered = body.replace(b"560", b"561")
    assert_rejected(app, post_signed(client, tampered, header=header), 401, "invalid_signature")


def test_reserialised_json_is_rejected(app, client):
    body = video_body()
    header = signature_header(body, SECRET)
    reserialised = json.dumps(json.loads(body)).encode()  # same data, different bytes
    assert reserialised != body
    assert_rejected(app, post_signed(client, reserialised, header=header), 401, "invalid_signature")


def test_wrong_secret_is_rejected(app, client):
    assert_rejected(app, post_signed(client, video_body(), secret="another-secret"), 401, "invalid_signature")


@pytest.mark.parametrize(
    "header",
    [
        False,  # no header at all
        "",
        "time=abc,sig1=" + "a" * 64,
        f"time={int(time.time())}",  # no sig1
        f"time={int(time.time())},sig1=" + "g" * 64,  # not hex
        f"time={int(time.time())},sig1=" + "a" * 63,  # wrong length
        "sig1=" + "a" * 64,  # no time
        "garbage",
        f"time=-5,sig1={'a' * 64}",
        f"time={'9' * 40},sig1={'a' * 64}",
    ],
    ids=[
        "missing",
        "empty",
        "time-abc",
        "no-sig1",
        "non-hex",
        "short",
        "no-time",
        "garbage",
        "negative",
        "huge-time",
    ],
)
def test_malformed_signature_header_is_400(app, client, header):
    assert_rejected(app, post_signed(client, video_body(), header=header), 400, "invalid_signature_header")


@pytest.mark.parametrize(
    "offset", [-600, 600, -303, 303], ids=["10-min-old", "10-min-future", "303s-old", "303s-future"]
)
def test_timestamp_outside_300_seconds_is_401(app, client, offset):
    response = post_signed(client, video_body(), timestamp=int(time.time()) + offset)
    assert_rejected(app, response, 401, "invalid_signature")


def test_no_secret_configured_is_503(app_factory, tmp_path):
    app = app_factory(STREAM_SETTINGS_FILE=str(tmp_path / "none.json"))
    with app.app_context():
        assert get_client().webhook_secret is None
        response = post_signed(app.test_client(), video_body())
        assert_rejected(app, response, 503, "webhook_not_configured")


def test_a_malformed_signing_key_does_not_stop_webhooks(app_factory):
    """The webhook needs only its secret: a bad CLOUDFLARE_STREAM_SIGNING_KEY breaks signing, not this."""
    app = app_factory(
        CLOUDFLARE_STREAM_WEBHOOK_SECRET=SECRET,
        CLOUDFLARE_STREAM_SIGNING_KEY_ID="kid",
        CLOUDFLARE_STREAM_SIGNING_KEY="not-a-pem",
    )
    with app.app_context():
        with pytest.raises(ValueError, match="CLOUDFLARE_STREAM_SIGNING_KEY"):
            get_client()
        response = post_signed(app.test_client(), video_body())
        assert response.status_code == 200 and response.get_json()["status"] == "accepted"
        assert inbox_count(app) == 1 and webhook_queue(app).count == 1


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"",
        b"\xff\xfe{}",
        b"[1, 2]",
        b'"uid"',
        b"{}",
        b'{"uid": 42}',
        b'{"uid": ""}',
        b'{"uid": "' + b"x" * 65 + b'"}',
        b"[" * 100_000 + b"]" * 100_000,
    ],
    ids=[
        "text",
        "empty",
        "not-utf8",
        "array",
        "string",
        "no-uid",
        "int-uid",
        "empty-uid",
        "long-uid",
        "deep",
    ],
)
def test_signed_body_that_is_not_a_video_object_is_400(app, client, body):
    assert_rejected(app, post_signed(client, body), 400, "invalid_payload")


def test_oversize_body_is_413(app, client):
    body = video_body(meta={"padding": "x" * (1024 * 1024)})
    assert_rejected(app, post_signed(client, body), 413, "payload_too_large")


def test_oversize_body_without_content_length_is_413(app, client):
    body = video_body(meta={"padding": "x" * (1024 * 1024)})
    response = client.post(
        URL,
        input_stream=io.BytesIO(body),
        headers={"Webhook-Signature": signature_header(body, SECRET), "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )  # as servers set for a chunked body
    assert_rejected(app, response, 413, "payload_too_large")


# -- C5: a replayed delivery is stored once and enqueued once -------------------------------------


def test_replayed_delivery_is_recorded_and_enqueued_once(app, client):
    body, now = video_body(), int(time.time())
    first = post_signed(client, body, timestamp=now)
    second = post_signed(client, body, timestamp=now)
    assert first.get_json()["status"] == "accepted"
    assert second.status_code == 200 and second.get_json() == {"status": "duplicate"}
    assert inbox_count(app) == 1
    assert drain(app) == {"stored": 1, "enqueued": 1, "already_queued": 0}
    assert delivery_count() == 1
    assert webhook_queue(app).job_ids == [f"stream-webhook-{latest_delivery().id}"]


def test_a_replay_redis_forgot_is_still_stored_once(app, client):
    body, now = video_body(), int(time.time())
    post_signed(client, body, timestamp=now)
    drain(app)
    connection = app.extensions["redis"].connection
    connection.delete(*connection.keys(webhook_inbox.SEEN_PREFIX + "*"))  # e.g. Redis lost its data
    assert post_signed(client, body, timestamp=now).get_json() == {"status": "accepted"}
    assert drain(app) == {"stored": 1, "enqueued": 0, "already_queued": 1}
    assert delivery_count() == 1  # the database's unique key is the last guard


def test_redis_down_still_answers_200_and_keeps_the_delivery(app, client, caplog):
    app.extensions["redis"] = RedisServices(
        {"REDIS_URL": "redis://127.0.0.1:1/0", "RQ_QUEUES": app.config["RQ_QUEUES"]}
    )
    body, now = video_body(), int(time.time())
    response = post_signed(client, body, timestamp=now)
    assert response.status_code == 200 and response.get_json()["status"] == "accepted"
    assert delivery_count() == 1  # recorded in the database instead
    assert any(r.levelname == "ERROR" and "not enqueued" in r.getMessage() for r in caplog.records)
    assert post_signed(client, body, timestamp=now).get_json() == {"status": "duplicate"}
    assert delivery_count() == 1


# -- C6/C7 through the endpoint and a real worker ---------------------------------------------------


def test_ready_then_late_inprogress_stays_ready(app, client, make_asset):
    asset, session = make_asset()
    post_signed(client, video_body(state="ready", modified="2024-05-01T10:00:00Z"))
    post_signed(client, video_body(state="inprogress", modified="2024-05-01T11:00:00Z"))
    run_worker(app)
    asset, session = db.session.get(MediaAsset, asset.id), db.session.get(TrainingSession, session.id)
    assert asset.status == MediaAssetStatus.READY and asset.url.endswith("/manifest/video.m3u8")
    assert (asset.duration_seconds, asset.width, asset.height) == (6, 560, 320)
    assert session.recording_status == RecordingStatus.READY and session.cloudflare_stream_id == UID
    assert session.video_url == asset.url
    assert all(d.processed_at for d in db.session.scalars(select(WebhookDelivery)))


def test_error_then_newer_ready_ends_ready(app, client, make_asset):
    asset, _ = make_asset()
    error = video_body(
        state="error",
        modified="2024-05-01T10:00:00Z",
        status={"state": "error", "errReasonCode": "ERR_MALFORMED_VIDEO", "errReasonText": "bad file"},
    )
    post_signed(client, error)
    run_worker(app)
    failed = db.session.get(MediaAsset, asset.id)
    assert failed.processing_error.startswith("The file is damaged") and "MP4" in failed.processing_error
    assert failed.stream_error == "ERR_MALFORMED_VIDEO: bad file"
    post_signed(client, video_body(state="ready", modified="2024-05-01T10:00:01Z"))
    run_worker(app)
    asset = db.session.get(MediaAsset, asset.id)
    assert asset.status == MediaAssetStatus.READY and asset.processing_error is None


def test_ready_twice_changes_nothing_the_second_time(app, client, make_asset):
    asset, _ = make_asset()
    body = video_body()
    post_signed(client, body, timestamp=int(time.time()))
    post_signed(client, body, timestamp=int(time.time()) - 1)  # a resend: new time, same video
    assert inbox_count(app) == 2
    run_worker(app)
    assert delivery_count() == 2
    assert db.session.get(MediaAsset, asset.id).status == MediaAssetStatus.READY
    queue = webhook_queue(app)
    results = sorted(
        Job.fetch(f"stream-webhook-{d.id}", connection=queue.connection).return_value()
        for d in db.session.scalars(select(WebhookDelivery))
    )
    assert results == ["applied", "unchanged"]


def test_a_webhook_that_beats_its_asset_is_retried_until_the_asset_exists(app, client):
    response = post_signed(client, video_body(uid="c" * 32, meta={"portal": portal_tag()}))  # ours
    assert response.status_code == 200
    run_worker(app)
    delivery_id = latest_delivery().id
    job = Job.fetch(f"stream-webhook-{delivery_id}", connection=webhook_queue(app).connection)
    assert job.get_status() == JobStatus.SCHEDULED and job.retries_left == 4
    assert db.session.get(WebhookDelivery, delivery_id).processed_at is None

    asset = MediaAsset(title="Just uploaded", stream_video_id="c" * 32, status=MediaAssetStatus.PROCESSING)
    db.session.add(asset)
    db.session.commit()
    assert apply_stream_webhook(delivery_id) == "applied"  # what the scheduled retry runs
    assert db.session.get(MediaAsset, asset.id).status == MediaAssetStatus.READY


def test_a_webhook_for_a_video_this_portal_did_not_make_closes_at_once(app, client, caplog):
    """Stream calls back for every video on the account; only the portal's own may be waiting for
    their uid to be recorded, so another's is not retried for 20 minutes."""
    for meta in ({}, {"portal": "0123456789abcdef"}, {"portal": "ünïcode"}, {"portal": 7}):
        post_signed(client, video_body(uid=f"{len(caplog.records):032x}", meta=meta))
        run_worker(app)
        delivery = latest_delivery()
        assert delivery.processed_at is not None and delivery.outcome == "unknown_video"
        job = Job.fetch(f"stream-webhook-{delivery.id}", connection=webhook_queue(app).connection)
        assert job.get_status() == JobStatus.FINISHED


def test_an_old_delivery_for_an_unknown_uid_finishes_with_a_warning(app, client, caplog):
    response = post_signed(client, video_body(uid="not-ours"))
    assert response.status_code == 200
    drain(app)
    delivery = latest_delivery()
    delivery.received_at = datetime.now(UTC) - timedelta(minutes=25)
    db.session.commit()
    run_worker(app)
    job = Job.fetch(f"stream-webhook-{delivery.id}", connection=webhook_queue(app).connection)
    assert job.get_status() == JobStatus.FINISHED and job.return_value() == "unknown_video"
    assert db.session.get(WebhookDelivery, delivery.id).processed_at is not None
    assert any(
        r.levelname == "WARNING" and "unknown video not-ours" in r.getMessage() for r in caplog.records
    )


# -- the real thing: the emulator posts signed webhooks to a live portal --------------------------


@pytest.fixture
def live_app(app_factory, tmp_path, emulator):
    """The portal on Stream's emulator, with a file database a server thread can share."""
    app = app_factory(
        CLOUDFLARE_API_BASE=emulator.api_base,
        STREAM_CUSTOMER_BASE_URL=emulator.url,
        **shareable_database(tmp_path),
    )
    with app.app_context():
        yield app


@pytest.fixture
def live_url(live_app):
    """The portal served over HTTP on a free loopback port."""
    with serving(live_app) as url:
        yield url


def wait_for_delivery(uid, states=("ready", "error"), timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.rollback()
        delivery = db.session.scalar(
            select(WebhookDelivery).where(WebhookDelivery.video_uid == uid, WebhookDelivery.state.in_(states))
        )
        if delivery is not None:
            return delivery
        time.sleep(0.1)
    raise AssertionError(f"no webhook delivery for {uid} within {timeout} s")


@pytest.mark.slow
def test_emulator_webhook_reaches_the_portal_and_the_worker_applies_it(
    live_app, live_url, emulator, sample_video
):
    secret = get_client().set_webhook(live_url + URL)
    live_app.config["CLOUDFLARE_STREAM_WEBHOOK_SECRET"] = secret
    reset_client()
    stream = get_client()
    assert stream.webhook_secret == secret

    video = stream.upload_video(str(sample_video), {"title": "Live webhook"})
    session = TrainingSession(
        title="Live seminar",
        starts_at=datetime.now(UTC) - timedelta(days=1),
        recording_status=RecordingStatus.PROCESSING,
    )
    db.session.add(session)
    db.session.flush()
    asset = MediaAsset(
        title="Live webhook",
        stream_video_id=video["uid"],
        status=MediaAssetStatus.PROCESSING,
        entity_type=EntityType.TRAINING_SESSION,
        entity_id=session.id,
    )
    db.session.add(asset)
    db.session.commit()
    asset_id, session_id = asset.id, session.id

    sent = []
    for _ in range(1200):  # the emulator notes the status once the portal has answered
        sent = [d for d in emulator.emulator.webhooks.deliveries() if d["videoUid"] == video["uid"]]
        if sent and sent[-1]["statusCode"] is not None and sent[-1]["state"] in ("ready", "error"):
            break
        time.sleep(0.05)
    assert sent and sent[-1]["statusCode"] == 200
    run_worker(live_app)  # the drain stores the inbox, then the apply job runs
    delivery = wait_for_delivery(video["uid"])
    assert delivery.state == "ready"

    db.session.rollback()
    asset, session = db.session.get(MediaAsset, asset_id), db.session.get(TrainingSession, session_id)
    assert asset.status == MediaAssetStatus.READY
    assert asset.duration_seconds == 2 and (asset.width, asset.height) == (320, 240)
    assert asset.url == f"{emulator.url}/{video['uid']}/manifest/video.m3u8"
    assert asset.thumbnail_url and asset.preview_url
    assert session.recording_status == RecordingStatus.READY
    assert session.cloudflare_stream_id == video["uid"] and session.video_url == asset.url
    assert db.session.get(WebhookDelivery, delivery.id).processed_at is not None


def test_secret_saved_by_stream_setup_is_used(app_factory, tmp_path, emulator):
    settings_file = tmp_path / "saved-settings.json"
    app = app_factory(
        CLOUDFLARE_API_BASE=emulator.api_base,
        STREAM_CUSTOMER_BASE_URL=emulator.url,
        STREAM_SETTINGS_FILE=str(settings_file),
    )
    with app.app_context():
        result = app.test_cli_runner().invoke(
            args=[
                "stream",
                "setup",
                "--webhook-url",
                "http://127.0.0.1:9" + URL,
                "--save",
                str(settings_file),
            ]
        )
        assert result.exit_code == 0, result.output
        secret = json.loads(settings_file.read_text())["CLOUDFLARE_STREAM_WEBHOOK_SECRET"]
        client = app.test_client()
        assert post_signed(client, video_body(), secret=secret).status_code == 200
        assert post_signed(client, video_body(), secret=SECRET).status_code == 401
