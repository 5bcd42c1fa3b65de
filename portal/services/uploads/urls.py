"""Checking the https URL Stream is asked to copy a video from."""

from urllib.parse import urlsplit

from .errors import UploadError
from .metadata import CONTROL

MAX_URL = 2048


def checked_source_url(value):
    """An absolute https URL without credentials, at most 2048 characters; else 400/422."""
    if value is None or value == "":
        raise UploadError(400, "missing_field", "'url' is required.", field="url")
    if not isinstance(value, str):
        raise UploadError(422, "invalid_url", "'url' must be a string.", field="url")
    url = value.strip()
    if len(url) > MAX_URL or CONTROL.search(url) or " " in url:
        raise UploadError(
            422, "invalid_url", f"'url' must be a URL of at most {MAX_URL} characters.", field="url"
        )
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018  (raises ValueError for a port that cannot exist)
    except ValueError:
        raise UploadError(422, "invalid_url", "'url' is not a valid URL.", field="url") from None
    if parts.scheme.lower() != "https":
        raise UploadError(422, "https_required", "Stream copies only from https:// URLs.", field="url")
    if not host or parts.username or parts.password:
        raise UploadError(422, "invalid_url", "'url' needs a host and no user name or password.", field="url")
    return url
