"""Who is asking, and may they: role and tier checks for pages and the API, in one place."""

from functools import wraps

from flask import abort, g, request
from flask_login import current_user

from portal.auth.tokens import InvalidToken, user_for_token
from portal.errors import APIError
from portal.extensions import login_manager
from portal.models import Role, Tier


def bearer_token():
    """The token of an `Authorization: Bearer` header, or None when there is none."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip()


def has_role(user, *roles):
    """True when the signed-in, active user has one of the roles."""
    return bool(user and user.is_authenticated and user.is_active and user.role in roles)


def tier_at_least(user, tier):
    """True when the user's tier is the given tier or above it."""
    return bool(user and user.is_authenticated and Tier(user.tier).rank >= Tier(tier).rank)


def api_user():
    """The caller of an API request: bearer token first, else the page session (CSRF-checked)."""
    if "api_user" in g:
        return g.api_user
    token = bearer_token()
    if token is not None:
        try:
            user = user_for_token(token)
        except InvalidToken:
            raise APIError(401, "invalid_token", "The bearer token is invalid or has expired.") from None
    else:
        user = current_user if current_user.is_authenticated else None
    g.api_user = user
    return user


def api_login_required(*roles):
    """API view decorator: 401 without a valid caller, 403 when the role is not one of `roles`."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            user = api_user()
            if user is None:
                raise APIError(401, "authentication_required", "Sign in or send a bearer token.")
            if roles and user.role not in roles:
                raise APIError(403, "forbidden", "Your account may not do this.")
            return view(*args, **kwargs)

        return wrapped

    return decorator


def role_required(*roles):
    """Page view decorator: sign-in page when anonymous, 403 page when the role does not fit."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


admin_required = role_required(Role.ADMIN)
staff_required = role_required(Role.ADMIN, Role.INSTRUCTOR)
