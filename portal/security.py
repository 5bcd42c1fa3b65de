"""Security baseline on every response and request: headers, CSRF policy, session lifetime."""

import time

from flask import abort, current_app, g, request, session
from flask_login import current_user
from flask_wtf.csrf import CSRFError, same_origin, validate_csrf
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.middleware.proxy_fix import ProxyFix
from wtforms import ValidationError

from portal import request_limits
from portal.auth.access import bearer_token
from portal.errors import is_api_request
from portal.extensions import csrf


def stream_frame_sources(config):
    """Origins the Stream player iframe may come from: our customer domain and/or the emulator."""
    sources = []
    code = config.get("CLOUDFLARE_STREAM_CUSTOMER_CODE")
    if code:
        sources.append(f"https://customer-{code}.cloudflarestream.com")
    custom = config.get("STREAM_CUSTOMER_BASE_URL")
    if custom:
        sources.append(custom.rstrip("/"))
    # Without a configured customer domain, fall back to any Stream customer domain.
    return " ".join(sources) or "https://*.cloudflarestream.com"


def content_security_policy(config, is_api, script_sources=()):
    """The Content-Security-Policy header for a response (`script_sources`: what this view adds)."""
    frames = stream_frame_sources(config)
    if is_api:
        return "default-src 'none'; frame-ancestors 'none'"
    scripts = " ".join(["'self'", *script_sources])
    return (
        "default-src 'self'; "
        f"img-src 'self' data: {frames}; "
        f"frame-src {frames}; "
        f"script-src {scripts}; style-src 'self'; object-src 'none'; "
        "base-uri 'self'; form-action 'self'; frame-ancestors 'self'"
    )


def add_security_headers(response):
    """Headers every response carries."""
    config = current_app.config
    is_api = is_api_request()
    # A view that loads a third-party script (the watch page: Stream's Player SDK) names its origin
    # in g.csp_script_sources; every other page allows only its own scripts.
    extra_scripts = g.get("csp_script_sources", ())
    response.headers["Content-Security-Policy"] = content_security_policy(config, is_api, extra_scripts)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    response.headers["X-Frame-Options"] = "DENY" if is_api else "SAMEORIGIN"
    if config.get("HSTS_ENABLED"):
        response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    if is_api or response.headers.get("Cache-Control") is None and depends_on_session():
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def depends_on_session():
    """True when a response must not be cached: it is for a signed-in person, it sets the session
    cookie, or it carries the session's CSRF token (every page form does)."""
    if session.modified or "csrf_token" in g:
        return True  # a static file's 404 page too: it sets the cookie, or shows who is signed in
    return request.endpoint != "static" and current_user.is_authenticated


def refuse_nul_characters():
    """A NUL character in the path is a 404: no page or record is named so, and PostgreSQL refuses
    NUL in any text it is asked to compare, so such an id never reaches a query (the same answer
    on SQLite and PostgreSQL). Query and body fields are checked by the views that read them."""
    if "\x00" in request.path:
        abort(404)


def protect_from_csrf():
    """CSRF on every unsafe request, except bearer-token API calls and what is marked `csrf.exempt`.

    Exempt: the webhooks blueprint (signed, see portal/webhooks/__init__.py) and POST /api/auth/login
    (JSON only, which a cross-site form cannot send without a CORS preflight; it uses no session).
    """
    if request.method in ("GET", "HEAD", "OPTIONS", "TRACE"):
        return
    if isinstance(request.routing_exception, MethodNotAllowed):
        return  # the path exists, not for this method: routing answers 405 and no view runs
    if is_api_request() and bearer_token() is not None:
        return
    if is_api_request() and not current_user.is_authenticated:
        return  # no session to ride on: nothing to forge, and the view answers 401 itself
    # A path with no route is checked too (so a stray POST with a cookie is refused before its 404).
    if request.endpoint is not None and csrf._is_exempt():  # flask-wtf's own @csrf.exempt check
        return
    header_token = request.headers.get("X-CSRFToken")
    if header_token:
        protect_with_header(header_token)
    else:
        csrf.protect()


def protect_with_header(token):
    """CSRFProtect.protect for a token sent in X-CSRFToken, without touching the body (which it would
    parse first, looking for a form field): a view may first allow the body to be large (uploads)."""
    try:
        validate_csrf(token)
    except ValidationError as error:
        raise CSRFError(error.args[0]) from None
    if request.is_secure and current_app.config["WTF_CSRF_SSL_STRICT"]:
        if not request.referrer:
            raise CSRFError("The referrer header is missing.")
        if not same_origin(request.referrer, f"https://{request.host}/"):
            raise CSRFError("The referrer does not match the host.")
    g.csrf_valid = True


def enforce_absolute_session_lifetime():
    """End a signed-in session 12 hours (PERMANENT_SESSION_LIFETIME) after sign-in, active or not."""
    if request.endpoint == "static" or bearer_token() is not None or not current_user.is_authenticated:
        return
    signed_in_at = session.get("signed_in_at")
    lifetime = current_app.config["PERMANENT_SESSION_LIFETIME"].total_seconds()
    if signed_in_at is None or time.time() - signed_in_at > lifetime:
        # Drop the session but not a remember-me cookie: flask-login may restore from that.
        session.clear()
        g.pop("_login_user", None)


def init_app(app):
    """Install the request hooks and response headers."""
    hops = app.config.get("TRUSTED_PROXY_HOPS", 0)
    if hops:
        # The client's address and scheme, not the proxy's: per-IP login limits and HTTPS checks need them.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    request_limits.init_app(app)
    app.before_request(refuse_nul_characters)
    app.before_request(protect_from_csrf)
    app.before_request(enforce_absolute_session_lifetime)
    app.after_request(add_security_headers)
