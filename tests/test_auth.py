"""The sign-in and sign-out pages: CSRF, safe `next`, fresh sessions, one answer for every failure."""

import re

import pytest

from portal.extensions import db
from portal.models import Role, Tier, User
from tests.conftest import PASSWORD, AuthActions, csrf_token_from

FAILED = "That email and password do not match an active account."


def signed_in_email(client):
    """Whose email the home page shows as signed in, or None for a visitor."""
    match = re.search(r"Signed in as <strong>([^<]+)</strong>", client.get("/").get_data(as_text=True))
    return match.group(1) if match else None


def test_login_page_shows_the_form_with_a_csrf_token(client):
    response = client.get("/login")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<h1 id="login-title">Sign in</h1>' in html
    assert 'name="email"' in html and 'name="password"' in html and 'name="remember"' in html
    assert csrf_token_from(html)


def test_login_signs_in_and_lands_on_the_home_page(client, auth, make_user):
    user = make_user(name="Mia Member", tier=Tier.BASIC)
    response = auth.login(user.email)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    home = client.get("/").get_data(as_text=True)
    assert "Welcome back, Mia Member." in home
    assert f"Signed in as <strong>{user.email}</strong>" in home
    db.session.refresh(user)
    assert user.last_login_at is not None


def test_login_email_is_case_insensitive_and_trimmed(client, auth, make_user):
    user = make_user(email="mixed@example.org")
    assert auth.login("  MiXeD@Example.ORG ").status_code == 302
    assert signed_in_email(client) == user.email


def test_login_without_csrf_token_is_refused_and_signs_nobody_in(client, make_user):
    user = make_user()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "The form expired or was not sent from this site" in response.get_data(as_text=True)
    assert signed_in_email(client) is None
    db.session.refresh(user)
    assert user.last_login_at is None


def test_login_with_a_forged_csrf_token_is_refused(client, make_user):
    user = make_user()
    client.get("/login")
    response = client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": "forged.token.value"}
    )
    assert response.status_code == 400
    assert signed_in_email(client) is None


@pytest.mark.parametrize(
    "email, password",
    [
        ("nobody@example.org", PASSWORD),  # unknown account
        ("known@example.org", "wrong-password"),  # wrong password
        ("inactive@example.org", PASSWORD),  # deactivated account
    ],
)
def test_every_failed_login_gets_the_same_answer(client, auth, make_user, email, password):
    make_user(email="known@example.org")
    make_user(email="inactive@example.org", active=False)
    response = auth.login(email, password)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert FAILED in html
    assert signed_in_email(client) is None


def test_unknown_email_and_wrong_password_pages_are_identical(app, make_user):
    make_user(email="known@example.org")
    pages = []
    for email, password in [("nobody@example.org", PASSWORD), ("known@example.org", "wrong-password")]:
        client = app.test_client()
        response = AuthActions(client).login(email, password)
        html = response.get_data(as_text=True)
        html = html.replace(email, "EMAIL").replace(csrf_token_from(html), "TOKEN")
        pages.append((response.status_code, html))
    assert pages[0] == pages[1]


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"email": "", "password": ""},
        {"email": "someone@example.org"},
        {"password": PASSWORD},
        {"email": "x" * 300 + "@example.org", "password": PASSWORD},
        {"email": "someone@example.org", "password": "p" * 300},
        {"email": ["a", "b"], "password": PASSWORD},
    ],
)
def test_incomplete_or_oversized_login_forms_are_shown_again(client, auth, make_user, data):
    make_user(email="someone@example.org")
    response = client.post("/login", data={**data, "csrf_token": auth.csrf()})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<h1 id="login-title">Sign in</h1>' in html
    assert 'class="error"' in html or FAILED in html
    assert signed_in_email(client) is None


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.com",
        "//evil.com",
        "/\\evil.com",
        "javascript:alert(1)",
        "http:/evil.com",
        "\\\\evil.com",
        "%2F%2Fevil.com",
        "/\t/evil.com",
        "evil.com",
        "/\r\nX-Injected: 1",
        "/home\x7f",
    ],
)
def test_next_pointing_off_site_lands_on_the_home_page(client, auth, make_user, target):
    user = make_user()
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"email": user.email, "password": PASSWORD, "csrf_token": auth.csrf()},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_next_within_the_site_is_followed(client, auth, make_user):
    user = make_user(role=Role.ADMIN)
    response = auth.login(user.email, next_url="/admin/users?q=ann")
    assert response.headers["Location"] == "/admin/users?q=ann"


def test_protected_page_sends_visitor_to_login_and_back(client, auth, make_user):
    user = make_user(role=Role.ADMIN)
    response = client.get("/admin/users")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/admin/users"
    response = client.post(
        response.headers["Location"],
        data={"email": user.email, "password": PASSWORD, "csrf_token": auth.csrf()},
    )
    assert response.headers["Location"] == "/admin/users"
    assert client.get("/admin/users").status_code == 200


def test_login_starts_a_new_session(client, auth, make_user):
    user = make_user()
    client.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "by-an-attacker"
        session["_user_id"] = "999:1"
    auth.login(user.email)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"] == f"{user.id}:{user.session_version}"
        assert session.permanent
        assert isinstance(session["signed_in_at"], float)


def test_signed_in_visitor_on_login_page_goes_home(client, auth, make_user):
    auth.login(make_user().email)
    response = client.get("/login")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_logout_signs_out(client, auth, make_user):
    user = make_user()
    auth.login(user.email)
    assert signed_in_email(client) == user.email
    response = auth.logout()
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert "You are signed out." in client.get("/login").get_data(as_text=True)
    assert signed_in_email(client) is None


def test_logout_without_csrf_token_keeps_the_session(client, auth, make_user):
    user = make_user()
    auth.login(user.email)
    response = client.post("/logout")
    assert response.status_code == 400
    assert signed_in_email(client) == user.email


def test_logout_by_get_is_not_allowed(client, auth, make_user):
    user = make_user()
    auth.login(user.email)
    response = client.get("/logout")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
    assert signed_in_email(client) == user.email


def test_session_cookie_saved_before_logout_no_longer_signs_in(app, client, auth, make_user):
    user = make_user()
    auth.login(user.email)
    saved = client.get_cookie("session").value
    auth.logout()
    replay = app.test_client()
    replay.set_cookie("session", saved)
    assert signed_in_email(replay) is None
    assert replay.get("/admin/users").status_code == 302


def test_remember_cookie_saved_before_logout_no_longer_signs_in(app, client, auth, make_user):
    user = make_user()
    auth.login(user.email, remember=True)
    saved = client.get_cookie("remember_token").value
    auth.logout()
    assert client.get_cookie("remember_token") is None
    replay = app.test_client()
    replay.set_cookie("remember_token", saved)
    assert signed_in_email(replay) is None


def test_remember_me_restores_the_session_after_the_browser_closes(app, client, auth, make_user):
    user = make_user()
    auth.login(user.email, remember=True)
    remember = client.get_cookie("remember_token")
    assert remember is not None
    later = app.test_client()
    later.set_cookie("remember_token", remember.value)
    assert signed_in_email(later) == user.email


def test_without_remember_me_no_remember_cookie_is_set(client, auth, make_user):
    auth.login(make_user().email)
    assert client.get_cookie("remember_token") is None


def test_deactivated_user_is_signed_out_at_once(client, auth, make_user):
    user = make_user()
    auth.login(user.email, remember=True)
    user.active = False
    user.session_version += 1
    db.session.commit()
    assert signed_in_email(client) is None


def test_name_with_markup_is_shown_escaped_in_the_welcome(client, auth, make_user):
    user = make_user(name="<script>alert(1)</script>")
    auth.login(user.email)
    html = client.get("/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_failed_login_changes_nothing_stored(client, auth, make_user):
    user = make_user()
    before = (user.session_version, user.last_login_at, user.password_hash)
    auth.login(user.email, "wrong-password")
    db.session.rollback()  # only what the request committed
    user = db.session.get(User, user.id)
    assert (user.session_version, user.last_login_at, user.password_hash) == before
