"""Cloudflare's JSON envelope and the API error the emulator's views raise."""

from flask import jsonify

# Cloudflare documents only 10000 and 10004; the other codes are the emulator's own choice.
AUTH_ERROR = 10000
NOT_FOUND = 10003
DECODING_ERROR = 10004
BAD_REQUEST = 10005
TOO_LARGE = 10006
CONFLICT = 10009
RATE_LIMITED = 971  # the code Cloudflare's global rate limiter is widely reported to send
SERVER_ERROR = 10500


class ApiError(Exception):
    """An error answered as Cloudflare's failure envelope with an HTTP status."""

    def __init__(self, status, code, message, headers=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def envelope(result, **extra):
    """A success envelope around `result`, with extra top-level keys (range, total)."""
    return jsonify({"success": True, "errors": [], "messages": [], "result": result, **extra})


def failure(status, code, message, headers=None):
    """A failure envelope response with one error item."""
    body = {"success": False, "errors": [{"code": code, "message": message}], "messages": [], "result": None}
    response = jsonify(body)
    response.status_code = status
    response.headers.update(headers or {})
    return response


def api_error_response(error):
    """The response for a raised ApiError."""
    return failure(error.status, error.code, error.message, error.headers)


def bad_request(message):
    """An ApiError for invalid input (HTTP 400)."""
    return ApiError(400, BAD_REQUEST, message)


def not_found(message="Not Found"):
    """An ApiError for an unknown object (HTTP 404)."""
    return ApiError(404, NOT_FOUND, message)
