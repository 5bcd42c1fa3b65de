"""The emulator's Stream player, opened through a signed URL, really plays in Chromium."""

import time

import pytest

from portal.services.stream import StreamClient

pytestmark = pytest.mark.browser

VTT = "WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nBow to the instructor\n"


@pytest.fixture
def stream(emulator):
    client = StreamClient(
        api_base=emulator.api_base,
        account_id="emulator-account",
        api_token="emulator-token",
        customer_base_url=emulator.url,
    )
    key = client.create_signing_key()
    keyed = StreamClient(
        api_base=emulator.api_base,
        account_id="emulator-account",
        api_token="emulator-token",
        customer_base_url=emulator.url,
        signing_key_id=key["id"],
        signing_key_pem=key["pem"],
    )
    yield keyed
    client.close()
    keyed.close()


def wait_ready(client, uid, polls=300):
    for _ in range(polls):
        video = client.get_video(uid)
        if video["status"]["state"] in ("ready", "error"):
            return video
        time.sleep(0.1)
    raise AssertionError("video never finished processing")


def test_signed_iframe_plays_with_captions_and_bare_uid_is_refused(stream, sample_video, page, tmp_path):
    uid = stream.upload_video(sample_video, {"title": "Kata", "require_signed_urls": True})["uid"]
    assert wait_ready(stream, uid)["status"]["state"] == "ready"
    vtt = tmp_path / "en.vtt"
    vtt.write_text(VTT)
    stream.upload_captions(uid, str(vtt), "en")

    refused = page.goto(stream.iframe_url(uid))
    assert refused.status in (401, 403)

    response = page.goto(stream.generate_signed_url(uid, expiry_seconds=600, user_id=1) + "?muted=true")
    assert response.status == 200
    video = page.locator("video")
    video.wait_for()
    page.evaluate("document.querySelector('video').muted = true; document.querySelector('video').play()")
    page.wait_for_function("document.querySelector('video').currentTime > 0.3", timeout=20_000)
    assert page.evaluate("document.querySelector('video').videoWidth") == 320
    assert page.locator("track[srclang=en]").count() == 1
    page.screenshot(path=str(tmp_path / "player.png"))
