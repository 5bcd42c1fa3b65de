"""Translate the portal's metadata and filters into Cloudflare's JSON fields, tus pairs and query."""

from datetime import UTC, date, datetime

# portal key -> Cloudflare JSON field (copy / edit bodies)
JSON_FIELDS = {
    "require_signed_urls": "requireSignedURLs",
    "creator": "creator",
    "max_duration_seconds": "maxDurationSeconds",
    "thumbnail_timestamp_pct": "thumbnailTimestampPct",
    "allowed_origins": "allowedOrigins",
    "scheduled_deletion": "scheduledDeletion",
    "meta": "meta",
}
CLOUDFLARE_FIELDS = frozenset(JSON_FIELDS.values()) | {"uploadExpiry", "publicDetails", "uid", "watermark"}
TITLE_KEYS = ("name", "title")
LIST_FILTERS = {
    "search",
    "status",
    "creator",
    "before",
    "after",
    "start",
    "end",
    "limit",
    "include_counts",
    "asc",
    "type",
    "video_name",
    "name",
    "id",
}


def split_title(metadata):
    """Return (title or None, the rest) from metadata that may name the video as `name` or `title`."""
    metadata = dict(metadata or {})
    title = None
    for key in TITLE_KEYS:
        value = metadata.pop(key, None)
        if value is not None and title is None:
            title = str(value)
    return title, metadata


def to_json_fields(metadata):
    """Map portal metadata (snake_case or Cloudflare's own names) to a Cloudflare JSON body.

    `name`/`title` become `meta.name`. Unknown keys raise ValueError, so typos never go unnoticed.
    """
    title, rest = split_title(metadata)
    body = {}
    for key, value in rest.items():
        if key in JSON_FIELDS:
            body[JSON_FIELDS[key]] = value
        elif key in CLOUDFLARE_FIELDS:
            body[key] = value
        else:
            raise ValueError(f"unknown Stream video field {key!r}")
    if "meta" in body and not isinstance(body["meta"], dict):
        raise ValueError("Stream `meta` must be a dict")
    if title is not None:
        body["meta"] = dict(body.get("meta") or {}, name=title)
    if "requireSignedURLs" in body:
        body["requireSignedURLs"] = bool(body["requireSignedURLs"])
    return body


def to_tus_pairs(metadata):
    """Map portal metadata to tus Upload-Metadata pairs and an Upload-Creator value.

    `requiresignedurls` is sent as a bare flag; `meta` entries travel as extra keys, which
    Cloudflare stores in the video's `meta`.
    """
    body = to_json_fields(metadata)
    meta = dict(body.pop("meta", None) or {})
    pairs = []
    if "name" in meta:
        pairs.append(("name", meta.pop("name")))
    if body.pop("requireSignedURLs", False):
        pairs.append(("requiresignedurls", None))
    if body.get("maxDurationSeconds") is not None:
        pairs.append(("maxdurationseconds", int(body.pop("maxDurationSeconds"))))
    if body.get("thumbnailTimestampPct") is not None:
        pairs.append(("thumbnailtimestamppct", float(body.pop("thumbnailTimestampPct"))))
    if body.get("allowedOrigins"):
        pairs.append(("allowedorigins", ",".join(body.pop("allowedOrigins"))))
    if body.get("scheduledDeletion"):
        pairs.append(("scheduleddeletion", body.pop("scheduledDeletion")))
    if isinstance(body.get("watermark"), dict) and body["watermark"].get("uid"):
        pairs.append(("watermark", body.pop("watermark")["uid"]))
    pairs.extend((str(k), v) for k, v in meta.items() if v is not None)
    return pairs, body.get("creator")


def as_int(value):
    """Cloudflare sends list `range`/`total` as ints or numeric strings."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def list_params(filters):
    """Query parameters for the list endpoint from portal filters; unknown filters raise."""
    params = {}
    for key, value in (filters or {}).items():
        if key not in LIST_FILTERS:
            raise ValueError(f"unknown Stream list filter {key!r}")
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, datetime):
            value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
            value = value.isoformat().replace("+00:00", "Z")
        elif isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, (list, tuple, set)):
            value = ",".join(str(v) for v in value)
        elif key == "limit" and not 1 <= int(value) <= 1000:
            raise ValueError("limit must be between 1 and 1000")
        params[key] = value
    return params
