"""Per-view request body caps above the app-wide MAX_CONTENT_LENGTH, applied before anything reads the body."""

from flask import current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from portal.errors import handle_http_exception, is_api_request, json_error

FORM_MEMORY_BYTES = 256 * 1024  # text fields held in memory while a large multipart body is parsed


def allows_body(max_bytes, code="request_entity_too_large", message=None):
    """View decorator: this view may receive bodies up to `max_bytes` (or the setting of that name, plus
    room for the multipart envelope), checked before CSRF reads the form; a larger body is answered
    with `code` and `message`."""

    def decorator(view):
        view.max_body_bytes = max_bytes
        view.too_large = (code, message or f"The request body is larger than {max_bytes} bytes.")
        return view

    return decorator


def apply_view_body_limit():
    """Raise `request.max_content_length` to the matched view's own cap, if it declares one."""
    view = current_app.view_functions.get(request.endpoint or "")
    limit = getattr(view, "max_body_bytes", None)
    if isinstance(limit, str):  # a setting's name
        limit = int(current_app.config[limit]) + 64 * 1024
    if limit:
        request.max_content_length = limit
        # werkzeug's multipart parser buffers reads of up to 64 KiB; file parts still go to disk
        request.max_form_memory_size = max(
            FORM_MEMORY_BYTES, current_app.config.get("MAX_FORM_MEMORY_SIZE") or 0
        )


def handle_too_large(error):
    """A 413 says the matched view's own limit and reason (JSON under /api), else the generic answer."""
    view = current_app.view_functions.get(request.endpoint or "")
    too_large = getattr(view, "too_large", None)
    if too_large and is_api_request():
        return json_error(413, *too_large)
    return handle_http_exception(error)


def init_app(app):
    """Apply a view's own cap before any other request hook can read the body (CSRF reads forms),
    and answer bodies over it with that view's reason."""
    app.before_request_funcs.setdefault(None, []).insert(0, apply_view_body_limit)
    app.register_error_handler(RequestEntityTooLarge, handle_too_large)
