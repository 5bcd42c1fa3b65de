"""Email for notifications: enqueued after the commit that created them, sent by the worker."""

import logging
from contextlib import contextmanager
from datetime import UTC, datetime

from flask import current_app
from redis import RedisError
from rq import Retry
from rq.exceptions import DuplicateJobError

from portal.extensions import db
from portal.jobs import in_app_context
from portal.models import Notification, User
from portal.services import notifications
from portal.services.mail import build_message, mail_configured, send_message

log = logging.getLogger(__name__)

QUEUE = "default"
RETRY_INTERVALS = [60, 300, 900]


def email_job_id(notification_id):
    """The deterministic RQ job id of a notification's email."""
    return f"notification-email-{notification_id}"


def enqueue_emails(notification_ids):
    """Enqueue the email of each committed notification (nothing when SMTP is not configured).

    Called after the commit; a Redis outage is logged, not raised: the notification itself is
    stored and shown in the portal either way.
    """
    if not notification_ids or not mail_configured(current_app.config):
        return 0
    queue = current_app.extensions["redis"].queue(QUEUE)
    count = 0
    for notification_id in notification_ids:
        try:
            queue.enqueue(
                send_notification_email,
                notification_id,
                job_id=email_job_id(notification_id),
                unique=True,
                retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
                job_timeout=60,
            )
            count += 1
        except DuplicateJobError:
            continue
        except RedisError:
            log.error("Email for notification %s not enqueued (Redis unavailable)", notification_id)
    return count


@contextmanager
def committing_notifications():
    """A job's unit of work: committed together with the notifications it made, or rolled back with
    them; their emails are enqueued only after the commit."""
    try:
        yield
        db.session.commit()
    except Exception:
        db.session.rollback()
        notifications.forget_new_notifications()
        raise
    enqueue_emails(notifications.take_new_notification_ids())


def email_text(notification, user, base_url):
    """The plain-text body of a notification's email."""
    lines = [f"Hello {user.name or user.email},", "", notification.body or notification.title]
    if notification.link:
        lines += ["", f"Open it: {base_url.rstrip('/')}{notification.link}"]
    lines += [
        "",
        "You get these emails because of your notification settings.",
        f"To stop them, untick “Email me my notifications” on {base_url.rstrip('/')}/account.",
    ]
    return "\n".join(lines)


@in_app_context
def send_notification_email(notification_id):
    """RQ job: email one notification to its person, once, unless they turned email off."""
    config = current_app.config
    notification = db.session.get(Notification, notification_id)
    if notification is None:
        return "missing"
    if notification.emailed_at is not None:
        return "already_sent"
    user = db.session.get(User, notification.user_id)
    if user is None or not user.active or not user.email_notifications:
        return "opted_out"
    if not mail_configured(config):
        return "not_configured"
    message = build_message(
        config, user.email, notification.title, email_text(notification, user, config["PORTAL_BASE_URL"])
    )
    send_message(config, message)
    notification.emailed_at = datetime.now(UTC)
    db.session.commit()
    return "sent"
