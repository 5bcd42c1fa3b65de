"""Validation of the video fields that copy, tus metadata and edit requests may set."""

from datetime import timedelta

from .envelope import bad_request
from .videos import format_timestamp, parse_timestamp

MAX_DURATION_SECONDS = 36000
PUBLIC_DETAIL_KEYS = ("title", "share_link", "channel_link", "logo")


def _timestamp(name, value):
    try:
        return parse_timestamp(value)
    except (TypeError, ValueError):
        raise bad_request(f"{name} must be an RFC3339 timestamp") from None


def scheduled_deletion(value, base_timestamp):
    """A validated scheduledDeletion (30 to 1,096 days after `base_timestamp`), formatted; None clears it."""
    if value is None:
        return None
    moment = _timestamp("scheduledDeletion", value)
    base = parse_timestamp(base_timestamp)
    if not base + timedelta(days=30) - timedelta(minutes=5) <= moment <= base + timedelta(days=1096):
        raise bad_request("scheduledDeletion must be between 30 and 1,096 days after the video was uploaded")
    return format_timestamp(moment)


def video_changes(body, record):
    """Record changes for the settable fields present in `body`; raises a 400 ApiError for a bad value."""
    changes = {}
    if "meta" in body:
        if not isinstance(body["meta"], dict):
            raise bad_request("meta must be an object")
        changes["meta"] = body["meta"]
    if "requireSignedURLs" in body:
        if not isinstance(body["requireSignedURLs"], bool):
            raise bad_request("requireSignedURLs must be a boolean")
        changes["requireSignedURLs"] = body["requireSignedURLs"]
    if "allowedOrigins" in body:
        origins = body["allowedOrigins"]
        if not isinstance(origins, list) or not all(isinstance(origin, str) for origin in origins):
            raise bad_request("allowedOrigins must be a list of strings")
        changes["allowedOrigins"] = origins
    if "creator" in body:
        creator = body["creator"]
        if creator is not None and (not isinstance(creator, str) or len(creator) > 64):
            raise bad_request("creator must be a string of at most 64 characters")
        changes["creator"] = creator
    if "thumbnailTimestampPct" in body:
        value = body["thumbnailTimestampPct"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise bad_request("thumbnailTimestampPct must be a number between 0 and 1")
        changes["thumbnailTimestampPct"] = value
    if "maxDurationSeconds" in body:
        value = body["maxDurationSeconds"]
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DURATION_SECONDS
        ):
            raise bad_request(f"maxDurationSeconds must be an integer from 1 to {MAX_DURATION_SECONDS}")
        changes["maxDurationSeconds"] = value
    if "scheduledDeletion" in body:
        base = record.get("uploaded") or record["created"]
        changes["scheduledDeletion"] = scheduled_deletion(body["scheduledDeletion"], base)
    if "uploadExpiry" in body:
        value = body["uploadExpiry"]
        changes["uploadExpiry"] = (
            None if value is None else format_timestamp(_timestamp("uploadExpiry", value))
        )
    if "publicDetails" in body:
        details = body["publicDetails"]
        if not isinstance(details, dict):
            raise bad_request("publicDetails must be an object")
        merged = dict(record.get("publicDetails") or {})
        merged.update({key: details[key] for key in PUBLIC_DETAIL_KEYS if key in details})
        changes["publicDetails"] = merged
    return changes
