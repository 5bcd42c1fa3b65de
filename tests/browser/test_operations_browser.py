"""In a real browser: the bell and /notifications (mark all as read), and the admin's operations and
analytics pages, each passing axe-core's accessibility checks."""

import pytest

from portal.extensions import db
from portal.models import MediaAsset, MediaAssetStatus, Role, Tier
from portal.services import notifications
from tests.browser.test_accessibility_browser import sign_in, violations

pytestmark = pytest.mark.browser


def test_notifications_operations_and_analytics_in_a_browser(live_server, page, make_user):
    admin = make_user(role=Role.ADMIN, tier=Tier.LIFETIME, email="ada@example.org", name="Ada")
    asset = MediaAsset(title="Kata basics", status=MediaAssetStatus.READY, duration_seconds=600, view_count=4)
    db.session.add(asset)
    db.session.flush()
    notifications.notify(
        admin.id, notifications.VIDEO_READY, "“Kata basics” is ready", "Watch it.", f"/watch/{asset.id}"
    )
    notifications.notify(
        admin.id, notifications.VIDEO_FAILED, "“Notes” could not be processed", "Not a video."
    )
    db.session.commit()
    base = live_server.url
    found = {}

    sign_in(page, base, admin.email)
    bell = page.get_by_role("link", name="Notifications 2 unread")
    bell.click()
    page.wait_for_url(base + "/notifications")
    found["notifications"] = violations(page)
    page.get_by_role("button", name="Mark all as read").click()
    page.get_by_text("2 notifications marked as read.").wait_for()
    assert page.get_by_role("link", name="Notifications", exact=True).is_visible()

    page.goto(base + "/admin/operations")
    found["operations"] = violations(page)
    page.goto(base + "/admin/analytics")
    assert page.get_by_role("img", name="Minutes watched per day").is_visible()
    found["analytics"] = violations(page)
    page.goto(base + "/admin/analytics?since=2020-01-01&until=2020-01-05")
    assert page.get_by_role("alert").inner_text().startswith("Stream keeps analytics for 90 days")
    found["analytics, bad period"] = violations(page)
    page.goto(base + "/account")
    page.get_by_label("Email me my notifications").uncheck()
    page.get_by_role("button", name="Save email preferences").click()
    page.get_by_text("Notifications will no longer come by email.").wait_for()
    found["account"] = violations(page)
    assert {name: found_ for name, found_ in found.items() if found_} == {}
