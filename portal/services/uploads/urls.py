"""Checking the https URL Stream is asked to copy a video from."""

import ipaddress
import socket
from urllib.parse import unquote, urlsplit

from .errors import UploadError
from .metadata import CONTROL

MAX_URL = 2048
# Names that never lead to a public server (RFC 6761, RFC 6762, RFC 8375, common internal suffixes).
LOCAL_NAMES = ("localhost", "local", "internal", "home.arpa", "localdomain", "lan", "intranet")


NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _embedded_ipv4(address):
    """The IPv4 address an IPv6 one carries (mapped, compatible, 6to4, NAT64), or None."""
    if address.version != 6:
        return None
    if address.ipv4_mapped or address.sixtofour:
        return address.ipv4_mapped or address.sixtofour
    if address in NAT64 or int(address) >> 32 == 0:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _host_name(host):
    """The host as a resolver reads it: percent-decoded, IDNA-mapped (fullwidth letters and dots
    such as U+FF0E or U+3002 become ASCII), lower case, without trailing dots; None if it cannot be."""
    name = unquote(host).rstrip(".").lower()
    if CONTROL.search(name) or " " in name:
        return None  # no resolver reads %00 or %20
    try:
        ipaddress.ip_address(name)
        return name  # an IPv6 literal, not a name
    except ValueError:
        pass
    try:
        return name.encode("idna").decode("ascii").rstrip(".").lower()
    except UnicodeError:
        return None


def private_host(host):
    """True for a host Stream cannot fetch from the internet: a loopback, private, link-local or
    otherwise non-public IP literal (an IPv6 one carrying such an IPv4 included), a local-only name,
    or a name no resolver could read. (A public name that resolves to a private address is Stream's
    to refuse: it fetches, not the portal.)"""
    name = _host_name(host)
    if not name:
        return True
    try:
        address = ipaddress.ip_address(name)
        embedded = _embedded_ipv4(address)
        return not address.is_global or (embedded is not None and not embedded.is_global)
    except ValueError:
        pass
    try:  # the shorthand forms resolvers still read as IPv4: 127.1, 0x7f.0.0.1, 2130706433
        return not ipaddress.IPv4Address(socket.inet_aton(name)).is_global
    except (OSError, ValueError):  # ValueError: a NUL in the name
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
