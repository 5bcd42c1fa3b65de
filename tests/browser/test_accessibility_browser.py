"""Every page passes axe-core's automated accessibility checks (WCAG 2.1 A and AA rules)."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from portal.extensions import db
from portal.models import MediaAsset, MediaAssetStatus, Role, Tier
from tests.media_samples import make_sample_video

pytestmark = pytest.mark.browser

AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
    "resultTypes": ["violations"],
}


def violations(page):
    """axe's violations on the current page, as (rule id, impact, first target) for a readable failure."""
    results = Axe().run(page, options=AXE_OPTIONS)
    return [
        (v["id"], v["impact"], v["nodes"][0]["target"] if v["nodes"] else None)
        for v in results.response["violations"]
    ]


def sign_in(page, base, email):
    page.goto(base + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/")


@pytest.mark.parametrize("width", [1200, 390], ids=["desktop", "phone"])
def test_pages_have_no_accessibility_violations(live_server, browser, make_user, width, tmp_path):
    admin = make_user(role=Role.ADMIN, tier=Tier.LIFETIME, email="ada@example.org", name="Ada")
    make_user(role=Role.MEMBER, tier=Tier.PREMIUM, email="pia@example.org", name="Pia")
    base = live_server.url
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    found = {}

    def check(name):
        found[name] = violations(page)

    page.goto(base + "/login")
    check("login")
    page.get_by_role("button", name="Sign in").click()
    check("login with errors")
    page.goto(base + "/")
    check("home, signed out")
    page.goto(base + "/no-such-page")
    check("404")

    sign_in(page, base, admin.email)
    check("home, admin")
    page.goto(base + "/admin/users")
    check("people")
    page.goto(base + "/admin/users/new")
    page.get_by_role("button", name="Create account").click()
    check("new account with errors")
    page.goto(base + "/admin/users")
    page.get_by_role("link", name="Edit pia@example.org").click()
    check("edit account")
    page.goto(base + "/account")
    check("own account")

    # The studio, as an instructor with uploads in every state, and the uploader with a file chosen
    teacher = make_user(role=Role.INSTRUCTOR, tier=Tier.LIFETIME, email="sensei@example.org")
    for title, status, error in [
        ("Kata basics", MediaAssetStatus.READY, None),
        ("Grading", MediaAssetStatus.PROCESSING, None),
        ("Broken file", MediaAssetStatus.FAILED, "ERR_MALFORMED_VIDEO: moov atom not found"),
        ("Seminar, part 2", MediaAssetStatus.UPLOADING, None),
    ]:
        db.session.add(
            MediaAsset(
                title=title,
                status=status,
                processing_error=error,
                created_by=teacher.id,
                file_size_bytes=123_456_789,
            )
        )
    db.session.commit()
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, base, teacher.email)
    page.goto(base + "/studio")
    check("studio")
    page.goto(base + "/studio/upload")
    check("uploader")
    page.get_by_label("Video files").set_input_files(str(make_sample_video(tmp_path / "kata.mp4")))
    card = page.locator(".upload-card")
    card.get_by_label("Title").fill("")
    card.get_by_role("button", name="Upload").click()
    check("uploader with a file and errors")
    card.get_by_label("Title").fill("Kata")
    card.get_by_role("button", name="Upload").click()
    expect(card.get_by_role("status")).to_have_text("Sending to Stream", timeout=20_000)
    check("uploader, sending to Stream")
    page.screenshot(path=f"/tmp/studio-upload-form-{width}.png", full_page=True)
    context.close()
    assert {name: found_ for name, found_ in found.items() if found_} == {}
