"""Reading request bodies strictly: a JSON object, with fields of the right type (API and sign-in)."""

from flask import request

from portal.errors import APIError


def json_body():
    """The request's parsed JSON body, or None when it is not valid JSON (absurd nesting included)."""
    try:
        return request.get_json(silent=True)
    except RecursionError:
        return None


def json_object():
    """The request's JSON body as a dict, or a 400/415 APIError."""
    if not request.is_json:
        raise APIError(415, "unsupported_media_type", "Send a JSON body with Content-Type: application/json.")
    data = json_body()
    if not isinstance(data, dict):
        raise APIError(400, "invalid_json", "The body must be a JSON object.")
    return data


def required_string(data, name, max_length=1000):
    """A non-empty string field, or a 400 naming the field."""
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        raise APIError(400, "missing_field", f"'{name}' is required and must be a string.", field=name)
    if len(value) > max_length:
        raise APIError(400, "field_too_long", f"'{name}' is longer than {max_length} characters.", field=name)
    if "\x00" in value:
        raise APIError(400, "invalid_field", f"'{name}' must not contain NUL characters.", field=name)
    if not encodable(value):
        raise APIError(400, "invalid_field", f"'{name}' must be valid Unicode text.", field=name)
    return value


def encodable(text):
    """False for a string JSON smuggled an unpaired surrogate (\\ud800) into: it cannot be stored."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def whole_number(text, max_digits=9):
    """The int `text` spells in ASCII digits (no sign, no spaces), else None.

    str.isdigit() also says yes to "²" and "٣", which int() then refuses or reads; ids, indexes and
    counts here are plain ASCII, and `max_digits` keeps them inside the database's integer column.
    """
    if isinstance(text, str) and text.isascii() and text.isdigit() and len(text) <= max_digits:
        return int(text)
    return None
