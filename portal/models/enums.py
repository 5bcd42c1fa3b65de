"""The portal's enumerations: roles, tiers and the seed's media_assets enums."""

import enum

from sqlalchemy import Enum as SAEnum


class Role(str, enum.Enum):
    """What an account may do."""

    ADMIN = "admin"
    INSTRUCTOR = "instructor"
    MEMBER = "member"


class Tier(str, enum.Enum):
    """Membership tiers, lowest first; a tier includes everything below it."""

    FREE = "free"
    BASIC = "basic"
    PREMIUM = "premium"
    LIFETIME = "lifetime"

    @property
    def rank(self):
        """Position of the tier in the ordering free < basic < premium < lifetime."""
        return list(Tier).index(self)


class MediaAssetStatus(str, enum.Enum):
    """Where an asset is in its life: uploading, processing, ready or failed."""

    UPLOADING = "uploading"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


class MediaAccessLevel(str, enum.Enum):
    """Who may watch an asset."""

    PUBLIC = "public"
    MEMBERS_ONLY = "members_only"
    TIER_SPECIFIC = "tier_specific"


class MediaType(str, enum.Enum):
    """Kinds of media the portal stores."""

    VIDEO = "video"
    IMAGE = "image"
    DOCUMENT = "document"


class StorageProvider(str, enum.Enum):
    """Where an asset's bytes live (the seed's zerodb is the object store)."""

    CLOUDFLARE_STREAM = "cloudflare_stream"
    ZERODB = "zerodb"


class EntityType(str, enum.Enum):
    """What an asset can be linked to."""

    TRAINING_SESSION = "training_session"
    EVENT = "event"
    PROFILE = "profile"


class RecordingStatus(str, enum.Enum):
    """State of a training session's recording."""

    NONE = "none"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


def enum_column(enum_class, name):
    """A portable VARCHAR + CHECK column storing the enum's values (not its names)."""
    return SAEnum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        validate_strings=True,
        values_callable=lambda members: [member.value for member in members],
    )
