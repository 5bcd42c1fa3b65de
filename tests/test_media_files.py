"""Images and documents: checked by their first bytes, stored (filesystem, or S3 on moto's server), downloaded
through expiring, access-checked links as attachments."""

import io
import socket
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from portal.extensions import db
from portal.models import MediaAsset, MediaType, Role, Tier

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def upload(client, data, filename, token=None, **fields):
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(data), filename=filename), **fields})
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(
        "/api/media/files",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
        headers=headers,
    )


@pytest.fixture
def files_app(app, tmp_path):
    app.config.update(MEDIA_STORAGE_DIR=str(tmp_path / "files"), MEDIA_STORAGE_BACKEND="filesystem")
    app.extensions.pop("media_storage", None)
    return app


@pytest.fixture
def tokens(files_app, make_user, api_token):
    users = {
        "instructor": make_user(role=Role.INSTRUCTOR, tier=Tier.LIFETIME),
        "basic": make_user(tier=Tier.BASIC),
        "premium": make_user(tier=Tier.PREMIUM),
    }
    return {name: api_token(user) for name, user in users.items()}


def test_filesystem_upload_and_signed_expiring_download(files_app, client, tokens, tmp_path):
    response = upload(
        client,
        PDF,
        "syllabus.pdf",
        tokens["instructor"],
        title="Grading syllabus",
        access_level="tier_specific",
        required_tier="premium",
    )
    assert response.status_code == 201, response.get_json()
    asset = response.get_json()["asset"]
    assert (asset["media_type"], asset["mime_type"], asset["file_size_bytes"]) == (
        "document",
        "application/pdf",
        len(PDF),
    )

    denied = client.get(
        f"/api/media/{asset['id']}/download", headers={"Authorization": f"Bearer {tokens['basic']}"}
    )
    assert denied.status_code == 403
    link = client.get(
        f"/api/media/{asset['id']}/download", headers={"Authorization": f"Bearer {tokens['premium']}"}
    )
    assert link.status_code == 200 and link.get_json()["expires_in"] == 300
    path = urlsplit(link.get_json()["download_url"]).path
    got = client.get(path, buffered=True)
    assert got.status_code == 200 and got.data == PDF and got.mimetype == "application/pdf"
    assert (
        got.headers["Content-Disposition"].startswith("attachment")
        and got.headers["X-Content-Type-Options"] == "nosniff"
    )
    assert db.session.get(MediaAsset, asset["id"]).download_count == 1
    files_app.config["MEDIA_DOWNLOAD_SECONDS"] = -1  # every link is now past its age
    assert client.get(path).status_code == 403
    assert client.get(path[:-3] + "abc").status_code == 403


@pytest.mark.parametrize(
    ("data", "filename", "fields", "status", "code", "words"),
    [
        (
            b"<!DOCTYPE html><script>alert(1)</script>",
            "handout.pdf",
            {},
            415,
            "unsupported_file_type",
            "claims to be PDF but is an HTML",
        ),
        (
            b"MZ\x90\x00\x03" + b"\x00" * 60,
            "handout.pdf",
            {},
            415,
            "unsupported_file_type",
            "Windows executable",
        ),
        (b"\x7fELF\x02\x01", "handout.pdf", {}, 415, "unsupported_file_type", "Linux executable"),
        (b"<svg onload=alert(1)>", "logo.png", {}, 415, "unsupported_file_type", "HTML or XML"),
        (PNG, "handout.pdf", {}, 415, "file_type_mismatch", "image/png"),
        (PNG, "photo.png", {"media_type": "document"}, 400, "file_type_mismatch", "not a document"),
        (b"", "empty.pdf", {}, 400, "empty_file", "empty"),
        (
            PDF,
            "a.pdf",
            {"access_level": "public", "required_tier": "basic"},
            400,
            "tier_not_applicable",
            "no required tier",
        ),
        (PDF, "a.pdf", {"title": "x" * 10_000}, 400, "field_too_long", "200"),
        (PDF, "a.pdf", {"entity_type": "event", "entity_id": "nope"}, 400, "unknown_entity", "no event"),
    ],
)
def test_bad_files_are_refused_and_nothing_is_stored(
    files_app, client, tokens, tmp_path, data, filename, fields, status, code, words
):
    response = upload(client, data, filename, tokens["instructor"], **fields)
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == code and words in error["message"]
    assert db.session.query(MediaAsset).count() == 0
    assert not list((tmp_path / "files").rglob("*.*"))


def test_members_may_not_upload_and_big_files_are_refused(files_app, client, tokens):
    assert upload(client, PDF, "a.pdf", tokens["premium"]).status_code == 403
    files_app.config["MEDIA_FILE_MAX_BYTES"] = 1024
    response = upload(client, PDF + b"x" * 200_000, "a.pdf", tokens["instructor"])
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "file_too_large"
    assert db.session.query(MediaAsset).count() == 0


@pytest.fixture(scope="module")
def s3_server():
    """moto's S3 server on a free loopback port (a real HTTP server, not a mock of boto3)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def test_s3_backend_uploads_presigns_and_checks_access(files_app, client, tokens, s3_server):
    settings = {
        "S3_BUCKET": "portal-media",
        "S3_ENDPOINT_URL": s3_server,
        "S3_REGION": "us-east-1",
        "S3_ACCESS_KEY_ID": "test",
        "S3_SECRET_ACCESS_KEY": "test",
        "MEDIA_STORAGE_BACKEND": "s3",
    }
    files_app.config.update(settings)
    files_app.extensions.pop("media_storage", None)
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_server,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    s3.create_bucket(Bucket="portal-media")
    response = upload(
        client, PNG, "belt.png", tokens["instructor"], access_level="tier_specific", required_tier="premium"
    )
    assert response.status_code == 201, response.get_json()
    asset = db.session.get(MediaAsset, response.get_json()["asset"]["id"])
    assert asset.media_type == MediaType.IMAGE
    stored = s3.get_object(Bucket="portal-media", Key=asset.object_storage_key)
    assert stored["Body"].read() == PNG and stored["ContentType"] == "image/png"

    assert (
        client.get(
            f"/api/media/{asset.id}/download", headers={"Authorization": f"Bearer {tokens['basic']}"}
        ).status_code
        == 403
    )
    link = client.get(
        f"/api/media/{asset.id}/download", headers={"Authorization": f"Bearer {tokens['premium']}"}
    ).get_json()
    query = parse_qs(urlsplit(link["download_url"]).query)
    assert (
        query["X-Amz-Expires"] == ["300"] and "X-Amz-Signature" in query
    )  # moto serves it but does not enforce expiry
    fetched = requests.get(link["download_url"], timeout=10)
    assert fetched.status_code == 200 and fetched.content == PNG
    assert (
        fetched.headers["Content-Disposition"].startswith("attachment")
        and fetched.headers["Content-Type"] == "image/png"
    )

    admin_token = tokens["instructor"]
    deleted = client.delete(f"/api/media/{asset.id}", headers={"Authorization": f"Bearer {admin_token}"})
    assert deleted.status_code == 200
    assert s3.list_objects_v2(Bucket="portal-media").get("KeyCount") == 0


def test_event_page_lists_files_with_download_links_by_policy(files_app, client, tokens, login_as):
    from portal.models import Event

    event = Event(title="Spring grading")
    db.session.add(event)
    db.session.commit()
    for title, fields in (
        ("Syllabus", {}),
        ("Judges' notes", {"access_level": "tier_specific", "required_tier": "premium"}),
    ):
        response = upload(
            client,
            PDF,
            "notes.pdf",
            tokens["instructor"],
            title=title,
            entity_type="event",
            entity_id=event.id,
            **fields,
        )
        assert response.status_code == 201, response.get_json()
    member = login_as(Role.MEMBER, Tier.BASIC)
    html = member.get(f"/events/{event.id}").get_data(as_text=True)
    assert (
        "Download Syllabus" in html and "Download Judges" not in html and "Premium: upgrade to watch" in html
    )
    syllabus = db.session.query(MediaAsset).filter_by(title="Syllabus").one()
    redirect = member.get(f"/download/{syllabus.id}")
    assert redirect.status_code == 302 and "/files/" in redirect.headers["Location"]
    got = member.get(redirect.headers["Location"], buffered=True)
    assert (
        got.status_code == 200
        and got.data == PDF
        and got.headers["Content-Disposition"].startswith("attachment")
    )
    notes = db.session.query(MediaAsset).filter_by(title="Judges' notes").one()
    assert member.get(f"/download/{notes.id}").status_code == 403
    assert client.get(f"/download/{syllabus.id}").status_code == 401


def test_staff_add_a_document_on_the_studio_page_and_bad_files_are_refused(files_app, login_as):
    from tests.conftest import csrf_token_from

    instructor = login_as(Role.INSTRUCTOR, Tier.LIFETIME)
    token = csrf_token_from(instructor.get("/studio/files/new").get_data(as_text=True))
    form = {
        "csrf_token": token,
        "title": "Handout",
        "access_level": "members_only",
        "required_tier": "",
        "link": "",
    }
    bad = instructor.post(
        "/studio/files/new", data={**form, "file": (io.BytesIO(b"MZ\x90\x00"), "handout.pdf")}
    )
    assert bad.status_code == 415 and "Windows executable" in bad.get_data(as_text=True)
    good = instructor.post("/studio/files/new", data={**form, "file": (io.BytesIO(PDF), "handout.pdf")})
    assert good.status_code == 302
    page = instructor.get(good.headers["Location"]).get_data(as_text=True)
    assert "Download handout.pdf" in page and "Add captions" not in page
    assert db.session.query(MediaAsset).one().title == "Handout"


def test_views_that_take_files_raise_their_own_cap_above_a_small_app_wide_one(
    files_app, client, tokens, login_as
):
    files_app.config["MAX_CONTENT_LENGTH"] = 4096  # the app-wide cap, lowered to a few KB
    big_pdf = PDF + b"%" + b"x" * 100_000 + b"\n"
    first = upload(client, big_pdf, "big.pdf", tokens["instructor"])
    assert first.status_code == 201, first.get_json()
    from tests.conftest import csrf_token_from

    instructor = login_as(Role.INSTRUCTOR, Tier.LIFETIME)
    token = csrf_token_from(instructor.get("/studio/files/new").get_data(as_text=True))
    form = {
        "csrf_token": token,
        "title": "Big",
        "access_level": "members_only",
        "required_tier": "",
        "link": "",
        "file": (io.BytesIO(big_pdf), "big.pdf"),
    }
    assert instructor.post("/studio/files/new", data=form).status_code == 302
    assert (
        client.post("/api/auth/login", data=b"x" * 10_000, content_type="application/json").status_code == 413
    )


def test_a_download_link_stops_working_when_its_holder_may_no_longer_open_the_file(
    files_app, client, tokens, login_as
):
    response = upload(
        client, PDF, "notes.pdf", tokens["instructor"], access_level="tier_specific", required_tier="premium"
    )
    asset_id = response.get_json()["asset"]["id"]
    link = client.get(
        f"/api/media/{asset_id}/download", headers={"Authorization": f"Bearer {tokens['premium']}"}
    )
    path = urlsplit(link.get_json()["download_url"]).path
    assert client.get(path, buffered=True).status_code == 200
    assert (
        login_as(tier=Tier.BASIC).get(path, buffered=True).status_code == 403
    )  # someone else's link, signed in
    raised = client.put(
        f"/api/media/{asset_id}",
        json={"required_tier": "lifetime"},
        headers={"Authorization": f"Bearer {tokens['instructor']}"},
    )
    assert raised.status_code == 200, raised.get_json()
    assert client.get(path, buffered=True).status_code == 403  # the premium member's link no longer opens it
