"""Bearer-token and account checks for the /client/v4 API, as Cloudflare answers them."""

import hmac

from flask import current_app, request

from .envelope import AUTH_ERROR, ApiError


def emulator():
    """The StreamEmulator of the current app."""
    return current_app.extensions["stream_emulator"]


def require_api_auth():
    """A before_request hook: 401 (code 10000) without the right bearer token, 403 for another account."""
    if request.method == "OPTIONS":
        return
    settings = emulator()
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        token.strip().encode(), settings.api_token.encode()
    ):
        raise ApiError(401, AUTH_ERROR, "Authentication error")
    account_id = (request.view_args or {}).get("account_id")
    if account_id is not None and account_id != settings.account_id:
        raise ApiError(403, AUTH_ERROR, "Authentication error")


def json_body():
    """The request's JSON object (empty when there is no body); a Cloudflare error for anything else."""
    if not request.get_data(cache=True):
        return {}
    body = request.get_json(silent=True, force=True)
    if not isinstance(body, dict):
        raise ApiError(400, 10004, "Decoding Error: the body must be a JSON object")
    return body
