"""POST /api/auth/login, bearer tokens, /api/auth/me, and the session cookie + X-CSRFToken path."""

import base64
import json
import warnings
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import jsonify, request
from jwt.warnings import InsecureKeyLengthWarning

from portal.auth.access import api_login_required, api_user
from portal.auth.tokens import ISSUER
from portal.extensions import db
from portal.models import Role, Tier
from tests.conftest import PASSWORD, csrf_token_from

INVALID_TOKEN = {"error": {"code": "invalid_token", "message": "The bearer token is invalid or has expired."}}
BAD_CREDENTIALS = {
    "error": {
        "code": "invalid_credentials",
        "message": "That email and password do not match an active account.",
    }
}


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def b64(data):
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def claims_for(user, **changes):
    """The claims the portal issues for `user`, with changes (None removes a claim)."""
    now = datetime.now(UTC)
    claims = {
        "sub": str(user.id),
        "iat": now,
        "nbf": now,
        "exp": now + timedelta(minutes=15),
        "typ": "access",
        "iss": ISSUER,
        "ver": user.session_version,
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def signed(app, claims, key=None, algorithm="HS256"):
    return jwt.encode(claims, key or app.config["SECRET_KEY"], algorithm=algorithm)


def add_api_post_route(app):
    """A tiny state-changing API endpoint (no real one exists yet) to exercise CSRF on the API."""

    @api_login_required()
    def echo():
        return jsonify(caller=api_user().email, body=request.get_json(silent=True))

    app.add_url_rule("/api/test/echo", "test_echo", echo, methods=["POST", "PUT", "DELETE"])


def test_login_issues_a_bearer_token(app, client, make_user):
    user = make_user()
    response = client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 200
    body = response.get_json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == app.config["API_TOKEN_TTL_SECONDS"] == 3600
    token = body["access_token"]
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    claims = jwt.decode(token, app.config["SECRET_KEY"], algorithms=["HS256"], issuer=ISSUER)
    assert claims["sub"] == str(user.id)
    assert claims["typ"] == "access"
    assert claims["exp"] - claims["iat"] == 3600
    assert response.headers["Cache-Control"] == "no-store"
    assert client.get_cookie("session") is None


def test_login_accepts_the_email_in_any_case(client, make_user):
    make_user(email="casey@example.org")
    response = client.post("/api/auth/login", json={"email": " CASEY@Example.org", "password": PASSWORD})
    assert response.status_code == 200


def test_me_answers_who_the_token_belongs_to(client, make_user, api_token):
    user = make_user(role=Role.INSTRUCTOR, tier=Tier.PREMIUM, name="Ines")
    response = client.get("/api/auth/me", headers=bearer(api_token(user)))
    assert response.status_code == 200
    assert response.get_json() == {
        "id": user.id,
        "email": user.email,
        "name": "Ines",
        "role": "instructor",
        "tier": "premium",
    }


def test_me_sees_a_role_change_at_once(client, make_user, api_token):
    user = make_user()
    token = api_token(user)
    user.role, user.tier = Role.INSTRUCTOR, Tier.BASIC
    db.session.commit()
    assert client.get("/api/auth/me", headers=bearer(token)).get_json()["role"] == "instructor"


def test_me_without_credentials_is_401(client):
    response = client.get("/api/auth/me")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "authentication_required"


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Token abc", "abc"])
def test_other_authorization_schemes_are_not_tokens(client, header):
    response = client.get("/api/auth/me", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "authentication_required"


BAD_TOKENS = {
    "expired": lambda app, user, other: signed(
        app,
        claims_for(
            user,
            iat=datetime.now(UTC) - timedelta(hours=2),
            nbf=datetime.now(UTC) - timedelta(hours=2),
            exp=datetime.now(UTC) - timedelta(seconds=60),
        ),
    ),
    "not yet valid": lambda app, user, other: signed(
        app, claims_for(user, nbf=datetime.now(UTC) + timedelta(minutes=5))
    ),
    "forged with another key": lambda app, user, other: signed(
        app, claims_for(user), key="another-secret-key-that-is-also-long-enough"
    ),
    "alg none": lambda app, user, other: (
        f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(json.loads(json.dumps(claims_for(user), default=_ts)))}."
    ),
    "HS512 instead of HS256": lambda app, user, other: _hs512(app, claims_for(user)),
    "RS256 (like a playback token)": lambda app, user, other: jwt.encode(
        claims_for(user),
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        algorithm="RS256",
        headers={"kid": "stream-key"},
    ),
    "tampered subject": lambda app, user, other: _tamper(signed(app, claims_for(other)), sub=str(user.id)),
    "unknown type": lambda app, user, other: signed(app, claims_for(user, typ="refresh")),
    "no type": lambda app, user, other: signed(app, claims_for(user, typ=None)),
    "wrong issuer": lambda app, user, other: signed(app, claims_for(user, iss="someone-else")),
    "no issuer": lambda app, user, other: signed(app, claims_for(user, iss=None)),
    "no expiry": lambda app, user, other: signed(app, claims_for(user, exp=None)),
    "no subject": lambda app, user, other: signed(app, claims_for(user, sub=None)),
    "non-numeric subject": lambda app, user, other: signed(app, claims_for(user, sub="admin")),
    "unknown subject": lambda app, user, other: signed(app, claims_for(user, sub="987654")),
    "old session version": lambda app, user, other: signed(
        app, claims_for(user, ver=user.session_version - 1)
    ),
    "not a JWT": lambda app, user, other: "not-a-token",
    "empty": lambda app, user, other: "",
}


def _hs512(app, claims):
    with warnings.catch_warnings():  # PyJWT warns that the test secret is short for SHA-512
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        return signed(app, claims, algorithm="HS512")


def _ts(value):
    return int(value.timestamp())


def _tamper(token, **changes):
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    return f"{header}.{b64(claims)}.{signature}"


@pytest.mark.parametrize("kind", BAD_TOKENS)
def test_bad_tokens_are_refused_with_401(app, client, make_user, kind):
    user = make_user(role=Role.ADMIN)
    other = make_user()
    token = BAD_TOKENS[kind](app, user, other)
    response = client.get("/api/auth/me", headers=bearer(token))
    assert response.status_code == 401
    assert response.get_json() == INVALID_TOKEN


def test_the_crafted_claims_work_when_nothing_is_wrong(app, client, make_user):
    # The BAD_TOKENS each change one thing from this token; it must pass, or the 401s prove nothing.
    user = make_user()
    assert client.get("/api/auth/me", headers=bearer(signed(app, claims_for(user)))).status_code == 200


def test_expiry_allows_thirty_seconds_of_clock_skew(app, client, make_user):
    user = make_user()
    token = signed(app, claims_for(user, exp=datetime.now(UTC) - timedelta(seconds=5)))
    assert client.get("/api/auth/me", headers=bearer(token)).status_code == 200


def test_token_of_a_deactivated_account_stops_working(client, make_user, api_token):
    user = make_user()
    token = api_token(user)
    assert client.get("/api/auth/me", headers=bearer(token)).status_code == 200
    user.active = False
    db.session.commit()
    response = client.get("/api/auth/me", headers=bearer(token))
    assert response.status_code == 401
    assert response.get_json() == INVALID_TOKEN


@pytest.mark.parametrize(
    "email, password",
    [
        ("nobody@example.org", PASSWORD),
        ("known@example.org", "wrong-password"),
        ("inactive@example.org", PASSWORD),
    ],
)
def test_every_failed_login_gets_the_same_status_and_body(client, make_user, email, password):
    make_user(email="known@example.org")
    make_user(email="inactive@example.org", active=False)
    response = client.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 401
    assert response.get_json() == BAD_CREDENTIALS
    assert "access_token" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "kwargs, status, code",
    [
        ({"data": "{not json", "content_type": "application/json"}, 400, "invalid_json"),
        ({"data": "", "content_type": "application/json"}, 400, "invalid_json"),
        ({"json": ["known@example.org", PASSWORD]}, 400, "invalid_json"),
        ({"json": "known@example.org"}, 400, "invalid_json"),
        ({"data": "null", "content_type": "application/json"}, 400, "invalid_json"),
        ({"json": {}}, 400, "missing_field"),
        ({"json": {"email": "known@example.org"}}, 400, "missing_field"),
        ({"json": {"password": PASSWORD}}, 400, "missing_field"),
        ({"json": {"email": 42, "password": PASSWORD}}, 400, "missing_field"),
        ({"json": {"email": "known@example.org", "password": ["x"]}}, 400, "missing_field"),
        ({"json": {"email": {"$ne": ""}, "password": PASSWORD}}, 400, "missing_field"),
        ({"json": {"email": "   ", "password": PASSWORD}}, 400, "missing_field"),
        ({"json": {"email": "a" * 250 + "@example.org", "password": PASSWORD}}, 400, "field_too_long"),
        ({"json": {"email": "known@example.org", "password": "p" * 257}}, 400, "field_too_long"),
        ({"data": {"email": "known@example.org", "password": PASSWORD}}, 415, "unsupported_media_type"),
        (
            {"data": '{"email": "known@example.org", "password": "x"}', "content_type": "text/plain"},
            415,
            "unsupported_media_type",
        ),
        ({}, 415, "unsupported_media_type"),
        ({"data": "[" * 5_000 + "]" * 5_000, "content_type": "application/json"}, 400, "invalid_json"),
        (
            {"data": b'{"email": "\xff\xfe", "password": "x"}', "content_type": "application/json"},
            400,
            "invalid_json",
        ),
    ],
)
def test_bad_login_bodies_get_a_clear_4xx(client, make_user, kwargs, status, code):
    make_user(email="known@example.org")
    response = client.post("/api/auth/login", **kwargs)
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code
    assert response.get_json()["error"]["message"]


def test_missing_field_names_the_field(client):
    response = client.post("/api/auth/login", json={"email": "a@example.org"})
    assert response.get_json()["error"]["field"] == "password"


def test_login_is_throttled_per_ip(app_factory):
    app = app_factory(LOGIN_LIMIT_PER_IP="3 per minute")
    client = app.test_client()
    with app.app_context():
        user = make_user_in(app, "ip@example.org")
    for attempt in range(3):
        response = client.post("/api/auth/login", json={"email": f"n{attempt}@example.org", "password": "x"})
        assert response.status_code == 401
    response = client.post("/api/auth/login", json={"email": user, "password": PASSWORD})
    assert response.status_code == 429
    assert response.get_json()["error"]["code"] == "too_many_requests"
    assert int(response.headers["Retry-After"]) > 0
    other_ip = client.post(
        "/api/auth/login",
        json={"email": user, "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.1.2.3"},
    )
    assert other_ip.status_code == 200


def test_login_fails_closed_when_redis_is_unreachable(app_factory, tmp_path):
    app = app_factory(
        LOGIN_LIMIT_PER_IP="3 per minute",
        RATELIMIT_STORAGE_URI=f"redis+unix://{tmp_path / 'no-redis-here.sock'}",
    )
    client = app.test_client()
    statuses = [
        client.post("/api/auth/login", json={"email": "x@example.org", "password": "x"}).status_code
        for _ in range(4)
    ]
    assert statuses == [503, 503, 503, 503]


def test_failed_logins_are_throttled_per_account_across_ips(app_factory):
    app = app_factory(LOGIN_LIMIT_PER_ACCOUNT="2 per minute")
    client = app.test_client()
    with app.app_context():
        target = make_user_in(app, "target@example.org")
        bystander = make_user_in(app, "bystander@example.org")
    for n, email in enumerate(["target@example.org", "TARGET@example.org"]):
        response = client.post(
            "/api/auth/login",
            json={"email": email, "password": "guess"},
            environ_base={"REMOTE_ADDR": f"10.0.0.{n + 1}"},
        )
        assert response.status_code == 401
    response = client.post(
        "/api/auth/login",
        json={"email": target, "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.0.0.9"},
    )
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    response = client.post(
        "/api/auth/login",
        json={"email": bystander, "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.0.0.9"},
    )
    assert response.status_code == 200


def test_successful_logins_do_not_count_against_the_account(app_factory):
    app = app_factory(LOGIN_LIMIT_PER_ACCOUNT="2 per minute")
    client = app.test_client()
    with app.app_context():
        email = make_user_in(app, "often@example.org")
    for _ in range(4):
        assert client.post("/api/auth/login", json={"email": email, "password": PASSWORD}).status_code == 200


def make_user_in(app, email):
    """A member in another app's database; returns the email."""
    from portal.models import User

    user = User(email=email, role=Role.MEMBER, tier=Tier.FREE)
    user.set_password(PASSWORD, method=app.config["PASSWORD_HASH_METHOD"])
    db.session.add(user)
    db.session.commit()
    return email


def test_session_cookie_works_for_api_reads(client, auth, make_user):
    user = make_user(tier=Tier.LIFETIME)
    auth.login(user.email)
    response = client.get("/api/auth/me")
    assert response.status_code == 200
    assert response.get_json()["email"] == user.email


def test_session_cookie_post_needs_the_csrf_header(app, client, auth, make_user):
    add_api_post_route(app)
    user = make_user()
    auth.login(user.email)
    response = client.post("/api/test/echo", json={"n": 1})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "csrf_failed"
    token = csrf_token_from(client.get("/").get_data(as_text=True))
    response = client.post("/api/test/echo", json={"n": 1}, headers={"X-CSRFToken": token})
    assert response.status_code == 200
    assert response.get_json() == {"caller": user.email, "body": {"n": 1}}


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_session_cookie_with_a_wrong_csrf_header_is_refused(app, client, auth, make_user, method):
    add_api_post_route(app)
    auth.login(make_user().email)
    response = getattr(client, method)("/api/test/echo", json={}, headers={"X-CSRFToken": "forged"})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "csrf_failed"


def test_bearer_post_needs_no_csrf_token(app, client, make_user, api_token):
    add_api_post_route(app)
    user = make_user()
    response = client.post("/api/test/echo", json={"n": 2}, headers=bearer(api_token(user)))
    assert response.status_code == 200
    assert response.get_json()["caller"] == user.email


def test_a_bad_bearer_does_not_fall_back_to_the_session(app, client, auth, make_user):
    add_api_post_route(app)
    auth.login(make_user().email)
    response = client.post("/api/test/echo", json={}, headers=bearer("garbage"))
    assert response.status_code == 401
    assert response.get_json() == INVALID_TOKEN


def test_api_login_is_csrf_exempt_but_takes_only_json(client, make_user):
    make_user(email="known@example.org")
    client.get("/login")  # a session cookie is present, as in a browser
    response = client.post("/api/auth/login", json={"email": "known@example.org", "password": PASSWORD})
    assert response.status_code == 200
