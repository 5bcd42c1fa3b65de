"""Stream videos the portal made that no asset uses are deleted after a grace; nothing else is."""

import uuid
from datetime import UTC, datetime, timedelta

from portal.extensions import db
from portal.jobs.schedule import SCHEDULE
from portal.models import MediaAsset, MediaAssetStatus
from portal.services.stream import get_client
from portal.services.stream_orphans import portal_tag, remove_orphans


def stream_video(asset_id=None, tag=None):
    """A video created on Stream (the emulator) the way a push starts one: tus creation, no bytes yet."""
    metadata = {"name": "Seminar"}
    if asset_id is not None:
        metadata["meta"] = {"asset_id": asset_id, "portal": tag or portal_tag()}
    return get_client().initiate_chunked_upload(10 * 1024 * 1024, metadata)["video_id"]


def asset(uid=None):
    record = MediaAsset(title="Seminar", stream_video_id=uid, status=MediaAssetStatus.UPLOADING)
    db.session.add(record)
    db.session.commit()
    return record


def uids_on_stream():
    return {video["uid"] for video in get_client().list_videos({"limit": 1000})["videos"]}


def test_orphans_are_deleted_after_the_grace_and_everything_else_stays(stream_app):
    kept = asset()
    in_use = stream_video(kept.id)
    kept.stream_video_id = in_use
    replaced = asset()
    first_try = stream_video(replaced.id)  # its tus URL expired; the push made a fresh upload
    replaced.stream_video_id = stream_video(replaced.id)
    waiting = asset()  # the push created the video and has not recorded its uid yet
    not_yet_recorded = stream_video(waiting.id)
    db.session.commit()
    deleted_asset = asset()
    left_by_a_delete = stream_video(deleted_asset.id)
    db.session.delete(deleted_asset)
    db.session.commit()
    not_ours = stream_video()
    staging_copys = stream_video(str(uuid.uuid4()), tag="0123456789abcdef")  # same account, other portal
    untagged = get_client().initiate_chunked_upload(1024, {"meta": {"asset_id": str(uuid.uuid4())}})[
        "video_id"
    ]
    used_whatever_its_meta = stream_video(str(uuid.uuid4()))
    asset(uid=used_whatever_its_meta)
    before = uids_on_stream()

    assert remove_orphans()["deleted"] == 0  # all younger than the grace
    assert uids_on_stream() == before

    later = datetime.now(UTC) + timedelta(hours=2)
    counts = remove_orphans(now=later)
    assert counts == {"checked": len(before), "deleted": 2}
    assert uids_on_stream() == before - {first_try, left_by_a_delete}
    assert {
        in_use,
        not_yet_recorded,
        not_ours,
        staging_copys,
        untagged,
        used_whatever_its_meta,
    } <= uids_on_stream()
    assert remove_orphans(now=later)["deleted"] == 0  # nothing left to do


def test_the_sweep_is_scheduled():
    assert any(job.func.__name__ == "remove_stream_orphans" for job in SCHEDULE)


def test_every_stream_upload_carries_the_asset_and_the_portal_tag(app):
    from portal.jobs.uploads import stream_metadata

    record = asset()
    with app.test_request_context():
        assert stream_metadata(record)["meta"] == {"asset_id": record.id, "portal": portal_tag()}
    assert len(portal_tag()) == 16 and app.config["SECRET_KEY"] not in portal_tag()


def test_a_staging_copy_with_production_s_secret_key_does_not_share_its_tag(app_factory):
    """A careless copy (staging restored from production's dump and settings, on the same Stream
    account) keeps SECRET_KEY but has its own address: it must never claim production's videos,
    whose assets it does not have (or has an older list of)."""
    tags = []
    for base_url in ("https://portal.example.org", "https://staging.portal.example.org"):
        app = app_factory(SECRET_KEY="s" * 40, PORTAL_BASE_URL=base_url)
        with app.app_context():
            tags.append(portal_tag())
    assert tags[0] != tags[1]
