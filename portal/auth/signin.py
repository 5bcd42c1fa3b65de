"""Signing in: credentials checked alike for every wrong answer; a wrong password recorded for the
account's owner (throttling: portal/auth/throttle.py)."""

import logging

from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from portal.models import User
from portal.services.sign_in_attempts import record_failed_sign_in

log = logging.getLogger(__name__)

_DUMMY_HASHES = {}


def _dummy_hash():
    """A hash, made the way real ones are, to check when the email is unknown: both failures take as long."""
    method = current_app.config.get("PASSWORD_HASH_METHOD")
    if method not in _DUMMY_HASHES:
        kwargs = {"method": method} if method else {}
        _DUMMY_HASHES[method] = generate_password_hash("not-a-real-password", **kwargs)
    return _DUMMY_HASHES[method]


def authenticate(email, password, client_address=None, user_agent=None):
    """The active user with these credentials, or None (unknown, wrong or deactivated alike).

    `client_address` and `user_agent` (the caller passes the request's) go into the log and, for a
    wrong password of an existing account, into its record of failed sign-ins (flushed; the caller
    commits).
    """
    # PostgreSQL cannot compare text containing NUL; no stored email has one.
    user = User.by_email(email) if email and "\x00" not in email else None
    if user is None:
        check_password_hash(_dummy_hash(), password or "")
        log.info("Failed sign-in for unknown account from %s", client_address)
        return None
    if not user.check_password(password or ""):
        log.info("Failed sign-in for user %s from %s", user.id, client_address)
        record_failed_sign_in(user, client_address, user_agent)
        return None
    if not user.active:
        log.info("Sign-in refused for deactivated user %s", user.id)
        return None
    return user
