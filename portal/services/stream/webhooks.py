"""Cloudflare Stream webhook signatures: `Webhook-Signature: time=<unix>,sig1=<hex HMAC-SHA256>`."""

import hashlib
import hmac
import re
import time

TOLERANCE_SECONDS = 300
MAX_TIME_DIGITS = 12  # unix seconds; longer values would overflow the float comparison with now
HEX_SIGNATURE = re.compile(r"[0-9a-fA-F]{64}")


def parse_signature_header(header):
    """Return (timestamp, [sig1 hex values]) from the header, or None when it is malformed."""
    if not isinstance(header, str) or not header.strip():
        return None
    timestamp, signatures = None, []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            return None
        key, value = key.strip(), value.strip()
        if key == "time":
            if (
                timestamp is not None
                or not value.isascii()
                or not value.isdigit()
                or len(value) > MAX_TIME_DIGITS
            ):
                return None
            timestamp = int(value)
        elif key == "sig1":
            if not HEX_SIGNATURE.fullmatch(value):
                return None
            signatures.append(value.lower())
    if timestamp is None or not signatures:
        return None
    return timestamp, signatures


def compute_signature(payload, secret, timestamp):
    """Hex HMAC-SHA256 with the webhook secret over `<time>.` + the raw body bytes."""
    key = secret if isinstance(secret, bytes) else str(secret).encode("utf-8")
    message = f"{int(timestamp)}.".encode("ascii") + bytes(payload)
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def signature_header(payload, secret, timestamp=None):
    """Build a `Webhook-Signature` value for a body, as Cloudflare (or the emulator) sends it."""
    timestamp = int(time.time() if timestamp is None else timestamp)
    return f"time={timestamp},sig1={compute_signature(payload, secret, timestamp)}"


def verify_webhook_signature(
    payload, signature_header, webhook_secret, now=None, tolerance=TOLERANCE_SECONDS, parsed=None
):
    """True only for an untampered raw body, signed with the secret, within ±tolerance seconds.

    Never raises: a missing secret, a non-bytes body (e.g. re-serialised JSON) or a malformed
    header all give False. `parsed`: the header as parse_signature_header already read it.
    """
    if not webhook_secret or not isinstance(payload, (bytes, bytearray, memoryview)):
        return False
    parsed = parsed or parse_signature_header(signature_header)
    if parsed is None:
        return False
    timestamp, signatures = parsed
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        return False
    expected = compute_signature(payload, webhook_secret, timestamp)
    return any(hmac.compare_digest(expected, sig) for sig in signatures)
