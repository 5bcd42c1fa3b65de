"""Signed playback tokens (self-signed RS256 JWTs in Cloudflare's format) and customer-domain URLs."""

import base64
import binascii
import time
from urllib.parse import quote, urlencode

import jwt
from cryptography.hazmat.primitives import serialization
from markupsafe import Markup, escape

MAX_TOKEN_SECONDS = 86_400  # Cloudflare refuses tokens whose exp is more than 24 h ahead
NBF_SKEW_SECONDS = 60  # nbf a little in the past so a fast viewer clock is not refused
MAX_ACCESS_RULES = 5
FITS = ("crop", "clip", "scale", "fill")
PLAYER_ALLOW = "accelerometer; gyroscope; autoplay; encrypted-media; picture-in-picture;"


def load_signing_key(value):
    """Load an RSA private key from a PEM, or from the base64-encoded PEM that /stream/keys returns."""
    if not value or hasattr(value, "private_bytes"):
        return value or None
    text = value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)
    text = text.strip().replace("\\n", "\n")
    if "-----BEGIN" not in text:
        try:
            text = base64.b64decode("".join(text.split()), validate=True).decode("ascii")
        except (binascii.Error, UnicodeDecodeError):
            raise ValueError("signing key is neither a PEM nor a base64-encoded PEM") from None
    try:
        return serialization.load_pem_private_key(text.encode("ascii"), password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"signing key PEM could not be loaded: {type(exc).__name__}") from None


def check_expiry(expiry_seconds):
    """Refuse expiries that are not positive or exceed Cloudflare's 24 h cap."""
    if isinstance(expiry_seconds, bool) or not isinstance(expiry_seconds, (int, float)):
        raise ValueError("expiry_seconds must be a number of seconds")
    if expiry_seconds <= 0:
        raise ValueError("expiry_seconds must be positive")
    if expiry_seconds > MAX_TOKEN_SECONDS:
        raise ValueError(
            f"expiry_seconds {expiry_seconds} exceeds Cloudflare's 24 h cap ({MAX_TOKEN_SECONDS} s)"
        )
    return int(expiry_seconds)


def sign_token(
    video_id,
    key_id,
    private_key,
    expiry_seconds=MAX_TOKEN_SECONDS,
    user_id=None,
    downloadable=False,
    access_rules=None,
    now=None,
):
    """Mint a playback token: header alg+kid; claims sub, kid, exp, nbf, iat (+ rules, user_id)."""
    if not video_id:
        raise ValueError("video_id is required")
    if not key_id or private_key is None:
        raise ValueError("no Stream signing key configured (run `flask stream setup`)")
    expiry = check_expiry(expiry_seconds)
    now = int(time.time() if now is None else now)
    claims = {
        "sub": str(video_id),
        "kid": key_id,
        "exp": now + expiry,
        "nbf": now - NBF_SKEW_SECONDS,
        "iat": now,
    }
    if downloadable:
        claims["downloadable"] = True
    if access_rules:
        if len(access_rules) > MAX_ACCESS_RULES:
            raise ValueError(f"Cloudflare allows at most {MAX_ACCESS_RULES} accessRules per token")
        claims["accessRules"] = list(access_rules)
    if user_id is not None:
        claims["user_id"] = str(user_id)
    return jwt.encode(claims, private_key, algorithm="RS256", headers={"kid": key_id, "typ": None})


def delivery_url(customer_base, id_or_token, path):
    """`<customer base>/<uid or token>/<path>`."""
    return f"{customer_base.rstrip('/')}/{quote(str(id_or_token), safe='')}/{path.lstrip('/')}"


def format_time(seconds):
    """Cloudflare's thumbnail time parameter, e.g. `0s`, `12.5s`."""
    seconds = float(seconds)
    if seconds < 0:
        raise ValueError("time_seconds must not be negative")
    return f"{int(seconds)}s" if seconds.is_integer() else f"{seconds:g}s"


def thumbnail_url(
    customer_base, id_or_token, time_seconds=0, width=640, height=360, fit="crop", animated=False
):
    """The thumbnail URL with time/width/height/fit (GIF when animated)."""
    if fit not in FITS:
        raise ValueError(f"fit must be one of {', '.join(FITS)}")
    query = {"time": format_time(time_seconds), "width": int(width), "height": int(height), "fit": fit}
    name = "thumbnail.gif" if animated else "thumbnail.jpg"
    return f"{delivery_url(customer_base, id_or_token, 'thumbnails/' + name)}?{urlencode(query)}"


PLAYER_OPTIONS = {  # accepted spellings -> Cloudflare's query parameter
    "autoplay": "autoplay",
    "muted": "muted",
    "loop": "loop",
    "controls": "controls",
    "preload": "preload",
    "poster": "poster",
    "defaultTextTrack": "defaultTextTrack",
    "default_text_track": "defaultTextTrack",
    "startTime": "startTime",
    "start_time": "startTime",
    "primaryColor": "primaryColor",
    "primary_color": "primaryColor",
    "letterboxColor": "letterboxColor",
    "letterbox_color": "letterboxColor",
}
FLAG_OPTIONS = {"autoplay", "muted", "loop"}


def player_query(options):
    """Query string for the Stream Player from the documented options; unknown options raise."""
    params = {}
    for key, value in (options or {}).items():
        if key == "title":
            continue
        if key not in PLAYER_OPTIONS:
            raise ValueError(f"unknown Stream Player option {key!r}")
        name = PLAYER_OPTIONS[key]
        if name in FLAG_OPTIONS:
            if value:
                params[name] = "true"
        elif name == "controls":
            if not value:
                params[name] = "false"
        elif name == "preload":
            value = {True: "auto", False: "none"}.get(value, value)
            if value not in ("auto", "metadata", "none"):
                raise ValueError("preload must be auto, metadata or none")
            params[name] = value
        elif value is not None and value != "":
            params[name] = str(value)
    return urlencode(params, quote_via=quote)


def embed_html(iframe_src, title="Video player"):
    """Cloudflare's responsive iframe embed without inline styles (CSP style-src 'self' blocks them).

    The 16:9 wrapper and the borderless full-size iframe come from `.stream-player` in
    static/css/portal.css; the iframe's own attributes are the ones Cloudflare documents.
    """
    return Markup(
        '<div class="stream-player">'
        '<iframe src="{src}" title="{title}" loading="lazy" '
        'allow="{allow}" allowfullscreen="true"></iframe></div>'
    ).format(src=iframe_src, title=escape(title), allow=PLAYER_ALLOW)
