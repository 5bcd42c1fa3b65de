"""Notification email: sent by a job after the commit, to a real SMTP server on loopback (aiosmtpd),
once, only when configured and wanted; the account page's switch; the whole path from the emulator's
webhook to the instructor's notification and email."""

import json
import time
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from rq import SimpleWorker
from sqlalchemy import select

from portal.extensions import db
from portal.jobs.notifications import email_job_id, enqueue_emails, send_notification_email
from portal.jobs.webhooks import apply_stream_webhook
from portal.models import MediaAsset, MediaAssetStatus, Notification, Role, Tier, User
from portal.services import notifications, stream_events
from portal.services.stream import get_client, reset_client
from tests.conftest import csrf_token_from, free_port, serving, shareable_database


class Inbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content, policy=default_policy)
        self.messages.append((envelope.rcpt_tos, message))
        return "250 OK"


@pytest.fixture
def smtp():
    """A real SMTP server on loopback that accepts user `portal` / password `mail-secret`."""
    inbox = Inbox()

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == b"portal" and auth_data.password == b"mail-secret"
        return AuthResult(success=ok)

    controller = Controller(
        inbox, hostname="127.0.0.1", port=free_port(), authenticator=authenticate, auth_require_tls=False
    )
    controller.start()
    inbox.port = controller.port
    yield inbox
    controller.stop()


def mail_settings(smtp, **extra):
    return {
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp.port,
        "MAIL_USE_TLS": False,
        "MAIL_USERNAME": "portal",
        "MAIL_PASSWORD": "mail-secret",
        "MAIL_FROM": "WWMAA Videos <videos@example.org>",
        "PORTAL_BASE_URL": "https://videos.example.org",
        **extra,
    }


@pytest.fixture
def app(app_factory, smtp):
    app = app_factory(**mail_settings(smtp))
    with app.app_context():
        yield app


def run_default_queue(app):
    queue = app.extensions["redis"].queue("default")
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def ready_asset(owner_id, uid="a" * 32):
    asset = MediaAsset(
        title="Kata basics", stream_video_id=uid, status=MediaAssetStatus.PROCESSING, created_by=owner_id
    )
    db.session.add(asset)
    db.session.commit()
    return asset


def settle_ready(asset):
    stream_events.settle(asset, {"uid": asset.stream_video_id, "status": {"state": "ready"}})
    db.session.commit()
    return enqueue_emails(notifications.take_new_notification_ids())


def test_a_ready_video_emails_its_uploader_after_the_commit(app, smtp, make_user):
    owner = make_user(role=Role.INSTRUCTOR, tier=Tier.LIFETIME, name="Ian")
    asset = ready_asset(owner.id)
    assert settle_ready(asset) == 1
    assert smtp.messages == []  # nothing is sent until the worker runs the job
    run_default_queue(app)
    [(recipients, message)] = smtp.messages
    assert recipients == [owner.email]
    assert message["Subject"] == "“Kata basics” is ready to watch"
    assert message["From"] == "WWMAA Videos <videos@example.org>"
    body = message.get_content()
    assert f"https://videos.example.org/watch/{asset.id}" in body and "/account" in body
    assert db.session.scalar(select(Notification.emailed_at)) is not None


def test_the_email_job_sends_once(app, smtp, make_user):
    owner = make_user(role=Role.INSTRUCTOR)
    settle_ready(ready_asset(owner.id))
    notification_id = db.session.scalar(select(Notification.id))
    run_default_queue(app)
    assert send_notification_email(notification_id) == "already_sent"
    assert enqueue_emails([notification_id]) == 0  # the same job id: not enqueued twice
    run_default_queue(app)
    assert len(smtp.messages) == 1


def test_no_email_for_someone_who_turned_it_off(app, smtp, make_user):
    owner = make_user(role=Role.INSTRUCTOR)
    owner.email_notifications = False
    db.session.commit()
    settle_ready(ready_asset(owner.id))
    run_default_queue(app)
    assert smtp.messages == []
    assert send_notification_email(db.session.scalar(select(Notification.id))) == "opted_out"
    assert db.session.scalar(select(Notification.id)) is not None  # still notified in the portal


def test_no_email_job_when_smtp_is_not_configured(app_factory, make_user):
    app = app_factory()
    with app.app_context():
        owner = make_user(role=Role.INSTRUCTOR)
        assert settle_ready(ready_asset(owner.id)) == 0
        assert app.extensions["redis"].queue("default").count == 0


def test_an_smtp_outage_fails_the_job_for_a_retry(app_factory, make_user):
    app = app_factory(
        MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_FROM="v@example.org", MAIL_TIMEOUT=2
    )
    with app.app_context():
        owner = make_user(role=Role.INSTRUCTOR)
        settle_ready(ready_asset(owner.id))
        notification_id = db.session.scalar(select(Notification.id))
        run_default_queue(app)
        queue = app.extensions["redis"].queue("default")
        job = queue.fetch_job(email_job_id(notification_id))
        assert job.get_status() == "scheduled" and job.retries_left == 2
        assert db.session.get(Notification, notification_id).emailed_at is None


# -- the account page's switch ----------------------------------------------------------------------


def test_the_account_page_turns_email_off_and_on(app, login_as):
    client = login_as(Role.MEMBER, Tier.BASIC)
    page = client.get("/account").get_data(as_text=True)
    assert 'name="email_notifications"' in page and "checked" in page
    token = csrf_token_from(page)
    response = client.post("/account/email", data={"csrf_token": token}, follow_redirects=True)
    assert "no longer come by email" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, client.user.id).email_notifications is False
    client.post("/account/email", data={"csrf_token": token, "email_notifications": "y"})
    db.session.expire_all()
    assert db.session.get(User, client.user.id).email_notifications is True


def test_the_email_switch_needs_csrf(app, login_as):
    client = login_as(Role.MEMBER, Tier.BASIC)
    client.post("/account/email", data={})
    assert db.session.get(User, client.user.id).email_notifications is True


# -- the whole path, through the emulator ---------------------------------------------------------


@pytest.mark.slow
def test_emulator_webhook_to_ready_to_notification_and_email(
    app_factory, smtp, emulator, tmp_path, sample_video
):
    app = app_factory(
        CLOUDFLARE_API_BASE=emulator.api_base,
        STREAM_CUSTOMER_BASE_URL=emulator.url,
        **mail_settings(smtp),
        **shareable_database(tmp_path),
    )
    with app.app_context(), serving(app) as url:
        owner = User(email="ian@example.org", name="Ian", role=Role.INSTRUCTOR, tier=Tier.LIFETIME)
        owner.set_password("a-long-password", method="pbkdf2:sha256:1000")
        db.session.add(owner)
        db.session.commit()
        app.config["CLOUDFLARE_STREAM_WEBHOOK_SECRET"] = get_client().set_webhook(
            url + "/api/webhooks/cloudflare/stream"
        )
        reset_client()
        stream = get_client()
        video = stream.upload_video(str(sample_video), {"title": "Seminar"})
        asset = ready_asset(owner.id, uid=video["uid"])
        asset_id = asset.id
        from portal.jobs.webhooks import enqueue_new_deliveries
        from portal.models import WebhookDelivery

        for _ in range(600):
            db.session.rollback()
            enqueue_new_deliveries()  # the drain: stores what the webhook put in its inbox
            delivery = db.session.scalar(
                select(WebhookDelivery).where(WebhookDelivery.video_uid == video["uid"])
            )
            if delivery is not None:
                break
            time.sleep(0.1)
        assert json.loads(delivery.body)["status"]["state"] == "ready"
        assert apply_stream_webhook(delivery.id) == "applied"
        run_default_queue(app)
        db.session.rollback()
        assert db.session.get(MediaAsset, asset_id).status == MediaAssetStatus.READY
        [notification] = db.session.scalars(select(Notification)).all()
        assert notification.user_id == owner.id and notification.link == f"/watch/{asset_id}"
        [(recipients, message)] = smtp.messages
        assert recipients == ["ian@example.org"] and "ready to watch" in message["Subject"]
