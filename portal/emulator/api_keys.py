"""Signing keys (/stream/keys) and the token endpoint (/stream/<uid>/token)."""

import base64
import binascii
import time

import jwt
from flask import Blueprint

from .api_videos import find_video
from .auth import emulator, json_body, require_api_auth
from .envelope import bad_request, envelope, not_found
from .signing import MAX_TOKEN_LIFETIME, numeric_claim

DEFAULT_TOKEN_LIFETIME = 3600
MAX_ACCESS_RULES = 5

keys_api = Blueprint("keys_api", __name__, url_prefix="/client/v4/accounts/<account_id>/stream")
keys_api.before_request(require_api_auth)


@keys_api.post("/keys")
def create_key(account_id):
    """Make a signing key; the private halves (pem, jwk) are shown only in this answer."""
    try:
        return envelope(emulator().keys.create())
    except ValueError as error:
        raise bad_request(str(error)) from None


@keys_api.get("/keys")
def list_keys(account_id):
    """The account's signing keys: [{id, created}]."""
    return envelope(emulator().keys.list())


@keys_api.delete("/keys/<key_id>")
def revoke_key(account_id, key_id):
    """Delete a key, revoking every token it signed."""
    if not emulator().keys.revoke(key_id):
        raise not_found("Signing key not found")
    return envelope("Revoked")


def _time_claim(body, name, default):
    if name not in body:
        return default
    value = numeric_claim(body[name])
    if value is None:
        raise bad_request(f"{name} must be a unix timestamp in seconds")
    return int(value)


def _own_key(body):
    if ("id" in body) != ("pem" in body):
        raise bad_request("id and pem must be given together")
    if "id" not in body:
        return None, None
    if not isinstance(body["id"], str) or not body["id"]:
        raise bad_request("id must be the signing key's id (a string)")
    try:
        return body["id"], base64.b64decode(body["pem"], validate=True)
    except (binascii.Error, TypeError, ValueError):
        raise bad_request("pem must be the base64 of a PEM private key") from None


@keys_api.post("/<uid>/token")
def create_token(account_id, uid):
    """A signed playback token for the video (exp default +1 h, at most 24 h ahead)."""
    find_video(uid)
    body = json_body()
    now = int(time.time())
    expires = _time_claim(body, "exp", now + DEFAULT_TOKEN_LIFETIME)
    not_before = _time_claim(body, "nbf", now - 3600)
    if not now < expires <= now + MAX_TOKEN_LIFETIME:
        raise bad_request("exp must be in the future and at most 24 hours from now")
    claims = {"sub": uid, "exp": str(expires), "nbf": str(not_before)}
    if "downloadable" in body:
        if not isinstance(body["downloadable"], bool):
            raise bad_request("downloadable must be a boolean")
        if body["downloadable"]:
            claims["downloadable"] = True
    if "accessRules" in body:
        rules = body["accessRules"]
        if (
            not isinstance(rules, list)
            or len(rules) > MAX_ACCESS_RULES
            or not all(isinstance(r, dict) for r in rules)
        ):
            raise bad_request(f"accessRules must be a list of at most {MAX_ACCESS_RULES} rule objects")
        claims["accessRules"] = rules
    key_id, pem = _own_key(body)
    try:
        token = emulator().keys.mint_token(claims, key_id, pem)
    except (ValueError, TypeError, jwt.InvalidKeyError):
        raise bad_request("pem is not a usable RSA private key") from None
    return envelope({"token": token})
