"""POST /api/auth/login: a bearer token for scripts."""

from flask import g, jsonify, request

from portal.api import bp
from portal.auth.access import api_login_required, api_user
from portal.auth.signin import (
    authenticate,
    failed_login,
    login_account_key,
    per_account_limit,
    per_ip_limit,
)
from portal.auth.tokens import issue_access_token
from portal.errors import APIError
from portal.extensions import csrf, limiter
from portal.parsing import json_object, required_string


@bp.route("/auth/login", methods=["POST"])
@csrf.exempt  # JSON only (a cross-site form cannot send it without a CORS preflight); no session is used
@limiter.limit(per_ip_limit)
@limiter.limit(per_account_limit, key_func=login_account_key, deduct_when=failed_login)
def api_login():
    """Exchange an email and password for a short-lived bearer token."""
    data = json_object()
    email = required_string(data, "email", 254)
    password = required_string(data, "password", 256)
    user = authenticate(email, password, request.remote_addr)
    if user is None:
        g.login_failed = True
        raise APIError(401, "invalid_credentials", "That email and password do not match an active account.")
    token, ttl = issue_access_token(user)
    return jsonify(access_token=token, token_type="Bearer", expires_in=ttl)


@bp.route("/auth/me", methods=["GET"])
@api_login_required()
def api_me():
    """Who the caller is: a quick check that a token or session works."""
    user = api_user()
    return jsonify(id=user.id, email=user.email, name=user.name, role=user.role.value, tier=user.tier.value)
