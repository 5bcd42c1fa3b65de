"""Training session, event and instructor pages, each listing its videos and files through the access policy."""

from flask import abort, current_app, render_template
from flask_login import current_user

from portal.extensions import db
from portal.library import bp
from portal.library.views import card_links
from portal.models import EntityType, Event, MediaType, Role, TrainingSession, User
from portal.services import activities
from portal.services.media import playback
from portal.services.media.presenting import asset_summary


def _cards(entries, tags):
    """(video cards, [(file asset, decision)]): videos as the library shows them, files as download rows."""
    thumbnails = playback.Thumbnails(current_app.config)
    videos = [
        asset_summary(current_user, asset, decision, tags.get(asset.id, []), thumbnails)
        for asset, decision in entries
        if asset.media_type == MediaType.VIDEO
    ]
    return videos, [(asset, decision) for asset, decision in entries if asset.media_type != MediaType.VIDEO]


def _get(model, entity_id):
    entity = db.session.get(model, entity_id) if len(entity_id) <= 36 else None
    if entity is None:
        abort(404)
    return entity


@bp.route("/sessions/<entity_id>")
def training_session(entity_id):
    """A training session: when, who teaches it, its recording status, and its videos and files."""
    session_row = _get(TrainingSession, entity_id)
    instructor = db.session.get(User, session_row.instructor_id) if session_row.instructor_id else None
    cards, files = _cards(*activities.linked_media(current_user, EntityType.TRAINING_SESSION, session_row.id))
    return render_template(
        "library/activity.html",
        kind="session",
        item=session_row,
        instructor=instructor,
        cards=cards,
        files=files,
        links=card_links(),
    )


@bp.route("/events/<entity_id>")
def event(entity_id):
    """An event: when and where, and its videos and files."""
    event_row = _get(Event, entity_id)
    cards, files = _cards(*activities.linked_media(current_user, EntityType.EVENT, event_row.id))
    return render_template(
        "library/activity.html",
        kind="event",
        item=event_row,
        instructor=None,
        cards=cards,
        files=files,
        links=card_links(),
    )


@bp.route("/instructors/<int:user_id>")
def instructor(user_id):
    """An instructor's profile: their videos, through the access policy."""
    user = db.session.get(User, user_id) if user_id < 2**31 else None
    if user is None or user.role not in (Role.INSTRUCTOR, Role.ADMIN) or not user.active:
        abort(404)
    cards, files = _cards(*activities.instructor_media(current_user, user))
    return render_template(
        "library/instructor.html", instructor=user, cards=cards, files=files, links=card_links()
    )
