"""static/js/player.js in headless Chromium, against the emulator's Stream player.

First against the watch page's contract (the page's markup and its three JSON endpoints served by
a small stand-in on another loopback origin, recording what the player sends): position saves,
one view, leaving the page, token refresh, recovery from an expired token, refusals."""

import json
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.wrappers import Response

from tests.browser.stream_pages import pages_served, ready_uid

pytestmark = pytest.mark.browser

PLAYER_JS = Path(__file__).resolve().parents[2] / "static" / "js" / "player.js"
CSRF = "csrf-token-for-the-test"
WATCH = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="csrf-token" content="{csrf}"><title>Kata</title></head><body>
<div class="player" data-player data-asset-id="a1" data-access-url="/api/media/a1/access-url"
     data-progress-url="/api/media/a1/progress" data-start-time="{start}" data-expires-in="{expires_in}">
  <iframe id="stream-player" src="{src}" title="Video player: Kata" width="320" height="240"
          allow="accelerometer; gyroscope; autoplay; encrypted-media; picture-in-picture;" allowfullscreen></iframe>
</div>
<script src="{emulator}/embed/sdk.latest.js"></script>
<script type="module" src="/static/js/player.js"></script>
</body></html>"""
PLAYER = "document.querySelector('[data-player]').watchPlayer"


class StandIn:
    """The watch page and its endpoints; `access` answers the access-url calls (status, expiry)."""

    def __init__(self, emulator_url, stream, uid, src, start=0, expires_in=600):
        self.stream = stream
        self.uid = uid
        self.calls = []
        self.access_status = 200
        self.access_expiry = 600
        self.pages = {
            "/watch": WATCH.format(
                csrf=CSRF, start=start, expires_in=expires_in, src=src, emulator=emulator_url
            ),
            "/elsewhere": "<!doctype html><title>Elsewhere</title>",
            "/static/js/player.js": lambda request: Response(
                PLAYER_JS.read_text(), mimetype="text/javascript"
            ),
            "/api/media/a1/access-url": self.access_url,
            "/api/media/a1/progress": self.record,
            "/api/media/a1/views": self.record,
        }

    def record(self, request):
        body = json.loads(request.get_data() or b"null")
        self.calls.append(
            (request.method, request.path.rsplit("/", 1)[1], body, request.headers.get("X-CSRFToken"))
        )
        return Response(status=204)

    def access_url(self, request):
        self.calls.append((request.method, "access-url", None, None))
        if self.access_status != 200:
            error = {"error": {"code": "refused", "message": "refused"}}
            return Response(json.dumps(error), status=self.access_status, mimetype="application/json")
        url = self.stream.generate_signed_url(self.uid, expiry_seconds=self.access_expiry, user_id=1)
        result = {"asset_id": "a1", "access_url": url, "expires_in": self.access_expiry}
        return Response(json.dumps(result), mimetype="application/json")

    def sent(self, kind):
        return [call for call in self.calls if call[1] == kind]


@contextmanager
def watch_page(stand_in):
    with pages_served(stand_in.pages) as port:
        yield f"http://127.0.0.1:{port}"


def play_muted(page):
    page.evaluate(f"{PLAYER}.player.muted = true")
    page.evaluate(f"{PLAYER}.player.play(), null")


def wait_for(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


@pytest.fixture
def uid(signed_stream, long_video):
    return ready_uid(signed_stream, long_video)


def test_player_saves_the_position_counts_one_view_and_saves_on_leaving(emulator, signed_stream, uid, page):
    src = signed_stream.generate_signed_url(uid, expiry_seconds=600, user_id=1)
    stand_in = StandIn(emulator.url, signed_stream, uid, src)
    with watch_page(stand_in) as base:
        page.goto(f"{base}/watch")
        assert stand_in.sent("views") == []  # loading the page is not a view
        play_muted(page)
        page.wait_for_function(f"{PLAYER}.player.currentTime > 1", timeout=20_000)
        wait_for(lambda: len(stand_in.sent("views")) == 1)
        assert stand_in.sent("views")[0][3] == CSRF

        page.evaluate(f"{PLAYER}.player.currentTime = 20")
        page.wait_for_function(f"{PLAYER}.player.currentTime >= 20", timeout=10_000)
        page.evaluate(f"{PLAYER}.player.pause()")
        wait_for(lambda: stand_in.sent("progress"))
        method, _, body, csrf = stand_in.sent("progress")[-1]
        assert method == "PUT" and csrf == CSRF
        assert 20 <= body["position_seconds"] < 24 and body["duration_seconds"] == 30

        page.evaluate(f"{PLAYER}.player.play()")
        page.wait_for_function(
            f"{PLAYER}.player.currentTime > {body['position_seconds'] + 2}", timeout=10_000
        )
        saves = len(stand_in.sent("progress"))
        page.goto(f"{base}/elsewhere")  # leaving the page saves where the member was
        wait_for(lambda: len(stand_in.sent("progress")) > saves)
        assert stand_in.sent("progress")[-1][2]["position_seconds"] >= body["position_seconds"] + 2
    assert len(stand_in.sent("views")) == 1
    assert stand_in.sent("access-url") == []


def test_player_refreshes_its_token_before_it_expires_and_plays_on(emulator, signed_stream, uid, page):
    issued = time.time()
    src = signed_stream.generate_signed_url(uid, expiry_seconds=6, user_id=1) + "?defaultTextTrack=en"
    stand_in = StandIn(emulator.url, signed_stream, uid, src, expires_in=6)
    with watch_page(stand_in) as base:
        page.goto(f"{base}/watch")
        play_muted(page)
        page.wait_for_function(f"{PLAYER}.player.currentTime > 1", timeout=20_000)
        page.wait_for_function(
            "document.querySelector('[data-player]').dataset.refreshes === '1'", timeout=15_000
        )
        assert len(stand_in.sent("access-url")) == 1
        iframe_src = page.locator("[data-player] iframe").get_attribute("src")
        assert src.split("?")[0] not in iframe_src  # a new token
        assert (
            "autoplay=true" in iframe_src
            and "muted=true" in iframe_src
            and "defaultTextTrack=en" in iframe_src
        )
        start = int(iframe_src.split("startTime=")[1].split("&")[0])
        assert start >= 3
        # Past the first token's life, the new player is still playing on from where it was.
        wait_for(lambda: time.time() > issued + 7, timeout=10)
        page.wait_for_function(
            f"{PLAYER}.player.currentTime > {start + 1} && !{PLAYER}.player.paused", timeout=15_000
        )
        assert page.locator("[data-player-status]").is_hidden()
    assert len(stand_in.sent("access-url")) == 1


def test_player_recovers_from_an_expired_token_without_a_reload(emulator, signed_stream, uid, page):
    expired = signed_stream.iframe_url(
        signed_stream.sign_token(uid, expiry_seconds=60, user_id=1, now=int(time.time()) - 3600)
    )
    stand_in = StandIn(emulator.url, signed_stream, uid, expired + "?startTime=12", start=12)
    with watch_page(stand_in) as base:
        page.goto(f"{base}/watch")
        page.wait_for_function(
            "document.querySelector('[data-player]').dataset.refreshes === '1'", timeout=15_000
        )
        iframe_src = page.locator("[data-player] iframe").get_attribute("src")
        assert "startTime=12" in iframe_src and "autoplay" not in iframe_src
        play_muted(page)
        page.wait_for_function(f"{PLAYER}.player.currentTime > 12.5", timeout=20_000)
        assert page.locator("[data-player-status]").is_hidden()
    assert len(stand_in.sent("access-url")) == 1


def test_player_says_why_it_cannot_reconnect(emulator, signed_stream, uid, page):
    expired = signed_stream.iframe_url(
        signed_stream.sign_token(uid, expiry_seconds=60, user_id=1, now=int(time.time()) - 3600)
    )
    stand_in = StandIn(emulator.url, signed_stream, uid, expired)
    stand_in.access_status = 403
    with watch_page(stand_in) as base:
        page.goto(f"{base}/watch")
        status = page.locator("[data-player-status]")
        page.wait_for_function(
            "document.querySelector('[data-player-status]')?.textContent.includes('no longer includes')",
            timeout=15_000,
        )
        assert status.is_visible()
        assert status.get_attribute("aria-live") == "polite" and status.get_attribute("role") == "status"
    assert len(stand_in.sent("access-url")) == 1
