"""Following processing videos: plain failure reasons, pctComplete, the follow-up job with its
backoff (through a real worker and the emulator), notifications once per transition, the sweep."""

import time
from datetime import UTC, datetime

import pytest
import requests
from rq import SimpleWorker
from rq.job import Job

from portal.extensions import db
from portal.jobs import schedule
from portal.jobs.processing import check_processing, follow_job_id, follow_processing, sweep_processing
from portal.models import MediaAsset, MediaAssetStatus, Notification, Role, Tier
from portal.services import processing_errors
from portal.services.stream import get_client
from portal.services.stream_events import apply_video, settle

UID = "0123456789abcdef0123456789abcdef"
DOCUMENTED_CODES = [
    "ERR_NON_VIDEO",
    "ERR_DURATION_EXCEED_CONSTRAINT",
    "ERR_FETCH_ORIGIN_ERROR",
    "ERR_MALFORMED_VIDEO",
    "ERR_DURATION_TOO_SHORT",
    "ERR_UNKNOWN",
]


@pytest.fixture
def app(app_factory, emulator):
    """The portal on the emulator, with no webhook subscribed: only the follow-up can settle videos."""
    app = app_factory(
        CLOUDFLARE_API_BASE=emulator.api_base, STREAM_CUSTOMER_BASE_URL=emulator.url, STREAM_MAX_RETRIES=0
    )
    with app.app_context():
        yield app


@pytest.fixture
def owner(make_user):
    return make_user(role=Role.INSTRUCTOR, tier=Tier.LIFETIME, name="Ian")


@pytest.fixture
def make_asset(owner):
    def make(uid=UID, status=MediaAssetStatus.PROCESSING, title="Kata basics"):
        asset = MediaAsset(title=title, stream_video_id=uid, status=status, created_by=owner.id)
        db.session.add(asset)
        db.session.commit()
        return asset

    return make


def queue_of(app):
    return app.extensions["redis"].queue("default")


def run_now(app, job_id):
    """Run a scheduled job now (as RQ's scheduler would when it is due) in a burst worker."""
    queue = queue_of(app)
    job = Job.fetch(job_id, connection=queue.connection)
    queue.scheduled_job_registry.remove(job)
    queue.enqueue_job(job)
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def seconds_until_scheduled(app, job_id):
    registry = queue_of(app).scheduled_job_registry
    when = registry.get_scheduled_time(job_id)
    return (when - datetime.now(UTC)).total_seconds()


def notifications_of(user_id):
    return db.session.scalars(
        db.select(Notification).where(Notification.user_id == user_id).order_by(Notification.id)
    ).all()


# -- the plain meaning of every documented errorReasonCode ------------------------------------------


@pytest.mark.parametrize("code", DOCUMENTED_CODES)
def test_every_documented_code_has_a_plain_meaning_and_a_next_step(code):
    meaning = processing_errors.meaning_of(code)
    assert meaning.code == code and "ERR_" not in meaning.sentence
    assert meaning.meaning and meaning.what_to_do


def test_the_seed_meanings_read_as_the_issue_asks():
    assert processing_errors.meaning_of("ERR_NON_VIDEO").meaning == "The file is not a video"
    assert "MP4" in processing_errors.meaning_of("ERR_MALFORMED_VIDEO").what_to_do
    assert "longer than allowed" in processing_errors.meaning_of("ERR_DURATION_EXCEED_CONSTRAINT").meaning
    assert processing_errors.meaning_of("ERR_SOMETHING_NEW") is processing_errors.UNKNOWN
    assert processing_errors.meaning_of(None) is processing_errors.UNKNOWN


# -- pctComplete ------------------------------------------------------------------------------------


def test_pct_complete_is_kept_while_processing_and_never_moves_a_settled_asset(app, make_asset):
    asset = make_asset()
    inprogress = {"uid": UID, "status": {"state": "inprogress", "pctComplete": "39.000000"}}
    assert apply_video(asset, inprogress) is False  # no transition
    assert asset.stream_pct_complete == 39.0 and asset.status == MediaAssetStatus.PROCESSING
    for junk in ("nan", "abc", None, "-5"):
        apply_video(asset, {"uid": UID, "status": {"state": "inprogress", "pctComplete": junk}})
    assert asset.stream_pct_complete in (39.0, 0.0)
    ready = {
        "uid": UID,
        "modified": "2024-05-01T10:00:00Z",
        "status": {"state": "ready", "pctComplete": "100"},
    }
    assert apply_video(asset, ready) is True and asset.stream_pct_complete == 100.0
    apply_video(asset, {"uid": UID, "status": {"state": "inprogress", "pctComplete": "10"}})
    assert asset.status == MediaAssetStatus.READY and asset.stream_pct_complete == 100.0


# -- notifications, once per transition -------------------------------------------------------------


def test_a_transition_notifies_the_uploader_and_admins_once(app, make_asset, make_user, owner):
    admin = make_user(role=Role.ADMIN, tier=Tier.LIFETIME)
    asset = make_asset()
    failed = {
        "uid": UID,
        "modified": "2024-05-01T10:00:00Z",
        "status": {"state": "error", "errorReasonCode": "ERR_NON_VIDEO", "errorReasonText": "x"},
    }
    assert settle(asset, failed) is True
    assert settle(asset, failed) is False  # a replay: no second notification
    db.session.commit()
    mine, admins = notifications_of(owner.id), notifications_of(admin.id)
    assert [n.kind for n in mine] == ["video_failed"] and "not a video" in mine[0].body
    assert "upload it again" in mine[0].body
    assert [n.kind for n in admins] == ["video_failed"] and "ERR_NON_VIDEO: x" in admins[0].body

    newer_ready = {"uid": UID, "modified": "2024-05-01T10:00:01Z", "status": {"state": "ready"}}
    assert settle(asset, newer_ready) is True
    db.session.commit()
    ready = notifications_of(owner.id)[-1]
    assert ready.kind == "video_ready" and ready.link == f"/watch/{asset.id}"
    assert len(notifications_of(admin.id)) == 1  # admins hear of failures only


def test_a_newer_delivery_of_the_same_state_notifies_no_one_again(app, make_asset, make_user, owner):
    """Stream bumps `modified` on any edit (e.g. the portal setting requireSignedURLs), so a later
    delivery or lookup of a ready video is newer but no news: the asset takes it, nobody hears twice."""
    admin = make_user(role=Role.ADMIN, tier=Tier.LIFETIME)
    asset = make_asset()
    ready = {"uid": UID, "modified": "2024-05-01T10:00:00Z", "status": {"state": "ready"}, "duration": 5}
    assert settle(asset, ready) is True
    newer_ready = {**ready, "modified": "2024-05-01T10:05:00Z", "duration": 6}
    assert settle(asset, newer_ready) is True and asset.duration_seconds == 6
    db.session.commit()
    assert [n.kind for n in notifications_of(owner.id)] == ["video_ready"]

    error = {
        "uid": UID,
        "modified": "2024-05-01T10:10:00Z",
        "status": {"state": "error", "errorReasonCode": "ERR_UNKNOWN"},
    }
    assert settle(asset, error) is True
    assert settle(asset, {**error, "modified": "2024-05-01T10:15:00Z"}) is True
    db.session.commit()
    assert [n.kind for n in notifications_of(owner.id)] == ["video_ready", "video_failed"]
    assert [n.kind for n in notifications_of(admin.id)] == ["video_failed"]


# -- the follow-up job ------------------------------------------------------------------------------


def test_follow_processing_schedules_one_check_per_asset_in_30_seconds(app, make_asset):
    asset = make_asset()
    assert follow_processing(asset.id) is True
    assert follow_processing(asset.id) is False  # already followed: one job per asset
    job = Job.fetch(follow_job_id(asset.id), connection=queue_of(app).connection)
    assert job.func_name == "portal.jobs.processing.check_processing" and job.args == (asset.id,)
    assert 25 < seconds_until_scheduled(app, job.id) <= 30
    assert job.repeats_left == 39 and job.repeat_intervals[-4:] == [300, 240, 120, 60]


@pytest.mark.slow
def test_a_video_whose_webhook_never_comes_becomes_ready_through_the_follow_up(
    app, make_asset, owner, sample_video
):
    video = get_client().upload_video(str(sample_video), {"title": "No webhook"})
    asset = make_asset(uid=video["uid"])
    follow_processing(asset.id)
    job_id = follow_job_id(asset.id)
    delays = []
    for _ in range(60):
        run_now(app, job_id)
        db.session.rollback()
        if db.session.get(MediaAsset, asset.id).status == MediaAssetStatus.READY:
            break
        delays.append(round(seconds_until_scheduled(app, job_id), -1))
        time.sleep(0.2)
    asset = db.session.get(MediaAsset, asset.id)
    assert asset.status == MediaAssetStatus.READY and asset.duration_seconds == 2
    assert asset.stream_pct_complete == 100.0
    assert delays[:4] == [60, 120, 240, 300][: len(delays[:4])]  # the backoff, while it processed
    # settled: the job stopped repeating and is gone, so the asset can be followed again later
    assert not Job.exists(job_id, connection=queue_of(app).connection)
    assert [n.kind for n in notifications_of(owner.id)] == ["video_ready"]


@pytest.mark.slow
def test_a_non_video_fails_with_its_plain_reason_through_the_follow_up(app, make_asset, owner, tmp_path):
    text_file = tmp_path / "notes.mp4"
    text_file.write_bytes(b"these are my notes, not a video\n" * 100)
    video = get_client().upload_video(str(text_file), {"title": "Notes"})
    asset = make_asset(uid=video["uid"])
    for _ in range(100):
        outcome = check_processing(asset.id)
        if outcome == "settled":
            break
        time.sleep(0.1)
    db.session.rollback()
    asset = db.session.get(MediaAsset, asset.id)
    assert asset.status == MediaAssetStatus.FAILED
    assert asset.processing_error.startswith("The file is not a video")
    assert asset.stream_error.startswith("ERR_NON_VIDEO")
    assert [n.kind for n in notifications_of(owner.id)] == ["video_failed"]


def test_a_video_stream_no_longer_has_fails_the_asset(app, make_asset, owner):
    asset = make_asset(uid="f" * 32)
    assert check_processing(asset.id) == "settled"
    asset = db.session.get(MediaAsset, asset.id)
    assert asset.status == MediaAssetStatus.FAILED and "no longer has" in asset.processing_error
    assert len(notifications_of(owner.id)) == 1


def test_a_stream_outage_leaves_the_asset_processing_and_asks_again(app, emulator, make_asset):
    asset = make_asset(uid="e" * 32)
    spec = {"kind": "status", "status": 503, "count": 1, "path_prefix": "/client/v4"}
    requests.post(f"{emulator.url}/__emulator__/faults", json=spec, timeout=10).raise_for_status()
    follow_processing(asset.id)
    run_now(app, follow_job_id(asset.id))
    db.session.rollback()
    assert db.session.get(MediaAsset, asset.id).status == MediaAssetStatus.PROCESSING
    assert 50 < seconds_until_scheduled(app, follow_job_id(asset.id)) <= 60  # asks again


def test_a_settled_or_deleted_asset_ends_its_checks(app, make_asset):
    asset = make_asset(status=MediaAssetStatus.READY)
    follow_processing(asset.id)
    run_now(app, follow_job_id(asset.id))
    assert not Job.exists(follow_job_id(asset.id), connection=queue_of(app).connection)
    assert check_processing("no-such-asset") == "gone"


# -- the sweep and the schedule ---------------------------------------------------------------------


def test_the_sweep_follows_every_processing_asset_once(app, make_asset):
    waiting = make_asset(uid="a" * 32)
    make_asset(uid="b" * 32, status=MediaAssetStatus.READY)
    make_asset(uid=None, status=MediaAssetStatus.PROCESSING, title="Not on Stream yet")
    first = sweep_processing()
    assert first["processing"] == 1 and first["newly_followed"] == 1
    assert sweep_processing()["newly_followed"] == 0
    assert Job.exists(follow_job_id(waiting.id), connection=queue_of(app).connection)


def test_the_schedule_lists_the_sweep_and_the_analytics_refresh():
    entries = {(job.func.__name__, job.queue, job.interval) for job in schedule.SCHEDULE}
    assert ("sweep_processing", "default", 300) in entries
    assert ("refresh_default_analytics", "default", 900) in entries
