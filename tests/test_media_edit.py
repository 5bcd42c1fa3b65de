"""Editing and re-gating videos in step with Stream, the change record, and deletion, against the emulator."""

import pytest
import requests
from rq import SimpleWorker

from portal.extensions import db
from portal.models import (
    EntityType,
    Event,
    MediaAccessLevel,
    MediaAsset,
    MediaChange,
    RecordingStatus,
    Tier,
    TrainingSession,
)
from portal.services.stream import get_client
from tests.media_helpers import arm


def put(client, asset_id, body):
    return client.put(f"/api/media/{asset_id}", json=body, headers={"X-CSRFToken": client.csrf})


def bare_iframe_status(app, uid):
    return requests.get(get_client(app).iframe_url(uid), timeout=10).status_code


def run_jobs(app):
    """Run the queued jobs here, as a worker would (on a fresh view of the database)."""
    db.session.expire_all()
    queue = app.extensions["redis"].queue("default")
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def test_public_to_members_only_stops_the_bare_uid_link_at_once(stream_app, people, make_video):
    asset = make_video(access=MediaAccessLevel.PUBLIC)
    assert bare_iframe_status(stream_app, asset.stream_video_id) == 200
    response = put(people["owner"], asset.id, {"access_level": "members_only", "title": "Kata, revised"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["stream_sync"] == "done"
    assert bare_iframe_status(stream_app, asset.stream_video_id) == 401
    change = db.session.query(MediaChange).one()
    assert (change.action, change.old_value, change.new_value) == ("access_changed", "public", "members_only")
    assert change.user_id == people["owner"].user.id
    history = people["owner"].get(f"/api/media/{asset.id}/changes").get_json()["changes"]
    assert history[0]["from"] == "public" and history[0]["user_email"] == people["owner"].user.email


def test_stream_outage_while_protecting_keeps_it_protected_and_the_retry_job_finishes(
    stream_app, emulator, people, make_video
):
    asset = make_video(access=MediaAccessLevel.PUBLIC)
    arm(emulator, kind="status", status=503, count=None, method="POST")
    response = put(people["owner"], asset.id, {"access_level": "tier_specific", "required_tier": "premium"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["stream_sync"] == "pending" and "Stream could not be reached" in body["message"]
    db.session.expire_all()
    stored = db.session.get(MediaAsset, asset.id)
    assert stored.access_level == MediaAccessLevel.TIER_SPECIFIC and stored.stream_sync_pending
    assert people["basic"].get(f"/api/media/{asset.id}/captions").status_code == 403  # the portal refuses now
    requests.delete(f"{emulator.url}/__emulator__/faults", timeout=10).raise_for_status()
    run_jobs(stream_app)
    assert bare_iframe_status(stream_app, asset.stream_video_id) == 401
    db.session.expire_all()
    assert db.session.get(MediaAsset, asset.id).stream_sync_pending is False


def test_becoming_public_while_stream_is_down_changes_nothing(stream_app, emulator, people, make_video):
    asset = make_video(access=MediaAccessLevel.MEMBERS_ONLY)
    arm(emulator, kind="status", status=503, count=None, method="POST")
    response = put(people["admin"], asset.id, {"access_level": "public"})
    assert response.status_code == 503 and "stays protected" in response.get_json()["error"]["message"]
    db.session.expire_all()
    assert db.session.get(MediaAsset, asset.id).access_level == MediaAccessLevel.MEMBERS_ONLY
    assert db.session.query(MediaChange).count() == 0
    requests.delete(f"{emulator.url}/__emulator__/faults", timeout=10)
    assert bare_iframe_status(stream_app, asset.stream_video_id) == 401


@pytest.mark.parametrize(
    ("who", "body", "status", "code"),
    [
        ("owner", {"access_level": "tier_specific", "required_tier": "gold"}, 400, "invalid_required_tier"),
        ("owner", {"required_tier": "premium"}, 400, "tier_not_applicable"),
        ("owner", {"access_level": "tier_specific"}, 400, "tier_required"),
        ("owner", {"access_level": "secret"}, 400, "invalid_access_level"),
        ("owner", {"title": "x" * 10_000}, 400, "field_too_long"),
        ("owner", {"title": "   "}, 400, "invalid_field"),
        ("owner", {"entity_type": "training_session", "entity_id": "no-such-session"}, 400, "unknown_entity"),
        ("owner", {"entity_type": "event"}, 400, "invalid_link"),
        ("owner", {"status": "ready"}, 400, "unknown_field"),
        ("owner", {"tags": "a" * 100}, 400, "invalid_field"),
        ("other", {"title": "Mine now"}, 403, "forbidden"),
        ("basic", {"title": "Mine now"}, 403, "forbidden"),
    ],
)
def test_bad_edits_are_refused_with_the_reason_and_change_nothing(
    stream_app, people, make_video, who, body, status, code
):
    asset = make_video(access=MediaAccessLevel.PUBLIC)
    response = put(people[who], asset.id, body)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["error"]["code"] == code
    db.session.expire_all()
    stored = db.session.get(MediaAsset, asset.id)
    assert (stored.title, stored.access_level, stored.required_tier) == (
        "Kata basics",
        MediaAccessLevel.PUBLIC,
        None,
    )
    assert db.session.query(MediaChange).count() == 0
    assert bare_iframe_status(stream_app, asset.stream_video_id) == 200


def test_anonymous_and_non_json_edits_are_refused(stream_app, client, people, make_video):
    asset = make_video(ready=False)
    assert client.put(f"/api/media/{asset.id}", json={"title": "x"}).status_code in (400, 401)
    owner = people["owner"]
    response = owner.put(f"/api/media/{asset.id}", data="title=x", headers={"X-CSRFToken": owner.csrf})
    assert response.status_code == 415
    assert put(owner, "missing", {"title": "x"}).status_code == 404


def test_relinking_and_deleting_keep_the_sessions_recording_true(stream_app, people, make_video):
    first, second = TrainingSession(title="Monday class"), TrainingSession(title="Tuesday class")
    db.session.add_all([first, second, Event(title="Grading")])
    db.session.commit()
    asset = make_video(access=MediaAccessLevel.MEMBERS_ONLY, ready=True)
    asset.url = "https://example.test/video.m3u8"
    db.session.commit()
    owner = people["owner"]
    assert put(owner, asset.id, {"entity_type": "training_session", "entity_id": first.id}).status_code == 200
    db.session.expire_all()
    assert db.session.get(TrainingSession, first.id).cloudflare_stream_id == asset.stream_video_id
    assert (
        put(owner, asset.id, {"entity_type": "training_session", "entity_id": second.id}).status_code == 200
    )
    db.session.expire_all()
    old, new = db.session.get(TrainingSession, first.id), db.session.get(TrainingSession, second.id)
    assert (old.recording_status, old.cloudflare_stream_id, old.video_url) == (
        RecordingStatus.NONE,
        None,
        None,
    )
    assert (new.recording_status, new.video_url) == (RecordingStatus.READY, "https://example.test/video.m3u8")
    assert owner.delete(f"/api/media/{asset.id}", headers={"X-CSRFToken": owner.csrf}).status_code == 200
    db.session.expire_all()
    assert db.session.get(TrainingSession, second.id).recording_status == RecordingStatus.NONE
    links = [c.action for c in db.session.query(MediaChange).order_by(MediaChange.id)]
    assert links == ["link_changed", "link_changed", "deleted"]
    assert EntityType.TRAINING_SESSION.value in db.session.query(MediaChange).first().new_value


def test_delete_removes_the_stream_video_captions_and_asset(stream_app, people, make_video):
    asset = make_video(access=MediaAccessLevel.PUBLIC)
    asset_id, uid = asset.id, asset.stream_video_id
    stream = get_client(stream_app)
    stream.upload_captions(uid, b"WEBVTT\n\n00:00.000 --> 00:01.000\nhi\n", "en")
    other = people["other"]
    assert other.delete(f"/api/media/{asset.id}", headers={"X-CSRFToken": other.csrf}).status_code == 403
    admin = people["admin"]
    response = admin.delete(f"/api/media/{asset.id}", headers={"X-CSRFToken": admin.csrf})
    assert response.status_code == 200
    assert requests.get(stream.iframe_url(uid), timeout=10).status_code == 404
    db.session.expire_all()
    assert db.session.get(MediaAsset, asset_id) is None
    assert db.session.query(MediaChange).one().action == "deleted"


def test_delete_during_an_outage_hides_the_asset_and_the_job_finishes(
    stream_app, emulator, people, make_video
):
    asset = make_video(access=MediaAccessLevel.TIER_SPECIFIC, tier=Tier.BASIC)
    asset_id, uid, owner = asset.id, asset.stream_video_id, people["owner"]
    arm(emulator, kind="status", status=500, count=None, method="DELETE")
    response = owner.delete(f"/api/media/{asset.id}", headers={"X-CSRFToken": owner.csrf})
    assert response.status_code == 202 and "marked for deletion" in response.get_json()["message"]
    assert people["basic"].get(f"/api/media/{asset.id}/captions").status_code == 404
    assert put(owner, asset.id, {"title": "back"}).status_code == 404
    requests.delete(f"{emulator.url}/__emulator__/faults", timeout=10)
    run_jobs(stream_app)
    db.session.expire_all()
    assert db.session.get(MediaAsset, asset_id) is None
    assert bare_iframe_status(stream_app, uid) == 404


def test_the_periodic_requeue_enqueues_unfinished_stream_changes_and_deletions(stream_app, make_video):
    from datetime import UTC, datetime

    from portal.jobs import media as media_jobs

    pending, deleting, settled = make_video(), make_video(title="Gone"), make_video(title="Fine")
    pending.stream_sync_pending = True
    deleting.deletion_requested_at = datetime.now(UTC)
    db.session.commit()
    assert media_jobs.requeue_unfinished() == {"access": 1, "deletions": 1}
    queue = stream_app.extensions["redis"].queue("default")
    assert sorted(queue.job_ids) == sorted([f"media-access-sync-{pending.id}", f"media-delete-{deleting.id}"])
    media_jobs.requeue_unfinished()  # deterministic ids: nothing is queued twice
    assert queue.count == 2 and settled.id not in " ".join(queue.job_ids)


@pytest.mark.parametrize(
    "body",
    [
        {"title": "Kata \ud800"},
        {"description": "\udfff"},
        {"tags": ["kata", "\ud83d"]},
        {"entity_type": "event", "entity_id": "\ud800"},
    ],
)
def test_text_that_is_not_unicode_is_refused_not_a_server_error(stream_app, people, make_video, body):
    asset = make_video(access=MediaAccessLevel.PUBLIC)
    response = put(people["owner"], asset.id, body)
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"]["field"] == next(iter(body)).replace("entity_type", "entity_id")
    db.session.expire_all()
    assert db.session.get(MediaAsset, asset.id).title == "Kata basics"
    assert db.session.query(MediaChange).count() == 0


def test_a_profile_link_must_name_the_profile_in_plain_digits(stream_app, people, make_video):
    asset = make_video(access=MediaAccessLevel.PUBLIC)
    owner_id = people["owner"].user.id
    look_alike = "".join(chr(0x0660 + int(digit)) for digit in str(owner_id))  # Arabic-Indic digits
    response = put(people["owner"], asset.id, {"entity_type": "profile", "entity_id": look_alike})
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "unknown_entity"
    db.session.expire_all()
    assert db.session.get(MediaAsset, asset.id).entity_id is None
    response = put(people["owner"], asset.id, {"entity_type": "profile", "entity_id": f"00{owner_id}"})
    assert response.status_code == 200 and response.get_json()["asset"]["entity_id"] == str(owner_id)


def test_protecting_a_video_still_being_pushed_to_stream_is_finished_once_stream_has_it(
    stream_app, people, make_video
):
    from portal.jobs import media as media_jobs
    from portal.models import MediaAssetStatus

    asset = make_video(access=MediaAccessLevel.PUBLIC)
    uid, asset.stream_video_id, asset.status = asset.stream_video_id, None, MediaAssetStatus.UPLOADING
    db.session.commit()  # the push job has read the asset (public) and is creating its Stream video
    response = put(people["owner"], asset.id, {"access_level": "members_only"})
    assert response.status_code == 200 and response.get_json()["stream_sync"] == "pending"
    db.session.expire_all()
    stored = db.session.get(MediaAsset, asset.id)
    stored.stream_video_id = uid  # the push job commits the uid of a video Stream made public
    db.session.commit()
    assert bare_iframe_status(stream_app, uid) == 200
    assert media_jobs.requeue_unfinished()["access"] == 1
    run_jobs(stream_app)
    assert bare_iframe_status(stream_app, uid) == 401
    db.session.expire_all()
    assert db.session.get(MediaAsset, asset.id).stream_sync_pending is False
