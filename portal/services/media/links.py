"""What an asset links to (training session, event, instructor profile), and keeping a session's recording true."""

from sqlalchemy import select

from portal.errors import APIError
from portal.extensions import db
from portal.models import (
    EntityType,
    Event,
    MediaAsset,
    MediaAssetStatus,
    MediaType,
    RecordingStatus,
    Role,
    TrainingSession,
    User,
)
from portal.parsing import whole_number


def linked_entity(entity_type, entity_id):
    """The session, event or staff user an asset may link to, or None when there is none with that id."""
    if entity_type == EntityType.TRAINING_SESSION:
        return db.session.get(TrainingSession, entity_id)
    if entity_type == EntityType.EVENT:
        return db.session.get(Event, entity_id)
    user_id = whole_number(str(entity_id))
    if entity_type == EntityType.PROFILE and user_id is not None:
        user = db.session.get(User, user_id)
        return user if user is not None and user.role in (Role.ADMIN, Role.INSTRUCTOR) else None
    return None


def check_link(entity_type, entity_id):
    """Raise a 400 unless the link is empty or names something that exists; returns the entity's own id."""
    if entity_type is None and entity_id is None:
        return None
    if entity_type is None or entity_id is None:
        raise APIError(400, "invalid_link", "Give both 'entity_type' and 'entity_id', or neither.")
    entity = linked_entity(entity_type, entity_id)
    if entity is None:
        raise APIError(
            400, "unknown_entity", f"There is no {entity_type.value.replace('_', ' ')} with id '{entity_id}'."
        )
    return str(entity.id)


def refresh_session_recording(session_id, leaving_asset=None):
    """Set a training session's recording from its newest ready linked video (none left: no recording)."""
    training_session = db.session.get(TrainingSession, session_id) if session_id else None
    if training_session is None:
        return
    query = (
        select(MediaAsset)
        .where(
            MediaAsset.entity_type == EntityType.TRAINING_SESSION,
            MediaAsset.entity_id == session_id,
            MediaAsset.media_type == MediaType.VIDEO,
            MediaAsset.status == MediaAssetStatus.READY,
            MediaAsset.deletion_requested_at.is_(None),
        )
        .order_by(MediaAsset.created_at.desc())
    )
    if leaving_asset is not None:
        query = query.where(MediaAsset.id != leaving_asset.id)
    recording = db.session.scalars(query.limit(1)).first()
    if recording is not None:
        training_session.cloudflare_stream_id = recording.stream_video_id
        training_session.video_url = recording.url
        training_session.recording_status = RecordingStatus.READY
    else:
        training_session.cloudflare_stream_id = None
        training_session.video_url = None
        training_session.recording_status = RecordingStatus.NONE


def session_id_of(asset):
    """The id of the training session the asset links to, or None."""
    return asset.entity_id if asset.entity_type == EntityType.TRAINING_SESSION else None
