"""Security baseline: headers on every response, CSRF, cookie flags, session lifetime, throttling."""

import time
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest
from sqlalchemy import event

from config import ProductionConfig
from portal import create_app
from portal.extensions import db
from portal.models import Role, Tier, User
from portal.redis_runtime import limiter_storage_uri
from tests.conftest import PASSWORD, AuthActions, csrf_token_from
from tests.test_auth import signed_in_email
from tests.test_config import production_settings

HTTPS = "https://portal.example.org"


def csp(response):
    """The Content-Security-Policy as {directive: [sources]}."""
    policy = {}
    for directive in response.headers["Content-Security-Policy"].split(";"):
        name, *sources = directive.split()
        policy[name] = sources
    return policy


def set_cookie(response, name):
    """The Set-Cookie header for `name` as (value, {attribute: value}), lower-cased attribute names."""
    for header in response.headers.getlist("Set-Cookie"):
        first, *attributes = [part.strip() for part in header.split(";")]
        cookie_name, _, value = first.partition("=")
        if cookie_name == name:
            parsed = {}
            for attribute in attributes:
                key, _, attr_value = attribute.partition("=")
                parsed[key.lower()] = attr_value
            return value, parsed
    return None


@pytest.fixture
def production_app(redis_url):
    """A production-configured portal (HTTPS, Cloudflare backend) on an in-memory database."""
    app = create_app(
        ProductionConfig,
        overrides=production_settings(
            redis_url,
            RATELIMIT_STORAGE_URI=limiter_storage_uri(redis_url),
            LOGIN_LIMIT_PER_IP="2 per minute",
        ),
    )
    with app.app_context():
        db.create_all()
        app.extensions["redis"].connection.flushdb()
    yield app
    with app.app_context():
        db.drop_all()
        db.engine.dispose()


# --- headers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, status",
    [
        ("/", 200),
        ("/login", 200),
        ("/no-such-page", 404),
        ("/admin/users", 302),
        ("/static/css/portal.css", 200),
    ],
)
def test_every_page_response_carries_the_security_headers(client, path, status):
    response = client.get(path)
    response.close()  # a static file is streamed from disk
    assert response.status_code == status
    policy = csp(response)
    assert policy["frame-ancestors"] == ["'self'"]
    assert "http://127.0.0.1:8788" in policy["frame-src"]  # the Stream emulator's player
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in response.headers  # not over plain-HTTP development


@pytest.mark.parametrize(
    "method, path, status",
    [
        ("get", "/api/auth/me", 401),
        ("get", "/api/no-such-endpoint", 404),
        ("post", "/api/auth/login", 415),
        ("get", "/api/auth/login", 405),
    ],
)
def test_api_responses_may_not_be_framed(client, method, path, status):
    response = getattr(client, method)(path)
    assert response.status_code == status
    assert csp(response) == {"default-src": ["'none'"], "frame-ancestors": ["'none'"]}
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


def test_production_sends_hsts_and_frames_only_the_customer_domain(production_app):
    response = production_app.test_client().get("/login", base_url=HTTPS)
    assert response.status_code == 200
    hsts = response.headers["Strict-Transport-Security"]
    assert int(hsts.split("max-age=")[1].split(";")[0]) >= 31_536_000
    policy = csp(response)
    assert "https://customer-abc123xyz.cloudflarestream.com" in policy["frame-src"]
    assert "https://customer-abc123xyz.cloudflarestream.com" in policy["img-src"]
    assert not any("*" in source for source in policy["frame-src"])
    assert policy["frame-ancestors"] == ["'self'"]


def test_without_a_known_customer_domain_any_stream_customer_domain_may_be_framed(app_factory):
    app = app_factory(STREAM_CUSTOMER_BASE_URL=None, CLOUDFLARE_STREAM_CUSTOMER_CODE=None)
    assert csp(app.test_client().get("/login"))["frame-src"] == ["https://*.cloudflarestream.com"]


def test_production_api_responses_carry_hsts_too(production_app):
    response = production_app.test_client().get("/api/auth/me", base_url=HTTPS)
    assert response.status_code == 401
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_signed_in_pages_are_not_cached(client, auth, make_user):
    auth.login(make_user().email)
    assert client.get("/").headers["Cache-Control"] == "no-store"


# --- cookies -------------------------------------------------------------------------------------


def test_session_cookie_is_httponly_and_samesite_lax(client):
    _, attributes = set_cookie(client.get("/login"), "session")
    assert "httponly" in attributes
    assert attributes["samesite"] == "Lax"
    assert "secure" not in attributes  # development runs on plain HTTP


def test_signed_in_session_cookie_lasts_at_most_twelve_hours(client, make_user):
    user = make_user()
    response = AuthActions(client).login(user.email)
    _, attributes = set_cookie(response, "session")
    expires = parsedate_to_datetime(attributes["expires"])
    now = datetime.now(UTC)
    assert now + timedelta(hours=11, minutes=55) < expires <= now + timedelta(hours=12, minutes=1)


def test_remember_cookie_lasts_at_most_thirty_days(client, make_user):
    response = AuthActions(client).login(make_user().email, remember=True)
    _, attributes = set_cookie(response, "remember_token")
    expires = parsedate_to_datetime(attributes["expires"])
    now = datetime.now(UTC)
    assert now + timedelta(days=29) < expires <= now + timedelta(days=30, minutes=1)
    assert "httponly" in attributes
    assert attributes["samesite"] == "Lax"


def test_production_cookies_are_secure(production_app):
    with production_app.app_context():
        user = User(email="prod@example.org", role=Role.MEMBER, tier=Tier.FREE)
        user.set_password(PASSWORD, method="pbkdf2:sha256:1000")
        db.session.add(user)
        db.session.commit()
    client = production_app.test_client()
    page = client.get("/login", base_url=HTTPS)
    _, attributes = set_cookie(page, "session")
    assert {"secure", "httponly"} <= attributes.keys() and attributes["samesite"] == "Lax"
    response = client.post(
        "/login",
        base_url=HTTPS,
        headers={"Referer": HTTPS + "/login"},
        data={
            "email": "prod@example.org",
            "password": PASSWORD,
            "remember": "y",
            "csrf_token": csrf_token_from(page.get_data(as_text=True)),
        },
    )
    assert response.status_code == 302
    for name in ("session", "remember_token"):
        _, attributes = set_cookie(response, name)
        assert {"secure", "httponly"} <= attributes.keys() and attributes["samesite"] == "Lax"


def test_production_refuses_a_post_from_another_https_origin(production_app):
    client = production_app.test_client()
    page = client.get("/login", base_url=HTTPS)
    response = client.post(
        "/login",
        base_url=HTTPS,
        headers={"Referer": "https://evil.example.com/login"},
        data={
            "email": "x@example.org",
            "password": "x",
            "csrf_token": csrf_token_from(page.get_data(as_text=True)),
        },
    )
    assert response.status_code == 400


# --- absolute session lifetime --------------------------------------------------------------------


def age_session(client, seconds):
    with client.session_transaction() as session:
        session["signed_in_at"] = time.time() - seconds


def test_session_ends_twelve_hours_after_sign_in_even_when_active(client, auth, make_user):
    user = make_user(role=Role.ADMIN)
    auth.login(user.email)
    age_session(client, 12 * 3600 - 120)
    assert client.get("/admin/users").status_code == 200
    age_session(client, 12 * 3600 + 60)
    response = client.get("/admin/users")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert signed_in_email(client) is None
    with client.session_transaction() as session:
        assert "_user_id" not in session and "signed_in_at" not in session


def test_session_without_a_sign_in_time_is_ended(client, auth, make_user):
    auth.login(make_user().email)
    with client.session_transaction() as session:
        del session["signed_in_at"]
    assert signed_in_email(client) is None


def test_expired_session_cannot_call_the_api(client, auth, make_user):
    auth.login(make_user().email)
    assert client.get("/api/auth/me").status_code == 200
    age_session(client, 13 * 3600)
    response = client.get("/api/auth/me")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "authentication_required"


def test_remember_me_starts_a_fresh_twelve_hours_after_the_session_ends(client, auth, make_user):
    user = make_user()
    auth.login(user.email, remember=True)
    age_session(client, 13 * 3600)
    assert signed_in_email(client) == user.email
    with client.session_transaction() as session:
        assert time.time() - session["signed_in_at"] < 3600


def test_bearer_calls_are_not_subject_to_the_session_clock(client, make_user, api_token):
    user = make_user()
    token = api_token(user)
    response = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


# --- CSRF ----------------------------------------------------------------------------------------


def test_every_state_changing_page_refuses_a_post_without_csrf_token(admin_client, make_user):
    target = make_user()
    for path, data in [
        ("/login", {"email": "a@example.org", "password": "x"}),
        ("/logout", {}),
        (
            "/admin/users/new",
            {"email": "new@example.org", "password": "long-enough-pw", "role": "member", "tier": "free"},
        ),
        (f"/admin/users/{target.id}", {"name": "x", "role": "admin", "tier": "free"}),
        (f"/admin/users/{target.id}/active", {"active": "0"}),
    ]:
        response = admin_client.post(path, data=data)
        assert response.status_code == 400, path
        assert "The form expired or was not sent from this site" in response.get_data(as_text=True)
    db.session.rollback()  # only what the request committed
    assert db.session.get(User, target.id).role == Role.MEMBER
    assert db.session.get(User, target.id).active
    assert User.by_email("new@example.org") is None
    assert admin_client.get("/admin/users").status_code == 200  # still signed in


def test_csrf_token_of_another_session_is_refused(app, make_user):
    user = make_user()
    other = app.test_client()
    token = csrf_token_from(other.get("/login").get_data(as_text=True))
    client = app.test_client()
    client.get("/login")
    response = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 400
    assert signed_in_email(client) is None


# --- throttling (the sign-in page; the API's is in test_api_auth) ---------------------------------


def test_sign_in_page_is_throttled_per_ip(app_factory):
    app = app_factory(LOGIN_LIMIT_PER_IP="3 per minute")
    client = app.test_client()
    auth = AuthActions(client)
    for n in range(3):
        assert auth.login(f"nobody{n}@example.org", "guess").status_code == 200
    response = auth.login("nobody@example.org", "guess")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "Too many attempts" in response.get_data(as_text=True)
    assert client.get("/login").status_code == 200  # reading the page is never throttled


def test_sign_in_page_throttles_failures_per_account(app_factory):
    app = app_factory(LOGIN_LIMIT_PER_ACCOUNT="2 per minute")
    with app.app_context():
        for email in ("target@example.org", "bystander@example.org"):
            user = User(email=email, role=Role.MEMBER, tier=Tier.FREE)
            user.set_password(PASSWORD, method=app.config["PASSWORD_HASH_METHOD"])
            db.session.add(user)
        db.session.commit()
    for n in range(2):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"10.9.0.{n + 1}"
        assert AuthActions(client).login("Target@example.org", "guess").status_code == 200
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.9.0.50"
    response = AuthActions(client).login("target@example.org")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert signed_in_email(client) is None
    assert AuthActions(client).login("bystander@example.org").status_code == 302


def test_behind_the_tls_proxy_each_client_ip_has_its_own_login_budget(production_app):
    # Production runs behind one TLS proxy (README): every request arrives from the proxy's address,
    # and the client's is the last X-Forwarded-For entry, the one the proxy appended.
    client = production_app.test_client()

    def attempt(forwarded_for):
        return client.post(
            "/api/auth/login",
            base_url=HTTPS,
            json={"email": "x@example.org", "password": "x"},
            environ_base={"REMOTE_ADDR": "10.0.0.2"},
            headers={"X-Forwarded-For": forwarded_for, "X-Forwarded-Proto": "https"},
        )

    assert attempt("203.0.113.5").status_code == 401
    assert attempt("198.51.100.1, 203.0.113.5").status_code == 401  # a spoofed first entry changes nothing
    assert attempt("203.0.113.5").status_code == 429
    assert (
        attempt("203.0.113.77").status_code == 401
    )  # another member behind the same proxy is not locked out


def test_static_files_never_touch_the_database(login_as):
    """The stylesheet is fetched on every page: serving it must not load the signed-in user."""
    member = login_as(Role.MEMBER, Tier.BASIC)
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        response = member.get("/static/css/portal.css")
        response.close()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert response.status_code == 200 and statements == []
