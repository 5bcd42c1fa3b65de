"""Role and tier checks (portal/auth/access.py) for pages and the API."""

import pytest
from flask import jsonify
from flask_login import AnonymousUserMixin

from portal.auth.access import (
    admin_required,
    api_login_required,
    bearer_token,
    has_role,
    staff_required,
    tier_at_least,
)
from portal.models import Role, Tier
from tests.conftest import AuthActions

TIERS = list(Tier)


def add_protected_routes(app):
    """Pages and API endpoints guarded by each decorator (real ones arrive with later blueprints)."""
    app.add_url_rule("/test/admin", "test_admin_page", admin_required(lambda: "admin page"))
    app.add_url_rule("/test/staff", "test_staff_page", staff_required(lambda: "staff page"))
    app.add_url_rule("/api/test/any", "test_api_any", api_login_required()(lambda: jsonify(ok=True)))
    app.add_url_rule(
        "/api/test/staff",
        "test_api_staff",
        api_login_required(Role.ADMIN, Role.INSTRUCTOR)(lambda: jsonify(ok=True)),
    )


def test_tiers_are_ordered_free_basic_premium_lifetime():
    assert [tier.value for tier in sorted(Tier, key=lambda t: t.rank)] == [
        "free",
        "basic",
        "premium",
        "lifetime",
    ]
    assert [tier.rank for tier in Tier] == [0, 1, 2, 3]


@pytest.mark.parametrize("have", TIERS, ids=lambda t: t.value)
@pytest.mark.parametrize("need", TIERS, ids=lambda t: t.value)
def test_a_tier_includes_every_tier_below_it(make_user, have, need):
    user = make_user(tier=have)
    assert tier_at_least(user, need) is (TIERS.index(have) >= TIERS.index(need))
    assert tier_at_least(user, need.value) is tier_at_least(user, need)


def test_tier_checks_fail_for_visitors_and_deactivated_accounts(make_user):
    assert tier_at_least(None, Tier.FREE) is False
    assert tier_at_least(AnonymousUserMixin(), Tier.FREE) is False
    assert tier_at_least(make_user(tier=Tier.LIFETIME, active=False), Tier.FREE) is False


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_has_role(make_user, role):
    user = make_user(role=role)
    assert has_role(user, role) is True
    assert has_role(user, *[other for other in Role if other != role]) is False
    assert has_role(user) is False


def test_has_role_fails_for_visitors_and_deactivated_accounts(make_user):
    assert has_role(None, Role.MEMBER) is False
    assert has_role(AnonymousUserMixin(), *Role) is False
    assert has_role(make_user(role=Role.ADMIN, active=False), Role.ADMIN) is False


@pytest.mark.parametrize(
    "header, expected",
    [
        (None, None),
        ("Bearer abc.def.ghi", "abc.def.ghi"),
        ("bearer abc.def.ghi", "abc.def.ghi"),
        ("BEARER   abc.def.ghi  ", "abc.def.ghi"),
        ("Bearer", ""),
        ("Basic dXNlcjpwYXNz", None),
        ("abc.def.ghi", None),
    ],
)
def test_bearer_token_reads_only_the_bearer_scheme(app, header, expected):
    headers = {"Authorization": header} if header is not None else {}
    with app.test_request_context("/api/auth/me", headers=headers):
        assert bearer_token() == expected


@pytest.mark.parametrize(
    "role, admin_page, staff_page",
    [
        (Role.ADMIN, 200, 200),
        (Role.INSTRUCTOR, 403, 200),
        (Role.MEMBER, 403, 403),
    ],
)
def test_page_decorators_let_in_only_their_roles(app, make_user, role, admin_page, staff_page):
    add_protected_routes(app)
    client = app.test_client()
    AuthActions(client).login(make_user(role=role).email)
    assert client.get("/test/admin").status_code == admin_page
    assert client.get("/test/staff").status_code == staff_page
    if staff_page == 200:
        assert client.get("/test/staff").get_data(as_text=True) == "staff page"


def test_page_decorators_send_visitors_to_sign_in(app, client):
    add_protected_routes(app)
    for path in ("/test/admin", "/test/staff"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"] == f"/login?next={path}"


@pytest.mark.parametrize(
    "role, staff_status",
    [
        (Role.ADMIN, 200),
        (Role.INSTRUCTOR, 200),
        (Role.MEMBER, 403),
    ],
)
def test_api_decorator_checks_roles_for_bearer_callers(app, client, make_user, api_token, role, staff_status):
    add_protected_routes(app)
    headers = {"Authorization": f"Bearer {api_token(make_user(role=role))}"}
    assert client.get("/api/test/any", headers=headers).status_code == 200
    response = client.get("/api/test/staff", headers=headers)
    assert response.status_code == staff_status
    if staff_status == 403:
        assert response.get_json()["error"]["code"] == "forbidden"


def test_api_decorator_checks_roles_for_session_callers(app, make_user):
    add_protected_routes(app)
    client = app.test_client()
    AuthActions(client).login(make_user(role=Role.MEMBER, tier=Tier.LIFETIME).email)
    assert client.get("/api/test/any").status_code == 200
    assert client.get("/api/test/staff").status_code == 403


def test_api_decorator_answers_401_json_to_visitors(app, client):
    add_protected_routes(app)
    for path in ("/api/test/any", "/api/test/staff"):
        response = client.get(path)
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "authentication_required"


def test_role_change_takes_effect_on_the_next_request(app, make_user):
    from portal.extensions import db

    add_protected_routes(app)
    user = make_user(role=Role.INSTRUCTOR)
    client = app.test_client()
    AuthActions(client).login(user.email)
    assert client.get("/test/staff").status_code == 200
    user.role = Role.MEMBER
    db.session.commit()
    assert client.get("/test/staff").status_code == 403
