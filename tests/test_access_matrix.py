"""The whole access matrix: every kind of viewer × every kind of video × every surface that shows videos.

Viewers: anonymous, a member of each tier, an instructor, an admin. Videos: public, members-only,
tier-specific for each of the four tiers, and two that are not ready. The expected answer is
written out here from DESIGN.md's rules, independently of portal/services/media/access.py.
"""

import re

import jwt
import pytest

from portal.extensions import db
from portal.models import MediaAccessLevel, MediaAssetStatus, Role, Tier, User, WatchProgress
from tests.conftest import PASSWORD, AuthActions, csrf_token_from
from tests.library_fixtures import make_asset, module_app

VIEWERS = ["anonymous", "free", "basic", "premium", "lifetime", "instructor", "admin"]
VIDEOS = {
    "public": (MediaAccessLevel.PUBLIC, None, MediaAssetStatus.READY),
    "members": (MediaAccessLevel.MEMBERS_ONLY, None, MediaAssetStatus.READY),
    "tier-free": (MediaAccessLevel.TIER_SPECIFIC, Tier.FREE, MediaAssetStatus.READY),
    "tier-basic": (MediaAccessLevel.TIER_SPECIFIC, Tier.BASIC, MediaAssetStatus.READY),
    "tier-premium": (MediaAccessLevel.TIER_SPECIFIC, Tier.PREMIUM, MediaAssetStatus.READY),
    "tier-lifetime": (MediaAccessLevel.TIER_SPECIFIC, Tier.LIFETIME, MediaAssetStatus.READY),
    "processing": (MediaAccessLevel.PUBLIC, None, MediaAssetStatus.PROCESSING),
    "failed": (MediaAccessLevel.MEMBERS_ONLY, None, MediaAssetStatus.FAILED),
}
RANK = {"free": 0, "basic": 1, "premium": 2, "lifetime": 3}
PAIRS = [(viewer, video) for viewer in VIEWERS for video in VIDEOS]
TOKEN_RE = re.compile(r"eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+")


def expected(viewer, video):
    """'playable', 'locked' or 'invisible', from DESIGN.md's access rules."""
    level, tier, status = VIDEOS[video]
    if viewer in ("instructor", "admin"):
        return "playable"
    if status != MediaAssetStatus.READY:
        return "invisible"
    if level == MediaAccessLevel.PUBLIC:
        return "playable"
    if viewer == "anonymous":
        return "locked"
    if level == MediaAccessLevel.MEMBERS_ONLY:
        return "playable"
    return "playable" if RANK[viewer] >= RANK[tier.value] else "locked"


@pytest.fixture(scope="module")
def world(redis_url, tmp_path_factory):
    """One app, one video of each kind (all tagged "matrix", with captions), one signed-in client per viewer."""
    with module_app(redis_url, tmp_path_factory.mktemp("matrix"), RELATED_VIDEOS_LIMIT=20) as app:
        with app.app_context():
            assets = {
                name: make_asset(
                    f"Matrix {name} video", level, tier, status, tags=["matrix", name], captions=["en"]
                )
                for name, (level, tier, status) in VIDEOS.items()
            }
            users = {}
            for viewer in VIEWERS[1:]:
                role = Role(viewer) if viewer in ("instructor", "admin") else Role.MEMBER
                tier = Tier.LIFETIME if role != Role.MEMBER else Tier(viewer)
                user = User(email=f"{viewer}@matrix.example.org", role=role, tier=tier)
                user.set_password(PASSWORD, method=app.config["PASSWORD_HASH_METHOD"])
                db.session.add(user)
                users[viewer] = user
            db.session.flush()
            for user in users.values():  # a saved position in every video, allowed or not
                for asset in assets.values():
                    db.session.add(WatchProgress(user_id=user.id, asset_id=asset.id, position_seconds=30))
            db.session.commit()
            ids = {name: asset.id for name, asset in assets.items()}
            uids = {name: asset.stream_video_id for name, asset in assets.items()}
        clients = {"anonymous": app.test_client()}
        for viewer in VIEWERS[1:]:
            client = app.test_client()
            assert AuthActions(client).login(f"{viewer}@matrix.example.org").status_code == 302
            clients[viewer] = client
        yield {"app": app, "ids": ids, "uids": uids, "clients": clients, "pages": {}}


def page(world, viewer, path):
    """GET a page once per viewer and path (a module-wide cache: the pages do not change)."""
    key = (viewer, path)
    if key not in world["pages"]:
        response = world["clients"][viewer].get(path)
        world["pages"][key] = (
            response.status_code,
            response.get_data(as_text=True),
            response.get_json(silent=True),
        )
    return world["pages"][key]


def card_html(html, asset_id):
    """The <li> card of one asset in a page, or None."""
    match = re.search(
        rf'<li class="video-card[^"]*" data-asset="{asset_id}">(.*?)</li>\s*(?=<li class="video-card|</ul>)',
        html,
        re.S,
    )
    return match.group(0) if match else None


def assert_nothing_playable(text, world, video):
    """No Stream uid, no thumbnail, no token for this video in a piece of HTML or JSON text."""
    assert world["uids"][video] not in text
    assert "thumbnail" not in text.lower().replace("thumb-placeholder", "").replace("video-thumb", "")
    assert not TOKEN_RE.search(text)
    assert "iframe" not in text


def assert_card(world, viewer, video, html):
    card = card_html(html, world["ids"][video])
    want = expected(viewer, video)
    if want == "invisible":
        assert card is None
        return
    assert card is not None and f"Matrix {video} video" in card
    if want == "locked":
        assert "upgrade to watch" in card or "sign in to watch" in card
        assert_nothing_playable(card, world, video)
    else:
        assert "Locked" not in card


@pytest.mark.parametrize("viewer,video", PAIRS)
def test_library_grid(world, viewer, video):
    status, html, _ = page(world, viewer, "/library")
    assert status == 200
    assert_card(world, viewer, video, html)


@pytest.mark.parametrize("viewer,video", PAIRS)
def test_library_search(world, viewer, video):
    status, html, _ = page(world, viewer, "/library?q=MATRIX")
    assert status == 200
    assert_card(world, viewer, video, html)


@pytest.mark.parametrize("viewer,video", PAIRS)
def test_library_tag_filter(world, viewer, video):
    status, html, _ = page(world, viewer, f"/library?tag={video}")
    assert status == 200
    assert_card(world, viewer, video, html)


@pytest.mark.parametrize("viewer,video", PAIRS)
def test_watch_page(world, viewer, video):
    status, html, _ = page(world, viewer, f"/watch/{world['ids'][video]}")
    want = expected(viewer, video)
    if want == "invisible":
        assert status == 404 and world["uids"][video] not in html
    elif want == "locked" and viewer == "anonymous":
        assert status == 302  # to the sign-in page
    elif want == "locked":
        assert status == 403 and "upgrade to watch" in html and f"Matrix {video} video" in html
        assert_nothing_playable(html, world, video)
        assert "Captions" not in html and "data-player" not in html
    elif VIDEOS[video][2] != MediaAssetStatus.READY:
        assert status == 200 and "data-player" not in html and "not ready" not in html
        assert f"This video is {VIDEOS[video][2].value}" in html
    else:
        assert status == 200 and 'id="stream-player"' in html and "Captions: EN" in html
        token = TOKEN_RE.search(html).group(0)
        assert jwt.decode(token, options={"verify_signature": False})["sub"] == world["uids"][video]
        assert ("Embed code" in html) is (viewer in ("instructor", "admin"))


@pytest.mark.parametrize("viewer,video", PAIRS)
def test_related_videos(world, viewer, video):
    """Related videos on the public video's page: only ones the viewer may play."""
    status, html, _ = page(world, viewer, f"/watch/{world['ids']['public']}")
    assert status == 200
    related = html.split('id="related-title"', 1)[1] if 'id="related-title"' in html else ""
    card = card_html(related, world["ids"][video])
    if video == "public":
        assert card is None
    else:
        assert (card is not None) is (expected(viewer, video) == "playable")


@pytest.mark.parametrize("viewer,video", PAIRS)
def test_api_list(world, viewer, video):
    status, _, body = page(world, viewer, "/api/media?per_page=100")
    assert status == 200
    items = {item["id"]: item for item in body["items"]}
    item = items.get(world["ids"][video])
    want = expected(viewer, video)
    if want == "invisible":
        assert item is None
    else:
        assert item["locked"] is (want == "locked") and item["title"] == f"Matrix {video} video"
    if want == "locked":
        assert set(item) <= {
            "id",
            "title",
            "duration_seconds",
            "tags",
            "access_level",
            "required_tier",
            "locked",
        } | {
            "lock_reason",
            "tier_needed",
            "sign_in_needed",
        }
        assert_nothing_playable(str(item), world, video)
    if want == "playable":
        assert ("stream_video_id" in item) is (viewer in ("instructor", "admin"))


@pytest.mark.parametrize("viewer,video", PAIRS)
def test_api_detail(world, viewer, video):
    status, text, body = page(world, viewer, f"/api/media/{world['ids'][video]}")
    want = expected(viewer, video)
    if want == "invisible":
        assert status == 404 and body["error"]["code"] == "not_found"
        return
    assert status == 200 and body["locked"] is (want == "locked")
    if want == "locked":
        assert "captions" not in body and "description" not in body
        assert_nothing_playable(text, world, video)
    else:
        assert body["captions"] == [{"language": "en", "label": "EN"}]


@pytest.mark.parametrize("viewer,video", PAIRS)
def test_access_url(world, viewer, video):
    status, text, body = page(world, viewer, f"/api/media/{world['ids'][video]}/access-url")
    want = expected(viewer, video)
    ready = VIDEOS[video][2] == MediaAssetStatus.READY
    if want == "invisible":
        assert status == 404
    elif want == "locked":
        assert status == (401 if viewer == "anonymous" else 403)
        assert not TOKEN_RE.search(text) and world["uids"][video] not in text
    elif not ready:
        assert status == 409 and body["error"]["code"] == "not_ready"
    else:
        assert status == 200 and body["asset_id"] == world["ids"][video]
        token = TOKEN_RE.search(body["access_url"]).group(0)
        assert jwt.decode(token, options={"verify_signature": False})["sub"] == world["uids"][video]


@pytest.mark.parametrize("viewer,video", PAIRS)
def test_thumbnails(world, viewer, video):
    """A card carries a thumbnail only for a video the viewer may play (a signed one unless public)."""
    _, html, _ = page(world, viewer, "/library")
    card = card_html(html, world["ids"][video])
    if card is None:
        return
    has_image = "<img" in card
    ready = VIDEOS[video][2] == MediaAssetStatus.READY
    assert has_image is (expected(viewer, video) == "playable" and ready)
    if has_image and VIDEOS[video][0] != MediaAccessLevel.PUBLIC:
        assert TOKEN_RE.search(card) and f"/{world['uids'][video]}/" not in card


@pytest.mark.parametrize("viewer,video", PAIRS)
def test_continue_watching(world, viewer, video):
    status, _, body = page(world, viewer, "/api/me/continue-watching")
    if viewer == "anonymous":
        assert status == 401
        return
    ids = [item["id"] for item in body["items"]]
    assert (world["ids"][video] in ids) is (expected(viewer, video) == "playable")
    _, html, _ = page(world, viewer, "/library")
    row = html.split('id="continue-title"', 1)[1].split("</section>", 1)[0]
    assert (f'data-asset="{world["ids"][video]}"' in row) is (expected(viewer, video) == "playable")


@pytest.mark.parametrize("viewer,video", PAIRS)
def test_progress_and_views(world, viewer, video):
    """Saving progress and counting a view: allowed exactly where access-url is."""
    client = world["clients"][viewer]
    headers = {"X-CSRFToken": csrf_token_from(page(world, viewer, "/")[1])}
    asset_id = world["ids"][video]
    progress = client.put(f"/api/media/{asset_id}/progress", json={"position_seconds": 31}, headers=headers)
    views = client.post(f"/api/media/{asset_id}/views", headers=headers)
    want = expected(viewer, video)
    ready = VIDEOS[video][2] == MediaAssetStatus.READY
    if viewer == "anonymous":
        assert progress.status_code == 401
        assert views.status_code == {"invisible": 404, "locked": 401, "playable": 204}[want]
    elif want == "invisible":
        assert progress.status_code == views.status_code == 404
    elif want == "locked":
        assert progress.status_code == views.status_code == 403
    elif not ready:
        assert progress.status_code == views.status_code == 409
    else:
        assert progress.status_code == views.status_code == 204
