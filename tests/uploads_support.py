"""Helpers shared by the upload tests: an app with small chunks, a staff bearer token, sample bytes."""

import hashlib
import os
import secrets

import pytest

from portal.models import Role, Tier

CHUNK = 256 * 1024
PREFIX = "/api/media/upload-chunked"
PASSWORD = "correct-horse-battery"


def mp4_bytes(size, seed=b"portal"):
    """`size` bytes that start like an MP4 (an ftyp box) followed by deterministic filler."""
    head = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
    body = bytearray(head)
    block = hashlib.sha256(seed).digest() * 2048
    while len(body) < size:
        body += block
    return bytes(body[:size])


def sha(data):
    """SHA-256 hex of bytes."""
    return hashlib.sha256(data).hexdigest()


class Uploader:
    """Drives the upload API as one user with a bearer token."""

    def __init__(self, client, token, user):
        self.client, self.user = client, user
        self.headers = {"Authorization": f"Bearer {token}"}

    def initiate(self, **fields):
        body = {"file_name": "seminar.mp4", "file_size": 3 * CHUNK + 100, "title": "Seminar", **fields}
        return self.client.post(f"{PREFIX}/initiate", json=body, headers=self.headers)

    def chunk(self, upload_id, index, data, digest=None, extra=None):
        headers = dict(self.headers, **(extra or {}))
        if digest:
            headers["X-Chunk-SHA256"] = digest
        return self.client.post(
            f"{PREFIX}/chunk?upload_id={upload_id}&chunk_index={index}",
            data=data,
            headers=headers,
            content_type="application/octet-stream",
        )

    def send_all(self, upload_id, data, chunk_size=CHUNK):
        for index in range(0, (len(data) + chunk_size - 1) // chunk_size):
            part = data[index * chunk_size : (index + 1) * chunk_size]
            response = self.chunk(upload_id, index, part, sha(part))
            assert response.status_code == 200, response.get_json()

    def finalize(self, upload_id):
        return self.client.post(f"{PREFIX}/finalize", json={"upload_id": upload_id}, headers=self.headers)

    def progress(self, upload_id):
        return self.client.get(f"{PREFIX}/{upload_id}/progress", headers=self.headers)

    def cancel(self, upload_id):
        return self.client.delete(f"{PREFIX}/{upload_id}", headers=self.headers)


def upload_settings(tmp_path, **overrides):
    """App overrides for upload tests: 256 KiB chunks, no disk margin, uploads under tmp_path."""
    return {
        "UPLOAD_CHUNK_SIZE": CHUNK,
        "UPLOAD_DISK_MARGIN": 0,
        "UPLOAD_DIR": str(tmp_path / "uploads"),
        **overrides,
    }


@pytest.fixture
def app(app_factory, tmp_path):
    """The portal with small chunks (overrides conftest's `app` in the upload tests)."""
    app = app_factory(**upload_settings(tmp_path))
    with app.app_context():
        yield app


@pytest.fixture
def make_uploader(app, make_user):
    """Factory: make_uploader(role=instructor) -> Uploader with its own bearer token."""

    def make(role=Role.INSTRUCTOR, tier=Tier.LIFETIME):
        user = make_user(role=role, tier=tier)
        client = app.test_client()
        response = client.post(
            "/api/auth/login", json={"email": user.email, "password": "correct-horse-battery"}
        )
        assert response.status_code == 200
        return Uploader(client, response.get_json()["access_token"], user)

    return make


def make_user_in(app, role=Role.INSTRUCTOR, tier=Tier.LIFETIME):
    """A user in `app`'s database (for apps built by hand in a test)."""
    from portal.extensions import db
    from portal.models import User

    user = User(email=f"{secrets.token_hex(4)}@example.org", role=role, tier=tier, active=True)
    user.set_password(PASSWORD, method=app.config["PASSWORD_HASH_METHOD"])
    db.session.add(user)
    db.session.commit()
    return user


def uploader_for(app, user):
    """An Uploader signed in as `user` on `app`."""
    client = app.test_client()
    response = client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 200, response.get_json()
    return Uploader(client, response.get_json()["access_token"], user)


def chunk_files(app, upload_id):
    """Names of the chunk files of an upload on disk (empty when the directory is gone)."""
    path = os.path.join(app.config["UPLOAD_DIR"], upload_id)
    return sorted(n for n in os.listdir(path) if n.endswith(".chunk")) if os.path.isdir(path) else []
