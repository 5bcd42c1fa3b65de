"""The portal's database models."""

from portal.models.activity import Event, TrainingSession, WebhookDelivery
from portal.models.audit import MediaChange
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
from portal.models.sign_in import SignInAttempt
from portal.models.user import User, normalize_email, parse_user_id  # noqa: F401  (re-exported)
from portal.models.watching import DailyView, WatchProgress

__all__ = [
    "Caption",
    "EntityType",
    "Event",
    "MediaAccessLevel",
    "MediaAsset",
    "MediaAssetStatus",
    "MediaChange",
    "MediaTag",
    "MediaType",
    "Notification",
    "RecordingStatus",
    "Role",
    "SignInAttempt",
    "StorageProvider",
    "Tier",
    "TrainingSession",
    "User",
    "WebhookDelivery",
    "DailyView",
    "WatchProgress",
]
