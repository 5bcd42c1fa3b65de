"""Checking the https URL Stream is asked to copy a video from."""

import ipaddress
import socket
from urllib.parse import urlsplit

from .errors import UploadError
from .metadata import CONTROL

MAX_URL = 2048
# Names that never lead to a public server (RFC 6761, RFC 6762, RFC 8375, common internal suffixes).
LOCAL_NAMES = ("localhost", "local", "internal", "home.arpa", "localdomain", "lan", "intranet")


def private_host(host):
    """True for a host Stream cannot fetch from the internet: a loopback, private, link-local or
    otherwise non-public IP literal, or a local-only name. (A public name that resolves to a private
    address is Stream's to refuse: it fetches, not the portal.)"""
    name = host.rstrip(".").lower()
    try:
        return not ipaddress.ip_address(name).is_global
    except ValueError:
        pass
    try:  # the shorthand forms resolvers still read as IPv4: 127.1, 0x7f.0.0.1, 2130706433
        return not ipaddress.IPv4Address(socket.inet_aton(name)).is_global
    except OSError:
        pass
    return "." not in name or any(name == local or name.endswith("." + local) for local in LOCAL_NAMES)


def checked_source_url(value):
    """An absolute https URL to a public host, without credentials, at most 2048 characters; else 400/422."""
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
    if private_host(host):
        raise UploadError(
            422,
            "private_address",
            f"Stream fetches the file over the internet and cannot reach {host}: use a public https:// URL.",
            field="url",
        )
    return url
