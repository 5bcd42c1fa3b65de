"""Training sessions and events that videos link to, and received webhook deliveries."""

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.models.base import new_uuid, utcnow
from portal.models.enums import RecordingStatus, enum_column


class TrainingSession(db.Model):
    """A class or seminar; its recording arrives when the linked video is ready."""

    __tablename__ = "training_sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    instructor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    cloudflare_stream_id: Mapped[str | None] = mapped_column(String(64), index=True)
    video_url: Mapped[str | None] = mapped_column(String(1024))
    recording_status: Mapped[RecordingStatus] = mapped_column(
        enum_column(RecordingStatus, "recording_status"), default=RecordingStatus.NONE
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Event(db.Model):
    """An association event (a seminar, a grading) that videos can be attached to."""

    __tablename__ = "events"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    location: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WebhookDelivery(db.Model):
    """One webhook delivery from Cloudflare, recorded once so replays are applied once."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)
    video_uid: Mapped[str | None] = mapped_column(String(64), index=True)
    state: Mapped[str | None] = mapped_column(String(32))
    signature_time: Mapped[int | None] = mapped_column()
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # What applying it did: applied, unchanged, unknown_video, or refused (a payload that cannot be
    # applied, kept for inspection and never retried).
    outcome: Mapped[str | None] = mapped_column(String(32))
