"""Signing in: credentials checked alike for every wrong answer, and sign-in throttling."""

import logging

from flask import current_app, g, request
from werkzeug.security import check_password_hash, generate_password_hash

from portal.models import User, normalize_email
from portal.parsing import json_body

log = logging.getLogger(__name__)

_DUMMY_HASHES = {}


def _dummy_hash():
    """A hash, made the way real ones are, to check when the email is unknown: both failures take as long."""
    method = current_app.config.get("PASSWORD_HASH_METHOD")
    if method not in _DUMMY_HASHES:
        kwargs = {"method": method} if method else {}
        _DUMMY_HASHES[method] = generate_password_hash("not-a-real-password", **kwargs)
    return _DUMMY_HASHES[method]


def authenticate(email, password, client_address=None):
    """The active user with these credentials, or None (unknown, wrong or deactivated alike).

    `client_address` (the caller passes request.remote_addr) only goes into the log.
    """
    # PostgreSQL cannot compare text containing NUL; no stored email has one.
    user = User.by_email(email) if email and "\x00" not in email else None
    if user is None:
        check_password_hash(_dummy_hash(), password or "")
        log.info("Failed sign-in for unknown account from %s", client_address)
        return None
    if not user.check_password(password or ""):
        log.info("Failed sign-in for user %s from %s", user.id, client_address)
        return None
    if not user.active:
        log.info("Sign-in refused for deactivated user %s", user.id)
        return None
    return user


def login_account_key():
    """Flask-Limiter key for per-account throttling: the email being tried."""
    if request.is_json:
        data = json_body()
        email = data.get("email") if isinstance(data, dict) else None
    else:
        email = request.form.get("email")
    return "login-account:" + normalize_email(email if isinstance(email, str) else "")


def failed_login(response):
    """Only failed attempts count against the per-account limit (the view sets g.login_failed)."""
    return bool(g.get("login_failed"))


def per_ip_limit():
    return current_app.config["LOGIN_LIMIT_PER_IP"]


def per_account_limit():
    return current_app.config["LOGIN_LIMIT_PER_ACCOUNT"]
