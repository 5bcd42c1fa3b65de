"""Sign-in throttling, shared by /login and /api/auth/login (OWASP: slow guessing, no lockout DoS).

Three limits, each one budget for both sign-in endpoints (Flask-Limiter shared scopes):
- per source address: every sign-in attempt from an address;
- per account and source: failed attempts at one account from one address, or from one known device;
- per account: failed attempts at one account from browsers it does not know. A browser that signed
  in to the account before carries a signed device cookie and is exempt, so an attacker who does not
  know the password cannot keep the member out of their own browser.
The limits are moving windows and refused (429) attempts do not count, so guessing is slowed to a
trickle, never locked for longer than the window. Limiter keys hold a hash of the normalized email,
never the email itself (any string, even one Redis cannot encode, gives a safe key).
"""

import hashlib
import secrets

from flask import current_app, g, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from portal.extensions import limiter
from portal.models import normalize_email
from portal.parsing import json_body

DEVICE_COOKIE = "portal_device"
DEVICE_SALT = "portal-sign-in-device"
MAX_ACCOUNTS_PER_DEVICE = 5


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


per_source_limit = limiter.shared_limit(_per_ip, scope="sign-in-source", methods=["POST"])
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


def sign_in_throttled(view):
    """Apply the three shared sign-in limits to a sign-in view."""
    return per_source_limit(per_account_source_limit(per_account_limit(view)))
