"""Video records as stored on disk, and the Cloudflare video objects rendered from them."""

import secrets
from datetime import UTC, datetime, timedelta

STATES = ("pendingupload", "downloading", "queued", "inprogress", "ready", "error")
PUBLIC_DETAILS = {"title": None, "share_link": None, "channel_link": None, "logo": None, "media_id": None}


def now_utc():
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def format_timestamp(moment):
    """RFC3339 with microseconds and a Z, as Cloudflare writes its timestamps."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def timestamp_now(offset_seconds=0):
    """Now (plus an offset) as a Cloudflare timestamp string."""
    return format_timestamp(now_utc() + timedelta(seconds=offset_seconds))


def parse_timestamp(value):
    """An RFC3339 string (or unix seconds) as an aware datetime; ValueError if it is neither (or out of range)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _from_unix(value)
    if not isinstance(value, str) or not value.strip():
        raise ValueError("not a timestamp")
    text = value.strip()
    if text.isascii() and text.isdigit():
        return _from_unix(int(text))
    moment = datetime.fromisoformat(text.replace("z", "Z"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError as error:  # e.g. 0001-01-01T00:00:00+01:00
        raise ValueError(f"timestamp out of range: {error}") from None


def _from_unix(seconds):
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError) as error:
        raise ValueError(f"timestamp out of range: {error}") from None


def new_uid():
    """A fresh 32-hex-character video uid."""
    return secrets.token_hex(16)


def pct(value):
    """pctComplete as Cloudflare writes it: a string with six decimals."""
    return f"{float(value):.6f}"


def new_video_record(state, **fields):
    """A record for a new video in `state`; private keys start with an underscore."""
    created = timestamp_now()
    record = {
        "uid": new_uid(),
        "creator": None,
        "thumbnailTimestampPct": 0,
        "readyToStream": False,
        "readyToStreamAt": None,
        "status": {"state": state, "pctComplete": pct(0), "errorReasonCode": "", "errorReasonText": ""},
        "meta": {},
        "created": created,
        "modified": created,
        "uploaded": None,
        "uploadExpiry": None,
        "scheduledDeletion": None,
        "size": 0,
        "allowedOrigins": [],
        "requireSignedURLs": False,
        "maxSizeBytes": None,
        "maxDurationSeconds": None,
        "duration": -1,
        "input": {"width": -1, "height": -1},
        "watermark": None,
        "liveInput": None,
        "clippedFrom": None,
        "publicDetails": dict(PUBLIC_DETAILS),
        "_captions": {},
        "_downloads": {},
    }
    record.update(fields)
    return record


def render_video(record, customer_base):
    """The public video object for `record`, with URLs under the customer domain `customer_base`."""
    video = {key: value for key, value in record.items() if not key.startswith("_")}
    base = f"{customer_base.rstrip('/')}/{record['uid']}"
    video["thumbnail"] = f"{base}/thumbnails/thumbnail.jpg"
    video["preview"] = f"{base}/watch"
    video["playback"] = {"hls": f"{base}/manifest/video.m3u8", "dash": f"{base}/manifest/video.mpd"}
    return video


def state_of(record):
    """The video's status.state."""
    return record["status"]["state"]
