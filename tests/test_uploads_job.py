"""The push job through a real RQ worker against the Stream emulator: resume, expiry, failures."""

import logging
import os
import signal
import subprocess
import sys
import time

import pytest
import requests
from rq import SimpleWorker
from rq.registry import FailedJobRegistry, StartedJobRegistry

from portal.extensions import db
from portal.jobs.uploads import push_job_id
from portal.models import MediaAsset, MediaAssetStatus
from portal.services import stream_events
from portal.services.stream import get_client
from tests import uploads_support
from tests.emulator_fixtures import AUTH, TUS
from tests.uploads_support import mp4_bytes, sha, upload_settings

MIB = 1024 * 1024


@pytest.fixture
def stream_app(app_factory, tmp_path, emulator):
    """The portal against the emulator: 8 KiB chunks here, 5 MiB tus pieces to Stream, a file database."""

    def build(**overrides):
        settings = {
            **upload_settings(tmp_path, UPLOAD_CHUNK_SIZE=8 * 1024),
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'portal.db'}",
            "CLOUDFLARE_API_BASE": emulator.api_base,
            "STREAM_CUSTOMER_BASE_URL": emulator.url,
            "STREAM_TUS_CHUNK_SIZE": 5 * MIB,
            "STREAM_MAX_RETRIES": 1,
            **overrides,
        }
        app = app_factory(**settings)
        context = app.app_context()
        context.push()
        contexts.append(context)
        return app

    contexts = []
    yield build
    for context in reversed(contexts):
        context.pop()


def upload(app, data, **fields):
    """Send `data` through the chunk API as a new instructor; returns (uploader, initiate body)."""
    up = uploads_support.uploader_for(app, uploads_support.make_user_in(app))
    body = up.initiate(file_size=len(data), **fields).get_json()
    up.send_all(body["upload_id"], data, chunk_size=body["chunk_size"])
    assert up.finalize(body["upload_id"]).status_code == 202
    return up, body


def work(app):
    queue = app.extensions["redis"].queue("uploads")
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def stream_video(emulator, uid):
    return emulator.emulator.videos.get(uid)


def stream_bytes_sha(emulator, uid):
    with open(emulator.emulator.videos.source_path(uid), "rb") as handle:
        return sha(handle.read())


def test_the_job_pushes_every_chunk_to_stream_and_then_frees_the_disk(stream_app, emulator, sample_video):
    app = stream_app()
    data = sample_video.read_bytes()
    up, body = upload(app, data, title="Kata basics", access_level="members_only")
    assert body["total_chunks"] > 1
    work(app)
    asset = db.session.get(MediaAsset, body["asset_id"])
    assert asset.status == MediaAssetStatus.PROCESSING and asset.stream_video_id
    assert asset.stream_upload_url and asset.processing_error is None
    video = stream_video(emulator, asset.stream_video_id)
    assert video["requireSignedURLs"] is True and video["meta"]["name"] == "Kata basics"
    assert video["maxDurationSeconds"] == app.config["STREAM_MAX_DURATION_SECONDS"] >= 6 * 3600
    assert video["meta"]["asset_id"] == asset.id
    assert stream_bytes_sha(emulator, asset.stream_video_id) == sha(data)
    assert not os.path.exists(os.path.join(app.config["UPLOAD_DIR"], body["upload_id"]))
    progress = up.progress(body["upload_id"]).get_json()
    assert progress["status"] == "complete" and progress["percent"] == 100.0
    assert progress["asset_status"] == "processing"
    again = up.finalize(body["upload_id"])  # nothing new starts for a pushed upload
    assert again.status_code == 202 and again.get_json()["job_id"] is None
    assert len(emulator.emulator.videos.all()) == 1


def test_public_videos_do_not_require_signed_urls(stream_app, emulator, sample_video):
    app = stream_app()
    _, body = upload(app, sample_video.read_bytes(), title="Open day", access_level="public")
    work(app)
    asset = db.session.get(MediaAsset, body["asset_id"])
    assert stream_video(emulator, asset.stream_video_id)["requireSignedURLs"] is False


def worker_env(app, emulator, redis_url, tmp_path):
    """Environment for a worker process configured like `app` (same database, Redis, disk, emulator)."""
    return dict(
        os.environ,
        PORTAL_ENV="test",
        TEST_REDIS_URL=redis_url,
        TEST_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        PORTAL_INSTANCE_DIR=str(tmp_path),
        UPLOAD_DIR=app.config["UPLOAD_DIR"],
        UPLOAD_CHUNK_SIZE=str(app.config["UPLOAD_CHUNK_SIZE"]),
        CLOUDFLARE_API_BASE=emulator.api_base,
        STREAM_CUSTOMER_BASE_URL=emulator.url,
        STREAM_TUS_CHUNK_SIZE=str(5 * MIB),
    )


PEAK_OF_PUSH = """
import sys, tracemalloc
from portal import create_app
from portal.jobs.uploads import push_upload
with create_app().app_context():
    tracemalloc.start()
    outcome = push_upload(sys.argv[1])
    print(outcome, tracemalloc.get_traced_memory()[1])
"""


def test_the_push_streams_with_bounded_memory(stream_app, emulator, redis_url, tmp_path):
    """Measured in a process of its own: the emulator receiving the bytes runs in this one."""
    app = stream_app(UPLOAD_CHUNK_SIZE=MIB)
    data = mp4_bytes(12 * MIB)
    _, body = upload(app, data, title="Long")
    result = subprocess.run(
        [sys.executable, "-c", PEAK_OF_PUSH, body["upload_id"]],
        env=worker_env(app, emulator, redis_url, tmp_path),
        cwd=os.getcwd(),
        capture_output=True,
        text=True,
        check=True,
    )
    outcome, peak = result.stdout.split()
    db.session.expire_all()
    asset = db.session.get(MediaAsset, body["asset_id"])
    assert outcome == "pushed" and stream_bytes_sha(emulator, asset.stream_video_id) == sha(data)
    assert int(peak) < 3 * MIB  # one 1 MiB read buffer: not a 5 MiB piece, not the 12 MiB file


def test_a_worker_killed_mid_push_resumes_from_streams_offset(stream_app, emulator, redis_url, tmp_path):
    app = stream_app(UPLOAD_CHUNK_SIZE=MIB, UPLOAD_RETRY_INTERVALS=(0, 0, 0))
    data = mp4_bytes(12 * MIB)
    _, body = upload(app, data, title="Seminar")
    faults = f"{emulator.url}/__emulator__/faults"
    slow = {"kind": "delay", "seconds": 1.5, "method": "PATCH", "count": None}
    requests.post(faults, json=slow, timeout=10).raise_for_status()
    env = worker_env(app, emulator, redis_url, tmp_path)
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rq.cli",
            "worker",
            "-w",
            "portal.worker.AppWorker",
            "--burst",
            "--url",
            redis_url,
            "uploads",
        ],
        env=env,
        cwd=os.getcwd(),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        offset, deadline = 0, time.monotonic() + 60
        while offset < 5 * MIB and time.monotonic() < deadline:
            time.sleep(0.1)
            db.session.expire_all()
            url = db.session.get(MediaAsset, body["asset_id"]).stream_upload_url
            if url:
                head = requests.head(url, headers={**AUTH, **TUS}, timeout=10)
                offset = int(head.headers.get("Upload-Offset", 0))
        os.killpg(worker.pid, signal.SIGKILL)
    finally:
        worker.wait(timeout=10)
    assert 5 * MIB <= offset < len(data), "the worker was not killed mid-push"
    db.session.expire_all()
    asset = db.session.get(MediaAsset, body["asset_id"])
    uid = asset.stream_video_id
    assert asset.status == MediaAssetStatus.UPLOADING
    requests.delete(faults, timeout=10).raise_for_status()
    # RQ's maintenance finds the job abandoned (its worker is gone) and retries it
    queue = app.extensions["redis"].queue("uploads")
    StartedJobRegistry(queue=queue).cleanup(timestamp=time.time() + 10**6)
    assert queue.job_ids == [push_job_id(body["upload_id"])]
    work(app)
    db.session.expire_all()
    asset = db.session.get(MediaAsset, body["asset_id"])
    assert asset.status == MediaAssetStatus.PROCESSING and asset.stream_video_id == uid
    assert [v["uid"] for v in emulator.emulator.videos.all()] == [uid]  # one Stream video
    assert stream_bytes_sha(emulator, uid) == sha(data)  # every byte, none twice
    assert not os.path.exists(os.path.join(app.config["UPLOAD_DIR"], body["upload_id"]))


def test_an_expired_tus_url_starts_a_fresh_stream_upload(stream_app, emulator, sample_video, caplog, http):
    app = stream_app()
    data = sample_video.read_bytes()
    _, body = upload(app, data, title="Late")
    stale = get_client(app).initiate_chunked_upload(len(data), {"name": "stale"})
    expired = {"uploadExpiry": "2020-01-01T00:00:00Z"}
    http.post(
        f"{emulator.api_base}/accounts/emulator-account/stream/{stale['video_id']}", json=expired, timeout=10
    )
    head = requests.head(stale["upload_url"], headers={**AUTH, **TUS}, timeout=10)
    assert head.status_code == 410  # the emulator enforces uploadExpiry, as Cloudflare does
    patch_headers = {**AUTH, **TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
    patch = requests.patch(stale["upload_url"], data=data, headers=patch_headers, timeout=10)
    assert patch.status_code == 410
    asset = db.session.get(MediaAsset, body["asset_id"])
    asset.stream_upload_url, asset.stream_video_id = stale["upload_url"], stale["video_id"]
    db.session.commit()
    with caplog.at_level(logging.WARNING, logger="portal.jobs.uploads"):
        work(app)
    assert "expired; starting a fresh Stream upload" in caplog.text
    db.session.expire_all()
    asset = db.session.get(MediaAsset, body["asset_id"])
    assert asset.status == MediaAssetStatus.PROCESSING and asset.stream_video_id != stale["video_id"]
    assert stream_bytes_sha(emulator, asset.stream_video_id) == sha(data)


def test_a_video_longer_than_the_max_duration_fails_with_that_reason(stream_app, emulator, sample_video):
    app = stream_app(STREAM_MAX_DURATION_SECONDS=1)
    _, body = upload(app, sample_video.read_bytes(), title="Too long")
    work(app)
    asset = db.session.get(MediaAsset, body["asset_id"])
    deadline = time.monotonic() + 60
    while stream_video(emulator, asset.stream_video_id)["status"]["state"] != "error":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    stream_events.reconcile_processing_assets(older_than_minutes=-1)
    db.session.commit()
    asset = db.session.get(MediaAsset, body["asset_id"])
    assert asset.status == MediaAssetStatus.FAILED
    assert asset.processing_error.startswith("The video is longer than allowed.")
    assert "ERR_DURATION_EXCEED_CONSTRAINT" in asset.stream_error
    assert "maxDurationSeconds" in asset.stream_error


def test_a_failed_push_fails_the_asset_with_a_reason_and_can_be_retried(stream_app, emulator, sample_video):
    app = stream_app(UPLOAD_RETRY_INTERVALS=())
    data = sample_video.read_bytes()
    up, body = upload(app, data, title="Unlucky")
    refuse = {
        "kind": "status",
        "status": 413,
        "method": "POST",
        "count": 1,
        "message": "Storage quota exceeded",
    }
    requests.post(f"{emulator.url}/__emulator__/faults", json=refuse, timeout=10).raise_for_status()
    work(app)
    db.session.expire_all()
    asset = db.session.get(MediaAsset, body["asset_id"])
    assert asset.status == MediaAssetStatus.FAILED
    assert asset.processing_error.startswith("Stream refused the video:")
    assert len(os.listdir(os.path.join(app.config["UPLOAD_DIR"], body["upload_id"]))) > 1  # chunks kept
    queue = app.extensions["redis"].queue("uploads")
    assert FailedJobRegistry(queue=queue).get_job_ids() == [push_job_id(body["upload_id"])]
    assert up.progress(body["upload_id"]).get_json()["asset_status"] == "failed"
    assert up.finalize(body["upload_id"]).status_code == 202  # asking again requeues the failed job
    work(app)
    db.session.expire_all()
    asset = db.session.get(MediaAsset, body["asset_id"])
    assert asset.status == MediaAssetStatus.PROCESSING and asset.processing_error is None
    assert stream_bytes_sha(emulator, asset.stream_video_id) == sha(data)


def test_a_job_that_died_after_stream_had_every_byte_finishes_without_sending_again(
    stream_app, emulator, sample_video
):
    """Stream has the whole file but the asset was never marked processing (a crash in between)."""
    app = stream_app()
    data = sample_video.read_bytes()
    _, body = upload(app, data, title="Almost")
    client = get_client(app)
    done = client.upload_file_tus(str(sample_video), metadata={"name": "Almost"})
    asset = db.session.get(MediaAsset, body["asset_id"])
    asset.stream_upload_url, asset.stream_video_id = done["upload_url"], done["video_id"]
    db.session.commit()
    work(app)
    db.session.expire_all()
    asset = db.session.get(MediaAsset, body["asset_id"])
    assert asset.status == MediaAssetStatus.PROCESSING and asset.stream_video_id == done["video_id"]
    assert [v["uid"] for v in emulator.emulator.videos.all()] == [done["video_id"]]
    assert not os.path.exists(os.path.join(app.config["UPLOAD_DIR"], body["upload_id"]))


def test_a_push_that_cannot_reach_stream_says_so_in_plain_words(stream_app, sample_video):
    """Stream unreachable (a closed port) is not "Stream refused the video: ...ConnectionError...":
    the instructor reads that Stream could not be reached; the technical detail stays in the log."""
    app = stream_app(UPLOAD_RETRY_INTERVALS=(), CLOUDFLARE_API_BASE="http://127.0.0.1:9/client/v4")
    up, body = upload(app, sample_video.read_bytes(), title="Offline")
    work(app)
    db.session.expire_all()
    asset = db.session.get(MediaAsset, body["asset_id"])
    assert asset.status == MediaAssetStatus.FAILED
    assert asset.processing_error.startswith("The portal could not reach Stream")
    assert "ConnectionError" not in asset.processing_error
