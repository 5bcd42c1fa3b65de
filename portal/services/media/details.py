"""One video as the watch page reads it: its columns, tags, caption tracks and session or event title.

Plain rows (not ORM objects) from statements built once: the watch page asks on every view, and
building the statements and the ORM objects cost more than running the queries. A video without
caption tracks (most of them) costs one statement; one with tracks costs two.
"""

from typing import NamedTuple

from sqlalchemy import bindparam, case, exists, select

from portal.extensions import db
from portal.models import Caption, EntityType, Event, MediaAsset, TrainingSession
from portal.services.media.library import CARD_COLUMNS, split_tags, tag_list_column


class CaptionTrack(NamedTuple):
    """A caption track's language and label."""

    language: str
    label: str


class VideoDetails:
    """The video's card columns plus `deletion_requested_at`, `tags`, `captions` and `entity_title`."""

    def __init__(self, row, captions):
        self.__dict__.update(row._mapping)
        self.tags = split_tags(row.tag_list)
        self.captions = captions


def _entity_title_column():
    """The title of the training session or event the video belongs to (NULL when none)."""
    session_title = select(TrainingSession.title).where(TrainingSession.id == MediaAsset.entity_id)
    event_title = select(Event.title).where(Event.id == MediaAsset.entity_id)
    return case(
        (MediaAsset.entity_type == EntityType.TRAINING_SESSION, session_title.scalar_subquery()),
        (MediaAsset.entity_type == EntityType.EVENT, event_title.scalar_subquery()),
    ).label("entity_title")


_VIDEO = select(
    *CARD_COLUMNS,
    MediaAsset.deletion_requested_at,
    tag_list_column(),
    _entity_title_column(),
    exists().where(Caption.asset_id == MediaAsset.id).label("has_captions"),
).where(MediaAsset.id == bindparam("asset_id"))
_CAPTIONS = (
    select(Caption.language, Caption.label)
    .where(Caption.asset_id == bindparam("asset_id"))
    .order_by(Caption.language)
)


def video_details(asset_id):
    """The video with this id as VideoDetails, or None (malformed ids included); then ask the policy."""
    if not isinstance(asset_id, str) or not 1 <= len(asset_id) <= 36:
        return None
    connection = db.session.connection()
    row = connection.execute(_VIDEO, {"asset_id": asset_id}).first()
    if row is None:
        return None
    captions = []
    if row.has_captions:
        captions = [CaptionTrack(*track) for track in connection.execute(_CAPTIONS, {"asset_id": asset_id})]
    return VideoDetails(row, captions)
