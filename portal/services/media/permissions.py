"""Who may manage an asset: admins any, instructors their own; members and the rest never."""

from portal.errors import APIError
from portal.extensions import db
from portal.models import MediaAccessLevel, MediaAsset, Role, Tier


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


def may_watch(user, asset):
    """Whether `user` may see the asset's tracks: staff always; else by access level and tier.

    Until the library's access policy (portal.services.media.access) is here, the rule is DESIGN.md's.
    """
    if can_manage(user, asset) or (
        user and user.is_authenticated and user.role in (Role.ADMIN, Role.INSTRUCTOR)
    ):
        return True
    if asset.access_level == MediaAccessLevel.PUBLIC:
        return True
    if not (user and user.is_authenticated and user.is_active):
        return False
    if asset.access_level == MediaAccessLevel.MEMBERS_ONLY:
        return True
    return asset.required_tier is not None and Tier(user.tier).rank >= Tier(asset.required_tier).rank


def viewable_asset(user, asset_id):
    """The asset if `user` may watch it, else a 404 (unknown) or 403 (locked) APIError."""
    asset = (
        db.session.get(MediaAsset, asset_id) if isinstance(asset_id, str) and len(asset_id) <= 36 else None
    )
    if asset is None or asset.deletion_requested_at is not None:
        raise APIError(404, "not_found", "No such media asset.")
    if not may_watch(user, asset):
        raise APIError(403, "forbidden", "Your membership does not include this video.")
    return asset
