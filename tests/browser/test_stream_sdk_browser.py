"""The emulator's Stream Player API in headless Chromium: window.Stream(iframe) on one origin driving
the emulator's player page on another, and ignoring frames that are neither."""

import time
from contextlib import contextmanager

import pytest

from tests.browser.stream_pages import pages_served, ready_uid

pytestmark = pytest.mark.browser


def host_page(emulator_url, iframe_src, stranger_url):
    """A page on another origin embedding the player and the SDK, as the watch page does."""
    return f"""<!doctype html><html><body>
<iframe id="stream-player" src="{iframe_src}" allow="autoplay" width="320" height="240"></iframe>
<iframe id="stranger" name="stranger" src="{stranger_url}" width="10" height="10"></iframe>
<script src="{emulator_url}/embed/sdk.latest.js"></script>
<script>
  window.seen = [];
  window.player = Stream(document.getElementById("stream-player"));
  ["play", "playing", "pause", "timeupdate", "seeked", "loadedmetadata", "ended", "error"].forEach(
    (name) => player.addEventListener(name, (event) => seen.push(event.type)));
</script></body></html>"""


# A page on a third origin trying to drive the player, and to pass itself off as the player.
STRANGER = """<!doctype html><script>
  window.attack = () => {
    const player = parent.frames[0], message = {protocol: "stream-emulator-player"};
    player.postMessage({...message, type: "hello"}, "*");
    player.postMessage({...message, type: "call", method: "pause", id: 99}, "*");
    player.postMessage({...message, type: "set", name: "currentTime", value: 1}, "*");
    parent.postMessage({...message, type: "ready"}, "*");
    parent.postMessage({...message, type: "event", event: "ended", state: {currentTime: 999, ended: true}}, "*");
  };
</script>"""


@contextmanager
def embedding_page(emulator_url, iframe_src):
    """The embedding page on one origin (127.0.0.1) and the stranger on another (localhost)."""
    pages = {"/stranger": STRANGER}
    with pages_served(pages) as port:
        pages["/"] = host_page(emulator_url, iframe_src, f"http://localhost:{port}/stranger")
        yield f"http://127.0.0.1:{port}/"


def test_emulator_sdk_drives_the_player_across_origins(emulator, signed_stream, long_video, page):
    uid = ready_uid(signed_stream, long_video)
    src = signed_stream.generate_signed_url(uid, expiry_seconds=600, user_id=1) + "?startTime=3"
    with embedding_page(emulator.url, src) as url:
        page.goto(url)
        drive_the_player(page)


def drive_the_player(page):

    page.evaluate("player.muted = true")
    assert page.evaluate("player.play().then(() => 'played')") == "played"
    page.wait_for_function("player.currentTime > 3.3 && !player.paused", timeout=20_000)
    assert 3 <= page.evaluate("player.currentTime") < 15  # started at startTime=3
    assert page.evaluate("player.duration") == pytest.approx(30, abs=0.5)
    assert page.evaluate("player.muted") is True
    assert {"play", "playing", "timeupdate"} <= set(page.evaluate("seen"))

    page.evaluate("player.currentTime = 20")
    page.wait_for_function("player.currentTime >= 20", timeout=10_000)
    assert "seeked" in page.evaluate("seen")

    # A stranger frame's messages change nothing on either side: still playing on from 20 s.
    page.frame(name="stranger").evaluate("attack()")
    page.wait_for_timeout(500)
    page.wait_for_function("player.currentTime > 20.3 && !player.paused", timeout=10_000)
    assert "ended" not in page.evaluate("seen") and page.evaluate("player.ended") is False

    page.evaluate("player.pause()")
    page.wait_for_function("player.paused === true", timeout=10_000)
    paused_at = page.evaluate("player.currentTime")
    assert 20 < paused_at < 25
    video = page.frame_locator("#stream-player").locator("video")
    assert video.evaluate("v => v.paused") is True
    assert video.evaluate("v => v.currentTime") == pytest.approx(paused_at, abs=0.3)

    page.evaluate("player.addEventListener('pause', window.extra = () => seen.push('extra'))")
    page.evaluate("player.removeEventListener('pause', window.extra)")
    page.evaluate("player.play().then(() => player.pause())")
    page.wait_for_function("seen.filter((name) => name === 'pause').length === 2", timeout=10_000)
    assert "extra" not in page.evaluate("seen")


def test_emulator_sdk_reports_an_error_for_an_expired_token(emulator, signed_stream, long_video, page):
    uid = ready_uid(signed_stream, long_video)
    an_hour_ago = int(time.time()) - 3600
    token = signed_stream.sign_token(uid, expiry_seconds=60, user_id=1, now=an_hour_ago)
    expired = signed_stream.iframe_url(token)
    with embedding_page(emulator.url, expired) as url:
        page.goto(url)
        page.wait_for_function("seen.includes('error')", timeout=10_000)
    assert page.evaluate("player.play().then(() => 'played', (error) => error.name)") == "NotSupportedError"
