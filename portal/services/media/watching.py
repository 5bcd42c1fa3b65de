"""Continue watching and view counting. Operations flush; the view commits.

- Progress: the player saves the position every 15 s, on pause and on page leave; a video
  watched past WATCH_FINISHED_FRACTION (90 %) of its duration counts as finished and leaves
  "Continue watching".
- Views: counted when playback really starts (the player's `POST /api/media/<id>/views`),
  once per member per video per UTC day; `media_assets.view_count` is the sum of those days.
"""

import math
from datetime import UTC, datetime
from typing import NamedTuple

from sqlalchemy import and_, bindparam, desc, insert, select, update
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.models import DailyView, MediaAsset, WatchProgress
from portal.models.user import utcnow
from portal.services.media import access
from portal.services.media.library import CARD_COLUMNS, tag_list_column


class ProgressError(ValueError):
    """A progress report that makes no sense (negative, not finite, past the end); names the field."""

    def __init__(self, field_name, message):
        super().__init__(message)
        self.field = field_name


def _seconds(value, name, required):
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProgressError(name, f"'{name}' must be a number of seconds.")
    try:
        value = float(value)
    except OverflowError:  # a JSON integer beyond any float
        raise ProgressError(name, f"'{name}' must be between 0 and 604800 seconds.") from None
    if not math.isfinite(value) or value < 0 or value > 7 * 86_400:
        raise ProgressError(name, f"'{name}' must be between 0 and 604800 seconds.")
    return value


def save_progress(user, asset, position, duration, finished_fraction):
    """Store where the member is in the video; returns the WatchProgress row."""
    position = _seconds(position, "position_seconds", required=True)
    duration = _seconds(duration, "duration_seconds", required=False) or asset.duration_seconds or None
    if duration and position > duration + 1:
        raise ProgressError("position_seconds", "'position_seconds' is past the end of the video.")
    row = db.session.get(WatchProgress, (user.id, asset.id))
    if row is None:
        row = WatchProgress(user_id=user.id, asset_id=asset.id)
        db.session.add(row)
    row.position_seconds = min(position, duration) if duration else position
    row.duration_seconds = duration
    row.finished = bool(duration) and position >= finished_fraction * duration
    row.updated_at = utcnow()
    db.session.flush()
    return row


_SAVED_POSITION = select(WatchProgress.position_seconds, WatchProgress.finished).where(
    WatchProgress.user_id == bindparam("user_id"), WatchProgress.asset_id == bindparam("asset_id")
)  # built once and run on the Core connection (plain rows): the watch page asks on every view


def resume_position(user, asset):
    """Seconds to resume the video from (0 when never watched or finished)."""
    if not access.is_member(user):
        return 0
    row = db.session.connection().execute(_SAVED_POSITION, {"user_id": user.id, "asset_id": asset.id}).first()
    if row is None or row.finished:
        return 0
    return int(row.position_seconds)


class Progress(NamedTuple):
    """Where a member is in one video."""

    position_seconds: float
    duration_seconds: float | None
    updated_at: datetime


_CONTINUE_STATEMENTS = {}  # (viewer class, limit) -> statement, see _continue_statement


def _continue_statement(user, limit):
    """The continue-watching query for the caller's class (the member's id is a parameter).

    Built once per class: SQLAlchemy then neither rebuilds the statement nor computes its cache key
    on every page, which cost more than running it. (Run on the Core connection: plain rows, no ORM.)
    """
    key = (access.viewer_class(user), limit)
    statement = _CONTINUE_STATEMENTS.get(key)
    if statement is None:
        statement = (
            select(
                *CARD_COLUMNS,
                tag_list_column(),
                WatchProgress.position_seconds.label("watched_position"),
                WatchProgress.duration_seconds.label("watched_duration"),
                WatchProgress.updated_at.label("watched_at"),
            )
            .select_from(MediaAsset)
            .join(
                WatchProgress,
                and_(WatchProgress.asset_id == MediaAsset.id, WatchProgress.user_id == bindparam("user_id")),
            )
            .where(WatchProgress.finished.is_(False), WatchProgress.position_seconds > 0)
            .where(access.playable_assets_clause(user))
            .order_by(desc(WatchProgress.updated_at))
            .limit(limit)
        )
        _CONTINUE_STATEMENTS[key] = statement
    return statement


def continue_watching(user, limit):
    """Unfinished videos the member may still play, most recently watched first: [(card row, Progress)]."""
    if not access.is_member(user):
        return []
    rows = db.session.connection().execute(_continue_statement(user, limit), {"user_id": user.id})
    return [(row, Progress(row.watched_position, row.watched_duration, row.watched_at)) for row in rows]


def today_utc():
    """Today's date in UTC, the day a view is counted on."""
    return datetime.now(UTC).date()


def record_view(user, asset, day=None):
    """Count a view once per member, video and UTC day; returns True when this one counted."""
    if not access.is_member(user):
        return False
    day = day or today_utc()
    try:
        with db.session.begin_nested():
            db.session.execute(insert(DailyView).values(asset_id=asset.id, user_id=user.id, day=day))
    except IntegrityError:
        return False  # already counted today: the savepoint is rolled back, nothing changes
    db.session.execute(
        update(MediaAsset).where(MediaAsset.id == asset.id).values(view_count=MediaAsset.view_count + 1)
    )
    return True
