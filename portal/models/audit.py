"""Who changed what on a media asset: access, tier, captions and deletion, kept after the asset goes."""

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.user import User, utcnow


class MediaChange(db.Model):
    """One recorded change: who, when, which asset, what (action and field), from what, to what."""

    __tablename__ = "media_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign key: the record of a deletion outlives the asset.
    asset_id: Mapped[str] = mapped_column(String(36), index=True)
    asset_title: Mapped[str] = mapped_column(String(200), default="")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    field: Mapped[str] = mapped_column(String(64), default="")
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    user: Mapped[User | None] = relationship()
