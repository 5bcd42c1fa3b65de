"""Errors: friendly HTML pages for people, `{"error": {...}}` JSON under /api, never a 500 for bad input."""

import pytest

from portal.extensions import db
from portal.models import Role, User
from tests.conftest import PASSWORD, AuthActions

SECRET_DETAIL = "database password is hunter2"


def add_failing_routes(app):
    """A page and an API endpoint that fail unexpectedly (nothing real fails on purpose)."""

    def boom():
        raise RuntimeError(SECRET_DETAIL)

    app.add_url_rule("/boom", "test_boom", boom)
    app.add_url_rule("/api/boom", "test_api_boom", boom)


def assert_api_error(response, status, code):
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


def assert_error_page(response, status, heading):
    html = response.get_data(as_text=True)
    assert response.status_code == status
    assert response.mimetype == "text/html"
    assert f'<p class="error-code">{status}</p>' in html
    assert heading in html
    assert '<a class="button" href="/">Go to the home page</a>' in html
    assert "Traceback" not in html
    return html


def test_unknown_page_shows_the_friendly_404(client):
    assert_error_page(client.get("/no/such/page"), 404, "We couldn&#39;t find that page")


def test_unknown_api_path_answers_json_404(client):
    assert_api_error(client.get("/api/no/such/thing"), 404, "not_found")
    assert_api_error(client.get("/api"), 404, "not_found")


def test_wrong_method_on_a_page_shows_405_with_allow(client):
    response = client.get("/logout")
    assert_error_page(response, 405, "Method Not Allowed")
    assert "POST" in response.headers["Allow"]


def test_wrong_method_on_the_api_answers_json_405_with_allow(client):
    response = client.get("/api/auth/login")
    assert_api_error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]


def test_member_on_an_admin_page_sees_the_403_page(member_client):
    assert_error_page(member_client.get("/admin/users"), 403, "You don&#39;t have access to this page")


def test_unexpected_failure_on_a_page_shows_a_generic_500(app, client):
    add_failing_routes(app)
    html = assert_error_page(client.get("/boom"), 500, "Something went wrong")
    assert SECRET_DETAIL not in html and "RuntimeError" not in html


def test_unexpected_failure_on_the_api_answers_a_generic_json_500(app, client):
    add_failing_routes(app)
    error = assert_api_error(client.get("/api/boom"), 500, "internal_error")
    assert error == {"code": "internal_error", "message": "Something went wrong on our side."}


def test_unexpected_failure_is_logged_with_its_traceback(app, client, caplog):
    add_failing_routes(app)
    client.get("/api/boom")
    record = next(r for r in caplog.records if r.name == "portal.errors")
    assert record.getMessage() == "Unhandled error on GET /api/boom"
    assert record.exc_info[1].args == (SECRET_DETAIL,)


def test_a_database_error_still_shows_the_friendly_page_and_logs_no_row_values(app, make_user, caplog):
    member = make_user(email="taken@example.org")

    def duplicate_account():
        db.session.add(User(email="taken@example.org", password_hash="pbkdf2:secret-hash-value"))
        db.session.commit()

    app.add_url_rule("/duplicate", "test_duplicate", duplicate_account)
    client = app.test_client()
    AuthActions(client).login(member.email)
    html = assert_error_page(client.get("/duplicate"), 500, "Something went wrong")
    assert member.email in html  # the page rendered for the signed-in user after a rollback
    logged = "\n".join(record.getMessage() + (record.exc_text or "") for record in caplog.records)
    assert "IntegrityError" in logged and "secret-hash-value" not in logged


def test_too_large_bodies_get_413(app_factory):
    app = app_factory(MAX_CONTENT_LENGTH=1024)
    client = app.test_client()
    big = "x" * 4096
    assert_api_error(
        client.post("/api/auth/login", json={"email": big, "password": big}), 413, "request_entity_too_large"
    )
    assert_error_page(
        client.post("/login", data={"email": big, "password": big}), 413, "Request Entity Too Large"
    )


def test_csrf_failures_are_json_under_the_api_and_a_page_elsewhere(app, client, make_user):
    AuthActions(client).login(make_user().email)
    assert_api_error(client.post("/api/anything", json={}), 400, "csrf_failed")
    assert_error_page(client.post("/logout"), 400, "Form expired")


@pytest.mark.parametrize(
    "path",
    [
        "/admin/users?page=abc",
        "/admin/users?page=-3",
        "/admin/users?page=0",
        "/admin/users?page=99999999999999999999",
        "/admin/users?page=9223372036854775807",
        "/admin/users?q=%00%ff%27%22%3C",
        "/admin/users?q=" + "x" * 5000,
        "/admin/users/0",
        "/admin/users/99999999999999999999999",
        "/admin/users/9223372036854775808",
        "/admin/users/-1",
        "/admin/users/abc",
        "/login?next=%00",
    ],
)
def test_bad_input_in_urls_never_causes_a_500(admin_client, path):
    response = admin_client.get(path)
    assert response.status_code in (200, 302, 400, 404), response.status_code


@pytest.mark.parametrize(
    "path", ["/admin/users/99999999999999999999999/active", "/admin/users/99999999999999999999999"]
)
def test_bad_ids_in_admin_posts_are_404(admin_client, path):
    token = AuthActions(admin_client).csrf("/admin/users")
    assert admin_client.post(path, data={"csrf_token": token, "active": "0"}).status_code == 404


@pytest.mark.parametrize(
    "data",
    [
        {"name": "x", "role": "superuser", "tier": "free"},
        {"name": "x", "role": "member", "tier": "platinum"},
        {"name": "x" * 500, "role": "member", "tier": "free"},
        {},
    ],
)
def test_bad_admin_edits_are_refused_and_nothing_changes(admin_client, make_user, data):
    target = make_user(name="Before")
    token = AuthActions(admin_client).csrf("/admin/users")
    response = admin_client.post(f"/admin/users/{target.id}", data={**data, "csrf_token": token})
    assert response.status_code == 200
    assert 'class="error"' in response.get_data(as_text=True)
    db.session.rollback()  # only what the request committed
    target = db.session.get(User, target.id)
    assert (target.name, target.role.value, target.tier.value) == ("Before", "member", "free")


def test_a_login_post_with_garbage_bytes_is_shown_the_form_again(client, make_user):
    make_user(email="known@example.org")
    token = AuthActions(client).csrf()
    response = client.post(
        "/login",
        data=b"email=%ff%fe&password=%00&csrf_token=" + token.encode(),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert "Sign in" in response.get_data(as_text=True)


NUL = "\x00"


def test_nul_characters_in_a_login_are_a_failed_login_not_a_500(client, make_user):
    # PostgreSQL refuses NUL in text; CI's PostgreSQL run is where this used to be a 500.
    make_user(email="known@example.org")
    token = AuthActions(client).csrf()
    page = client.post(
        "/login", data={"email": f"known{NUL}@example.org", "password": PASSWORD, "csrf_token": token}
    )
    assert page.status_code == 200
    assert "That email and password do not match an active account." in page.get_data(as_text=True)
    api = client.post("/api/auth/login", json={"email": f"known@example.org{NUL}", "password": PASSWORD})
    assert_api_error(api, 400, "invalid_field")


def test_nul_characters_in_admin_forms_are_refused_not_a_500(admin_client, make_user):
    target = make_user(name="Before")
    token = AuthActions(admin_client).csrf("/admin/users")
    created = admin_client.post(
        "/admin/users/new",
        data={
            "csrf_token": token,
            "name": f"Nul{NUL}Name",
            "email": "nul@example.org",
            "password": "a-long-password",
            "role": "member",
            "tier": "free",
        },
    )
    assert created.status_code == 200
    assert User.by_email("nul@example.org") is None
    edited = admin_client.post(
        f"/admin/users/{target.id}",
        data={"csrf_token": token, "name": f"After{NUL}", "role": "member", "tier": "free"},
    )
    assert edited.status_code == 200
    assert "must not contain control characters" in edited.get_data(as_text=True)
    db.session.rollback()  # only what the request committed
    assert db.session.get(User, target.id).name == "Before"


def test_deactivated_account_gets_a_clear_answer_not_an_error(client, make_user):
    make_user(email="gone@example.org", active=False, role=Role.ADMIN)
    response = client.post("/api/auth/login", json={"email": "gone@example.org", "password": PASSWORD})
    assert_api_error(response, 401, "invalid_credentials")
