"""Signing in, request side: credentials checked alike for every wrong answer, and the session."""

import logging
import time
from datetime import UTC, datetime

from flask import current_app, request, session
from flask_login import login_user, logout_user
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


def authenticate(email, password):
    """The active user with these credentials, or None (unknown, wrong or deactivated alike)."""
    # PostgreSQL cannot compare text containing NUL; no stored email has one.
    user = User.by_email(email) if email and "\x00" not in email else None
    if user is None:
        check_password_hash(_dummy_hash(), password or "")
        log.info("Failed sign-in for unknown account from %s", request.remote_addr)
        return None
    if not user.check_password(password or ""):
        log.info("Failed sign-in for user %s from %s", user.id, request.remote_addr)
        record_failed_sign_in(user, request.remote_addr, request.headers.get("User-Agent"))
        return None
    if not user.active:
        log.info("Sign-in refused for deactivated user %s", user.id)
        return None
    return user


def start_session(user, remember=False):
    """Sign the user in with a fresh session (no fixation), stamped for the 12-hour cap."""
    session.clear()
    login_user(user, remember=remember)
    session.permanent = True
    session["signed_in_at"] = time.time()
    user.last_login_at = datetime.now(UTC)


def end_session(user):
    """Sign out so that a saved copy of the session or remember-me cookie cannot sign in again."""
    # Sessions live in the signed cookie, so only a new version can revoke a copy of it; this also
    # ends the user's other sessions and bearer tokens.
    user.session_version += 1
    logout_user()
