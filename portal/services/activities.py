"""Training sessions and events: staff create and edit them; their pages list what the caller may see."""

from sqlalchemy import and_, or_, select

from portal.extensions import db
from portal.models import EntityType, Event, MediaAsset, MediaTag, Role, TrainingSession, User
from portal.services.media import access

PAGE_LIMIT = 200


def staff_users(limit=PAGE_LIMIT):
    """Instructors and admins, who can lead a training session."""
    return db.session.scalars(
        select(User)
        .where(User.role.in_([Role.INSTRUCTOR, Role.ADMIN]))
        .order_by(User.name, User.email)
        .limit(limit)
    ).all()


def save_training_session(training_session, title, starts_at, instructor_id, description):
    """Create (None) or update a training session from checked values; returns it (flushed)."""
    if instructor_id is not None:
        instructor = db.session.get(User, instructor_id)
        if instructor is None or instructor.role not in (Role.INSTRUCTOR, Role.ADMIN):
            raise ValueError("Choose an instructor from the list.")
    if training_session is None:
        training_session = TrainingSession()
        db.session.add(training_session)
    training_session.title, training_session.starts_at = title.strip(), starts_at
    training_session.instructor_id, training_session.description = instructor_id, (description or "").strip()
    db.session.flush()
    return training_session


def save_event(event, title, starts_at, location, description):
    """Create (None) or update an event from checked values; returns it (flushed)."""
    if event is None:
        event = Event()
        db.session.add(event)
    event.title, event.starts_at = title.strip(), starts_at
    event.location, event.description = (location or "").strip(), (description or "").strip()
    db.session.flush()
    return event


def tags_for(asset_ids):
    """{asset id: [tags]} for many assets in one statement."""
    tags = {asset_id: [] for asset_id in asset_ids}
    if asset_ids:
        rows = db.session.execute(
            select(MediaTag.asset_id, MediaTag.tag)
            .where(MediaTag.asset_id.in_(asset_ids))
            .order_by(MediaTag.tag)
        )
        for asset_id, tag in rows:
            tags[asset_id].append(tag)
    return tags


def _visible(user, where):
    """(asset, decision) pairs the policy lets the caller see, newest first, and their tags."""
    assets = db.session.scalars(
        select(MediaAsset)
        .where(and_(access.visible_assets_clause(user), where))
        .order_by(MediaAsset.created_at.desc())
        .limit(PAGE_LIMIT)
    ).all()
    entries = [(asset, access.visibility(user, asset)) for asset in assets]
    return entries, tags_for([asset.id for asset in assets])


def linked_media(user, entity_type, entity_id):
    """The videos and files linked to a session or event that the caller may see (locked ones included)."""
    return _visible(user, and_(MediaAsset.entity_type == entity_type, MediaAsset.entity_id == entity_id))


def instructor_media(user, instructor):
    """An instructor's videos: those they uploaded and those linked to their profile."""
    return _visible(
        user,
        or_(
            MediaAsset.created_by == instructor.id,
            and_(MediaAsset.entity_type == EntityType.PROFILE, MediaAsset.entity_id == str(instructor.id)),
        ),
    )
