"""The emulator's Stream Player API over HTTP: the SDK script at the customer domain's root, and the
player page it speaks to (start time, default caption track, error pages for refused tokens)."""

import re
import time

import pytest
import requests

from tests.emulator_fixtures import stream_url
from tests.test_emulator import ready_video, self_signed

VTT = "WEBVTT\n\n00:00.000 --> 00:01.000\nRei\n"
DOCUMENTED_PROPERTIES = (
    "currentTime",
    "duration",
    "paused",
    "ended",
    "muted",
    "volume",
    "autoplay",
    "controls",
    "loop",
    "preload",
    "buffered",
    "played",
)


@pytest.fixture
def video(emulator, http, sample_video):
    """A ready, protected video with English and German captions, and a signing key."""
    uid = ready_video(http, emulator, sample_video, requireSignedURLs=True)["uid"]
    for language in ("en", "de"):
        http.put(
            stream_url(emulator, f"/{uid}/captions/{language}"), files={"file": ("c.vtt", VTT)}, timeout=10
        ).raise_for_status()
    key = http.post(stream_url(emulator, "/keys"), timeout=10).json()["result"]
    return {"uid": uid, "key": key}


def signed(video, **claims):
    return self_signed(video["key"], {"sub": video["uid"], "exp": int(time.time()) + 600, **claims})


def test_sdk_script_is_served_at_the_customer_domain_root(emulator):
    response = requests.get(f"{emulator.url}/embed/sdk.latest.js", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/javascript")
    script = response.text
    assert "window.Stream = Stream" in script
    for name in DOCUMENTED_PROPERTIES:
        assert f'"{name}"' in script, name
    for method in (
        "player.play =",
        "player.pause =",
        "player.addEventListener =",
        "player.removeEventListener =",
    ):
        assert method in script
    # Messages count only from the iframe's own window and origin, and go only to that origin.
    assert "event.source !== iframe.contentWindow" in script and "event.origin !== expectedOrigin()" in script
    assert 'postMessage(message, "*")' not in script

    bridge = requests.get(f"{emulator.url}/embed/player-bridge.js", timeout=10)
    assert bridge.status_code == 200 and "event.source !== window.parent" in bridge.text
    for event in ("play", "playing", "pause", "timeupdate", "ended", "loadedmetadata", "seeked"):
        assert f'"{event}"' in bridge.text, event
    assert requests.get(f"{emulator.url}/embed/other.js", timeout=10).status_code == 404
    assert requests.get(f"{emulator.url}/embed/../store.py", timeout=10).status_code == 404


def test_player_page_loads_the_bridge_and_honours_start_time_and_default_track(emulator, video):
    token = signed(video)
    page = requests.get(
        f"{emulator.url}/{token}/iframe",
        params={"startTime": "1m5s", "defaultTextTrack": "de"},
        timeout=10,
    )
    assert page.status_code == 200
    assert '<script src="/embed/player-bridge.js"></script>' in page.text
    video_tag = re.search(r"<video[^>]*>", page.text).group(0)
    assert 'data-start-time="65.0"' in video_tag
    tracks = re.findall(r"<track[^>]*>", page.text)
    assert [re.search(r'srclang="(\w+)"', track).group(1) for track in tracks] == ["de", "en"]
    assert "default" in tracks[0] and "default" not in tracks[1]
    # Served through the token, like every other delivery URL of a protected video.
    caption_src = re.search(r'<track[^>]*src="([^"]+)"', page.text).group(1)
    assert caption_src == f"/{token}/__emulator__/captions/de.vtt"
    assert requests.get(emulator.url + caption_src, timeout=10).text.startswith("WEBVTT")


def test_unknown_default_track_or_bad_start_time_plays_as_if_not_given(emulator, video):
    page = requests.get(
        f"{emulator.url}/{signed(video)}/iframe",
        params={"startTime": "soon", "defaultTextTrack": "xx"},
        timeout=10,
    )
    assert page.status_code == 200
    assert 'data-start-time="0.0"' in page.text
    assert all("default" not in track for track in re.findall(r"<track[^>]*>", page.text))


def test_refused_tokens_get_a_player_page_that_reports_an_error(emulator, video):
    expired = requests.get(f"{emulator.url}/{signed(video, exp=int(time.time()) - 5)}/iframe", timeout=10)
    assert expired.status_code == 401 and expired.headers["Content-Type"].startswith("text/html")
    assert "data-error=" in expired.text and 'data-error-status="401"' in expired.text
    assert "<video" not in expired.text and '<script src="/embed/player-bridge.js">' in expired.text
    assert video["uid"] not in expired.text

    bare = requests.get(f"{emulator.url}/{video['uid']}/iframe", timeout=10)
    assert bare.status_code == 401 and "<video" not in bare.text
    unknown = requests.get(f"{emulator.url}/{'c' * 32}/iframe", timeout=10)
    assert unknown.status_code == 404 and 'data-error-status="404"' in unknown.text
    # Other delivery paths keep Cloudflare's short text answers.
    manifest = requests.get(f"{emulator.url}/{video['uid']}/manifest/video.m3u8", timeout=10)
    assert manifest.status_code == 401 and manifest.headers["Content-Type"].startswith("text/plain")


def test_a_video_still_processing_reports_an_error_to_the_player_api(emulator, http):
    uid = http.post(
        stream_url(emulator), headers={"Tus-Resumable": "1.0.0", "Upload-Length": "100"}, timeout=10
    ).headers["stream-media-id"]
    page = requests.get(f"{emulator.url}/{uid}/iframe", timeout=10)
    assert page.status_code == 200 and "not ready" in page.text
    assert 'data-error="video is not ready (state pendingupload)"' in page.text
