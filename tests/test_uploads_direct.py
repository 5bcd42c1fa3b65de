"""POST /api/media/upload (a whole file up to 200 MB) and POST /api/media/upload-from-url."""

import io
import os

import pytest
from rq import SimpleWorker

from portal.extensions import db
from portal.models import MediaAsset, MediaAssetStatus, Role
from tests import uploads_support
from tests.uploads_support import mp4_bytes, sha, upload_settings


@pytest.fixture
def app(app_factory, tmp_path, emulator):
    app = app_factory(
        **upload_settings(tmp_path, UPLOAD_DIRECT_MAX_SIZE=300 * 1024),
        CLOUDFLARE_API_BASE=emulator.api_base,
        STREAM_CUSTOMER_BASE_URL=emulator.url,
        MAX_CONTENT_LENGTH=4096,
    )
    with app.app_context():
        yield app


@pytest.fixture
def staff(app):
    return uploads_support.uploader_for(app, uploads_support.make_user_in(app))


def direct(up, data, name="class.mp4", **fields):
    form = {"title": "Class", **fields, "file": (io.BytesIO(data), name)}
    return up.client.post(
        "/api/media/upload", data=form, headers=up.headers, content_type="multipart/form-data"
    )


def work(app):
    queue = app.extensions["redis"].queue("uploads")
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def test_a_direct_upload_is_streamed_to_disk_and_pushed_by_the_same_job(app, staff, emulator, sample_video):
    data = sample_video.read_bytes()
    response = direct(staff, data, tags="kata, basics", access_level="tier_specific", required_tier="basic")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["asset"]["status"] == "uploading" and body["asset"]["tags"] == ["basics", "kata"]
    assert body["asset"]["file_size_bytes"] == len(data) and body["asset"]["created_by"] == staff.user.id
    assert body["job_id"] == f"upload-push-{body['upload_id']}"
    assert os.listdir(os.path.join(app.config["UPLOAD_DIR"], ".incoming")) == []  # moved, not copied
    work(app)
    asset = db.session.get(MediaAsset, body["asset"]["id"])
    assert asset.status == MediaAssetStatus.PROCESSING
    video = emulator.emulator.videos.get(asset.stream_video_id)
    assert video["requireSignedURLs"] is True
    with open(emulator.emulator.videos.source_path(asset.stream_video_id), "rb") as handle:
        assert sha(handle.read()) == sha(data)


@pytest.mark.parametrize(
    "data, name, fields, status, code",
    [
        (b"%PDF-1.7 not a video", "class.mp4", {}, 415, "unsupported_container"),
        (mp4_bytes(100), "class.exe", {}, 415, "unsupported_file_type"),
        (mp4_bytes(100), "class.mp4", {"access_level": "vip"}, 422, "invalid_access_level"),
        (mp4_bytes(100), "class.mp4", {"title": ""}, 400, "missing_field"),
        (mp4_bytes(301 * 1024), "class.mp4", {}, 413, "file_too_large"),
    ],
)
def test_direct_upload_refusals_store_nothing(app, staff, data, name, fields, status, code):
    response = direct(staff, data, name, **fields)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["error"]["code"] == code
    assert db.session.query(MediaAsset).count() == 0
    assert [n for n in os.listdir(app.config["UPLOAD_DIR"]) if n != ".incoming"] == []
    assert os.listdir(os.path.join(app.config["UPLOAD_DIR"], ".incoming")) == []


def test_a_direct_upload_over_the_body_limit_is_refused_before_reading(app, staff):
    response = direct(staff, mp4_bytes(400 * 1024))
    assert response.status_code == 413
    assert db.session.query(MediaAsset).count() == 0


def test_direct_upload_needs_staff_and_a_file(app, staff):
    member = uploads_support.uploader_for(app, uploads_support.make_user_in(app, Role.MEMBER))
    assert direct(member, mp4_bytes(100)).status_code == 403
    response = staff.client.post(
        "/api/media/upload", data={"title": "x"}, headers=staff.headers, content_type="multipart/form-data"
    )
    assert response.status_code == 400 and response.get_json()["error"]["field"] == "file"
    response = staff.client.post("/api/media/upload", json={"title": "x"}, headers=staff.headers)
    assert response.status_code == 415


@pytest.mark.parametrize(
    "url, code",
    [
        ("http://example.org/a.mp4", "https_required"),
        ("ftp://example.org/a.mp4", "https_required"),
        ("file:///etc/passwd", "https_required"),
        ("https://user:pw@example.org/a.mp4", "invalid_url"),
        ("https:///a.mp4", "invalid_url"),
        ("https://example.org/" + "a" * 3000, "invalid_url"),
        (42, "invalid_url"),
        ("https://127.0.0.1/a.mp4", "private_address"),
        ("https://[::1]:8443/a.mp4", "private_address"),
        ("https://169.254.169.254/latest/meta-data", "private_address"),
        ("https://10.0.0.5/a.mp4", "private_address"),
        ("https://[fd00::1]/a.mp4", "private_address"),
        ("https://localhost/a.mp4", "private_address"),
        ("https://nas.local/a.mp4", "private_address"),
        ("https://files.corp.internal/a.mp4", "private_address"),
        ("https://intranet/a.mp4", "private_address"),
        ("https://127.1/a.mp4", "private_address"),
        ("https://0x7f.0.0.1/a.mp4", "private_address"),
        ("https://2130706433/a.mp4", "private_address"),
        ("https://LOCALHOST./a.mp4", "private_address"),
        ("https://[::ffff:127.0.0.1]/a.mp4", "private_address"),
        # Forms a URL parser turns into a private host: percent-encoding, Unicode dots and letters
        # (IDNA), IPv6 addresses that carry a private IPv4 (compatible, 6to4, NAT64).
        ("https://%31%32%37.0.0.1/a.mp4", "private_address"),
        ("https://127.0.0.1%2e/a.mp4", "private_address"),
        ("https://127.0.0\uff0e1/a.mp4", "private_address"),
        ("https://nas.\uff4c\uff4f\uff43\uff41\uff4c/a.mp4", "private_address"),
        ("https://10\u30020\u30020\u30025/a.mp4", "private_address"),
        ("https://[::127.0.0.1]/a.mp4", "private_address"),
        ("https://[2002:7f00:1::]/a.mp4", "private_address"),
        ("https://[64:ff9b::10.0.0.5]/a.mp4", "private_address"),
        ("https://%00/a.mp4", "private_address"),
        ("https://a%00b.example.org/a.mp4", "private_address"),
    ],
)
def test_upload_from_url_takes_only_https(app, staff, url, code):
    response = staff.client.post(
        "/api/media/upload-from-url", json={"url": url, "title": "t"}, headers=staff.headers
    )
    assert response.status_code == 422 and response.get_json()["error"]["code"] == code
    assert db.session.query(MediaAsset).count() == 0


def test_upload_from_url_asks_stream_to_copy_it(app, staff, emulator):
    url = "https://videos.example.org/seminar.mp4"
    response = staff.client.post(
        "/api/media/upload-from-url", json={"url": url, "title": "Seminar"}, headers=staff.headers
    )
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert body["status"] == "uploading" and body["job_id"] == f"upload-copy-{body['asset_id']}"
    work(app)
    asset = db.session.get(MediaAsset, body["asset_id"])
    assert asset.status == MediaAssetStatus.PROCESSING and asset.created_by == staff.user.id
    video = emulator.emulator.videos.get(asset.stream_video_id)
    assert video["meta"]["downloaded-from"] == url and video["requireSignedURLs"] is True
    assert video["maxDurationSeconds"] == app.config["STREAM_MAX_DURATION_SECONDS"]


@pytest.mark.parametrize("url", ["https://example.org:99999/a.mp4", "https://example.org:0x1/a.mp4"])
def test_upload_from_url_refuses_an_impossible_port(app, staff, url):
    response = staff.client.post(
        "/api/media/upload-from-url", json={"url": url, "title": "t"}, headers=staff.headers
    )
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "invalid_url"
    assert db.session.query(MediaAsset).count() == 0


@pytest.mark.parametrize("field, value", [("file_name", "../x.mp4"), ("file_size", 5), ("sha256", "0" * 64)])
def test_upload_from_url_refuses_file_fields_it_would_ignore(app, staff, field, value):
    """A URL upload has no file of the caller's: its name, size or checksum would be silently dropped."""
    body = {"url": "https://example.org/a.mp4", "title": "t", field: value}
    response = staff.client.post("/api/media/upload-from-url", json=body, headers=staff.headers)
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "unknown_field"
    assert response.get_json()["error"]["field"] == field
    assert db.session.query(MediaAsset).count() == 0
