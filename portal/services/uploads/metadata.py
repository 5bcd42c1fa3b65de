"""Checking what an uploader sends: file name, size, title, tags, access rules and entity link."""

import os
import re

from portal.extensions import db
from portal.models import EntityType, Event, MediaAccessLevel, Tier, TrainingSession, User
from portal.parsing import whole_number

from .errors import UploadError

# The seed's containers, by extension, with the MIME type stored on the asset.
CONTAINERS = {
    "mp4": "video/mp4",
    "m4v": "video/mp4",
    "mov": "video/quicktime",
    "mkv": "video/x-matroska",
    "webm": "video/webm",
    "avi": "video/x-msvideo",
    "flv": "video/x-flv",
}
KNOWN_FIELDS = {
    "file_name",
    "file_size",
    "title",
    "description",
    "tags",
    "access_level",
    "required_tier",
    "entity_type",
    "entity_id",
    "sha256",
    "mime_type",
}
MAX_FILE_NAME = 255
MAX_TITLE = 200
MAX_DESCRIPTION = 5000
MAX_TAGS = 20
MAX_TAG = 64
# Control and bidi override characters, and unpaired surrogates (JSON's "\ud800" cannot be stored)
CONTROL = re.compile(r"[\x00-\x1f\x7f\u0080-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _error(status, code, message, field):
    return UploadError(status, code, message, field=field)


def text(data, name, max_length, required=False, multiline=False):
    """A string field (stripped), None when absent and optional; 400/422 when wrong."""
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip() and not required):
        if required:
            raise _error(400, "missing_field", f"'{name}' is required.", name)
        return None
    if not isinstance(value, str):
        raise _error(422, "invalid_field", f"'{name}' must be a string.", name)
    value = value.strip()
    if not value:
        raise _error(400, "missing_field", f"'{name}' is required.", name)
    if len(value) > max_length:
        raise _error(422, "field_too_long", f"'{name}' is longer than {max_length} characters.", name)
    checked = value.replace("\n", "").replace("\r", "").replace("\t", "") if multiline else value
    if CONTROL.search(checked):
        raise _error(
            422, "invalid_field", f"'{name}' must not contain control characters or broken text.", name
        )
    return value


def file_name(data):
    """The file's own name (no folders, no control characters) and its container extension."""
    name = text(data, "file_name", MAX_FILE_NAME, required=True)
    if "/" in name or "\\" in name or name in (".", "..") or name != os.path.basename(name):
        raise _error(
            422, "invalid_file_name", "'file_name' must be a bare file name, without folders.", "file_name"
        )
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in CONTAINERS:
        allowed = ", ".join(sorted({".mp4", ".mov", ".mkv", ".avi", ".flv", ".webm", ".m4v"}))
        raise _error(415, "unsupported_file_type", f"Upload a video file ({allowed}).", "file_name")
    return name, extension


def file_size(data, maximum):
    """A whole number of bytes, 1 to `maximum` (413 above)."""
    value = data.get("file_size")
    if value is None:
        raise _error(400, "missing_field", "'file_size' is required.", "file_size")
    if isinstance(value, bool) or not isinstance(value, int):
        raise _error(422, "invalid_file_size", "'file_size' must be a whole number of bytes.", "file_size")
    if value <= 0:
        raise _error(422, "invalid_file_size", "'file_size' must be at least 1 byte.", "file_size")
    if value > maximum:
        raise _error(413, "file_too_large", f"Files may be at most {maximum} bytes.", "file_size")
    return value


def tags(value):
    """A list of short tags (a JSON list, or a comma-separated string from a form)."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise _error(422, "invalid_tags", "'tags' must be a list of strings.", "tags")
    cleaned = [tag.strip().lower() for tag in value if tag.strip()]
    if len(cleaned) > MAX_TAGS:
        raise _error(422, "invalid_tags", f"At most {MAX_TAGS} tags.", "tags")
    for tag in cleaned:
        if len(tag) > MAX_TAG or CONTROL.search(tag):
            raise _error(422, "invalid_tags", f"Tags are at most {MAX_TAG} printable characters.", "tags")
    return cleaned


def _choice(data, name, enum_class, code):
    value = data.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or value not in {member.value for member in enum_class}:
        choices = ", ".join(member.value for member in enum_class)
        raise _error(422, code, f"'{name}' must be one of: {choices}.", name)
    return enum_class(value)


def access_rules(data):
    """(access level, required tier): a tier only, and always, for tier_specific videos."""
    level = _choice(data, "access_level", MediaAccessLevel, "invalid_access_level")
    level = level or MediaAccessLevel.MEMBERS_ONLY
    tier = _choice(data, "required_tier", Tier, "invalid_tier")
    if level == MediaAccessLevel.TIER_SPECIFIC and tier is None:
        raise _error(
            422, "missing_required_tier", "A tier_specific video needs a 'required_tier'.", "required_tier"
        )
    if level != MediaAccessLevel.TIER_SPECIFIC and tier is not None:
        raise _error(
            422,
            "tier_without_tier_access",
            "'required_tier' only applies to tier_specific videos.",
            "required_tier",
        )
    return level, tier


def entity_link(data):
    """(entity type, entity id) of an existing training session, event or profile, or (None, None)."""
    kind = _choice(data, "entity_type", EntityType, "invalid_entity_type")
    raw_id = data.get("entity_id")
    if kind is None and raw_id in (None, ""):
        return None, None
    if kind is None:
        raise _error(422, "missing_entity_type", "'entity_id' needs an 'entity_type'.", "entity_type")
    if isinstance(raw_id, int) and not isinstance(raw_id, bool):
        raw_id = str(raw_id)
    entity_id = text({"entity_id": raw_id}, "entity_id", 36, required=True)
    model = {EntityType.TRAINING_SESSION: TrainingSession, EntityType.EVENT: Event}.get(kind)
    if model is not None:
        found = db.session.get(model, entity_id)
    else:
        user_id = whole_number(entity_id)
        found = db.session.get(User, user_id) if user_id is not None else None
    if found is None:
        raise _error(422, "unknown_entity", f"No {kind.value} has the id {entity_id!r}.", "entity_id")
    return kind, entity_id


def checked_metadata(data, max_size, size=None):
    """Everything an upload carries, checked; raises UploadError naming the first bad field."""
    unknown = sorted(set(data) - KNOWN_FIELDS - {"csrf_token"})
    if unknown:
        raise _error(422, "unknown_field", f"Unknown field(s): {', '.join(unknown)}.", unknown[0])
    name, extension = file_name(data)
    size = file_size({"file_size": size} if size is not None else data, max_size)
    level, tier = access_rules(data)
    entity_type, entity_id = entity_link(data)
    checksum = data.get("sha256")
    if checksum is not None and (not isinstance(checksum, str) or not SHA256.match(checksum.lower())):
        raise _error(422, "invalid_sha256", "'sha256' must be 64 hexadecimal digits.", "sha256")
    return {
        "file_name": name,
        "extension": extension,
        "file_size": size,
        "mime_type": CONTAINERS[extension],
        "title": text(data, "title", MAX_TITLE, required=True),
        "description": text(data, "description", MAX_DESCRIPTION, multiline=True) or "",
        "tags": tags(data.get("tags")),
        "access_level": level,
        "required_tier": tier,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "sha256": checksum.lower() if checksum else None,
    }
