"""Errors in one place: friendly pages for people, `{"error": {...}}` JSON under /api."""

import logging
import math
import re
import time

from flask import jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from limits.errors import StorageError
from redis import RedisError
from werkzeug.exceptions import HTTPException

from portal.extensions import db, limiter

log = logging.getLogger(__name__)


class APIError(Exception):
    """An error the JSON API answers with a status, a snake_case code and a message."""

    def __init__(self, status, code, message, **extra):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra


def is_api_request():
    """True for API and webhook requests (under /api), which always get JSON errors."""
    return request.path.startswith("/api/") or request.path == "/api"


def snake_case(name):
    """'Too Many Requests' -> 'too_many_requests'."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def json_error(status, code, message, headers=None, **extra):
    """The API's error response."""
    body = {"error": {"code": code, "message": message, **extra}}
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _page_error(status, title, message):
    return render_template("errors/generic.html", status=status, title=title, message=message), status


def handle_api_error(error):
    """Answer an APIError as JSON."""
    return json_error(error.status, error.code, error.message, **error.extra)


def handle_csrf_error(error):
    """A post without a valid CSRF token."""
    message = "The form expired or was not sent from this site. Please try again."
    if is_api_request():
        return json_error(400, "csrf_failed", error.description or message)
    return _page_error(400, "Form expired", message)


UNAVAILABLE = (RedisError, StorageError)


def handle_unavailable(error):
    """Redis (queues, sign-in limits) cannot be reached: 503, try again shortly; never unthrottled."""
    db.session.rollback()
    log.error("Redis unavailable on %s %s: %s", request.method, request.path, error)
    message = "This is unavailable for a moment. Please try again shortly."
    if is_api_request():
        return json_error(503, "service_unavailable", message, headers={"Retry-After": "5"})
    body, status = _page_error(503, "Temporarily unavailable", message)
    return body, status, {"Retry-After": "5"}


def rate_limit_retry_after():
    """Seconds until the limit this request broke lets the next one in, or None.

    Flask-Limiter's own headers are off (RATELIMIT_HEADERS_ENABLED): they cost every limited
    request one more round trip to Redis; only a refusal needs to say when to come back.
    """
    try:
        current = limiter.current_limit
        return max(1, math.ceil(current.reset_at - time.time())) if current else None
    except Exception:  # the storage failed after refusing: say nothing rather than fail the 429
        log.warning("Could not read the rate limit's reset time", exc_info=True)
        return None


def handle_http_exception(error):
    """Any werkzeug HTTP error (404, 405, 413, 429...)."""
    if isinstance(getattr(error, "original_exception", None), UNAVAILABLE):
        return handle_unavailable(error.original_exception)  # raised while finishing the response
    headers = {k: v for k, v in error.get_headers() if k != "Content-Type"} if error.code == 405 else {}
    retry_after = getattr(error, "retry_after", None) or (
        rate_limit_retry_after() if error.code == 429 else None
    )
    if retry_after:
        headers["Retry-After"] = str(retry_after)
    if is_api_request():
        response = json_error(error.code, snake_case(error.name), error.description, headers=headers)
        return response
    body, status = _page_error(error.code, error.name, error.description)
    return body, status, headers


def handle_unexpected(error):
    """Anything else: log it with its traceback, show nothing of it."""
    if isinstance(error, HTTPException):
        return handle_http_exception(error)
    db.session.rollback()  # the page below may read the database (current_user): start clean
    log.exception("Unhandled error on %s %s", request.method, request.path)
    if is_api_request():
        return json_error(500, "internal_error", "Something went wrong on our side.")
    return _page_error(500, "Something went wrong", "Something went wrong on our side.")


def register_error_handlers(app):
    """Install the portal's error handlers."""
    app.register_error_handler(APIError, handle_api_error)
    app.register_error_handler(CSRFError, handle_csrf_error)
    for error_class in UNAVAILABLE:
        app.register_error_handler(error_class, handle_unavailable)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
