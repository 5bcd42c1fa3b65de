"""Signing in through the login page in a real browser."""

import pytest

from portal.models import Role, Tier

pytestmark = pytest.mark.browser


def test_member_signs_in_and_sees_their_tier(live_server, page, make_user, tmp_path):
    user = make_user(role=Role.MEMBER, tier=Tier.PREMIUM, email="pia@example.org", name="Pia")
    page.goto(live_server.url + "/login")
    page.get_by_label("Email").fill("PIA@example.org")
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(live_server.url + "/")
    assert page.get_by_role("status").inner_text().startswith("Welcome back, Pia")
    assert "premium" in page.locator("main").inner_text()
    assert page.get_by_role("link", name="People").count() == 0
    page.screenshot(path=str(tmp_path / "member-home.png"), full_page=True)
    assert user.email == "pia@example.org"


def test_wrong_password_keeps_visitor_on_login_page(live_server, page, make_user):
    make_user(email="bo@example.org")
    page.goto(live_server.url + "/login")
    page.get_by_label("Email").fill("bo@example.org")
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text() == "That email and password do not match an active account."
    assert page.url.startswith(live_server.url + "/login")


def test_admin_reaches_people_page_after_signing_in(live_server, page, make_user):
    make_user(role=Role.ADMIN, tier=Tier.LIFETIME, email="ada@example.org")
    page.goto(live_server.url + "/admin/users")
    assert "/login?next=" in page.url
    page.get_by_label("Email").fill("ada@example.org")
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(live_server.url + "/admin/users")
    assert page.get_by_role("heading", name="People").is_visible()
    assert page.get_by_role("cell", name="ada@example.org", exact=True).is_visible()
