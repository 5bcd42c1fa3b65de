"""/notifications: a person's notifications, mark one or all as read; the bell's unread count."""

from flask import abort, flash, g, redirect, render_template, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from portal.extensions import db
from portal.notifications import bp
from portal.services import notifications

MAX_ID = 2**31 - 1


class NotificationActionForm(FlaskForm):
    """The CSRF token of the page's one-button forms (mark read, mark all read)."""


@bp.app_context_processor
def unread_notification_count():
    """`unread_notifications()` for the navigation: one COUNT, at most once per request."""

    def count():
        if not current_user.is_authenticated:
            return 0
        if "unread_notifications" not in g:
            g.unread_notifications = notifications.unread_count(current_user.id)
        return g.unread_notifications

    return {"unread_notifications": count}


@bp.get("/notifications")
@login_required
def index():
    """Your latest notifications, unread ones marked."""
    items = notifications.recent_for(current_user.id)
    return render_template("notifications/index.html", items=items, form=NotificationActionForm())


@bp.post(f"/notifications/<int(max={MAX_ID}):notification_id>/read")
@login_required
def mark_read(notification_id):
    """Mark one of your notifications read (someone else's is a 404)."""
    if not NotificationActionForm().validate_on_submit():
        abort(400)
    if not notifications.mark_read(current_user.id, notification_id):
        abort(404)
    db.session.commit()
    return redirect(url_for("notifications.index"))


@bp.post("/notifications/read-all")
@login_required
def mark_all_read():
    """Mark every notification of yours read."""
    if not NotificationActionForm().validate_on_submit():
        abort(400)
    count = notifications.mark_all_read(current_user.id)
    db.session.commit()
    flash(f"{count} notification{'' if count == 1 else 's'} marked as read.", "success")
    return redirect(url_for("notifications.index"))
