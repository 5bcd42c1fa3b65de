"""The studio pages: who may open them, the uploads list, the uploader page and the state it polls."""

import hashlib
import re

import pytest

from portal.extensions import db
from portal.models import Event, MediaAccessLevel, MediaAsset, MediaAssetStatus, Role, Tier, TrainingSession
from portal.services.processing_errors import MEANINGS
from portal.services.studio import human_size, plain_failure
from portal.studio.forms import UploadFromUrlForm, UploadMetadataForm
from tests.conftest import csrf_token_from


@pytest.fixture
def make_asset():
    """Factory: make_asset(owner, title=..., status=..., **fields) → a committed MediaAsset."""

    def make(owner, title="Kata basics", status=MediaAssetStatus.READY, **fields):
        asset = MediaAsset(title=title, status=status, created_by=owner.id if owner else None, **fields)
        db.session.add(asset)
        db.session.commit()
        return asset

    return make


def row_titles(html):
    """Titles in the studio table, in order."""
    return re.findall(r'<th scope="row" class="studio-title">([^<]+)', html)


# --- who may come in ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/studio", "/studio/upload"])
def test_anonymous_visitors_go_to_the_sign_in_page(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/login?next={path}"


@pytest.mark.parametrize("path", ["/studio", "/studio/upload"])
def test_members_of_every_tier_get_403(member_client, path):
    assert member_client.get(path).status_code == 403


@pytest.mark.parametrize("role", [Role.ADMIN, Role.INSTRUCTOR])
def test_staff_open_both_pages_and_see_the_studio_link(login_as, role):
    client = login_as(role, Tier.LIFETIME)
    for path in ("/studio", "/studio/upload"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert 'href="/studio"' in response.get_data(as_text=True)


def test_members_see_no_studio_link(member_client):
    assert 'href="/studio"' not in member_client.get("/").get_data(as_text=True)


# --- the list -------------------------------------------------------------------------------------


def test_instructor_sees_only_their_own_uploads_newest_first(login_as, make_user, make_asset):
    client = login_as(Role.INSTRUCTOR, Tier.LIFETIME)
    other = make_user(role=Role.INSTRUCTOR, tier=Tier.LIFETIME)
    make_asset(client.user, title="First seminar")
    make_asset(other, title="Someone else's class")
    make_asset(client.user, title="Second seminar")
    html = client.get("/studio").get_data(as_text=True)
    assert row_titles(html) == ["Second seminar", "First seminar"]
    assert "My uploads" in html
    assert "Uploaded by" not in html


def test_admin_sees_everyones_uploads_with_who_uploaded_them(admin_client, make_user, make_asset):
    teacher = make_user(role=Role.INSTRUCTOR, tier=Tier.LIFETIME, email="sensei@example.org")
    make_asset(teacher, title="Grading 2026")
    make_asset(admin_client.user, title="Admin own")
    html = admin_client.get("/studio").get_data(as_text=True)
    assert sorted(row_titles(html)) == ["Admin own", "Grading 2026"]
    assert "<td>sensei@example.org</td>" in html
    assert "All uploads" in html


def test_list_shows_size_status_stream_percent_and_plain_failure(instructor_client, make_asset):
    me = instructor_client.user
    make_asset(
        me,
        title="Long seminar",
        file_size_bytes=12_345_678_901,
        status=MediaAssetStatus.PROCESSING,
        stream_pct_complete=39.0,
    )
    make_asset(
        me,
        title="Too long",
        status=MediaAssetStatus.FAILED,
        processing_error="The video is longer than allowed. Trim it or split it into parts, then upload each part.",
        stream_error="ERR_DURATION_EXCEED_CONSTRAINT: Video duration exceeds maxDurationSeconds",
    )
    make_asset(me, title="Still coming", status=MediaAssetStatus.UPLOADING, file_size_bytes=5_000_000)
    html = instructor_client.get("/studio").get_data(as_text=True)
    assert "12.3 GB" in html and "5.0 MB" in html
    assert 'aria-label="Stream processing of Long seminar"' in html and "Stream: 39 %" in html
    assert "The video is longer than allowed. Trim it or split it into parts" in html
    assert (
        "<summary>What Stream said</summary><p>ERR_DURATION_EXCEED_CONSTRAINT: Video duration exceeds "
        "maxDurationSeconds</p>" in html
    )
    assert ">Uploading<" in html and ">Processing<" in html and ">Failed<" in html
    assert "choose the file again to carry on" in html


def test_list_shows_how_much_of_an_unfinished_upload_the_server_has(app, instructor_client):
    """The page's own session and CSRF token drive the upload API, as uploader.js does."""
    app.config["UPLOAD_CHUNK_SIZE"] = 64 * 1024
    token = csrf_token_from(instructor_client.get("/studio/upload").get_data(as_text=True))
    headers = {"X-CSRFToken": token}
    first = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2".ljust(64 * 1024, b"\x01")
    started = instructor_client.post(
        "/api/media/upload-chunked/initiate",
        json={"file_name": "seminar.mp4", "file_size": 4 * len(first), "title": "Half-way seminar"},
        headers=headers,
    )
    assert started.status_code == 201, started.get_json()
    upload_id = started.get_json()["upload_id"]
    sent = instructor_client.post(
        f"/api/media/upload-chunked/chunk?upload_id={upload_id}&chunk_index=0",
        data=first,
        content_type="application/octet-stream",
        headers={**headers, "X-Chunk-SHA256": hashlib.sha256(first).hexdigest()},
    )
    assert sent.status_code == 200, sent.get_json()
    html = instructor_client.get("/studio").get_data(as_text=True)
    assert '<progress max="100" value="25.0" aria-label="Upload progress of Half-way seminar">' in html
    assert "25 % received" in html
    assert (
        instructor_client.delete(f"/api/media/upload-chunked/{upload_id}", headers=headers).status_code == 204
    )


def test_empty_list_invites_a_first_upload(instructor_client):
    html = instructor_client.get("/studio").get_data(as_text=True)
    assert "No uploads yet." in html
    assert 'href="/studio/upload"' in html


def test_list_pages_are_clamped(instructor_client):
    assert instructor_client.get("/studio?page=-3").status_code == 200
    assert instructor_client.get("/studio?page=99999999999999").status_code == 200
    assert instructor_client.get("/studio?page=abc").status_code == 200


@pytest.mark.parametrize(
    "stored, shown",
    [
        ("ERR_NON_VIDEO", "The file is not a video. Check you picked the right file, then upload it again."),
        (
            "ERR_MALFORMED_VIDEO: moov atom not found",
            MEANINGS["ERR_MALFORMED_VIDEO"].sentence,
        ),
        (
            "The upload session expired before every chunk arrived",
            "The upload session expired before every chunk arrived",
        ),
        (None, "The upload failed, for a reason the portal did not record."),
    ],
)
def test_failure_reasons_in_plain_words(stored, shown):
    assert plain_failure(stored) == shown


def test_sizes_read_like_a_file_manager():
    assert [human_size(n) for n in (None, 0, 999, 1500, 5_242_880, 30 * 10**9)] == [
        "—",
        "0 bytes",
        "999 bytes",
        "1.5 KB",
        "5.2 MB",
        "30.0 GB",
    ]


# --- the uploader page ----------------------------------------------------------------------------


def test_upload_page_has_labelled_fields_an_upload_button_and_the_api_contract(instructor_client):
    session = TrainingSession(title="Monday kata class")
    event = Event(title="Summer seminar")
    db.session.add_all([session, event])
    db.session.commit()
    html = instructor_client.get("/studio/upload").get_data(as_text=True)
    for field_id in (
        "file-picker",
        "file-title",
        "file-description",
        "file-tags",
        "file-access_level",
        "file-required_tier",
        "file-link",
        "url-url",
        "url-title",
    ):
        assert f'for="{field_id}"' in html and f'id="{field_id}"' in html, field_id
    assert re.search(r'<input[^>]*type="submit"[^>]*value="Upload"', html)
    assert '<meta name="csrf-token" content="' in html
    assert 'type="module" src="/static/js/studio-upload.js"' in html
    assert 'data-initiate="/api/media/upload-chunked/initiate"' in html
    assert 'data-progress="/api/media/upload-chunked/__UPLOAD_ID__/progress"' in html
    assert 'data-from-url="/api/media/upload-from-url"' in html
    assert f'value="training_session:{session.id}"' in html and f'value="event:{event.id}"' in html
    assert "<progress" in html


def test_static_uploader_modules_are_served(client):
    for name in ("uploader.js", "studio-upload.js"):
        response = client.get(f"/static/js/{name}")
        assert response.status_code == 200
        assert "javascript" in response.headers["Content-Type"]
        response.close()


def test_metadata_form_asks_for_a_tier_only_for_tier_videos(app):
    with app.test_request_context(
        method="POST",
        data={
            "title": "Kata",
            "access_level": MediaAccessLevel.TIER_SPECIFIC.value,
            "required_tier": "",
            "link": "",
        },
    ):
        form = UploadMetadataForm(meta={"csrf": False})
        assert not form.validate()
        assert form.required_tier.errors == ["Choose the tier a member needs for this video."]
    with app.test_request_context(
        method="POST",
        data={"title": "Kata", "access_level": "tier_specific", "required_tier": "premium", "link": ""},
    ):
        assert UploadMetadataForm(meta={"csrf": False}).validate()


@pytest.mark.parametrize(
    "url, ok",
    [
        ("https://example.org/v.mp4", True),
        ("http://example.org/v.mp4", False),
        ("javascript:alert(1)", False),
        ("https://", False),
    ],
)
def test_url_form_takes_https_addresses_only(app, url, ok):
    with app.test_request_context(
        method="POST",
        data={
            "url": url,
            "title": "Seminar",
            "access_level": "members_only",
            "required_tier": "",
            "link": "",
        },
    ):
        assert UploadFromUrlForm(meta={"csrf": False}).validate() is ok


# --- the state the uploader polls after finalize --------------------------------------------------


def test_asset_state_for_its_uploader_and_admins_only(login_as, admin_client, make_asset):
    owner = login_as(Role.INSTRUCTOR, Tier.LIFETIME)
    stranger = login_as(Role.INSTRUCTOR, Tier.LIFETIME)
    asset = make_asset(owner.user, status=MediaAssetStatus.FAILED, processing_error="ERR_NON_VIDEO")
    path = f"/studio/assets/{asset.id}/state"
    response = owner.get(path)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.get_json() == {
        "asset_id": asset.id,
        "status": "failed",
        "status_text": "Failed",
        "processing_percent": None,
        "failure": "The file is not a video. Check you picked the right file, then upload it again.",
    }
    assert admin_client.get(path).status_code == 200
    assert stranger.get(path).status_code == 404
    assert owner.get("/studio/assets/" + "0" * 36 + "/state").status_code == 404
    assert owner.get("/studio/assets/short/state").status_code == 404


def test_a_finished_upload_waiting_for_its_push_says_so_with_the_retry_reason(app, instructor_client):
    """Every byte received and finalized, the push to Stream failed once and waits for its retry:
    the list says the video is being sent to Stream and why the last attempt failed, not
    "Uploading, 100 % received" with nothing happening."""
    app.config["UPLOAD_CHUNK_SIZE"] = 64 * 1024
    token = csrf_token_from(instructor_client.get("/studio/upload").get_data(as_text=True))
    headers = {"X-CSRFToken": token}
    data = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2".ljust(1000, b"\x01")
    started = instructor_client.post(
        "/api/media/upload-chunked/initiate",
        json={"file_name": "seminar.mp4", "file_size": len(data), "title": "Pushed seminar"},
        headers=headers,
    ).get_json()
    upload_id = started["upload_id"]
    sent = instructor_client.post(
        f"/api/media/upload-chunked/chunk?upload_id={upload_id}&chunk_index=0",
        data=data,
        content_type="application/octet-stream",
        headers=headers,
    )
    assert sent.status_code == 200, sent.get_json()
    finalized = instructor_client.post(
        "/api/media/upload-chunked/finalize", json={"upload_id": upload_id}, headers=headers
    )
    assert finalized.status_code == 202
    html = instructor_client.get("/studio").get_data(as_text=True)
    assert "Sending to Stream" in html and "% received" not in html
    asset = db.session.get(MediaAsset, started["asset_id"])
    asset.processing_error = "The portal could not reach Stream. Retrying."
    db.session.commit()
    html = instructor_client.get("/studio").get_data(as_text=True)
    assert "Sending to Stream" in html and "The portal could not reach Stream. Retrying." in html
