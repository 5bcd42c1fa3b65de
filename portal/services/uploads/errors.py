"""The one error the upload service raises: an HTTP status, a snake_case code and a plain message."""

from portal.errors import APIError


class UploadError(APIError):
    """A refused upload request; the API answers it as `{"error": {"code", "message", ...}}`."""


def not_found():
    """The answer for an unknown upload id, or another user's (never say which)."""
    return UploadError(404, "upload_not_found", "No upload with this id belongs to you.")
