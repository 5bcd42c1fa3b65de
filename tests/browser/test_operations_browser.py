"""In a real browser: the bell and /notifications (mark all as read), and the admin's operations and
analytics pages, each passing axe-core's accessibility checks."""

import pytest
from flask import current_app
from rq.job import Job

from portal.extensions import db
from portal.models import MediaAsset, MediaAssetStatus, Role, Tier
from portal.services import analytics, notifications
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
    connection = current_app.extensions["redis"].connection
    analytics.store_figures(connection, analytics.default_period(), {}, {}, ttl_seconds=600)
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


def fail_a_job(job_id):
    """A job in the default queue's failed registry, with a long unbroken error as Stream's are."""
    queue = current_app.extensions["redis"].queue("default")
    job = Job.create("portal.jobs.analytics.refresh_stream_analytics", id=job_id, connection=queue.connection)
    job.origin = "default"
    job.save()
    error = "portal.services.stream.errors.StreamError: Cloudflare Stream POST /client/v4/graphql failed"
    queue.failed_job_registry.add(
        job, exc_string=f"Traceback\n{error} with HTTP 503: 10500 Injected fault (stream emulator)"
    )


@pytest.mark.parametrize("width", [390, 1280], ids=["phone", "desktop"])
def test_admin_pages_fit_the_screen_and_the_requeue_button_is_in_view(live_server, browser, make_user, width):
    admin = make_user(role=Role.ADMIN, tier=Tier.LIFETIME, email="ada@example.org", name="Ada")
    fail_a_job("analytics-refresh-2026-11-03-2026-12-02")
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    base = live_server.url
    sign_in(page, base, admin.email)
    for path in ("/admin/operations", "/admin/analytics", "/notifications"):
        page.goto(base + path)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path
    page.goto(base + "/admin/operations")
    button = page.get_by_role("button", name="Requeue analytics-refresh-2026-11-03-2026-12-02")
    # in view without scrolling the table sideways: inside the visible part of its scrolling wrapper
    visible = button.evaluate(
        """b => { const r = b.getBoundingClientRect(), w = b.closest('.table-wrap').getBoundingClientRect();
                  return r.left >= w.left && r.right <= w.right && r.right <= window.innerWidth; }"""
    )
    assert visible
    page.goto(base + "/admin/analytics")
    date_box = page.get_by_label("From").bounding_box()
    assert date_box["height"] < 60  # a date field, not a tall empty box
    context.close()
