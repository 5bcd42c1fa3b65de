"""The API's body parsing, which lives in portal.parsing (shared with sign-in); re-exported for the views."""

from portal.parsing import json_body, json_object, required_string

__all__ = ["json_body", "json_object", "required_string"]
