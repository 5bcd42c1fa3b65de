"""Upload storage: concurrent writers, a full disk, idle sessions expiring, the periodic cleanup."""

import os
import subprocess
import threading
import time

import pytest
import requests

from config import Config
from portal.extensions import db
from portal.jobs.schedule import SCHEDULE, build_scheduler
from portal.jobs.uploads import cleanup_expired_uploads
from portal.models import MediaAsset, MediaAssetStatus, Role
from portal.services.uploads import get_upload_service
from tests import uploads_support
from tests.conftest import serving, shareable_database
from tests.uploads_support import CHUNK, PREFIX, chunk_files, mp4_bytes, sha, upload_settings

app = uploads_support.app
make_uploader = uploads_support.make_uploader
SIZE = 3 * CHUNK + 100


def started(up, **fields):
    response = up.initiate(**fields)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture
def served(app_factory, tmp_path):
    """The portal over real HTTP (threaded server, file database) and an instructor's bearer header."""
    app = app_factory(**upload_settings(tmp_path), **shareable_database(tmp_path))
    with app.app_context(), serving(app) as base:
        user = uploads_support.make_user_in(app, Role.INSTRUCTOR)
        token = requests.post(
            f"{base}/api/auth/login",
            json={"email": user.email, "password": "correct-horse-battery"},
            timeout=10,
        ).json()["access_token"]
        yield app, base, {"Authorization": f"Bearer {token}"}


def post_chunk(base, headers, upload_id, index, data):
    return requests.post(
        f"{base}{PREFIX}/chunk",
        params={"upload_id": upload_id, "chunk_index": index},
        data=data,
        headers=dict(headers, **{"Content-Type": "application/octet-stream"}),
        timeout=30,
    )


def in_parallel(calls):
    results = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(i):
        barrier.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_concurrent_writes_of_one_index_leave_one_good_copy(served):
    app, base, headers = served
    init = requests.post(
        f"{base}{PREFIX}/initiate",
        json={"file_name": "a.mp4", "file_size": SIZE, "title": "t"},
        headers=headers,
        timeout=10,
    ).json()
    versions = [mp4_bytes(CHUNK, seed=bytes([n])) for n in range(4)]
    results = in_parallel([lambda v=v: post_chunk(base, headers, init["upload_id"], 0, v) for v in versions])
    statuses = sorted(r.status_code for r in results)
    assert statuses.count(200) == 1 and statuses.count(409) == 3
    winner = versions[[r.status_code for r in results].index(200)]
    directory = os.path.join(app.config["UPLOAD_DIR"], init["upload_id"])
    assert sorted(os.listdir(directory)) == ["000000.chunk", "manifest.json"]  # no temporary file left
    with open(os.path.join(directory, "000000.chunk"), "rb") as handle:
        assert sha(handle.read()) == sha(winner)


def test_parallel_chunks_are_all_recorded(served):
    app, base, headers = served
    size = 8 * CHUNK
    init = requests.post(
        f"{base}{PREFIX}/initiate",
        json={"file_name": "a.mp4", "file_size": size, "title": "t"},
        headers=headers,
        timeout=10,
    ).json()
    data = mp4_bytes(size)
    calls = [
        lambda i=i: post_chunk(base, headers, init["upload_id"], i, data[i * CHUNK : (i + 1) * CHUNK])
        for i in range(8)
    ]
    assert [r.status_code for r in in_parallel(calls)] == [200] * 8
    progress = requests.get(
        f"{base}{PREFIX}/{init['upload_id']}/progress", headers=headers, timeout=10
    ).json()
    assert progress["received_chunks"] == 8 and progress["missing_chunks"] == []


@pytest.fixture
def small_disk(tmp_path):
    """A real 2 MiB tmpfs (needs root); skipped where mounting is not allowed."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True, check=False
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.fixture
def small_disk_app(app_factory, tmp_path, small_disk):
    app = app_factory(**upload_settings(tmp_path, UPLOAD_DIR=str(small_disk / "uploads")))
    with app.app_context():
        yield app


def test_initiate_refuses_what_the_disk_cannot_hold_counting_uploads_in_flight(small_disk_app):
    up = uploads_support.uploader_for(small_disk_app, uploads_support.make_user_in(small_disk_app))
    too_big = up.initiate(file_size=3 * 1024 * 1024)
    assert too_big.status_code == 507 and too_big.get_json()["error"]["code"] == "insufficient_storage"
    first = up.initiate(file_size=1200 * 1024)
    assert first.status_code == 201
    second = up.initiate(file_size=1200 * 1024)  # fits the free space, not what the first still needs
    assert second.status_code == 507
    assert db.session.query(MediaAsset).count() == 1


def test_a_full_disk_during_a_chunk_is_507_and_the_upload_resumes(small_disk_app, small_disk):
    up = uploads_support.uploader_for(small_disk_app, uploads_support.make_user_in(small_disk_app))
    body = started(up, file_size=SIZE)
    data = mp4_bytes(SIZE)
    assert up.chunk(body["upload_id"], 0, data[:CHUNK]).status_code == 200
    filler = small_disk / "filler"
    with open(filler, "wb", buffering=0) as handle:  # someone else fills the disk
        try:
            while True:
                handle.write(b"\0" * 65536)
        except OSError:
            pass
    response = up.chunk(body["upload_id"], 1, data[CHUNK : 2 * CHUNK])
    assert response.status_code == 507 and response.get_json()["error"]["code"] == "insufficient_storage"
    assert chunk_files(small_disk_app, body["upload_id"]) == ["000000.chunk"]
    directory = os.path.join(small_disk_app.config["UPLOAD_DIR"], body["upload_id"])
    assert not [n for n in os.listdir(directory) if n.endswith(".tmp")]
    assert up.progress(body["upload_id"]).get_json()["missing_chunks"] == [1, 2, 3]
    filler.unlink()
    assert up.chunk(body["upload_id"], 1, data[CHUNK : 2 * CHUNK]).status_code == 200


def test_idle_uploads_expire_and_their_chunks_are_deleted(make_uploader, app):
    up = make_uploader()
    idle, active = started(up), started(up)
    up.chunk(idle["upload_id"], 0, mp4_bytes(CHUNK))
    service = get_upload_service()
    day = app.config["UPLOAD_SESSION_TTL"]
    assert service.cleanup_expired_uploads(now=time.time() + day - 60) == 0
    up.chunk(active["upload_id"], 0, mp4_bytes(CHUNK))
    redis = app.extensions["redis"].connection
    redis.hset(f"upload:{active['upload_id']}", "updated_at", time.time() + day)  # touched a day later
    redis.zadd("uploads:active", {active["upload_id"]: time.time() + day})
    assert service.cleanup_expired_uploads(now=time.time() + day + 60) == 1
    db.session.commit()
    assert not os.path.exists(os.path.join(app.config["UPLOAD_DIR"], idle["upload_id"]))
    asset = db.session.get(MediaAsset, idle["asset_id"])
    assert asset.status == MediaAssetStatus.FAILED and "24 hours" in asset.processing_error
    response = up.chunk(idle["upload_id"], 1, mp4_bytes(CHUNK))
    assert response.status_code == 410 and response.get_json()["error"]["code"] == "upload_expired"
    assert chunk_files(app, active["upload_id"]) == ["000000.chunk"]


def test_cleanup_finds_idle_directories_redis_has_forgotten(make_uploader, app):
    up = make_uploader()
    body = started(up)
    up.chunk(body["upload_id"], 0, mp4_bytes(CHUNK))
    app.extensions["redis"].connection.flushdb()
    directory = os.path.join(app.config["UPLOAD_DIR"], body["upload_id"])
    old = time.time() - app.config["UPLOAD_SESSION_TTL"] - 3600
    for name in os.listdir(directory):
        os.utime(os.path.join(directory, name), (old, old))
    os.utime(directory, (old, old))
    assert get_upload_service().cleanup_expired_uploads() == 1
    assert not os.path.exists(directory)


def test_the_cleanup_is_a_scheduled_job_on_the_uploads_queue(app):
    (entry,) = [job for job in SCHEDULE if job.func is cleanup_expired_uploads]
    assert entry.queue == "uploads" and entry.interval == app.config["UPLOAD_CLEANUP_INTERVAL"] <= 3600
    scheduler = build_scheduler(app.extensions["redis"].connection, [entry])
    assert len(scheduler.enqueue_jobs()) == 1
    jobs = app.extensions["redis"].queue("uploads").jobs
    assert [job.func_name for job in jobs] == ["portal.jobs.uploads.cleanup_expired_uploads"]
    assert cleanup_expired_uploads() == 0  # runs in the app context the worker gives it


def test_chunk_rate_limit_is_per_user_with_retry_after(app_factory, tmp_path):
    app = app_factory(**upload_settings(tmp_path), UPLOAD_CHUNK_RATE_LIMIT="3 per minute")
    with app.app_context():
        up = uploads_support.uploader_for(app, uploads_support.make_user_in(app))
        other = uploads_support.uploader_for(app, uploads_support.make_user_in(app))
        body, theirs = started(up), started(other)
        part = mp4_bytes(CHUNK)
        assert [up.chunk(body["upload_id"], 0, part).status_code for _ in range(3)] == [200] * 3
        limited = up.chunk(body["upload_id"], 0, part)
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
        assert limited.get_json()["error"]["code"] == "too_many_requests"
        assert other.chunk(theirs["upload_id"], 0, part).status_code == 200


def test_default_rate_limits_leave_room_for_three_fast_chunks_in_flight(app):
    from limits import parse_many

    per_minute = min(
        i.amount * 60 / i.get_expiry() for i in parse_many(app.config["UPLOAD_CHUNK_RATE_LIMIT"])
    )
    assert per_minute * Config.UPLOAD_CHUNK_SIZE / 60 >= 200 * 1024 * 1024  # 200 MiB/s of chunks


def test_a_connection_dropped_mid_chunk_records_nothing_and_leaves_no_temp_file(served):
    import socket
    from urllib.parse import urlsplit

    app, base, headers = served
    init = requests.post(
        f"{base}{PREFIX}/initiate",
        json={"file_name": "a.mp4", "file_size": SIZE, "title": "t"},
        headers=headers,
        timeout=10,
    ).json()
    host, port = urlsplit(base).hostname, urlsplit(base).port
    request = (
        f"POST {PREFIX}/chunk?upload_id={init['upload_id']}&chunk_index=0 HTTP/1.1\r\n"
        f"Host: {host}\r\nAuthorization: {headers['Authorization']}\r\n"
        f"Content-Type: application/octet-stream\r\nContent-Length: {CHUNK}\r\n\r\n"
    ).encode()
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(request + mp4_bytes(CHUNK)[: CHUNK // 2])  # then the laptop lid closes
    directory = os.path.join(app.config["UPLOAD_DIR"], init["upload_id"])
    deadline = time.monotonic() + 10
    while [n for n in os.listdir(directory) if n.endswith(".tmp")] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sorted(os.listdir(directory)) == ["manifest.json"]
    progress = requests.get(
        f"{base}{PREFIX}/{init['upload_id']}/progress", headers=headers, timeout=10
    ).json()
    assert progress["received_chunks"] == 0
    assert post_chunk(base, headers, init["upload_id"], 0, mp4_bytes(CHUNK)).status_code == 200


def test_one_unreadable_session_does_not_stop_the_cleanup_of_the_others(make_uploader, app):
    """A session Redis cannot hold (here: a manifest with an unpaired surrogate) is logged and skipped."""
    up = make_uploader()
    bodies = [started(up) for _ in range(2)]
    app.extensions["redis"].connection.flushdb()
    broken = os.path.join(app.config["UPLOAD_DIR"], bodies[0]["upload_id"], "manifest.json")
    with open(broken) as handle:
        text = handle.read()
    with open(broken, "w") as handle:
        handle.write(text.replace('"seminar.mp4"', '"seminar\\ud800.mp4"'))
    old = time.time() - app.config["UPLOAD_SESSION_TTL"] - 3600
    for body in bodies:
        directory = os.path.join(app.config["UPLOAD_DIR"], body["upload_id"])
        for name in os.listdir(directory):
            os.utime(os.path.join(directory, name), (old, old))
        os.utime(directory, (old, old))
    assert get_upload_service().cleanup_expired_uploads() == 1
    assert not os.path.exists(os.path.join(app.config["UPLOAD_DIR"], bodies[1]["upload_id"]))
