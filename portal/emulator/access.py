"""Who may fetch a video on the customer domain: uid vs signed token, accessRules, allowedOrigins."""

from urllib.parse import urlsplit

from flask import current_app, g, request

from .signing import TokenRejected, check_access_rules
from .store import is_uid


class DeliveryRefused(Exception):
    """A customer-domain request Cloudflare would refuse, with its status and a short text reason."""

    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _netloc_allowed(allowed, netloc):
    host, _, port = netloc.lower().partition(":")
    for entry in allowed:
        entry = entry.strip().lower()
        entry_host, _, entry_port = entry.partition(":")
        if entry_port and entry_port != port:
            continue
        if not entry_port and port not in ("", "80", "443"):
            continue
        if entry_host == "*" or entry_host == host:
            return True
        if entry_host.startswith("*.") and host.endswith(entry_host[1:]):
            return True
    return False


def check_embedding_origin(record):
    """Refuse a page embedding the video from an origin outside allowedOrigins (empty list: any origin)."""
    allowed = record.get("allowedOrigins") or []
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if not allowed or not source:
        return
    try:
        netloc = urlsplit(source).netloc
    except ValueError:  # e.g. an unclosed IPv6 bracket: no origin we could allow
        raise DeliveryRefused(403, "the embedding origin is not a valid URL") from None
    if netloc == request.host or _netloc_allowed(allowed, netloc):
        return
    raise DeliveryRefused(403, f"origin {netloc} is not allowed to play this video")


def authorize(video_id, download=False):
    """The record and token claims (None for a bare uid) for a customer-domain id; raises DeliveryRefused."""
    emulator = current_app.extensions["stream_emulator"]
    if is_uid(video_id):
        record = emulator.videos.get(video_id)
        if record is None:
            raise DeliveryRefused(404, "video not found")
        if record["requireSignedURLs"]:
            raise DeliveryRefused(401, "this video requires a signed URL token")
        g.stream_delivery_uid = record["uid"]  # counted by analytics.count_delivered_minutes
        return record, None
    if video_id.count(".") != 2:
        raise DeliveryRefused(404, "video not found")
    try:
        claims = emulator.keys.verify_token(video_id)
        record = emulator.videos.get(claims["sub"])
        if record is None:
            raise DeliveryRefused(404, "video not found")
        check_access_rules(claims.get("accessRules", []), request.remote_addr)
    except TokenRejected as rejection:
        raise DeliveryRefused(rejection.status, rejection.reason) from None
    if download and record["requireSignedURLs"] and claims.get("downloadable") is not True:
        raise DeliveryRefused(403, "this token does not allow downloads (downloadable is not true)")
    g.stream_delivery_uid = record["uid"]
    return record, claims
