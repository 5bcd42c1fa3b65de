"""The account page: details, and changing your password."""

from portal.auth.tokens import issue_access_token
from portal.extensions import db
from portal.models import Role, Tier
from tests.conftest import PASSWORD, AuthActions, csrf_token_from


def change_password(client, current, new, confirm=None):
    token = csrf_token_from(client.get("/account").get_data(as_text=True))
    return client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": current,
            "new_password": new,
            "confirm_password": new if confirm is None else confirm,
        },
    )


def test_account_page_shows_details_and_needs_sign_in(client, login_as):
    assert client.get("/account").status_code == 302
    member = login_as(Role.MEMBER, Tier.BASIC)
    html = member.get("/account").get_data(as_text=True)
    assert member.user.email in html and "basic" in html and "Change password" in html


def test_changing_password_signs_out_other_sessions_and_tokens(app, login_as):
    member = login_as(Role.MEMBER, Tier.FREE)
    other_device = app.test_client()
    AuthActions(other_device).login(member.user.email)
    token, _ = issue_access_token(member.user)

    response = change_password(member, PASSWORD, "a-brand-new-password")
    assert response.status_code == 302
    assert "Your password is changed" in member.get("/account").get_data(as_text=True)
    assert other_device.get("/account").status_code == 302
    assert (
        app.test_client().get("/api/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    )
    fresh = app.test_client()
    assert AuthActions(fresh).login(member.user.email, PASSWORD).status_code == 200
    assert AuthActions(fresh).login(member.user.email, "a-brand-new-password").status_code == 302


def test_wrong_current_password_or_mismatch_changes_nothing(login_as):
    member = login_as(Role.MEMBER, Tier.FREE)
    before = member.user.password_hash
    response = change_password(member, "not-my-password", "a-brand-new-password")
    assert response.status_code == 400
    assert "That is not your current password." in response.get_data(as_text=True)
    response = change_password(member, PASSWORD, "a-brand-new-password", confirm="something-else-entirely")
    assert "The two new passwords differ." in response.get_data(as_text=True)
    response = change_password(member, PASSWORD, "short")
    assert response.status_code == 400
    db.session.refresh(member.user)
    assert member.user.password_hash == before


def test_password_change_without_csrf_is_refused(login_as):
    member = login_as(Role.MEMBER, Tier.FREE)
    response = member.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "a-brand-new-password",
            "confirm_password": "a-brand-new-password",
        },
    )
    assert response.status_code == 400
    assert member.user.check_password(PASSWORD)


def test_navigation_links_to_the_account_page(login_as):
    member = login_as(Role.MEMBER, Tier.PREMIUM)
    html = member.get("/").get_data(as_text=True)
    assert 'href="/account"' in html
