"""Stream video objects checked before anything is stored or applied: every field's type and range.

Two stages. At the endpoint (parse_payload): a JSON object whose strings can all be stored (no
unpaired surrogates smuggled in as \\ud800 escapes), with a well-formed uid; else the endpoint answers
400. In the job (check_video): the fields an asset takes (duration, sizes, URLs, modified, error
reason); a video object that fails is recorded as refused, never retried.
"""

import json
import math
import re
from datetime import UTC, datetime, timedelta

UID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_DURATION_SECONDS = 30 * 24 * 3600
MAX_DIMENSION = 100_000
MAX_URL_LENGTH = 1024
MAX_REASON_LENGTH = 2000
# A `modified` this far ahead of our clock is believed (clocks drift); further ahead, it is refused:
# a far-future time would make the asset refuse every later real event as "older".
MODIFIED_SKEW = timedelta(minutes=5)
_FRACTION = re.compile(r"(?<=:\d\d)\.(\d+)")


class InvalidPayload(ValueError):
    """A webhook body or video object the portal will not store or apply, with the reason."""


def unstorable_string(value):
    """True when a string, or any key or string inside a JSON value, cannot be encoded as UTF-8 or
    holds a NUL character (PostgreSQL text cannot store it)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def parse_payload(raw_body):
    """The video object of a webhook body, with a well-formed uid; InvalidPayload if unusable."""
    try:
        video = json.loads(bytes(raw_body).decode("utf-8"))
    except (ValueError, RecursionError):
        raise InvalidPayload("the body is not UTF-8 JSON") from None
    if not isinstance(video, dict):
        raise InvalidPayload("the body is not a JSON object")
    if unstorable_string(video):
        raise InvalidPayload(
            "the body holds strings that cannot be stored (unpaired surrogates or NUL characters)"
        )
    uid = video.get("uid")
    if not isinstance(uid, str) or not UID_PATTERN.fullmatch(uid):
        raise InvalidPayload("the body has no uid of 1-64 letters, digits, '-' or '_'")
    return video


def parse_modified(value):
    """A video's RFC3339 `modified` as a comparable (datetime to the second, nanoseconds), or None.

    Cloudflare writes micro- or nanoseconds; datetime keeps only microseconds, so the fraction
    is kept apart to tell two nanosecond-close times apart.
    """
    if not isinstance(value, str) or len(value) > 40:
        return None
    match = _FRACTION.search(value.strip())
    whole = _FRACTION.sub("", value.strip(), count=1) if match else value.strip()
    try:
        moment = datetime.fromisoformat(whole.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    nanos = int(match.group(1)[:9].ljust(9, "0")) if match else 0
    return moment.astimezone(UTC), nanos


def in_the_future(parsed, now=None):
    """True when a parsed `modified` is ahead of our clock by more than the allowed skew."""
    return parsed is not None and parsed[0] > (now or datetime.now(UTC)) + MODIFIED_SKEW


def _number(video, name, low, high, container=None):
    value = (container if container is not None else video).get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidPayload(f"{name} is not a number")
    if not math.isfinite(value) or not low <= value <= high:
        raise InvalidPayload(f"{name} is out of range")


def _url(value, name):
    if value is None or value == "":
        return
    if (
        not isinstance(value, str)
        or len(value) > MAX_URL_LENGTH
        or not value.startswith(("https://", "http://"))
    ):
        raise InvalidPayload(f"{name} is not an http(s) URL")


def _object(video, name):
    value = video.get(name)
    if value is not None and not isinstance(value, dict):
        raise InvalidPayload(f"{name} is not an object")
    return value or {}


def check_video(video):
    """Raise InvalidPayload unless every field an asset takes from `video` has the right type and range."""
    if unstorable_string(video):  # Stream's own answer (the reconcile) is checked as the webhook's is
        raise InvalidPayload("the video holds strings that cannot be stored")
    status, size, playback = _object(video, "status"), _object(video, "input"), _object(video, "playback")
    _number(video, "duration", -1, MAX_DURATION_SECONDS)  # Cloudflare writes -1 while it is unknown
    _number(video, "width", -1, MAX_DIMENSION, container=size)
    _number(video, "height", -1, MAX_DIMENSION, container=size)
    _url(video.get("thumbnail"), "thumbnail")
    _url(video.get("preview"), "preview")
    _url(playback.get("hls"), "playback.hls")
    _url(playback.get("dash"), "playback.dash")
    state = status.get("state")
    if state is not None and not isinstance(state, str):
        raise InvalidPayload("status.state is not a string")
    for source in (status, video):
        for name in ("errorReasonCode", "errorReasonText", "errReasonCode", "errReasonText"):
            reason = source.get(name)
            if reason is not None and (not isinstance(reason, str) or len(reason) > MAX_REASON_LENGTH):
                raise InvalidPayload(f"{name} is not a short string")
    modified = video.get("modified")
    if modified is not None:
        parsed = parse_modified(modified)
        if parsed is None:
            raise InvalidPayload("modified is not an RFC 3339 time")
        if in_the_future(parsed):
            raise InvalidPayload("modified is in the future")
