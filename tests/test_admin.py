"""The admin's people pages: list, search, create, change role and tier, deactivate, reactivate."""

import re

import pytest
from sqlalchemy import event, func, select

from portal.admin.people import AccountError, set_active
from portal.extensions import db
from portal.models import Role, Tier, User
from tests.conftest import AuthActions, csrf_token_from
from tests.test_auth import signed_in_email


def csrf(client, path="/admin/users"):
    return csrf_token_from(client.get(path).get_data(as_text=True))


def listed_emails(html):
    """Emails in the people table, in order."""
    return re.findall(r"<td>([^<]+@[^<]+)</td>", html)


def reload(user):
    """The user as committed: the requests share the test's session, so roll back what a view
    flushed but never committed."""
    db.session.rollback()
    return db.session.get(User, user.id)


def user_count():
    return db.session.scalar(select(func.count()).select_from(User))


# --- who may come in ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/admin/users"),
        ("get", "/admin/users/new"),
        ("get", "/admin/users/1"),
    ],
)
def test_anonymous_visitors_go_to_the_sign_in_page(client, method, path):
    response = getattr(client, method)(path)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/login?next={path}"


@pytest.mark.parametrize("role", [Role.MEMBER, Role.INSTRUCTOR])
def test_members_and_instructors_get_403(login_as, make_user, role):
    client = login_as(role, Tier.LIFETIME)
    target = make_user()
    for path in ("/admin/users", "/admin/users/new", f"/admin/users/{target.id}"):
        assert client.get(path).status_code == 403, path
    token = csrf(client, "/")
    assert (
        client.post(f"/admin/users/{target.id}/active", data={"csrf_token": token, "active": "0"}).status_code
        == 403
    )
    assert (
        client.post(
            f"/admin/users/{target.id}", data={"csrf_token": token, "role": "admin", "tier": "lifetime"}
        ).status_code
        == 403
    )
    assert (
        client.post(
            "/admin/users/new",
            data={
                "csrf_token": token,
                "email": "sneaky@example.org",
                "password": "long-enough-pw",
                "role": "admin",
                "tier": "free",
            },
        ).status_code
        == 403
    )
    target = reload(target)
    assert (target.role, target.active) == (Role.MEMBER, True)
    assert User.by_email("sneaky@example.org") is None


def test_admins_see_people_in_the_navigation(admin_client):
    html = admin_client.get("/").get_data(as_text=True)
    assert '<a href="/admin/users"' in html and ">People</a>" in html


@pytest.mark.parametrize("role", [Role.MEMBER, Role.INSTRUCTOR])
def test_members_and_instructors_do_not_see_people(login_as, role):
    html = login_as(role, Tier.PREMIUM).get("/").get_data(as_text=True)
    assert "/admin/users" not in html and ">People</a>" not in html
    assert "Sign out" in html


def test_member_navigation_shows_their_tier(member_client):
    html = member_client.get("/").get_data(as_text=True)
    assert f'<span class="badge badge-tier">{member_client.user.tier.value}</span>' in html


def test_visitors_see_sign_in_and_no_people(client):
    html = client.get("/").get_data(as_text=True)
    assert 'href="/login"' in html and "Sign out" not in html and "/admin/users" not in html


# --- list and search ------------------------------------------------------------------------------


def test_list_shows_every_account_newest_first(admin_client, make_user):
    make_user(email="old@example.org", name="Olga Old", tier=Tier.BASIC)
    make_user(email="new@example.org", name="Ned New", role=Role.INSTRUCTOR)
    make_user(email="gone@example.org", active=False)
    html = admin_client.get("/admin/users").get_data(as_text=True)
    assert "4 accounts." in html
    assert listed_emails(html) == [
        "gone@example.org",
        "new@example.org",
        "old@example.org",
        admin_client.user.email,
    ]
    assert "<td>Olga Old</td>" in html and "<td>basic</td>" in html
    assert '<span class="badge badge-instructor">instructor</span>' in html
    assert "<td>Deactivated</td>" in html


@pytest.mark.parametrize(
    "query, expected",
    [
        ("ann", ["anna@example.org", "joe@example.org", "ann_lee@example.org", "annxlee@example.org"]),
        ("ANNA@", ["anna@example.org"]),  # case-insensitive
        ("bolt", ["joe@example.org"]),
        ("ann_lee", ["ann_lee@example.org"]),  # `_` is a character, not a wildcard
        ("100%", ["pct@example.org"]),  # `%` too
        ("nobody", []),
    ],
)
def test_search_by_name_or_email(admin_client, make_user, query, expected):
    make_user(email="anna@example.org", name="Anna")
    make_user(email="joe@example.org", name="Joe Bolt-Hanna")
    make_user(email="ann_lee@example.org")
    make_user(email="annxlee@example.org")
    make_user(email="pct@example.org", name="Give 100%")
    html = admin_client.get("/admin/users", query_string={"q": query}).get_data(as_text=True)
    assert sorted(listed_emails(html)) == sorted(expected)
    if not expected:
        assert "No accounts match." in html


def test_people_are_paged_25_at_a_time(admin_client, make_user):
    for n in range(29):
        make_user(email=f"p{n:02}@example.org")
    first = admin_client.get("/admin/users").get_data(as_text=True)
    assert "30 accounts." in first and "Page 1 of 2" in first
    assert len(listed_emails(first)) == 25
    assert 'href="/admin/users?q=&amp;page=2">Next</a>' in first
    second = admin_client.get("/admin/users?page=2").get_data(as_text=True)
    assert len(listed_emails(second)) == 5
    assert not set(listed_emails(first)) & set(listed_emails(second))
    assert "Page 2 of 2" in second and ">Previous</a>" in second


def test_page_numbers_out_of_range_are_clamped(admin_client):
    html = admin_client.get("/admin/users?page=-4").get_data(as_text=True)
    assert listed_emails(html) == [admin_client.user.email]


# --- create ---------------------------------------------------------------------------------------


def test_admin_creates_an_account_that_can_sign_in(app, admin_client):
    assert admin_client.get("/admin/users/new").status_code == 200
    response = admin_client.post(
        "/admin/users/new",
        data={
            "csrf_token": csrf(admin_client, "/admin/users/new"),
            "name": "Nia New",
            "email": "Nia@Example.ORG",
            "password": "a-long-password",
            "role": "instructor",
            "tier": "premium",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/users"
    assert "Account nia@example.org created." in admin_client.get("/admin/users").get_data(as_text=True)
    user = User.by_email("nia@example.org")
    assert (user.name, user.role, user.tier, user.active) == ("Nia New", Role.INSTRUCTOR, Tier.PREMIUM, True)
    assert "a-long-password" not in user.password_hash and user.check_password("a-long-password")
    newcomer = app.test_client()
    assert AuthActions(newcomer).login("nia@example.org", "a-long-password").status_code == 302


@pytest.mark.parametrize("email", ["taken@example.org", "TAKEN@example.org", "Taken@Example.org"])
def test_duplicate_email_is_refused_whatever_its_case(admin_client, make_user, email):
    make_user(email="taken@example.org")
    before = user_count()
    response = admin_client.post(
        "/admin/users/new",
        data={
            "csrf_token": csrf(admin_client, "/admin/users/new"),
            "email": email,
            "password": "a-long-password",
            "role": "member",
            "tier": "free",
        },
    )
    assert response.status_code == 200
    assert "An account with taken@example.org already exists." in response.get_data(as_text=True)
    assert user_count() == before


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"email": "not-an-email"}, "Invalid email address."),
        ({"email": ""}, "This field is required."),
        ({"password": "short"}, "Field must be between 10 and 256 characters long."),
        ({"role": "owner"}, "Not a valid choice."),
        ({"tier": "gold"}, "Not a valid choice."),
    ],
)
def test_invalid_new_accounts_are_refused(admin_client, changes, message):
    before = user_count()
    data = {
        "csrf_token": csrf(admin_client, "/admin/users/new"),
        "email": "new@example.org",
        "password": "a-long-password",
        "role": "member",
        "tier": "free",
        **changes,
    }
    response = admin_client.post("/admin/users/new", data=data)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert user_count() == before


# --- change role and tier -------------------------------------------------------------------------


def test_edit_page_shows_the_current_values(admin_client, make_user):
    user = make_user(name="Bo", tier=Tier.BASIC, role=Role.INSTRUCTOR)
    html = admin_client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert f'<h1 id="edit-title">{user.email}</h1>' in html
    assert 'value="Bo"' in html
    assert '<option selected value="instructor">' in html
    assert '<option selected value="basic">' in html


def test_admin_changes_name_role_and_tier(admin_client, make_user):
    user = make_user(tier=Tier.FREE)
    response = admin_client.post(
        f"/admin/users/{user.id}",
        data={
            "csrf_token": csrf(admin_client),
            "name": "Promoted",
            "role": "instructor",
            "tier": "lifetime",
        },
    )
    assert response.status_code == 302
    assert f"{user.email} is now instructor, tier lifetime." in admin_client.get("/admin/users").get_data(
        as_text=True
    )
    user = reload(user)
    assert (user.name, user.role, user.tier) == ("Promoted", Role.INSTRUCTOR, Tier.LIFETIME)


def test_admin_sets_a_new_password_which_signs_them_out_everywhere(app, admin_client, make_user, api_token):
    user = make_user(tier=Tier.BASIC)
    their_browser = app.test_client()
    AuthActions(their_browser).login(user.email)
    token = api_token(user)
    response = admin_client.post(
        f"/admin/users/{user.id}",
        data={
            "csrf_token": csrf(admin_client),
            "name": "",
            "role": "member",
            "tier": "basic",
            "new_password": "a-fresh-password-from-admin",
        },
    )
    assert response.status_code == 302
    assert their_browser.get("/account").status_code == 302
    assert (
        app.test_client().get("/api/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    )
    assert AuthActions(app.test_client()).login(user.email, "a-fresh-password-from-admin").status_code == 302


def test_a_short_new_password_is_refused_and_nothing_changes(admin_client, make_user):
    user = make_user(tier=Tier.BASIC)
    before = user.password_hash
    response = admin_client.post(
        f"/admin/users/{user.id}",
        data={
            "csrf_token": csrf(admin_client),
            "name": "Renamed",
            "role": "member",
            "tier": "premium",
            "new_password": "short",
        },
    )
    assert response.status_code == 200
    assert "Field must be between 10 and 256 characters long." in response.get_data(as_text=True)
    user = reload(user)
    assert (user.name, user.tier, user.password_hash) == ("", Tier.BASIC, before)


def test_unknown_account_is_404(admin_client):
    assert admin_client.get("/admin/users/424242").status_code == 404
    assert (
        admin_client.post(
            "/admin/users/424242/active", data={"csrf_token": csrf(admin_client), "active": "0"}
        ).status_code
        == 404
    )


def test_the_last_admin_cannot_be_demoted(admin_client):
    me = admin_client.user
    response = admin_client.post(
        f"/admin/users/{me.id}",
        data={
            "csrf_token": csrf(admin_client),
            "name": "",
            "role": "member",
            "tier": "free",
        },
        follow_redirects=True,
    )
    assert "The last active admin cannot lose the admin role." in response.get_data(as_text=True)
    assert reload(me).role == Role.ADMIN
    assert admin_client.get("/admin/users").status_code == 200


def test_a_deactivated_admin_does_not_count_as_another_admin(admin_client, make_user):
    make_user(role=Role.ADMIN, active=False)
    me = admin_client.user
    admin_client.post(
        f"/admin/users/{me.id}",
        data={
            "csrf_token": csrf(admin_client),
            "name": "",
            "role": "member",
            "tier": "free",
        },
    )
    assert reload(me).role == Role.ADMIN


def test_an_admin_can_be_demoted_while_another_remains(admin_client, make_user):
    other = make_user(role=Role.ADMIN)
    admin_client.post(
        f"/admin/users/{other.id}",
        data={
            "csrf_token": csrf(admin_client),
            "name": "",
            "role": "member",
            "tier": "basic",
        },
    )
    assert reload(other).role == Role.MEMBER


# --- deactivate and reactivate --------------------------------------------------------------------


def test_deactivation_ends_sessions_and_tokens_at_once(app, admin_client, make_user, api_token):
    user = make_user(role=Role.INSTRUCTOR)
    their_browser = app.test_client()
    AuthActions(their_browser).login(user.email)
    token = api_token(user)
    assert signed_in_email(their_browser) == user.email

    response = admin_client.post(
        f"/admin/users/{user.id}/active", data={"csrf_token": csrf(admin_client), "active": "0"}
    )
    assert response.status_code == 302
    assert f"{user.email} is deactivated." in admin_client.get("/admin/users").get_data(as_text=True)
    assert reload(user).active is False

    assert signed_in_email(their_browser) is None
    assert their_browser.get("/api/auth/me").status_code == 401
    assert their_browser.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert AuthActions(app.test_client()).login(user.email).status_code == 200  # cannot sign in


def test_reactivation_lets_them_sign_in_again_but_old_tokens_stay_dead(
    app, admin_client, make_user, api_token
):
    user = make_user()
    token = api_token(user)
    admin_client.post(
        f"/admin/users/{user.id}/active", data={"csrf_token": csrf(admin_client), "active": "0"}
    )
    admin_client.post(
        f"/admin/users/{user.id}/active", data={"csrf_token": csrf(admin_client), "active": "1"}
    )
    assert reload(user).active is True
    assert "is active." in admin_client.get("/admin/users").get_data(as_text=True)
    client = app.test_client()
    assert client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert AuthActions(client).login(user.email).status_code == 302


def test_admin_cannot_deactivate_themselves(admin_client):
    me = admin_client.user
    response = admin_client.post(
        f"/admin/users/{me.id}/active",
        data={"csrf_token": csrf(admin_client), "active": "0"},
        follow_redirects=True,
    )
    assert "You cannot deactivate your own account." in response.get_data(as_text=True)
    assert reload(me).active is True


def test_the_last_active_admin_cannot_be_deactivated(app, make_user):
    # The pages cannot reach this: the acting admin is active, so deactivating another admin leaves one,
    # and deactivating oneself is refused first. The operation is checked directly, as a script would call it.
    admin = make_user(role=Role.ADMIN)
    other = make_user(role=Role.INSTRUCTOR)
    with pytest.raises(AccountError, match="The last active admin cannot be deactivated."):
        set_active(admin, False, acting_user=other)
    db.session.rollback()
    assert reload(admin).active is True


def test_deactivation_needs_the_post_form(admin_client, make_user):
    user = make_user()
    assert admin_client.get(f"/admin/users/{user.id}/active").status_code == 405
    assert reload(user).active is True


# --- escaping -------------------------------------------------------------------------------------


def test_names_and_search_terms_are_escaped(admin_client, make_user):
    user = make_user(name='<script>alert("x")</script>', email="xss@example.org")
    listing = admin_client.get("/admin/users").get_data(as_text=True)
    assert "<script>alert" not in listing
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in listing
    search = admin_client.get("/admin/users", query_string={"q": '"><script>x</script>'}).get_data(
        as_text=True
    )
    assert "<script>x</script>" not in search
    assert 'value="&#34;&gt;&lt;script&gt;x&lt;/script&gt;"' in search
    edit = admin_client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert "<script>alert" not in edit


# --- SQL statements per page ----------------------------------------------------------------------


def statements_for(client, path):
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return statements


def test_people_page_runs_the_same_statements_for_5_or_30_people(admin_client, make_user):
    for n in range(4):
        make_user(email=f"few{n}@example.org", tier=list(Tier)[n])
    few = statements_for(admin_client, "/admin/users")
    for n in range(25):
        make_user(email=f"many{n}@example.org", role=[Role.MEMBER, Role.INSTRUCTOR][n % 2])
    many = statements_for(admin_client, "/admin/users")
    assert len(few) == len(many) <= 4
    assert len(statements_for(admin_client, "/admin/users?q=many")) == len(few)
