"""Notifications: the bell's unread count (one query), the page, mark one and all as read (CSRF)."""

import pytest
from sqlalchemy import event, select

from portal.extensions import db
from portal.models import Notification, Role, Tier
from portal.services import notifications
from tests.conftest import csrf_token_from


@pytest.fixture
def member(login_as):
    return login_as(Role.MEMBER, Tier.BASIC)


def add(user_id, title="Your video is ready", link="/watch/abc", body="It is ready."):
    notification = notifications.notify(user_id, notifications.VIDEO_READY, title, body, link)
    db.session.commit()
    return notification


def count_queries(client, path):
    statements = []

    def count(*args):
        statements.append(args[2])

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        response = client.get(path)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return response, [s for s in statements if "FROM notifications" in s]


def test_the_bell_shows_the_unread_count_with_one_query(member):
    add(member.user.id)
    add(member.user.id, title="Another")
    response, queries = count_queries(member, "/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'href="/notifications"' in html and '>2<span class="visually-hidden"> unread</span>' in html
    assert len(queries) == 1


def test_anonymous_pages_have_no_bell_and_no_query(client):
    response, queries = count_queries(client, "/login")
    assert 'href="/notifications"' not in response.get_data(as_text=True) and queries == []


def test_the_page_lists_my_notifications_only(member, make_user):
    other = make_user()
    add(member.user.id, title="Mine: kata ready")
    add(other.id, title="Someone else's")
    html = member.get("/notifications").get_data(as_text=True)
    assert "Mine: kata ready" in html and 'href="/watch/abc"' in html
    assert "Someone else" not in html


def test_notifications_need_a_sign_in(client):
    response = client.get("/notifications")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_mark_one_as_read(member):
    notification = add(member.user.id)
    token = csrf_token_from(member.get("/notifications").get_data(as_text=True))
    response = member.post(f"/notifications/{notification.id}/read", data={"csrf_token": token})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Notification, notification.id).read_at is not None
    assert notifications.unread_count(member.user.id) == 0
    # again: still fine, read_at unchanged
    first = db.session.get(Notification, notification.id).read_at
    member.post(f"/notifications/{notification.id}/read", data={"csrf_token": token})
    db.session.expire_all()
    assert db.session.get(Notification, notification.id).read_at == first


def test_mark_read_needs_csrf_and_my_own_notification(member, make_user):
    mine = add(member.user.id)
    theirs = add(make_user().id)
    assert member.post(f"/notifications/{mine.id}/read").status_code == 400
    token = csrf_token_from(member.get("/notifications").get_data(as_text=True))
    assert member.post(f"/notifications/{theirs.id}/read", data={"csrf_token": token}).status_code == 404
    assert member.post("/notifications/99999999999/read", data={"csrf_token": token}).status_code == 404
    db.session.expire_all()
    assert db.session.get(Notification, theirs.id).read_at is None
    assert db.session.get(Notification, mine.id).read_at is None


def test_mark_all_as_read(member, make_user):
    for n in range(3):
        add(member.user.id, title=f"n{n}")
    theirs = add(make_user().id)
    token = csrf_token_from(member.get("/notifications").get_data(as_text=True))
    response = member.post("/notifications/read-all", data={"csrf_token": token}, follow_redirects=True)
    assert "3 notifications marked as read." in response.get_data(as_text=True)
    db.session.expire_all()
    assert notifications.unread_count(member.user.id) == 0
    assert db.session.scalar(select(Notification.read_at).where(Notification.id == theirs.id)) is None


def test_titles_and_bodies_are_escaped(member):
    add(member.user.id, title="<script>alert(1)</script>", body="<img src=x onerror=alert(1)>", link=None)
    html = member.get("/notifications").get_data(as_text=True)
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html and "<img src=x" not in html
