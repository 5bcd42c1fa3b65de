"""POST /api/auth/login: a bearer token for scripts."""

from flask import g, jsonify, request

from portal.api import bp
from portal.auth.access import api_login_required, api_user
from portal.auth.signin import authenticate
from portal.auth.throttle import remember_device, sign_in_throttled
from portal.auth.tokens import issue_access_token
from portal.errors import APIError
from portal.extensions import csrf, db
from portal.parsing import json_object, required_string


@bp.route("/auth/login", methods=["POST"])
@csrf.exempt  # JSON only (a cross-site form cannot send it without a CORS preflight); no session is used
@sign_in_throttled
def api_login():
    """Exchange an email and password for a short-lived bearer token."""
    data = json_object()
    email = required_string(data, "email", 254)
    password = required_string(data, "password", 256)
    user = authenticate(email, password, request.remote_addr, request.headers.get("User-Agent"))
    db.session.commit()  # a failed attempt is recorded for the account's owner
    if user is None:
        g.login_failed = True
        raise APIError(401, "invalid_credentials", "That email and password do not match an active account.")
    token, ttl = issue_access_token(user)
    return remember_device(jsonify(access_token=token, token_type="Bearer", expires_in=ttl), user.email)


@bp.route("/auth/me", methods=["GET"])
@api_login_required()
def api_me():
    """Who the caller is: a quick check that a token or session works."""
    user = api_user()
    return jsonify(id=user.id, email=user.email, name=user.name, role=user.role.value, tier=user.tier.value)
