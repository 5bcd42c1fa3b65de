"""Fixtures for media management tests: the portal on the emulator, videos on Stream, assets owning them."""

import time

import pytest
import requests

from portal.extensions import db
from portal.models import MediaAccessLevel, MediaAsset, MediaAssetStatus, Role, Tier
from portal.services.stream import get_client, reset_client


def arm(server, **spec):
    """Arm a fault on the emulator."""
    requests.post(f"{server.url}/__emulator__/faults", json=spec, timeout=10).raise_for_status()


def wait_ready(stream, uid, polls=400):
    """Poll Stream until the video is ready."""
    for _ in range(polls):
        if stream.get_video(uid)["status"]["state"] == "ready":
            return
        time.sleep(0.05)
    raise AssertionError(f"{uid} never became ready")


@pytest.fixture
def stream_app(app, emulator):
    """The portal pointed at the emulator, with a signing key so protected videos can be signed."""
    app.config.update(
        CLOUDFLARE_API_BASE=emulator.api_base,
        STREAM_CUSTOMER_BASE_URL=emulator.url,
        STREAM_MAX_RETRIES=1,
    )
    reset_client(app)
    key = get_client(app).create_signing_key()
    app.config.update(CLOUDFLARE_STREAM_SIGNING_KEY_ID=key["id"], CLOUDFLARE_STREAM_SIGNING_KEY=key["pem"])
    reset_client(app)
    yield app
    reset_client(app)


@pytest.fixture
def people(stream_app, make_user):
    """Signed-in clients: admin, the owning instructor, another instructor, a basic member."""
    from tests.conftest import AuthActions  # conftest loads this module as a plugin

    clients = {}
    for name, role, tier in (
        ("admin", Role.ADMIN, Tier.LIFETIME),
        ("owner", Role.INSTRUCTOR, Tier.LIFETIME),
        ("other", Role.INSTRUCTOR, Tier.LIFETIME),
        ("basic", Role.MEMBER, Tier.BASIC),
    ):
        user = make_user(role=role, tier=tier)
        client = stream_app.test_client()
        response = AuthActions(client).login(user.email)
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        client.user = user
        client.csrf = AuthActions(client).csrf("/")
        clients[name] = client
    return clients


@pytest.fixture
def make_video(stream_app, people, sample_video):
    """Factory: a video on Stream (processed to ready if asked) and its asset, owned by `owner`."""

    def make(access=MediaAccessLevel.PUBLIC, tier=None, ready=False, title="Kata basics"):
        stream = get_client(stream_app)
        video = stream.upload_video(
            sample_video, {"name": title, "requireSignedURLs": access != MediaAccessLevel.PUBLIC}
        )
        if ready:
            wait_ready(stream, video["uid"])
        asset = MediaAsset(
            title=title,
            stream_video_id=video["uid"],
            status=MediaAssetStatus.READY,  # the portal's view; `ready` waits for Stream too
            access_level=access,
            required_tier=tier,
            created_by=people["owner"].user.id,
        )
        db.session.add(asset)
        db.session.commit()
        return asset

    return make
