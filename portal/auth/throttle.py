"""Sign-in throttling, shared by /login and /api/auth/login (OWASP: slow guessing, no lockout DoS).

Three limits, each one budget for both sign-in endpoints (Flask-Limiter shared scopes):
- per source address: every sign-in attempt from an address, except from a browser that signed in to
  the account it tries before (others behind the same address must not be able to keep it out);
- per account and source: failed attempts at one account from one address, or from one known device;
- per account: failed attempts at one account from browsers it does not know. A browser that signed
  in to the account before carries a signed device cookie and is exempt, so an attacker who does not
  know the password cannot keep the member out of their own browser.
The limits are moving windows and refused (429) attempts do not count, so guessing is slowed to a
trickle, never locked for longer than the window. Failures are counted when an attempt ends, so attempts
sent side by side would all pass the check: one attempt at a time per account and source (and per
account, for unknown browsers) is in flight; the next waits a moment for it, then is checked afresh. Limiter keys hold a hash of the normalized email,
never the email itself (any string, even one Redis cannot encode, gives a safe key).
"""

import hashlib
import logging
import secrets
import time
from functools import wraps

from flask import current_app, g, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from redis import RedisError
from werkzeug.exceptions import TooManyRequests

from portal.extensions import limiter
from portal.models import normalize_email
from portal.parsing import json_body

DEVICE_COOKIE = "portal_device"
DEVICE_SALT = "portal-sign-in-device"
MAX_ACCOUNTS_PER_DEVICE = 5
# An attempt in flight holds its slot at most this long (a crashed process's slot frees itself).
IN_FLIGHT_SECONDS = 30

log = logging.getLogger(__name__)


def attempted_email():
    """The email a sign-in request tries (form or JSON), or "" when it has none; never raises."""
    if request.is_json:
        data = json_body()
        email = data.get("email") if isinstance(data, dict) else None
    else:
        email = request.form.get("email")
    return email if isinstance(email, str) else ""


def email_digest(email):
    """A short hash of the normalized email: the account's name in limiter keys and device cookies."""
    canonical = normalize_email(email).encode("utf-8", "surrogatepass")
    return hashlib.sha256(canonical).hexdigest()[:32]


def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=DEVICE_SALT)


def read_device_cookie():
    """The device cookie's content {"d": device id, "a": [email digests]}, or None if absent or forged."""
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw or len(raw) > 1024:
        return None
    try:
        data = _serializer().loads(raw, max_age=current_app.config["SIGN_IN_DEVICE_COOKIE_DAYS"] * 86400)
    except BadSignature:
        return None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("d"), str)
        or not isinstance(data.get("a"), list)
    ):
        return None
    return data


def known_device_id():
    """The device id when this browser has signed in to the account being tried before, else None."""
    device = read_device_cookie()
    if device is None or email_digest(attempted_email()) not in device["a"]:
        return None
    return device["d"]


def remember_device(response, email):
    """Mark this browser as one that signed in to `email` (the signed device cookie), on `response`."""
    config = current_app.config
    device = read_device_cookie() or {"d": secrets.token_hex(16), "a": []}
    digest = email_digest(email)
    accounts = [digest] + [known for known in device["a"] if known != digest]
    token = _serializer().dumps({"d": device["d"], "a": accounts[:MAX_ACCOUNTS_PER_DEVICE]})
    response.set_cookie(
        DEVICE_COOKIE,
        token,
        max_age=config["SIGN_IN_DEVICE_COOKIE_DAYS"] * 86400,
        secure=config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )
    return response


def account_key():
    """Limiter key of the account being tried."""
    return "account:" + email_digest(attempted_email())


def account_source_key():
    """Limiter key of the account being tried from this device (if known) or this address."""
    device_id = known_device_id()
    source = f"device:{device_id}" if device_id else f"ip:{request.remote_addr}"
    return f"{account_key()}:{source}"


def from_known_device():
    """Exempts a known device from the per-account limit."""
    return known_device_id() is not None


def failed_sign_in(response):
    """Only failed attempts count against the account limits (the views set g.login_failed)."""
    return bool(g.get("login_failed"))


def _per_ip():
    return current_app.config["LOGIN_LIMIT_PER_IP"]


def _per_account_source():
    return current_app.config["LOGIN_LIMIT_PER_ACCOUNT_SOURCE"]


def _per_account():
    return current_app.config["LOGIN_LIMIT_PER_ACCOUNT"]


# A known device is exempt here too: it has its own per-account-and-device budget, and otherwise anyone
# behind the member's address (an office or carrier NAT) could spend it and keep the member out.
per_source_limit = limiter.shared_limit(
    _per_ip, scope="sign-in-source", methods=["POST"], exempt_when=from_known_device
)
per_account_source_limit = limiter.shared_limit(
    _per_account_source,
    scope="sign-in-account-source",
    key_func=account_source_key,
    methods=["POST"],
    deduct_when=failed_sign_in,
)
per_account_limit = limiter.shared_limit(
    _per_account,
    scope="sign-in-account",
    key_func=account_key,
    methods=["POST"],
    deduct_when=failed_sign_in,
    exempt_when=from_known_device,
)


def one_attempt_at_a_time(view):
    """Let one sign-in attempt per account and source (and per account, from unknown browsers) run at a
    time, the next waiting for it: the limits count failures when an attempt ends, so side-by-side
    attempts would all pass the check. Outside the limits, so a waiting attempt is checked afresh."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if request.method == "POST":
            take_in_flight_slots()
        return view(*args, **kwargs)

    return wrapped


def take_in_flight_slots():
    """Hold this attempt's slots, waiting up to SIGN_IN_IN_FLIGHT_WAIT_SECONDS for attempts in flight
    (a double-click waits for its first click); 429 if they do not end by then."""
    keys = [account_source_key()] + ([] if from_known_device() else [account_key()])
    connection = current_app.extensions["redis"].connection
    deadline = time.monotonic() + current_app.config["SIGN_IN_IN_FLIGHT_WAIT_SECONDS"]
    held = g.setdefault("sign_in_in_flight", [])
    for key in keys:  # always in this order, so two attempts never wait for each other
        name = f"sign-in-in-flight:{key}"
        while not connection.set(name, 1, nx=True, ex=IN_FLIGHT_SECONDS):
            if time.monotonic() >= deadline:
                raise TooManyRequests("Another sign-in attempt at this account is under way; try again.")
            time.sleep(0.05)
        held.append(name)


def release_in_flight(error=None):
    """Free the request's in-flight slots (a teardown: after the limiter counted the attempt)."""
    held = g.pop("sign_in_in_flight", None)
    if held:
        try:
            current_app.extensions["redis"].connection.delete(*held)
        except RedisError as exc:  # they expire by themselves after IN_FLIGHT_SECONDS
            log.warning("Could not free sign-in slots: %s", exc)


def sign_in_throttled(view):
    """One attempt at a time, then the three shared sign-in limits, on a sign-in view."""
    return one_attempt_at_a_time(per_source_limit(per_account_source_limit(per_account_limit(view))))
