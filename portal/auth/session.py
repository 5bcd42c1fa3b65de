"""The signed-in session: starting and ending it, loading users from it, where anonymous visitors go."""

import time
from datetime import UTC, datetime

from flask import redirect, request, session, url_for
from flask_login import login_user, logout_user, user_loaded_from_cookie

from portal.auth.users import user_by_id
from portal.errors import APIError, is_api_request
from portal.models import parse_user_id


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


def load_user(identity):
    """The user behind a session identity `<id>:<version>`, if still active and current."""
    user_id, _, version = str(identity).partition(":")
    user_id = parse_user_id(user_id)
    user = user_by_id(user_id) if user_id is not None else None
    if user is None or not user.active or str(user.session_version) != version:
        return None
    return user


def unauthorized():
    """Anonymous visitor on a protected page: the sign-in page (JSON 401 under /api)."""
    if is_api_request():
        raise APIError(401, "authentication_required", "Sign in or send a bearer token.")
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def _mark_cookie_login(app, user):
    session["signed_in_at"] = time.time()


def init_app(login_manager, app):
    """Configure flask-login for the portal."""
    login_manager.init_app(app)
    login_manager.user_loader(load_user)
    login_manager.unauthorized_handler(unauthorized)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"
    user_loaded_from_cookie.connect(_mark_cookie_login, app)
