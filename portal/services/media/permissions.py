"""Who may manage an asset: admins any, instructors their own; members and the rest never."""

from portal.errors import APIError
from portal.extensions import db
from portal.models import MediaAsset, Role
from portal.services.media import access


def can_manage(user, asset):
    """True when `user` may edit, re-gate, caption or delete `asset`."""
    if not (user and user.is_authenticated and user.is_active):
        return False
    if user.role == Role.ADMIN:
        return True
    return user.role == Role.INSTRUCTOR and asset.created_by == user.id


def managed_asset(user, asset_id):
    """The asset `user` may manage, or a 404 (unknown or being deleted) / 403 (someone else's) APIError."""
    asset = (
        db.session.get(MediaAsset, asset_id) if isinstance(asset_id, str) and len(asset_id) <= 36 else None
    )
    if asset is None or asset.deletion_requested_at is not None:
        raise APIError(404, "not_found", "No such media asset.")
    if not can_manage(user, asset):
        raise APIError(
            403, "forbidden", "Only an admin or the instructor who uploaded it may change this video."
        )
    return asset


def viewable_asset(user, asset_id):
    """The asset if the access policy lets `user` play it, else a 404 (unknown or invisible) or 403 (locked)."""
    asset = (
        db.session.get(MediaAsset, asset_id) if isinstance(asset_id, str) and len(asset_id) <= 36 else None
    )
    decision = access.visibility(user, asset)
    if not decision.visible:
        raise APIError(404, "not_found", "No such media asset.")
    if decision.locked:
        if decision.needs_sign_in:
            raise APIError(401, "authentication_required", "Sign in to see this video's captions.")
        raise APIError(403, "forbidden", "Your membership does not include this video.")
    return asset
