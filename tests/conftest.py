"""Shared fixtures: a real database and Redis per test, clients signed in per role and tier."""

import contextvars
import os
import re
import socket
import threading
from contextlib import contextmanager

import pytest
from flask.globals import _cv_app
from flask.testing import FlaskClient
from sqlalchemy import delete

from config import TestConfig
from portal import create_app
from portal.emulator.server import threaded_server
from portal.extensions import db, limiter
from portal.models import Role, Tier, User
from portal.redis_runtime import EmbeddedRedis, limiter_storage_uri

pytest_plugins = [
    "tests.emulator_fixtures",
    "tests.media_helpers",  # media management: the portal on the emulator, videos and their owners
]

PASSWORD = "correct-horse-battery"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|<meta name="csrf-token" content="([^"]+)"')


class IsolatedClient(FlaskClient):
    """A test client whose requests each get their own app context (and so their own `g` and
    database session), as on a real server, even while the test holds the app's context open."""

    def open(self, *args, **kwargs):
        def run():
            _cv_app.set(None)
            return FlaskClient.open(self, *args, **kwargs)

        return contextvars.copy_context().run(run)


def shareable_database(tmp_path):
    """Overrides giving an app a database a server thread can share: an in-memory SQLite cannot be
    shared across threads, so it becomes a file (PostgreSQL, when configured, stays)."""
    if TestConfig.SQLALCHEMY_DATABASE_URI == "sqlite://":
        return {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'served.db'}"}
    return {}


def free_port():
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serving(app):
    """Serve the app over real HTTP on a free loopback port; yields its base URL."""
    server = threaded_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        db.session.remove()
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A real Redis for the whole run: TEST_REDIS_URL, or an embedded server on a temp socket."""
    if os.environ.get("TEST_REDIS_URL"):
        yield os.environ["TEST_REDIS_URL"]
        return
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    url = server.start()
    yield url
    server.stop()


_fresh_schema = []


@pytest.fixture
def app_factory(redis_url, tmp_path):
    """Build test apps with overrides; each gets its tables created and emptied afterwards."""
    apps = []

    def build(**overrides):
        settings = {
            "REDIS_URL": redis_url,
            "RATELIMIT_STORAGE_URI": limiter_storage_uri(redis_url),
            "UPLOAD_DIR": str(tmp_path / "uploads"),
            "STREAM_SETTINGS_FILE": str(tmp_path / "stream-settings.json"),
        }
        settings.update(overrides)
        app = create_app(TestConfig, overrides=settings)
        app.test_client_class = IsolatedClient
        with app.app_context():
            if not _fresh_schema:
                # A database kept between runs (PostgreSQL) may hold an older schema: start clean.
                db.drop_all()
                _fresh_schema.append(True)
            db.create_all()
            app.extensions["redis"].connection.flushdb()
        apps.append(app)
        return app

    yield build
    limiter_redis = getattr(getattr(limiter, "_storage", None), "storage", None)
    if limiter_redis is not None:  # each app re-binds the one Limiter; close what the last one opened
        limiter_redis.connection_pool.disconnect()
    for app in apps:
        app.extensions["redis"].close()
        with app.app_context():
            db.session.remove()
            with db.engine.begin() as connection:
                for table in reversed(db.metadata.sorted_tables):
                    connection.execute(delete(table))
            db.engine.dispose()


@pytest.fixture
def app(app_factory):
    """The portal, with a real (empty) database and a flushed Redis."""
    app = app_factory()
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_user(app):
    """Factory: make_user(role="member", tier="free", email=None, active=True) → User."""
    counter = iter(range(1, 10_000))

    def make(role=Role.MEMBER, tier=Tier.FREE, email=None, active=True, name="", password=PASSWORD):
        user = User(
            email=email or f"user{next(counter)}-{Role(role).value}-{Tier(tier).value}@example.org",
            name=name,
            role=Role(role),
            tier=Tier(tier),
            active=active,
        )
        user.set_password(password, method=app.config["PASSWORD_HASH_METHOD"])
        db.session.add(user)
        db.session.commit()
        return user

    return make


def csrf_token_from(html):
    """The CSRF token a page embeds (form field or meta tag)."""
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1) or match.group(2)


class AuthActions:
    """Sign in and out through the real pages, CSRF included."""

    def __init__(self, client):
        self.client = client

    def csrf(self, path="/login"):
        return csrf_token_from(self.client.get(path).get_data(as_text=True))

    def login(self, email, password=PASSWORD, remember=False, next_url=None, follow_redirects=False):
        data = {"email": email, "password": password, "csrf_token": self.csrf()}
        if remember:
            data["remember"] = "y"
        path = "/login" + (f"?next={next_url}" if next_url else "")
        return self.client.post(path, data=data, follow_redirects=follow_redirects)

    def logout(self):
        return self.client.post("/logout", data={"csrf_token": self.csrf("/")})


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def login_as(app, make_user):
    """Factory: login_as(role, tier) → a test client signed in as a new user of that kind."""

    def sign_in(role=Role.MEMBER, tier=Tier.FREE):
        user = make_user(role=role, tier=tier)
        client = app.test_client()
        response = AuthActions(client).login(user.email)
        assert response.status_code == 302, response.get_data(as_text=True)
        client.user = user
        return client

    return sign_in


@pytest.fixture
def admin_client(login_as):
    return login_as(Role.ADMIN, Tier.LIFETIME)


@pytest.fixture
def instructor_client(login_as):
    return login_as(Role.INSTRUCTOR, Tier.LIFETIME)


@pytest.fixture(params=[tier for tier in Tier], ids=lambda tier: tier.value)
def member_client(request, login_as):
    """A signed-in member, once per tier."""
    return login_as(Role.MEMBER, request.param)


@pytest.fixture
def api_token(client):
    """Factory: api_token(user) → a bearer token from POST /api/auth/login."""

    def token_for(user, password=PASSWORD):
        response = client.post("/api/auth/login", json={"email": user.email, "password": password})
        assert response.status_code == 200, response.get_json()
        return response.get_json()["access_token"]

    return token_for
