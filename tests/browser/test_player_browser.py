"""static/js/player.js in headless Chromium, against the emulator's Stream player.

On the portal itself: a premium member plays a premium video in the iframe, a basic member gets the
locked card and no iframe, a member leaves at 20 s and resumes there from "Continue watching", and
the token is refreshed in a session longer than its life.
Then against the watch page's contract alone (its markup and three JSON endpoints served by a small
stand-in that records what the player sends): position saves, one view, saving on leaving the page,
recovery from an expired token, and the status line when it cannot reconnect."""

import json
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.wrappers import Response

from portal.extensions import db
from portal.models import MediaAccessLevel, MediaAsset, MediaAssetStatus, Role, Tier, WatchProgress
from tests.browser.stream_pages import pages_served, ready_uid
from tests.conftest import PASSWORD, shareable_database

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


def play_muted(page):
    page.evaluate(f"{PLAYER}.player.muted = true")
    page.evaluate(f"{PLAYER}.player.play(), null")


def until(page, expression, timeout=10):
    """Poll a JavaScript expression from outside the page (the watch page's CSP forbids eval)."""
    wait_for(lambda: page.evaluate(expression), timeout)


def wait_for(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


@pytest.fixture
def uid(signed_stream, long_video):
    return ready_uid(signed_stream, long_video)


# -- on the portal --------------------------------------------------------------------------------


@pytest.fixture
def token_seconds():
    """The portal's playback token life (PLAYBACK_TOKEN_SECONDS) for the test."""
    return 3600


@pytest.fixture
def app(app_factory, emulator, signed_stream, token_seconds, tmp_path):
    """The portal on the emulator, signing with the emulator's key, on a database the server shares."""
    app = app_factory(
        **shareable_database(tmp_path),
        CLOUDFLARE_API_BASE=emulator.api_base,
        STREAM_CUSTOMER_BASE_URL=emulator.url,
        CLOUDFLARE_STREAM_SIGNING_KEY_ID=signed_stream.signing_key_id,
        CLOUDFLARE_STREAM_SIGNING_KEY=signed_stream.signing_key_pem,
        PLAYBACK_TOKEN_SECONDS=token_seconds,
    )
    with app.app_context():
        yield app


@pytest.fixture
def premium_video(app, uid):
    asset = MediaAsset(
        title="Kanku dai",
        stream_video_id=uid,
        status=MediaAssetStatus.READY,
        access_level=MediaAccessLevel.TIER_SPECIFIC,
        required_tier=Tier.PREMIUM,
        duration_seconds=30,
    )
    db.session.add(asset)
    db.session.commit()
    return asset


def sign_in(page, base, user):
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")


def blocked_by_csp(page):
    """Collects the page's Content-Security-Policy violations (from the console)."""
    blocked = []
    page.on(
        "console",
        lambda message: blocked.append(message.text) if "Content Security Policy" in message.text else None,
    )
    return blocked


def stored(query):
    """Read committed rows afresh (the server thread writes them)."""
    db.session.expire_all()
    return query()


def test_premium_member_plays_a_premium_video_in_the_iframe(live_server, page, make_user, premium_video, uid):
    member = make_user(role=Role.MEMBER, tier=Tier.PREMIUM)
    blocked = blocked_by_csp(page)
    sign_in(page, live_server.url, member)
    page.goto(f"{live_server.url}/watch/{premium_video.id}")
    iframe = page.locator("[data-player] iframe#stream-player")
    assert iframe.is_visible()
    play_muted(page)
    until(page, f"{PLAYER}.player.currentTime > 1.5 && !{PLAYER}.player.paused", timeout=20)
    assert page.frame_locator("[data-player] iframe").locator("video").evaluate("v => v.currentTime") > 1
    wait_for(lambda: stored(lambda: db.session.get(MediaAsset, premium_video.id).view_count) == 1)
    assert blocked == []


def test_basic_member_sees_the_locked_card_and_no_iframe(live_server, page, make_user, premium_video, uid):
    member = make_user(role=Role.MEMBER, tier=Tier.BASIC)
    sign_in(page, live_server.url, member)
    response = page.goto(f"{live_server.url}/watch/{premium_video.id}")
    assert response.status == 403
    assert page.locator(".player-locked").is_visible()
    assert page.locator("iframe").count() == 0 and page.locator("[data-player]").count() == 0
    assert uid not in page.content()
    page.goto(f"{live_server.url}/library")
    card = page.locator(f'.video-card[data-asset="{premium_video.id}"]')
    assert "is-locked" in card.get_attribute("class") and "Premium" in card.inner_text()
    assert uid not in page.content()


def test_member_leaves_at_20_s_and_resumes_from_continue_watching(
    live_server, page, make_user, premium_video
):
    member = make_user(role=Role.MEMBER, tier=Tier.PREMIUM)
    sign_in(page, live_server.url, member)
    page.goto(f"{live_server.url}/watch/{premium_video.id}")
    play_muted(page)
    until(page, f"{PLAYER}.player.currentTime > 0.5", timeout=20)
    page.evaluate(f"{PLAYER}.player.currentTime = 20")  # rather than 20 s of wall time
    until(page, f"{PLAYER}.player.currentTime >= 20.5", timeout=10)

    page.goto(f"{live_server.url}/library")  # leaving saves the position
    progress = lambda: db.session.get(WatchProgress, (member.id, premium_video.id))  # noqa: E731
    wait_for(lambda: stored(progress) is not None and progress().position_seconds >= 20)
    assert 20 <= progress().position_seconds < 26 and not progress().finished

    page.reload()  # the row shows once the save has landed
    row = page.locator("section.continue-watching")
    assert row.get_by_role("heading", name="Continue watching").is_visible()
    row.locator(f'.video-card[data-asset="{premium_video.id}"] a').click()
    page.wait_for_url(f"{live_server.url}/watch/{premium_video.id}")
    src = page.locator("[data-player] iframe").get_attribute("src")
    assert f"startTime={int(progress().position_seconds)}s" in src  # where the member left, 20-25 s
    play_muted(page)
    until(page, f"{PLAYER}.player.currentTime > 20 && !{PLAYER}.player.paused", timeout=20)
    assert 20 <= page.evaluate(f"{PLAYER}.player.currentTime") < 26


@pytest.mark.parametrize("token_seconds", [6])
def test_token_is_refreshed_in_a_session_longer_than_its_life(live_server, page, make_user, premium_video):
    member = make_user(role=Role.MEMBER, tier=Tier.PREMIUM)
    sign_in(page, live_server.url, member)
    page.goto(f"{live_server.url}/watch/{premium_video.id}")
    opened = time.time()
    first_src = page.locator("[data-player] iframe").get_attribute("src")
    assert page.get_attribute("[data-player]", "data-expires-in") == "6"
    play_muted(page)
    until(page, f"{PLAYER}.player.currentTime > 1", timeout=20)
    until(page, "document.querySelector('[data-player]').dataset.refreshes === '1'", timeout=15_000)
    src = page.locator("[data-player] iframe").get_attribute("src")
    assert src.split("?")[0] != first_src.split("?")[0]  # a new token, carrying the player's state over
    assert (
        "autoplay=true" in src and "muted=true" in src and int(src.split("startTime=")[1].split("&")[0]) >= 1
    )
    wait_for(lambda: time.time() > opened + 7, timeout=10)  # past the first token's life
    at = page.evaluate(f"{PLAYER}.player.currentTime")
    until(page, f"{PLAYER}.player.currentTime > {at + 1} && !{PLAYER}.player.paused", timeout=15_000)
    assert page.locator("[data-player-status]").is_hidden()


# -- against the watch page's contract ----------------------------------------------------------------


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


def test_player_saves_the_position_counts_one_view_and_saves_on_leaving(emulator, signed_stream, uid, page):
    src = signed_stream.generate_signed_url(uid, expiry_seconds=600, user_id=1)
    stand_in = StandIn(emulator.url, signed_stream, uid, src)
    with watch_page(stand_in) as base:
        page.goto(f"{base}/watch")
        assert stand_in.sent("views") == []  # loading the page is not a view
        play_muted(page)
        until(page, f"{PLAYER}.player.currentTime > 1", timeout=20)
        wait_for(lambda: len(stand_in.sent("views")) == 1)
        assert stand_in.sent("views")[0][3] == CSRF

        page.evaluate(f"{PLAYER}.player.currentTime = 20")
        until(page, f"{PLAYER}.player.currentTime >= 20", timeout=10)
        page.evaluate(f"{PLAYER}.player.pause()")
        wait_for(lambda: stand_in.sent("progress"))
        method, _, body, csrf = stand_in.sent("progress")[-1]
        assert method == "PUT" and csrf == CSRF
        assert 20 <= body["position_seconds"] < 24 and body["duration_seconds"] == 30

        page.evaluate(f"{PLAYER}.player.play()")
        until(page, f"{PLAYER}.player.currentTime > {body['position_seconds'] + 2}", timeout=10_000)
        saves = len(stand_in.sent("progress"))
        page.goto(f"{base}/elsewhere")  # leaving the page saves where the member was
        wait_for(lambda: len(stand_in.sent("progress")) > saves)
        assert stand_in.sent("progress")[-1][2]["position_seconds"] >= body["position_seconds"] + 2
    assert len(stand_in.sent("views")) == 1
    assert stand_in.sent("access-url") == []


def test_player_recovers_from_an_expired_token_without_a_reload(emulator, signed_stream, uid, page):
    expired = signed_stream.iframe_url(
        signed_stream.sign_token(uid, expiry_seconds=60, user_id=1, now=int(time.time()) - 3600)
    )
    stand_in = StandIn(emulator.url, signed_stream, uid, expired + "?startTime=12", start=12)
    with watch_page(stand_in) as base:
        page.goto(f"{base}/watch")
        until(page, "document.querySelector('[data-player]').dataset.refreshes === '1'", timeout=15_000)
        iframe_src = page.locator("[data-player] iframe").get_attribute("src")
        assert "startTime=12" in iframe_src and "autoplay" not in iframe_src
        play_muted(page)
        until(page, f"{PLAYER}.player.currentTime > 12.5", timeout=20)
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
        until(
            page,
            "document.querySelector('[data-player-status]')?.textContent.includes('no longer includes')",
            timeout=15_000,
        )
        assert status.is_visible()
        assert status.get_attribute("aria-live") == "polite" and status.get_attribute("role") == "status"
    assert len(stand_in.sent("access-url")) == 1
