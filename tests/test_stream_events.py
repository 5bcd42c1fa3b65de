"""Stream webhook operations: applying video objects (never backwards), recording deliveries,
the apply job (idempotent, raising), and reconciling with Stream."""

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from rq import SimpleWorker
from rq.job import Job, JobStatus
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError

from portal.commands.stream import reconcile_command
from portal.extensions import db
from portal.jobs.webhooks import apply_stream_webhook, enqueue_unprocessed_deliveries
from portal.models import (
    EntityType,
    MediaAsset,
    MediaAssetStatus,
    RecordingStatus,
    TrainingSession,
    WebhookDelivery,
)
from portal.services import stream_events
from portal.services.stream import get_client
from portal.services.stream_events import apply_video, record_delivery

UID = "0123456789abcdef0123456789abcdef"


def video(state, modified="2024-05-01T10:00:00.000000Z", uid=UID, **extra):
    """A Stream video object in `state`."""
    obj = {
        "uid": uid,
        "modified": modified,
        "status": {"state": state},
        "duration": 12.4,
        "input": {"width": 1280, "height": 720},
        "thumbnail": "https://c/thumb.jpg",
        "preview": "https://c/watch",
        "playback": {"hls": "https://c/manifest/video.m3u8"},
    }
    obj.update(extra)
    return obj


@pytest.fixture
def asset(app):
    """A processing asset linked to a training session."""
    session = TrainingSession(title="Seminar", recording_status=RecordingStatus.PROCESSING)
    db.session.add(session)
    db.session.flush()
    asset = MediaAsset(
        title="Seminar video",
        stream_video_id=UID,
        status=MediaAssetStatus.PROCESSING,
        entity_type=EntityType.TRAINING_SESSION,
        entity_id=session.id,
    )
    db.session.add(asset)
    db.session.commit()
    return asset


def session_of(asset):
    return db.session.get(TrainingSession, asset.entity_id)


def record(body_video, signature_time=1_700_000_000):
    raw = json.dumps(body_video).encode()
    delivery_id, created = record_delivery(raw, signature_time, stream_events.parse_payload(raw))
    return (db.session.get(WebhookDelivery, delivery_id) if created else None), created


# -- applying a video object ------------------------------------------------------------------------


def test_ready_fills_the_asset_and_its_training_session(asset):
    assert apply_video(asset, video("ready")) is True
    assert asset.status == MediaAssetStatus.READY and asset.processing_error is None
    assert (asset.duration_seconds, asset.width, asset.height) == (12, 1280, 720)
    assert (asset.thumbnail_url, asset.preview_url, asset.url) == (
        "https://c/thumb.jpg",
        "https://c/watch",
        "https://c/manifest/video.m3u8",
    )
    session = session_of(asset)
    assert (session.cloudflare_stream_id, session.video_url, session.recording_status) == (
        UID,
        asset.url,
        RecordingStatus.READY,
    )


def test_unknown_sizes_are_left_empty(asset):
    apply_video(asset, video("ready", duration=-1, input={"width": -1, "height": -1}))
    assert (asset.duration_seconds, asset.width, asset.height) == (None, None, None)


@pytest.mark.parametrize(
    "status, meaning, stream_text",
    [
        (
            {"state": "error", "errorReasonCode": "ERR_NON_VIDEO", "errorReasonText": "not a video"},
            "The file is not a video.",
            "ERR_NON_VIDEO: not a video",
        ),
        (
            {"state": "error", "errReasonCode": "ERR_DURATION_TOO_SHORT", "errReasonText": "too short"},
            "The video is too short",
            "ERR_DURATION_TOO_SHORT: too short",
        ),
        ({"state": "error", "errorReasonCode": "ERR_UNKNOWN"}, "Stream could not process", "ERR_UNKNOWN"),
        ({"state": "error"}, "Stream could not process", "Stream could not process the video"),
    ],
)
def test_error_fails_the_asset_with_the_reason(asset, status, meaning, stream_text):
    assert apply_video(asset, video("error", status=status)) is True
    assert asset.status == MediaAssetStatus.FAILED and asset.processing_error.startswith(meaning)
    assert asset.stream_error == stream_text
    assert session_of(asset).recording_status == RecordingStatus.FAILED


T1, T2 = "2024-05-01T10:00:00.100000Z", "2024-05-01T10:00:00.100000001Z"  # nanoseconds newer


@pytest.mark.parametrize(
    "first, second, final",
    [
        (video("ready", T1), video("inprogress", T2), MediaAssetStatus.READY),
        (video("ready", T1), video("queued", T2), MediaAssetStatus.READY),
        (video("error", T1), video("inprogress", T2), MediaAssetStatus.FAILED),
        (video("error", T1), video("ready", "2024-05-01T10:00:01Z"), MediaAssetStatus.READY),
        (video("error", "2024-05-01T10:00:01Z"), video("ready", T1), MediaAssetStatus.FAILED),
        (video("ready", T1), video("error", "2024-05-01T10:00:01Z"), MediaAssetStatus.FAILED),
        (video("ready", "2024-05-01T10:00:01Z"), video("error", T1), MediaAssetStatus.READY),
        (video("ready", T1), video("error", T1), MediaAssetStatus.READY),  # a tie changes nothing
        (video("ready", T1), video("error", None), MediaAssetStatus.READY),  # no time: not newer
        (video("ready", T1), video("error", "yesterday"), MediaAssetStatus.READY),
    ],
    ids=[
        "ready-inprogress",
        "ready-queued",
        "error-inprogress",
        "error-newer-ready",
        "error-older-ready",
        "ready-newer-error",
        "ready-older-error",
        "tie",
        "no-modified",
        "bad-modified",
    ],
)
def test_a_video_never_moves_backwards(asset, first, second, final):
    apply_video(asset, first)
    apply_video(asset, second)
    assert asset.status == final


def test_the_same_ready_twice_changes_nothing(asset):
    assert apply_video(asset, video("ready")) is True
    assert apply_video(asset, video("ready", duration=99)) is False
    assert asset.duration_seconds == 12


def test_a_queued_video_leaves_a_processing_asset_alone(asset):
    assert apply_video(asset, video("queued")) is False
    assert asset.status == MediaAssetStatus.PROCESSING


def test_a_settled_state_of_another_upload_does_not_block_a_new_one(asset):
    apply_video(asset, video("ready", "2030-01-01T00:00:00Z"))
    asset.stream_video_id, asset.status = "a-new-upload", MediaAssetStatus.PROCESSING
    assert apply_video(asset, video("error", T1, uid="a-new-upload")) is True
    # the mark of the old uid is not compared with the new uid's times
    assert apply_video(asset, video("ready", T2, uid="a-new-upload")) is True


# -- recording a delivery ------------------------------------------------------------------------


def test_a_duplicate_delivery_rolls_back_only_its_savepoint(app):
    first, created = record(video("ready"))
    db.session.commit()
    assert created
    again, created_again = record(video("ready"))
    assert (again, created_again) == (None, False)
    other, created_other = record(video("ready"), signature_time=1_700_000_001)  # same session, still usable
    db.session.commit()
    assert created_other and other.id != first.id
    assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) == 2


# -- the job --------------------------------------------------------------------------------------


def test_the_job_applies_once_and_marks_the_delivery(app, asset):
    delivery, _ = record(video("ready"))
    db.session.commit()
    assert apply_stream_webhook(delivery.id) == "applied"
    assert db.session.get(WebhookDelivery, delivery.id).processed_at is not None
    assert db.session.get(MediaAsset, asset.id).status == MediaAssetStatus.READY
    assert apply_stream_webhook(delivery.id) == "already_processed"
    assert apply_stream_webhook(10_000) == "missing"


def test_a_database_error_propagates_and_rq_schedules_a_retry(app, asset):
    from portal.jobs.webhooks import enqueue_delivery

    delivery, _ = record(video("ready"))
    db.session.commit()
    delivery_id = delivery.id
    db.session.execute(text("ALTER TABLE webhook_deliveries RENAME TO webhook_deliveries_away"))
    db.session.commit()
    try:
        with pytest.raises(DBAPIError):
            apply_stream_webhook(delivery_id)
        assert enqueue_delivery(delivery_id) is True
        queue = app.extensions["redis"].queue("webhooks")
        SimpleWorker([queue], connection=queue.connection).work(burst=True)
        job = Job.fetch(f"stream-webhook-{delivery_id}", connection=queue.connection)
        assert job.get_status() == JobStatus.SCHEDULED and job.retries_left == 4
    finally:
        db.session.rollback()
        db.session.execute(text("ALTER TABLE webhook_deliveries_away RENAME TO webhook_deliveries"))
        db.session.commit()
    assert db.session.get(WebhookDelivery, delivery_id).processed_at is None
    assert db.session.get(MediaAsset, asset.id).status == MediaAssetStatus.PROCESSING


# -- reconciling ---------------------------------------------------------------------------------


def _age_deliveries(seconds):
    db.session.execute(
        update(WebhookDelivery).values(received_at=datetime.now(UTC) - timedelta(seconds=seconds))
    )
    db.session.commit()


def test_unprocessed_deliveries_are_enqueued_once(app):
    old, _ = record(video("ready"))
    done, _ = record(video("ready"), signature_time=1_700_000_001)
    done.processed_at = datetime.now(UTC)
    db.session.commit()
    _age_deliveries(300)
    fresh, _ = record(video("ready"), signature_time=1_700_000_002)
    db.session.commit()

    assert enqueue_unprocessed_deliveries() == {"enqueued": 1, "already_queued": 0}
    assert app.extensions["redis"].queue("webhooks").job_ids == [f"stream-webhook-{old.id}"]
    assert enqueue_unprocessed_deliveries() == {"enqueued": 0, "already_queued": 1}


def _wait_until_settled(stream, uid, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stream.get_video(uid)["status"]["state"] in ("ready", "error"):
            return
        time.sleep(0.1)
    raise AssertionError(f"{uid} still processing after {timeout} s")


@pytest.mark.slow
def test_reconcile_asks_stream_about_stuck_assets(app_factory, emulator, sample_video):
    app = app_factory(CLOUDFLARE_API_BASE=emulator.api_base, STREAM_CUSTOMER_BASE_URL=emulator.url)
    with app.app_context():
        stream = get_client()
        uid = stream.upload_video(str(sample_video), {"title": "Stuck"})["uid"]
        recent_uid = stream.upload_video(str(sample_video), {"title": "Recent"})["uid"]
        session = TrainingSession(title="Stuck seminar", recording_status=RecordingStatus.PROCESSING)
        db.session.add(session)
        db.session.flush()
        stuck = MediaAsset(
            title="Stuck",
            stream_video_id=uid,
            status=MediaAssetStatus.PROCESSING,
            entity_type=EntityType.TRAINING_SESSION,
            entity_id=session.id,
        )
        gone = MediaAsset(title="Gone", stream_video_id="f" * 32, status=MediaAssetStatus.PROCESSING)
        recent = MediaAsset(title="Recent", stream_video_id=recent_uid, status=MediaAssetStatus.PROCESSING)
        db.session.add_all([stuck, gone, recent])
        db.session.commit()
        db.session.execute(
            update(MediaAsset)
            .where(MediaAsset.id.in_([stuck.id, gone.id]))
            .values(updated_at=datetime.now(UTC) - timedelta(hours=2))
        )
        db.session.commit()
        _wait_until_settled(stream, uid)
        _wait_until_settled(stream, recent_uid)

        result = app.test_cli_runner().invoke(reconcile_command, ["--older-than", "30"])
        assert result.exit_code == 0, result.output
        assert "2 checked, 1 updated, 1 missing on Stream, 0 lookup errors" in result.output

        stuck, gone, recent = (db.session.get(MediaAsset, a.id) for a in (stuck, gone, recent))
        assert stuck.status == MediaAssetStatus.READY and stuck.url.endswith(f"{uid}/manifest/video.m3u8")
        assert session_of(stuck).recording_status == RecordingStatus.READY
        assert gone.status == MediaAssetStatus.FAILED
        assert recent.status == MediaAssetStatus.PROCESSING
