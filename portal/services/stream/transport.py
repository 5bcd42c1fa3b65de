"""HTTP transport for the Stream client: one session, a timeout on every call, bounded retries."""

import logging
import random
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import NewConnectionError

from .errors import StreamError, describe_errors

log = logging.getLogger(__name__)

BACKOFF_CAP = 30.0
MAX_RETRY_AFTER = 60.0
NETWORK_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


def is_retryable_status(status):
    """429, 408 (Cloudflare's "stream timeout") and every 5xx are worth another attempt."""
    return status in (408, 429) or 500 <= status <= 599


def request_never_reached_server(exc):
    """True when the connection itself failed, so the server cannot have acted on the request."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError)


def parse_retry_after(value, now=None):
    """Seconds to wait from a `Retry-After` header (delta-seconds or HTTP date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


def error_from_response(method, url, resp):
    """Build a StreamError from a refused response: status, Cloudflare's errors, a readable message."""
    errors = []
    try:
        payload = resp.json()
    except ValueError:
        payload = None
    if isinstance(payload, dict) and isinstance(payload.get("errors"), list):
        errors = payload["errors"]
    detail = describe_errors(errors) or " ".join((resp.text or "").split())[:200]
    message = f"Cloudflare Stream {method} {urlsplit(url).path} failed with HTTP {resp.status_code}"
    if detail:
        message += f": {detail}"
    retry_after = parse_retry_after(resp.headers.get("Retry-After"))
    return StreamError(message, status_code=resp.status_code, errors=errors, retry_after=retry_after)


def unwrap(method, url, resp, whole=False):
    """Return `result` from Cloudflare's envelope (or the whole envelope); raise if success is false."""
    if not resp.content:
        return None
    try:
        payload = resp.json()
    except ValueError:
        return resp.text
    if isinstance(payload, dict) and "success" in payload:
        if not payload.get("success"):
            raise error_from_response(method, url, resp)
        return payload if whole else payload.get("result")
    return payload


class StreamTransport:
    """Owns the one requests.Session; sends each request with a timeout and retries it with backoff."""

    def __init__(self, api_token, timeout, max_retries, backoff_base=0.5, sleep=None, session=None):
        self.session = session or requests.Session()
        self.session.headers["Authorization"] = f"Bearer {api_token}"
        self.session.headers["User-Agent"] = "portal-stream-client/1.0"
        self.timeout = timeout
        self.max_retries = max(0, int(max_retries))
        self.backoff_base = float(backoff_base)
        self.sleep = sleep or time.sleep

    def backoff(self, attempt):
        """Full-jitter exponential backoff: uniform(0, min(cap, base * 2**attempt))."""
        return random.uniform(0.0, min(BACKOFF_CAP, self.backoff_base * (2**attempt)))

    def request(self, method, url, *, ok=(200,), body=None, retry_network=True, **kwargs):
        """Send a request, retrying 429/408/5xx and network errors up to max_retries; return the response.

        `ok` lists the statuses handed back to the caller. `body`, when given, is a zero-argument
        callable building a fresh request body for each attempt (streams cannot be re-read).
        `retry_network`: True retries every network error; "connect" only those where the request
        never reached the server (for POSTs that create a video, so a lost response is not resent
        and cannot create a duplicate); False none.
        Network errors raise a StreamError whose status_code is None.
        """
        kwargs.setdefault("timeout", self.timeout)
        path = urlsplit(url).path
        attempt = 0
        while True:
            if body is not None:
                kwargs["data"] = body()
            try:
                resp = self.session.request(method, url, **kwargs)
            except NETWORK_ERRORS as exc:
                resend = retry_network is True or (
                    retry_network == "connect" and request_never_reached_server(exc)
                )
                if not resend or attempt >= self.max_retries:
                    raise StreamError(
                        f"Cloudflare Stream {method} {path} failed after {attempt + 1} attempt(s): "
                        f"{type(exc).__name__}: {exc}"
                    ) from exc
                delay, reason = self.backoff(attempt), type(exc).__name__
            except requests.RequestException as exc:  # a bad URL, too many redirects...: not worth retrying
                raise StreamError(
                    f"Cloudflare Stream {method} {path} failed: {type(exc).__name__}: {exc}"
                ) from exc
            else:
                if resp.status_code in ok:
                    return resp
                if not is_retryable_status(resp.status_code) or attempt >= self.max_retries:
                    raise error_from_response(method, url, resp)
                delay, reason = self._delay_after(method, url, resp, attempt), f"HTTP {resp.status_code}"
                resp.close()
            log.warning(
                "Stream %s %s: %s, retry %d/%d in %.2fs",
                method,
                path,
                reason,
                attempt + 1,
                self.max_retries,
                delay,
            )
            self.sleep(delay)
            attempt += 1

    def _delay_after(self, method, url, resp, attempt):
        """Honour Retry-After when the server sends one; refuse to block longer than MAX_RETRY_AFTER."""
        retry_after = parse_retry_after(resp.headers.get("Retry-After"))
        if retry_after is None:
            return self.backoff(attempt)
        if retry_after > MAX_RETRY_AFTER:
            raise error_from_response(method, url, resp)
        return retry_after

    def close(self):
        """Close the session's pooled connections."""
        self.session.close()
