"""The library pages: a fixed, small number of SQL statements per page whatever the library's size,
search with LIKE wildcards taken literally, filters, sorts, pages, bad input, inert markup."""

import html
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import event, insert, select

from portal.extensions import db
from portal.models import (
    EntityType,
    Event,
    MediaAccessLevel,
    MediaAsset,
    MediaAssetStatus,
    MediaTag,
    MediaType,
    Role,
    Tier,
    TrainingSession,
    User,
    WatchProgress,
)
from portal.services.media import facets, grid_cache
from tests.conftest import PASSWORD, AuthActions
from tests.library_fixtures import make_asset, module_app

LEVELS = [
    (MediaAccessLevel.PUBLIC, None),
    (MediaAccessLevel.MEMBERS_ONLY, None),
    (MediaAccessLevel.TIER_SPECIFIC, Tier.BASIC),
    (MediaAccessLevel.TIER_SPECIFIC, Tier.PREMIUM),
]
PAGES = [
    "/library",
    "/library?q=drill",
    "/library?tag=kata&sort=most_viewed",
    "/library?sort=title&page=2",
    "/",
]


def bulk_assets(count, start):
    """Insert `count` ready assets (with two tags each) in a few statements."""
    base = datetime(2026, 1, 1, tzinfo=UTC)
    rows, tags = [], []
    for n in range(start, start + count):
        level, tier = LEVELS[n % len(LEVELS)]
        asset_id = str(uuid.uuid4())
        rows.append(
            {
                "id": asset_id,
                "title": f"Drill {n:05d}",
                "description": f"Practice number {n}",
                "stream_video_id": uuid.uuid4().hex,
                "status": MediaAssetStatus.READY if n % 10 else MediaAssetStatus.PROCESSING,
                "access_level": level,
                "required_tier": tier,
                "duration_seconds": 60 + n % 600,
                "view_count": n % 97,
                "created_at": base + timedelta(minutes=n),
                "updated_at": base,
                "media_type": "video",
                "storage_provider": "cloudflare_stream",
                "extra_metadata": {},
                "download_count": 0,
            }
        )
        tags += [
            {"asset_id": asset_id, "tag": "kata" if n % 3 else "sparring"},
            {"asset_id": asset_id, "tag": f"t{n % 40}"},
        ]
    db.session.execute(insert(MediaAsset), rows)
    db.session.execute(insert(MediaTag), tags)
    db.session.commit()


@pytest.fixture(scope="module")
def lib(redis_url, tmp_path_factory):
    """A library app with signed-in clients for a basic member and an admin, and 100 assets."""
    with module_app(redis_url, tmp_path_factory.mktemp("library")) as app:
        with app.app_context():
            for email, role, tier in [
                ("basic@lib.example.org", Role.MEMBER, Tier.BASIC),
                ("admin@lib.example.org", Role.ADMIN, Tier.LIFETIME),
            ]:
                user = User(email=email, role=role, tier=tier)
                user.set_password(PASSWORD, method=app.config["PASSWORD_HASH_METHOD"])
                db.session.add(user)
            session = TrainingSession(title="Autumn camp")
            db.session.add(session)
            db.session.commit()
            bulk_assets(100, 0)
        clients = {"anonymous": app.test_client()}
        for name in ("basic", "admin"):
            clients[name] = app.test_client()
            assert AuthActions(clients[name]).login(f"{name}@lib.example.org").status_code == 302
        yield app, clients


@contextmanager
def counting_statements(app):
    """Count the SQL statements sent while the block runs."""
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def statements_per_page(app, clients, pages=PAGES, statuses=(200,)):
    counts = {}
    for viewer, client in clients.items():
        for path in pages:
            with counting_statements(app) as statements:
                response = client.get(path)
            assert response.status_code in statuses, (viewer, path, response.status_code)
            counts[(viewer, path)] = len(statements)
    return counts


def watch_pages():
    """Watch pages of a public and a premium video, the premium one in a training session."""
    public, premium = (
        db.session.scalar(
            select(MediaAsset)
            .where(MediaAsset.status == MediaAssetStatus.READY, MediaAsset.required_tier == tier)
            .where(MediaAsset.access_level == level)
            .limit(1)
        )
        for level, tier in [(MediaAccessLevel.PUBLIC, None), (MediaAccessLevel.TIER_SPECIFIC, Tier.PREMIUM)]
    )
    premium.entity_type = EntityType.TRAINING_SESSION
    premium.entity_id = db.session.scalar(select(TrainingSession.id))
    db.session.commit()
    return [f"/watch/{public.id}", f"/watch/{premium.id}"]


def test_statements_per_page_are_few_and_do_not_grow_with_the_library(lib):
    app, clients = lib
    with app.app_context():
        user = User.by_email("basic@lib.example.org")
        for asset in db.session.query(MediaAsset).limit(5):
            db.session.add(
                WatchProgress(user_id=user.id, asset_id=asset.id, position_seconds=10, duration_seconds=100)
            )
        db.session.commit()
        watch = watch_pages()
    small = statements_per_page(app, clients)
    # Played (public: everyone; premium: the admin), locked (403 for the basic member), or sign in (302).
    small_watch = statements_per_page(app, clients, watch, statuses=(200, 302, 403))
    with app.app_context():
        bulk_assets(9_900, 100)
    large = statements_per_page(app, clients)
    large_watch = statements_per_page(app, clients, watch, statuses=(200, 302, 403))
    assert small == large
    assert max(large.values()) <= 6, large
    # The watch page (the grid cache off, as in every test: related videos are counted every time):
    # the member, the video (with its session title), related videos, the saved position, the bell.
    assert small_watch == large_watch
    assert max(large_watch.values()) <= 5, large_watch
    response = clients["basic"].get("/library?sort=title&page=2")
    assert "page 2 of" in response.get_data(as_text=True)


@pytest.fixture
def fresh(redis_url, tmp_path):
    """A small library of hand-made videos, one app per test."""
    with module_app(redis_url, tmp_path) as app:
        with app.app_context():
            yield app


def titles(response):
    """The card titles on a library page, in order."""
    html = response.get_data(as_text=True)
    return [part.split("</span>", 1)[0] for part in html.split('<span class="video-title">')[1:]]


def test_search_takes_like_wildcards_literally_and_looks_at_tags_and_descriptions(fresh):
    make_asset("100% effort")
    make_asset("Full effort")
    make_asset("snake_case stance")
    make_asset("Snakes", description="about snakes")
    make_asset("Lock flow", tags=["wrist_locks"])
    db.session.commit()
    client = fresh.test_client()
    assert titles(client.get("/library?q=%25")) == ["100% effort"]
    assert titles(client.get("/library?q=_")) == ["Lock flow", "snake_case stance"]
    assert titles(client.get("/library?q=e_c")) == ["snake_case stance"]
    assert titles(client.get("/library?q=WRIST_")) == ["Lock flow"]
    assert titles(client.get("/library?q=about%20snakes")) == ["Snakes"]
    assert titles(client.get("/library?q=%5C")) == []


def test_the_library_page_lists_videos_and_the_api_every_kind(fresh):
    """Handouts (documents, images) belong on their session's page, not among the videos to watch."""
    make_asset("Kata video")
    make_asset("Grading syllabus", media_type=MediaType.DOCUMENT)
    db.session.commit()
    client = fresh.test_client()
    assert titles(client.get("/library")) == ["Kata video"]
    listed = client.get("/api/media").get_json()["items"]
    assert sorted(item["title"] for item in listed) == ["Grading syllabus", "Kata video"]


def test_sorts_and_pages(fresh):
    for n, (title, views) in enumerate([("Bravo", 5), ("Alpha", 50), ("Charlie", 0)]):
        make_asset(title, view_count=views, created_at=datetime(2026, 1, 1 + n, tzinfo=UTC))
    db.session.commit()
    client = fresh.test_client()
    assert titles(client.get("/library")) == ["Charlie", "Alpha", "Bravo"]
    assert titles(client.get("/library?sort=most_viewed")) == ["Alpha", "Bravo", "Charlie"]
    assert titles(client.get("/library?sort=title")) == ["Alpha", "Bravo", "Charlie"]
    fresh.config["LIBRARY_PAGE_SIZE"] = 2
    second = client.get("/library?page=2")
    assert titles(second) == ["Bravo"] and "Previous page" in second.get_data(as_text=True)
    assert titles(client.get("/library?page=9")) == []


def test_tag_and_session_filters(fresh):
    session = TrainingSession(title="Autumn camp")
    other = Event(title="Grading day")
    db.session.add_all([session, other])
    db.session.flush()
    make_asset("In camp", tags=["kata"], entity_type=EntityType.TRAINING_SESSION, entity_id=session.id)
    make_asset("At grading", tags=["kata", "grading"], entity_type=EntityType.EVENT, entity_id=other.id)
    make_asset("Elsewhere", tags=["sparring"])
    db.session.commit()
    client = fresh.test_client()
    assert titles(client.get("/library?tag=KATA")) == ["At grading", "In camp"]
    assert titles(client.get(f"/library?entity=training_session:{session.id}")) == ["In camp"]
    assert titles(client.get(f"/library?entity_type=event&entity_id={other.id}")) == ["At grading"]
    html = client.get("/library").get_data(as_text=True)
    assert "Session: Autumn camp" in html and "Event: Grading day" in html
    assert '<option value="kata" >kata</option>' in html


@pytest.mark.parametrize(
    "query",
    [
        "page=0",
        "page=-1",
        "page=abc",
        "page=99999999999999",
        "sort=random",
        "entity_type=planet",
        "q=" + "x" * 10_000,
        "q=%00",
        "tag=" + "t" * 65,
    ],
)
def test_bad_library_input_is_a_clear_400_never_a_500(fresh, query):
    response = fresh.test_client().get(f"/library?{query}")
    assert response.status_code == 400
    assert 'role="alert"' in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "path", ["/watch/nope", "/watch/" + "x" * 500, "/watch/%00", f"/watch/{uuid.uuid4()}"]
)
def test_unknown_or_malformed_watch_ids_are_404(fresh, path):
    assert fresh.test_client().get(path).status_code == 404


def test_markup_in_titles_descriptions_and_tags_is_inert(fresh):
    asset = make_asset(
        '<script>alert(1)</script>" onmouseover="x',
        description='<img src=x onerror=alert(2)> <a href="javascript:alert(3)">go</a>',
        tags=["<b>bold</b>"],
    )
    db.session.commit()
    client = fresh.test_client()
    for path in ["/library", f"/watch/{asset.id}", "/library?q=%3Cscript%3E"]:
        html = client.get(path).get_data(as_text=True)
        assert "<script>alert(1)" not in html and "<img src=x" not in html and "<b>bold" not in html
        assert 'href="javascript:' not in html


def test_home_page_leads_to_the_library(fresh):
    assert 'href="/library"' in fresh.test_client().get("/").get_data(as_text=True)


def test_continue_watching_row_most_recent_first_and_finished_videos_leave(fresh):
    user = User(email="cw@example.org", role=Role.MEMBER, tier=Tier.FREE)
    user.set_password(PASSWORD, method=fresh.config["PASSWORD_HASH_METHOD"])
    db.session.add(user)
    first, second, done = (make_asset(title) for title in ("First", "Second", "Done"))
    db.session.flush()
    now = datetime.now(UTC)
    db.session.add_all(
        [
            WatchProgress(
                user_id=user.id,
                asset_id=first.id,
                position_seconds=20,
                duration_seconds=125,
                updated_at=now - timedelta(hours=2),
            ),
            WatchProgress(
                user_id=user.id,
                asset_id=second.id,
                position_seconds=40,
                duration_seconds=125,
                updated_at=now - timedelta(hours=1),
            ),
            WatchProgress(
                user_id=user.id,
                asset_id=done.id,
                position_seconds=120,
                duration_seconds=125,
                finished=True,
                updated_at=now,
            ),
        ]
    )
    db.session.commit()
    client = fresh.test_client()
    AuthActions(client).login("cw@example.org")
    for path in ("/", "/library"):
        html = client.get(path).get_data(as_text=True)
        row = html.split('id="continue-title"', 1)[1].split("</section>", 1)[0]
        assert titles_in(row) == ["Second", "First"]
    assert "Continue watching" not in fresh.test_client().get("/").get_data(as_text=True)


def titles_in(html):
    return [part.split("</span>", 1)[0] for part in html.split('<span class="video-title">')[1:]]


def test_watch_page_content_security_policy_adds_only_the_player_sdk(fresh):
    asset = make_asset("Open class")
    db.session.commit()
    client = fresh.test_client()
    policy = client.get(f"/watch/{asset.id}").headers["Content-Security-Policy"]
    scripts = policy.split("script-src ", 1)[1].split(";", 1)[0].split()
    assert scripts == ["'self'", "http://127.0.0.1:8788/embed/sdk.latest.js"]
    other = client.get("/library").headers["Content-Security-Policy"]
    assert other.split("script-src ", 1)[1].split(";", 1)[0] == "'self'"


def test_watch_page_on_cloudflare_allows_cloudflare_sdk_and_customer_domain(redis_url, tmp_path):
    overrides = {
        "STREAM_BACKEND": "cloudflare",
        "CLOUDFLARE_API_BASE": "https://api.cloudflare.com/client/v4",
        "CLOUDFLARE_ACCOUNT_ID": "acct",
        "CLOUDFLARE_STREAM_API_TOKEN": "token",
        "CLOUDFLARE_STREAM_CUSTOMER_CODE": "abc123xyz",
        "STREAM_CUSTOMER_BASE_URL": None,
    }
    with module_app(redis_url, tmp_path, **overrides) as app:
        with app.app_context():
            asset = make_asset("Open class")
            db.session.commit()
            response = app.test_client().get(f"/watch/{asset.id}")
    html = response.get_data(as_text=True)
    policy = dict(
        part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";")
    )
    assert policy["script-src"] == "'self' https://embed.cloudflarestream.com/embed/sdk.latest.js"
    assert policy["frame-src"] == "https://customer-abc123xyz.cloudflarestream.com"
    assert '<script src="https://embed.cloudflarestream.com/embed/sdk.latest.js"></script>' in html
    assert 'src="https://customer-abc123xyz.cloudflarestream.com/eyJ' in html


def test_cached_grid_is_dropped_when_a_video_changes_and_kept_per_viewer_kind(redis_url, tmp_path):
    grid_cache.clear()
    with module_app(redis_url, tmp_path, LIBRARY_GRID_CACHE_SECONDS=60) as app:
        with app.app_context():
            asset = make_asset("Before", MediaAccessLevel.PUBLIC)
            db.session.commit()
            anonymous = app.test_client()
            assert titles(anonymous.get("/library")) == ["Before"]
            with counting_statements(app) as statements:
                assert titles(anonymous.get("/library")) == ["Before"]
            assert len(statements) <= 1  # the grid came from the cache: at most the facets

            asset.title = "After"
            asset.access_level = MediaAccessLevel.TIER_SPECIFIC
            asset.required_tier = Tier.PREMIUM
            db.session.commit()
            html = anonymous.get("/library").get_data(as_text=True)
            assert (
                "After" in html and "Premium: upgrade to watch" in html and asset.stream_video_id not in html
            )

            premium = User(email="p@cache.example.org", role=Role.MEMBER, tier=Tier.PREMIUM)
            premium.set_password(PASSWORD, method=app.config["PASSWORD_HASH_METHOD"])
            db.session.add(premium)
            db.session.commit()
            member = app.test_client()
            AuthActions(member).login("p@cache.example.org")
            card = member.get("/library").get_data(as_text=True)
            assert "upgrade to watch" not in card and "<img" in card
    grid_cache.clear()


def signed_in(app, email, role, tier):
    """A test client signed in as a new user of that role and tier."""
    user = User(email=email, role=role, tier=tier)
    user.set_password(PASSWORD, method=app.config["PASSWORD_HASH_METHOD"])
    db.session.add(user)
    db.session.commit()
    client = app.test_client()
    AuthActions(client).login(email)
    return client


def test_staff_embed_code_copies_with_the_title_still_escaped(fresh):
    asset = make_asset('Kata"><script>alert(1)</script>', MediaAccessLevel.MEMBERS_ONLY)
    db.session.commit()
    admin = signed_in(fresh, "embed@example.org", Role.ADMIN, Tier.LIFETIME)
    page = admin.get(f"/watch/{asset.id}").get_data(as_text=True)
    textarea = page.split('<textarea id="embed-html"', 1)[1].split(">", 1)[1].split("</textarea>", 1)[0]
    copied = html.unescape(textarea)  # what the browser shows in the box, and staff copy
    assert copied.startswith('<div class="stream-player"><iframe src="http://127.0.0.1:8788/eyJ')
    assert "<script>" not in copied and 'title="Kata&#34;&gt;&lt;script&gt;' in copied


def test_cached_grid_tells_repeated_parameters_apart(redis_url, tmp_path):
    grid_cache.clear()
    with module_app(redis_url, tmp_path, LIBRARY_GRID_CACHE_SECONDS=60) as app:
        with app.app_context():
            make_asset("Alpha drill")
            make_asset("Bravo drill")
            db.session.commit()
            client = app.test_client()
            assert titles(client.get("/library?q=alpha&q=bravo")) == ["Alpha drill"]
            assert titles(client.get("/library?q=bravo&q=alpha")) == ["Bravo drill"]
    grid_cache.clear()


def test_grid_is_not_cached_while_redis_cannot_say_the_library_version(redis_url, tmp_path):
    grid_cache.clear()
    with module_app(redis_url, tmp_path, LIBRARY_GRID_CACHE_SECONDS=60) as app:
        with app.app_context():
            asset = make_asset("Open class")
            db.session.commit()
            services = app.extensions["redis"]
            working = services.connection
            services._connection = redis.Redis(port=1, retry=Retry(NoBackoff(), 0))  # nothing listens there
            try:
                anonymous = app.test_client()
                assert "upgrade to watch" not in anonymous.get("/library").get_data(as_text=True)
                asset.access_level = MediaAccessLevel.TIER_SPECIFIC
                asset.required_tier = Tier.PREMIUM
                db.session.commit()
                html = anonymous.get("/library").get_data(as_text=True)
                assert "Premium: upgrade to watch" in html and asset.stream_video_id not in html
            finally:
                services._connection.close()
                services._connection = working
    grid_cache.clear()


def test_filter_lists_follow_a_change_to_the_library_at_once(redis_url, tmp_path):
    grid_cache.clear()
    facets._facets_cache.clear()
    settings = {"LIBRARY_GRID_CACHE_SECONDS": 60, "LIBRARY_FACETS_CACHE_SECONDS": 60}
    with module_app(redis_url, tmp_path, **settings) as app:
        with app.app_context():
            asset = make_asset("Camp video", tags=["camp"])
            db.session.commit()
            client = app.test_client()
            assert '<option value="camp"' in client.get("/library").get_data(as_text=True)
            asset.status = MediaAssetStatus.FAILED  # no longer visible to members
            make_asset("Randori", tags=["randori"])
            db.session.commit()
            html = client.get("/library").get_data(as_text=True)
            assert '<option value="randori"' in html and '<option value="camp"' not in html
    facets._facets_cache.clear()
    grid_cache.clear()
