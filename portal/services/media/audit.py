"""The media change record: who changed access, tier, captions or deleted an asset, from what to what."""

from sqlalchemy import select

from portal.extensions import db
from portal.models import MediaChange


def _text(value):
    """Enum members by their value; None stays None."""
    if value is None:
        return None
    return str(getattr(value, "value", value))


def record_change(asset, user, action, field="", old=None, new=None):
    """Add one change row for `asset` made by `user` (flushed with the caller's transaction)."""
    change = MediaChange(
        asset_id=asset.id,
        asset_title=(asset.title or "")[:200],
        user_id=getattr(user, "id", None),
        action=action,
        field=field,
        old_value=_text(old),
        new_value=_text(new),
    )
    db.session.add(change)
    return change


def changes_for(asset_id, limit=200):
    """The asset's recorded changes, newest first."""
    return db.session.scalars(
        select(MediaChange)
        .where(MediaChange.asset_id == asset_id)
        .order_by(MediaChange.created_at.desc(), MediaChange.id.desc())
        .limit(limit)
    ).all()


def change_json(change):
    """A change as the API returns it."""
    return {
        "action": change.action,
        "field": change.field,
        "from": change.old_value,
        "to": change.new_value,
        "user_id": change.user_id,
        "user_email": change.user.email if change.user else None,
        "at": change.created_at.isoformat(),
    }
