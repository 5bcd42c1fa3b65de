"""Who may see and watch which video: the portal's one access policy.

Every surface asks here: the library grid and search, the watch page, thumbnails, captions,
related videos, continue watching, the access-url endpoint and the JSON API.

- Roles: admins and instructors ("staff") see and play everything, ready or not.
- Everyone else sees only `ready` videos; any other status is invisible (a 404).
- `public` plays for anyone, signed in or not.
- `members_only` plays for any signed-in, active account.
- `tier_specific` plays for members whose tier is at or above `required_tier`
  (free < basic < premium < lifetime; a tier includes everything below it).
- An asset marked for deletion (Stream failed to delete it; a job finishes) is invisible to all.
- A visible video the caller may not play is *locked*: its title, duration, tags and the tier it
  needs may be shown, never its thumbnail, its Stream uid or any playable URL.

`visibility(user, asset)` decides for one video; `visible_assets_clause(user)` and `playable_assets_clause(user)`
are the same rules as SQL filters, for lists.
"""

import enum
from dataclasses import dataclass

from sqlalchemy import and_, false, or_, true

from portal.models import MediaAccessLevel, MediaAsset, MediaAssetStatus, Role, Tier


class Visibility(enum.Enum):
    """What the caller gets for one video."""

    PLAYABLE = "playable"
    LOCKED = "locked"
    INVISIBLE = "invisible"


@dataclass(frozen=True)
class Decision:
    """The policy's answer for one caller and one video, with what a locked one needs."""

    visibility: Visibility
    needs_sign_in: bool = False
    required_tier: Tier | None = None

    @property
    def playable(self):
        """True when the caller may watch the video."""
        return self.visibility is Visibility.PLAYABLE

    @property
    def locked(self):
        """True when the caller may see the video is there but not watch it."""
        return self.visibility is Visibility.LOCKED

    @property
    def visible(self):
        """True when the caller may know the video exists."""
        return self.visibility is not Visibility.INVISIBLE

    @property
    def lock_label(self):
        """What it takes to watch, e.g. "Premium: upgrade to watch" (None unless locked)."""
        if not self.locked:
            return None
        if self.required_tier is not None and self.required_tier is not Tier.FREE:
            return f"{self.required_tier.value.capitalize()}: upgrade to watch"
        return "Members: sign in to watch"


INVISIBLE = Decision(Visibility.INVISIBLE)
PLAYABLE = Decision(Visibility.PLAYABLE)


def is_member(user):
    """True for a signed-in, active account (anonymous visitors and deactivated accounts are not)."""
    return bool(user is not None and user.is_authenticated and user.is_active)


def is_staff(user):
    """Admins and instructors see and play everything."""
    return is_member(user) and user.role in (Role.ADMIN, Role.INSTRUCTOR)


def viewer_class(user):
    """Who the caller is as far as this policy cares: "staff", "anonymous" or the member's tier.

    Every decision and SQL filter here depends on the caller through this alone, so what is
    built for one caller (a grid, a statement) serves every caller of the same class.
    """
    if is_staff(user):
        return "staff"
    if not is_member(user):
        return "anonymous"
    return Tier(user.tier).value


def needed_tier(asset):
    """The lowest tier that plays the video (None for public videos)."""
    if asset.access_level == MediaAccessLevel.PUBLIC:
        return None
    if asset.access_level == MediaAccessLevel.TIER_SPECIFIC:
        return Tier(asset.required_tier or Tier.FREE)
    return Tier.FREE


def visibility(user, asset):
    """The policy for one caller and one video: playable, locked (and why) or invisible."""
    # Being deleted: gone for everyone (card rows lack the column; their query already excludes them).
    if asset is None or getattr(asset, "deletion_requested_at", None) is not None:
        return INVISIBLE
    if is_staff(user):
        return PLAYABLE
    if asset.status != MediaAssetStatus.READY:
        return INVISIBLE
    tier = needed_tier(asset)
    if tier is None:
        return PLAYABLE
    if not is_member(user):
        return Decision(Visibility.LOCKED, needs_sign_in=True, required_tier=tier)
    if Tier(user.tier).rank >= tier.rank:
        return PLAYABLE
    return Decision(Visibility.LOCKED, required_tier=tier)


def can_watch(user, asset):
    """True when the caller may play the video (and so get a token, thumbnail or captions for it)."""
    return visibility(user, asset).playable


def tiers_up_to(tier):
    """The tiers at or below `tier`."""
    return [t for t in Tier if t.rank <= Tier(tier).rank]


def not_being_deleted():
    """SQL filter: assets not marked for deletion (a Stream failure left their deletion to a job)."""
    return MediaAsset.deletion_requested_at.is_(None)


def visible_assets_clause(user):
    """SQL filter: the videos the caller may know exist (playable and locked)."""
    if is_staff(user):
        return not_being_deleted()
    return and_(MediaAsset.status == MediaAssetStatus.READY, not_being_deleted())


def playable_assets_clause(user):
    """SQL filter: the videos the caller may play, the same rules as `visibility`."""
    if is_staff(user):
        return not_being_deleted()
    ready = and_(MediaAsset.status == MediaAssetStatus.READY, not_being_deleted())
    public = MediaAsset.access_level == MediaAccessLevel.PUBLIC
    if not is_member(user):
        return and_(ready, public)
    tier_ok = and_(
        MediaAsset.access_level == MediaAccessLevel.TIER_SPECIFIC,
        or_(MediaAsset.required_tier.is_(None), MediaAsset.required_tier.in_(tiers_up_to(user.tier))),
    )
    return and_(ready, or_(public, MediaAsset.access_level == MediaAccessLevel.MEMBERS_ONLY, tier_ok))


def status_clause(user, status):
    """SQL filter for a status the caller asked for: non-staff only ever get `ready` videos."""
    if status is None:
        return true()
    if not is_staff(user) and status != MediaAssetStatus.READY:
        return false()
    return MediaAsset.status == status
