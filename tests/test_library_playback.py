"""Signed playback end to end: the watch page's token is Cloudflare's format, lives inside 24 h, verifies
against the key the emulator holds, and the emulator's player plays it (and refuses the bare uid)."""

import html
import re
import time

import jwt
import pytest
import requests

from portal.emulator.signing import MAX_TOKEN_LIFETIME, SigningKeys, TokenRejected
from portal.extensions import db
from portal.models import Caption, MediaAccessLevel, MediaAsset, MediaAssetStatus, Role, Tier
from portal.services.stream import StreamClient

IFRAME_RE = re.compile(r'<iframe id="stream-player" src="([^"]+)"')
CAP = 24 * 3600 - 300


@pytest.fixture
def keyed_stream(emulator):
    """A signing key made on the emulator, as `flask stream setup` makes one on Cloudflare."""
    client = StreamClient(
        api_base=emulator.api_base,
        account_id="emulator-account",
        api_token="emulator-token",
        customer_base_url=emulator.url,
    )
    key = client.create_signing_key()
    yield client, key
    client.close()


@pytest.fixture
def ready_premium_video(keyed_stream, sample_video, tmp_path):
    """A video on the emulator that requires signed URLs, processed and ready, with German captions."""
    client, _ = keyed_stream
    uid = client.upload_video(sample_video, {"title": "Kata", "require_signed_urls": True})["uid"]
    vtt = tmp_path / "de.vtt"
    vtt.write_text("WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nVerbeugung\n")
    for _ in range(300):
        if client.get_video(uid)["status"]["state"] == "ready":
            client.upload_captions(uid, str(vtt), "de")
            return uid
        time.sleep(0.1)
    raise AssertionError("the emulator never finished processing the video")


@pytest.fixture
def app(app_factory, emulator, keyed_stream):
    """The portal on the emulator, signing with the key the emulator made (login_as uses it)."""
    _, key = keyed_stream
    app = app_factory(
        CLOUDFLARE_API_BASE=emulator.api_base,
        STREAM_CUSTOMER_BASE_URL=emulator.url,
        CLOUDFLARE_STREAM_SIGNING_KEY_ID=key["id"],
        CLOUDFLARE_STREAM_SIGNING_KEY=key["pem"],
    )
    with app.app_context():
        yield app


def premium_asset(uid):
    asset = MediaAsset(
        title="Kata <b>bold</b>",
        stream_video_id=uid,
        status=MediaAssetStatus.READY,
        access_level=MediaAccessLevel.TIER_SPECIFIC,
        required_tier=Tier.PREMIUM,
        duration_seconds=2,
    )
    asset.captions = [Caption(language="de", label="Deutsch"), Caption(language="en", label="English")]
    db.session.add(asset)
    db.session.commit()
    return asset


def watch_iframe(client, asset_id, **headers):
    response = client.get(f"/watch/{asset_id}", headers=headers)
    assert response.status_code == 200
    return html.unescape(IFRAME_RE.search(response.get_data(as_text=True)).group(1)), response


def token_of(url):
    return url.split("/")[3]


def test_watch_token_is_cloudflare_format_verified_by_the_emulator_key_and_plays(
    app, emulator, keyed_stream, ready_premium_video, login_as
):
    _, key = keyed_stream
    asset = premium_asset(ready_premium_video)
    member = login_as(Role.MEMBER, Tier.PREMIUM)
    src, _ = watch_iframe(member, asset.id, **{"Accept-Language": "de-AT,en;q=0.8"})
    assert "defaultTextTrack=de" in src
    token = token_of(src)

    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256" and header["kid"] == key["id"]
    public_key = emulator.emulator.keys.verification_key(key["id"])
    claims = jwt.decode(
        token, public_key, algorithms=["RS256"], options={"require": ["sub", "kid", "exp", "nbf", "iat"]}
    )
    now = time.time()
    assert claims["sub"] == ready_premium_video and claims["kid"] == key["id"]
    # The watch page's token is short (WATCH_TOKEN_SECONDS): a member whose tier drops stops
    # playing within the hour; player.js renews through access-url with the same life.
    assert claims["nbf"] <= now and claims["exp"] - claims["iat"] == 3600 < CAP < MAX_TOKEN_LIFETIME
    assert claims["user_id"] == str(member.user.id)
    page = member.get(f"/watch/{asset.id}").get_data(as_text=True)
    assert f'data-access-url="/api/media/{asset.id}/access-url?expiry_seconds=3600"' in page
    # A second view gets the same token back (WATCH_TOKEN_REUSE_SECONDS), saying what it has left.
    assert token_of(html.unescape(IFRAME_RE.search(page).group(1))) == token
    assert 3600 - 5 <= int(re.search(r'data-expires-in="(\d+)"', page).group(1)) <= 3600

    played = requests.get(src, timeout=10)
    assert played.status_code == 200 and f'data-video-uid="{ready_premium_video}"' in played.text
    assert 'srclang="de"' in played.text
    bare = requests.get(f"{emulator.url}/{ready_premium_video}/iframe", timeout=10)
    assert bare.status_code == 401


def test_access_url_caps_expiry_inside_24_hours_and_the_emulator_accepts_it(
    app, ready_premium_video, login_as
):
    asset = premium_asset(ready_premium_video)
    member = login_as(Role.MEMBER, Tier.LIFETIME)
    body = member.get(f"/api/media/{asset.id}/access-url?expiry_seconds=86400").get_json()
    assert body["expires_in"] == CAP and body["asset_id"] == asset.id
    claims = jwt.decode(token_of(body["access_url"]), options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == CAP
    assert requests.get(body["access_url"], timeout=10).status_code == 200

    short = member.get(f"/api/media/{asset.id}/access-url?expiry_seconds=60").get_json()
    claims = jwt.decode(token_of(short["access_url"]), options={"verify_signature": False})
    assert short["expires_in"] == 60 and claims["exp"] - claims["iat"] == 60


def test_resume_position_goes_into_the_player_start_time(app, ready_premium_video, login_as):
    asset = premium_asset(ready_premium_video)
    member = login_as(Role.MEMBER, Tier.PREMIUM)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', member.get("/").get_data(as_text=True)).group(1)
    saved = member.put(
        f"/api/media/{asset.id}/progress",
        json={"position_seconds": 1.4, "duration_seconds": 2},
        headers={"X-CSRFToken": csrf},
    )
    assert saved.status_code == 204
    src, response = watch_iframe(member, asset.id)
    assert "startTime=1s" in src and 'data-start-time="1"' in response.get_data(as_text=True)
    assert requests.get(src, timeout=10).status_code == 200


@pytest.mark.parametrize("seconds_over", [1, 30, 59])
def test_emulator_refuses_a_token_expiring_past_24_hours_with_no_leeway(tmp_path, seconds_over):
    keys = SigningKeys(tmp_path)
    now = 1_800_000_000
    too_long = keys.mint_token({"sub": "a" * 32, "exp": now + MAX_TOKEN_LIFETIME + seconds_over})
    with pytest.raises(TokenRejected, match="24 hours"):
        keys.verify_token(too_long, now=now)
    exactly = keys.mint_token({"sub": "a" * 32, "exp": now + MAX_TOKEN_LIFETIME})
    assert keys.verify_token(exactly, now=now)["sub"] == "a" * 32


def test_emulator_refuses_a_token_living_longer_than_24_hours_from_its_iat(tmp_path):
    keys = SigningKeys(tmp_path)
    now = 1_800_000_000
    token = keys.mint_token({"sub": "a" * 32, "iat": now - 120, "exp": now + MAX_TOKEN_LIFETIME - 60})
    with pytest.raises(TokenRejected, match="iat"):
        keys.verify_token(token, now=now)
    inside = keys.mint_token({"sub": "a" * 32, "iat": now, "nbf": now - 60, "exp": now + CAP})
    assert keys.verify_token(inside, now=now + 10)["exp"] == now + CAP
