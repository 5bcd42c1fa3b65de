"""Short-lived bearer tokens for the JSON API (HS256 JWTs signed with the app's secret key)."""

from datetime import UTC, datetime, timedelta

import jwt
from flask import current_app

from portal.auth.users import user_by_id
from portal.models import parse_user_id

ALGORITHM = "HS256"
TOKEN_TYPE = "access"
ISSUER = "member-portal"


class InvalidToken(Exception):
    """The bearer token is missing, malformed, forged, expired or of the wrong kind."""


def issue_access_token(user):
    """Mint an access token for the user; returns (token, seconds until it expires)."""
    ttl = current_app.config["API_TOKEN_TTL_SECONDS"]
    now = datetime.now(UTC)
    claims = {
        "sub": str(user.id),
        "iat": now,
        "nbf": now,
        "exp": now + timedelta(seconds=ttl),
        "typ": TOKEN_TYPE,
        "iss": ISSUER,
        "ver": user.session_version,
    }
    return jwt.encode(claims, current_app.config["SECRET_KEY"], algorithm=ALGORITHM), ttl


def user_for_token(token):
    """The active user a valid access token names; raises InvalidToken otherwise."""
    try:
        claims = jwt.decode(
            token,
            current_app.config["SECRET_KEY"],
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            leeway=30,
            options={"require": ["sub", "exp", "iat", "typ"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    if claims.get("typ") != TOKEN_TYPE:
        raise InvalidToken("not an access token")
    user_id = parse_user_id(claims["sub"]) if isinstance(claims["sub"], str) else None
    if user_id is None:
        raise InvalidToken("malformed subject")
    user = user_by_id(user_id)
    if user is None or not user.active or claims.get("ver") != user.session_version:
        raise InvalidToken("account unknown or no longer active")
    return user
