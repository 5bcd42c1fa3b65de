"""The portal's database models."""

from portal.models.activity import Event, TrainingSession, WebhookDelivery
from portal.models.enums import (
    EntityType,
    MediaAccessLevel,
    MediaAssetStatus,
    MediaType,
    RecordingStatus,
    Role,
    StorageProvider,
    Tier,
)
from portal.models.media import Caption, MediaAsset, MediaTag
from portal.models.notification import Notification
from portal.models.user import User, normalize_email  # noqa: F401  (re-exported)

__all__ = [
    "Caption",
    "EntityType",
    "Event",
    "MediaAccessLevel",
    "MediaAsset",
    "MediaAssetStatus",
    "MediaTag",
    "MediaType",
    "Notification",
    "RecordingStatus",
    "Role",
    "StorageProvider",
    "Tier",
    "TrainingSession",
    "User",
    "WebhookDelivery",
]
