"""Notifications: who hears what when a video settles, unread counts, marking read.

Operations add and flush; the caller commits. Each new notification's id is remembered on the
session, so the caller can enqueue the emails after its commit (`take_new_notification_ids`).
"""

from datetime import UTC, datetime

from sqlalchemy import bindparam, func, select, update

from portal.extensions import db
from portal.models import MediaAssetStatus, Notification, Role, User

VIDEO_READY = "video_ready"
VIDEO_FAILED = "video_failed"
COST_ALERT = "cost_alert"
_NEW_IDS = "new_notification_ids"


def notify(user_id, kind, title, body="", link=None):
    """Add a notification for one person; returns it (flushed, so it has an id)."""
    notification = Notification(user_id=user_id, kind=kind, title=title[:200], body=body, link=link)
    db.session.add(notification)
    db.session.flush()
    db.session.info.setdefault(_NEW_IDS, []).append(notification.id)
    return notification


def take_new_notification_ids():
    """The ids of notifications added in this session since the last call (call after commit)."""
    return db.session.info.pop(_NEW_IDS, [])


def forget_new_notifications():
    """Drop the remembered ids (after a rollback: those rows no longer exist)."""
    db.session.info.pop(_NEW_IDS, None)


def admin_ids():
    """Ids of the active admins."""
    return db.session.scalars(select(User.id).where(User.role == Role.ADMIN, User.active.is_(True))).all()


def video_settled(asset):
    """Tell the uploader that their video is ready (with a link) or failed (reason and next step),
    and every admin about a failure. Call once per transition, in the transaction that made it."""
    title = asset.title or "Your video"
    if asset.status == MediaAssetStatus.READY:
        if asset.created_by:
            notify(
                asset.created_by,
                VIDEO_READY,
                f"“{title}” is ready to watch",
                "Stream has finished processing your video; members can watch it now.",
                link=f"/watch/{asset.id}",
            )
        return
    if asset.status != MediaAssetStatus.FAILED:
        return
    reason = asset.processing_error or "Stream could not process the video."
    if asset.created_by:
        notify(asset.created_by, VIDEO_FAILED, f"“{title}” could not be processed", reason)
    for admin_id in admin_ids():
        if admin_id == asset.created_by:
            continue
        detail = f"{reason}\nStream said: {asset.stream_error or 'nothing more'}."
        notify(admin_id, VIDEO_FAILED, f"Processing failed: “{title}”", detail, link="/admin/operations")


# Built once and run on the Core connection: every page's bell asks, and rebuilding, re-keying and the
# ORM's result handling cost more than the COUNT itself.
_UNREAD_COUNT = (
    select(func.count())
    .select_from(Notification)
    .where(Notification.user_id == bindparam("user_id"), Notification.read_at.is_(None))
)


def unread_count(user_id):
    """How many unread notifications a person has (one indexed COUNT)."""
    return db.session.connection().execute(_UNREAD_COUNT, {"user_id": user_id}).scalar()


def recent_for(user_id, limit=50):
    """A person's latest notifications, newest first."""
    return db.session.scalars(
        select(Notification)
        .where(Notification.user_id == user_id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(limit)
    ).all()


def mark_read(user_id, notification_id):
    """Mark one of a person's notifications read; False if they have none with that id."""
    result = db.session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.user_id == user_id)
        .values(read_at=func.coalesce(Notification.read_at, datetime.now(UTC)))
    )
    return result.rowcount == 1


def mark_all_read(user_id):
    """Mark every unread notification of a person read; returns how many."""
    result = db.session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=datetime.now(UTC))
    )
    return result.rowcount
