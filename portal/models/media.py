"""Media assets (the seed's media_assets collection), their tags and caption tracks."""

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.base import new_uuid, utcnow
from portal.models.enums import (
    EntityType,
    MediaAccessLevel,
    MediaAssetStatus,
    MediaType,
    StorageProvider,
    Tier,
    enum_column,
)


class MediaAsset(db.Model):
    """A video (or image/document) with its Stream id, status and access rules."""

    __tablename__ = "media_assets"
    __table_args__ = (
        Index("ix_media_assets_library", "status", "access_level", "created_at"),
        Index("ix_media_assets_entity", "entity_type", "entity_id"),
        # The library's sorts, each with its tie-breaker, so a page reads only its own rows.
        Index("ix_media_assets_newest", "status", "created_at", "id"),
        Index("ix_media_assets_views", "status", "view_count", "id"),
        Index("ix_media_assets_title", "status", "title", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    media_type: Mapped[MediaType] = mapped_column(
        enum_column(MediaType, "media_type"), default=MediaType.VIDEO
    )
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    filename: Mapped[str | None] = mapped_column(String(255))
    file_size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    mime_type: Mapped[str | None] = mapped_column(String(127))

    storage_provider: Mapped[StorageProvider] = mapped_column(
        enum_column(StorageProvider, "storage_provider"), default=StorageProvider.CLOUDFLARE_STREAM
    )
    stream_video_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    stream_upload_url: Mapped[str | None] = mapped_column(String(1024))
    object_storage_key: Mapped[str | None] = mapped_column(String(512))
    url: Mapped[str | None] = mapped_column(String(1024))

    status: Mapped[MediaAssetStatus] = mapped_column(
        enum_column(MediaAssetStatus, "media_status"), default=MediaAssetStatus.UPLOADING, index=True
    )
    processing_error: Mapped[str | None] = mapped_column(Text)
    # Stream's `modified` for the state last applied, so a late or replayed webhook never moves it back.
    stream_modified: Mapped[str | None] = mapped_column(String(40))
    # Stream's pctComplete while it processes, and its own failure text (code: text) for staff;
    # processing_error holds the plain meaning the uploader reads.
    stream_pct_complete: Mapped[float | None] = mapped_column(Float)
    stream_error: Mapped[str | None] = mapped_column(Text)

    duration_seconds: Mapped[int | None] = mapped_column()
    thumbnail_url: Mapped[str | None] = mapped_column(String(1024))
    preview_url: Mapped[str | None] = mapped_column(String(1024))
    width: Mapped[int | None] = mapped_column()
    height: Mapped[int | None] = mapped_column()

    access_level: Mapped[MediaAccessLevel] = mapped_column(
        enum_column(MediaAccessLevel, "media_access_level"),
        default=MediaAccessLevel.MEMBERS_ONLY,
        index=True,
    )
    required_tier: Mapped[Tier | None] = mapped_column(enum_column(Tier, "media_required_tier"), index=True)

    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    entity_type: Mapped[EntityType | None] = mapped_column(enum_column(EntityType, "media_entity_type"))
    entity_id: Mapped[str | None] = mapped_column(String(36))

    extra_metadata: Mapped[dict] = mapped_column("metadata", JSON, default=dict)
    view_count: Mapped[int] = mapped_column(default=0)
    download_count: Mapped[int] = mapped_column(default=0)
    # Media management: Stream's thumbnail time, a requireSignedURLs change Stream has still to take,
    # and a deletion Stream has still to complete (the asset is hidden meanwhile).
    thumbnail_timestamp_pct: Mapped[float | None] = mapped_column(Float)
    stream_sync_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    deletion_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    tag_rows: Mapped[list["MediaTag"]] = relationship(
        back_populates="asset", cascade="all, delete-orphan", order_by="MediaTag.tag"
    )
    captions: Mapped[list["Caption"]] = relationship(
        back_populates="asset", cascade="all, delete-orphan", order_by="Caption.language"
    )

    @property
    def tags(self):
        """The asset's tags as a sorted list of strings."""
        return [row.tag for row in self.tag_rows]

    @tags.setter
    def tags(self, values):
        wanted = sorted({v.strip().lower() for v in values if v and v.strip()})
        self.tag_rows = [MediaTag(tag=tag) for tag in wanted]

    @property
    def caption_languages(self):
        """Languages with a caption track, from the captions table."""
        return [caption.language for caption in self.captions]

    @property
    def captions_available(self):
        """True when at least one caption track exists."""
        return bool(self.captions)

    def __repr__(self):
        return f"<MediaAsset {self.id} {self.title!r} {self.status.value}>"


class MediaTag(db.Model):
    """One tag on one asset; indexed so the library can filter by tag."""

    __tablename__ = "media_tags"

    asset_id: Mapped[str] = mapped_column(ForeignKey("media_assets.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    asset: Mapped[MediaAsset] = relationship(back_populates="tag_rows")


class Caption(db.Model):
    """A caption track: one per asset and language."""

    __tablename__ = "captions"
    __table_args__ = (UniqueConstraint("asset_id", "language", name="uq_captions_asset_language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[str] = mapped_column(ForeignKey("media_assets.id", ondelete="CASCADE"), index=True)
    language: Mapped[str] = mapped_column(String(35))
    label: Mapped[str] = mapped_column(String(100))
    source_format: Mapped[str] = mapped_column(String(8), default="vtt")
    # Generated by Stream (from the audio) rather than uploaded; Stream's status: ready, inprogress, error.
    generated: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="ready")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    asset: Mapped[MediaAsset] = relationship(back_populates="captions")
