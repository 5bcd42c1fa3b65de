"""What members watch: the position to resume each video from, and one view per member, video and day."""

from datetime import date, datetime

from sqlalchemy import Date, DateTime, Float, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.models.user import utcnow


class WatchProgress(db.Model):
    """Where a member stopped in a video (continue watching); `finished` once past 90 %."""

    __tablename__ = "watch_progress"
    __table_args__ = (Index("ix_watch_progress_user_recent", "user_id", "finished", "updated_at"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    asset_id: Mapped[str] = mapped_column(ForeignKey("media_assets.id", ondelete="CASCADE"), primary_key=True)
    position_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    finished: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class DailyView(db.Model):
    """One counted view: a member started a video on a UTC day (the seed's view_count counts these)."""

    __tablename__ = "daily_views"

    asset_id: Mapped[str] = mapped_column(ForeignKey("media_assets.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
