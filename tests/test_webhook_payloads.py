"""Webhook payloads are checked field by field: strings that cannot be stored get 400 at the
endpoint; a payload that cannot be applied is recorded as refused once, never retried."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from rq import SimpleWorker
from sqlalchemy import select

from portal.extensions import db
from portal.models import MediaAsset, MediaAssetStatus, WebhookDelivery
from portal.services.stream.webhooks import signature_header

URL = "/api/webhooks/cloudflare/stream"
SECRET = "test-webhook-secret-0123456789abcdef"
UID = "6b9e68b07dfee8cc2d116e4c51d6a957"


def body_of(**changes):
    video = {
        "uid": UID,
        "modified": "2024-05-01T10:00:00.000000Z",
        "duration": 5.5,
        "status": {"state": "ready"},
        "thumbnail": f"https://customer-x.cloudflarestream.com/{UID}/thumbnails/thumbnail.jpg",
        "preview": f"https://customer-x.cloudflarestream.com/{UID}/watch",
        "input": {"width": 560, "height": 320},
        "playback": {"hls": f"https://customer-x.cloudflarestream.com/{UID}/manifest/video.m3u8"},
    }
    video.update(changes)
    return json.dumps(video)


def post(client, raw):
    raw = raw.encode() if isinstance(raw, str) else raw
    headers = {"Content-Type": "application/json", "Webhook-Signature": signature_header(raw, SECRET)}
    return client.post(URL, data=raw, headers=headers)


@pytest.fixture
def app(app_factory):
    app = app_factory(CLOUDFLARE_STREAM_WEBHOOK_SECRET=SECRET)
    with app.app_context():
        yield app


@pytest.fixture
def asset(app):
    asset = MediaAsset(title="Seminar video", stream_video_id=UID, status=MediaAssetStatus.PROCESSING)
    db.session.add(asset)
    db.session.commit()
    return asset


def run_worker(app):
    queue = app.extensions["redis"].queue("webhooks")
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    return queue


@pytest.mark.parametrize(
    "raw",
    [
        '{"uid": "\\ud800", "status": {"state": "ready"}}',
        '{"uid": "UID", "status": {"state": "\\ud800"}}'.replace("UID", UID),
        '{"uid": "UID", "status": {"state": "ready"}, "meta": {"name": "x\\udfff"}}'.replace("UID", UID),
        '{"uid": "UID", "status": {"state": "ready"}, "\\ud800": 1}'.replace("UID", UID),
        '{"uid": "a b/../c", "status": {"state": "ready"}}',
        # NUL: PostgreSQL text cannot hold it; the apply job would fail on every retry.
        '{"uid": "UID", "status": {"state": "error", "errorReasonText": "bad\\u0000"}}'.replace("UID", UID),
        '{"uid": "UID", "status": {"state": "ready"}, "thumbnail": "https://x/\\u0000"}'.replace("UID", UID),
    ],
)
def test_strings_that_cannot_be_stored_get_400(app, client, raw):
    response = post(client, raw)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_payload"
    assert db.session.scalars(select(WebhookDelivery)).all() == []


@pytest.mark.parametrize(
    "raw",
    [
        body_of(duration=None).replace('"duration": null', '"duration": 1e400'),
        body_of(duration=float("nan")).replace("NaN", "NaN"),
        body_of(duration=10**12),
        body_of(duration="12"),
        body_of(thumbnail={"url": "https://x"}),
        body_of(thumbnail="javascript:alert(1)"),
        body_of(preview=["https://x"]),
        body_of(playback={"hls": 42}),
        body_of(input={"width": "wide", "height": 320}),
        body_of(input={"width": 10**30, "height": 320}),
        body_of(modified="2099-01-01T00:00:00Z"),
        body_of(modified=20240501),
        body_of(modified="yesterday"),
        body_of(status={"state": "error", "errorReasonCode": {"x": 1}}),
    ],
)
def test_a_payload_that_cannot_be_applied_is_refused_once_and_not_retried(app, client, asset, raw):
    response = post(client, raw)
    assert response.status_code == 200
    queue = run_worker(app)
    db.session.expire_all()
    delivery = db.session.scalars(select(WebhookDelivery)).one()
    assert delivery.outcome == "refused"
    assert delivery.processed_at is not None
    assert db.session.get(MediaAsset, asset.id).status == MediaAssetStatus.PROCESSING
    assert queue.count == 0
    assert queue.failed_job_registry.count == 0
    assert queue.scheduled_job_registry.count == 0


def test_a_future_modified_does_not_freeze_the_asset(app, client, asset):
    post(client, body_of(modified="2099-01-01T00:00:00Z"))
    post(client, body_of(modified="2024-05-01T10:00:00Z"))
    run_worker(app)
    db.session.expire_all()
    assert db.session.get(MediaAsset, asset.id).status == MediaAssetStatus.READY
    outcomes = sorted(d.outcome for d in db.session.scalars(select(WebhookDelivery)))
    assert outcomes == ["applied", "refused"]


def test_a_modified_within_the_clock_skew_is_applied(app, client, asset):
    soon = (datetime.now(UTC) + timedelta(seconds=60)).isoformat().replace("+00:00", "Z")
    post(client, body_of(modified=soon))
    run_worker(app)
    db.session.expire_all()
    assert db.session.get(MediaAsset, asset.id).status == MediaAssetStatus.READY


def test_an_asset_frozen_by_an_earlier_future_modified_takes_a_real_event(app, client, asset):
    asset.status, asset.stream_modified = MediaAssetStatus.READY, "2099-01-01T00:00:00Z"
    db.session.commit()
    post(client, body_of(status={"state": "error", "errorReasonCode": "ERR_NON_VIDEO"}))
    run_worker(app)
    db.session.expire_all()
    assert db.session.get(MediaAsset, asset.id).status == MediaAssetStatus.FAILED


def test_cloudflares_unknown_values_are_accepted(app, client, asset):
    post(client, body_of(duration=-1, input={"width": -1, "height": -1}, thumbnail="", preview=None))
    run_worker(app)
    db.session.expire_all()
    stored = db.session.get(MediaAsset, asset.id)
    assert stored.status == MediaAssetStatus.READY
    assert (stored.duration_seconds, stored.width, stored.height, stored.thumbnail_url) == (
        None,
        None,
        None,
        None,
    )
