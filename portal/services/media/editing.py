"""Editing an asset: checked metadata, and access changes kept in step with Stream's requireSignedURLs."""

import logging
from dataclasses import dataclass

from portal.errors import APIError
from portal.extensions import db
from portal.models import EntityType, MediaAccessLevel, MediaAssetStatus, MediaType, Tier
from portal.services.media import links
from portal.services.media.audit import record_change
from portal.services.media.captions import stream_failure
from portal.services.stream import StreamError, get_client

log = logging.getLogger(__name__)

FIELDS = {"title", "description", "tags", "access_level", "required_tier", "entity_type", "entity_id"}
LIMITS = {"title": 200, "description": 20_000}
MAX_TAGS, MAX_TAG_LENGTH = 30, 64


@dataclass
class EditOutcome:
    """What an edit did: `stream` is "done", "pending" (a retry job finishes it) or "unchanged"."""

    stream: str = "unchanged"
    message: str = "Saved."


def _text(data, name, required=False):
    value = data[name]
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise APIError(
            400, "invalid_field", f"'{name}' must be a{' non-empty' if required else ''} string.", field=name
        )
    if len(value) > LIMITS[name]:
        raise APIError(
            400, "field_too_long", f"'{name}' is longer than {LIMITS[name]} characters.", field=name
        )
    if "\x00" in value:
        raise APIError(400, "invalid_field", f"'{name}' must not contain NUL characters.", field=name)
    _unicode(value, name)
    return value.strip()


def _unicode(value, name):
    """Refuse text JSON can carry but no database can store: lone UTF-16 surrogates such as "\\ud800"."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise APIError(
            400, "invalid_field", f"'{name}' holds characters that are not valid Unicode.", field=name
        ) from None


def _enum(data, name, enum_class, nullable=False):
    value = data[name]
    if value is None or value == "":
        if nullable:
            return None
        raise APIError(400, "missing_field", f"'{name}' is required.", field=name)
    try:
        return enum_class(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum_class)
        raise APIError(
            400, f"invalid_{name}", f"'{value}' is not a valid {name}; use one of: {allowed}.", field=name
        ) from None


def _tags(value):
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise APIError(400, "invalid_field", "'tags' must be a list of strings.", field="tags")
    tags = [tag.strip() for tag in value if tag.strip()]
    if len(tags) > MAX_TAGS or any(len(tag) > MAX_TAG_LENGTH or "\x00" in tag for tag in tags):
        raise APIError(
            400, "invalid_field", f"At most {MAX_TAGS} tags of {MAX_TAG_LENGTH} characters.", field="tags"
        )
    for tag in tags:
        _unicode(tag, "tags")
    return tags


def parse_changes(data, asset):
    """Check an edit (a dict of the editable fields) against the asset; returns the complete new values."""
    if not isinstance(data, dict):
        raise APIError(400, "invalid_json", "The body must be a JSON object.")
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise APIError(
            400, "unknown_field", f"These fields cannot be edited: {', '.join(unknown)}.", field=unknown[0]
        )
    new = {
        "title": asset.title,
        "description": asset.description or "",
        "tags": asset.tags,
        "access_level": asset.access_level,
        "required_tier": asset.required_tier,
        "entity_type": asset.entity_type,
        "entity_id": asset.entity_id,
    }
    if "title" in data:
        new["title"] = _text(data, "title", required=True)
    if "description" in data:
        new["description"] = _text(data, "description")
    if "tags" in data:
        new["tags"] = _tags(data["tags"])
    if "access_level" in data:
        new["access_level"] = _enum(data, "access_level", MediaAccessLevel)
        if new["access_level"] != MediaAccessLevel.TIER_SPECIFIC and "required_tier" not in data:
            new["required_tier"] = None
    if "required_tier" in data:
        new["required_tier"] = _enum(data, "required_tier", Tier, nullable=True)
    if new["access_level"] == MediaAccessLevel.TIER_SPECIFIC and new["required_tier"] is None:
        raise APIError(
            400, "tier_required", "A tier-specific video needs a 'required_tier'.", field="required_tier"
        )
    if new["access_level"] != MediaAccessLevel.TIER_SPECIFIC and new["required_tier"] is not None:
        raise APIError(
            400,
            "tier_not_applicable",
            f"A {new['access_level'].value} video has no required tier; set access_level to tier_specific.",
            field="required_tier",
        )
    if "entity_type" in data or "entity_id" in data:
        new["entity_type"] = _enum(
            {**{"entity_type": None}, **data}, "entity_type", EntityType, nullable=True
        )
        entity_id = data.get("entity_id")
        if entity_id is not None and not isinstance(entity_id, (str, int)) or isinstance(entity_id, bool):
            raise APIError(400, "invalid_field", "'entity_id' must be a string.", field="entity_id")
        if isinstance(entity_id, str):
            _unicode(entity_id, "entity_id")
        new["entity_id"] = str(entity_id)[:36] if entity_id not in (None, "") else None
        new["entity_id"] = links.check_link(new["entity_type"], new["entity_id"])
    return new


def _set_signed(asset, signed):
    get_client().update_video(asset.stream_video_id, {"require_signed_urls": signed})


def apply_changes(asset, user, new):
    """Apply checked values; a change of who may watch reaches Stream in the same operation.

    Becoming public: Stream first, and if it fails nothing changes (the stricter setting stays).
    Becoming protected: the portal protects it at once; if Stream fails, the asset is marked
    `stream_sync_pending` and the caller enqueues `sync_stream_access` after the commit.
    """
    outcome = EditOutcome()
    old_public = asset.access_level == MediaAccessLevel.PUBLIC
    new_public = new["access_level"] == MediaAccessLevel.PUBLIC
    if asset.stream_video_id and old_public != new_public:
        if new_public:
            try:
                _set_signed(asset, False)
            except StreamError as error:
                raise stream_failure(error, "making the video public (it stays protected)") from None
            outcome.stream = "done"
        else:
            try:
                _set_signed(asset, True)
                outcome.stream = "done"
            except StreamError as error:
                log.warning("Stream did not take requireSignedURLs for %s: %s", asset.id, error)
                asset.stream_sync_pending = True
                outcome.stream = "pending"
                outcome.message = (
                    "Saved, and the portal treats the video as protected now, but Stream could not be reached: "
                    "its old public link keeps working until a retry sets signed links on Stream (within minutes)."
                )
        if outcome.stream == "done":
            asset.stream_sync_pending = False
    elif old_public != new_public and _reaching_stream(asset):
        # Its upload job may be creating the Stream video with the old setting right now.
        asset.stream_sync_pending = True
        outcome.stream = "pending"
        outcome.message = (
            "Saved. The video is still on its way to Stream; Stream gets the new setting when it has it."
        )
    for field, action in (("access_level", "access_changed"), ("required_tier", "tier_changed")):
        if getattr(asset, field) != new[field]:
            record_change(asset, user, action, field, getattr(asset, field), new[field])
    old_session = links.session_id_of(asset)
    old_link = (asset.entity_type, asset.entity_id)
    if old_link != (new["entity_type"], new["entity_id"]):
        describe = lambda kind, key: f"{kind.value}:{key}" if kind else None  # noqa: E731
        record_change(
            asset,
            user,
            "link_changed",
            "entity",
            describe(*old_link),
            describe(new["entity_type"], new["entity_id"]),
        )
    asset.title, asset.description, asset.tags = new["title"], new["description"], new["tags"]
    asset.access_level, asset.required_tier = new["access_level"], new["required_tier"]
    asset.entity_type, asset.entity_id = new["entity_type"], new["entity_id"]
    db.session.flush()
    if old_session != links.session_id_of(asset):
        links.refresh_session_recording(old_session)
        links.refresh_session_recording(links.session_id_of(asset))
    db.session.flush()
    return outcome


def _reaching_stream(asset):
    """A video without its Stream uid yet that an upload job may still push to Stream."""
    return asset.media_type == MediaType.VIDEO and asset.status in (
        MediaAssetStatus.UPLOADING,
        MediaAssetStatus.PROCESSING,
    )


def sync_signed_urls(asset):
    """Set Stream's requireSignedURLs to the asset's access level and clear the pending mark (raises StreamError)."""
    _set_signed(asset, asset.access_level != MediaAccessLevel.PUBLIC)
    asset.stream_sync_pending = False
    db.session.flush()


def parse_thumbnail_pct(value):
    """A thumbnail time as Stream's thumbnailTimestampPct (a number from 0 to 1), or a 400."""
    try:
        pct = float(value)
    except (TypeError, ValueError):
        pct = None
    if isinstance(value, bool) or pct is None or not 0 <= pct <= 1:
        raise APIError(
            400,
            "invalid_thumbnail_pct",
            "The thumbnail time is a fraction of the video from 0 to 1.",
            field="thumbnail_timestamp_pct",
        )
    return round(pct, 4)


def set_thumbnail(asset, user, pct):
    """Have Stream show the frame at `pct` of the video as its thumbnail; nothing changes if Stream fails."""
    if not asset.stream_video_id:
        raise APIError(409, "not_on_stream", "This video is not on Stream yet.")
    try:
        get_client().update_video(asset.stream_video_id, {"thumbnail_timestamp_pct": pct})
    except StreamError as error:
        raise stream_failure(error, "setting the thumbnail") from None
    if asset.thumbnail_timestamp_pct != pct:
        record_change(
            asset, user, "thumbnail_changed", "thumbnail_timestamp_pct", asset.thumbnail_timestamp_pct, pct
        )
    asset.thumbnail_timestamp_pct = pct
    db.session.flush()
