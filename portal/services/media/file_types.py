"""What an uploaded image or document really is, from its first bytes; anything that could run is refused."""

from dataclasses import dataclass

from portal.errors import APIError

HEAD_BYTES = 512


@dataclass(frozen=True)
class FileKind:
    """A type the portal stores: its MIME type, media type and the file extensions it may carry."""

    mime: str
    media_type: str
    extensions: tuple


PDF = FileKind("application/pdf", "document", (".pdf",))
PNG = FileKind("image/png", "image", (".png",))
JPEG = FileKind("image/jpeg", "image", (".jpg", ".jpeg"))
GIF = FileKind("image/gif", "image", (".gif",))
WEBP = FileKind("image/webp", "image", (".webp",))
KINDS = (PDF, PNG, JPEG, GIF, WEBP)

# What a file that is not one of KINDS turns out to be, for a message that says so.
DANGEROUS = (
    (b"MZ", "a Windows executable"),
    (b"\x7fELF", "a Linux executable"),
    (b"\xcf\xfa\xed\xfe", "a macOS executable"),
    (b"\xca\xfe\xba\xbe", "a macOS or Java executable"),
    (b"#!", "a script"),
    (b"PK\x03\x04", "a ZIP archive"),
)
MARKUP = (b"<!doctype", b"<html", b"<head", b"<body", b"<script", b"<svg", b"<?xml", b"<iframe", b"<meta")


def sniff(head):
    """The FileKind of a file from its first bytes, or None."""
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    return None


def describe_unknown(head):
    """What an unaccepted file looks like ("an HTML page", "a Windows executable", …)."""
    for magic, what in DANGEROUS:
        if head.startswith(magic):
            return what
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if stripped.startswith(MARKUP) or b"<script" in head.lower() or b"<html" in head.lower():
        return "an HTML or XML page"
    return "a file of unknown type"


def check_file(head, filename, claimed_media_type=None):
    """The FileKind of an upload whose name, claimed type and first bytes agree; else a 400/415 saying why."""
    name = (filename or "").lower()
    extension = "." + name.rsplit(".", 1)[-1] if "." in name else ""
    if not head:
        raise APIError(400, "empty_file", "The file is empty.", field="file")
    kind = sniff(head)
    if kind is None:
        found = describe_unknown(head)
        claimed = f"claims to be {extension[1:].upper()} but " if extension else ""
        raise APIError(
            415,
            "unsupported_file_type",
            f"The file {claimed}is {found}. Upload a PDF document or a PNG, JPEG, GIF or WebP image.",
            field="file",
        )
    if extension not in kind.extensions:
        raise APIError(
            415,
            "file_type_mismatch",
            f"The file is named {extension or 'without an extension'} but its content is {kind.mime}; "
            f"name it {kind.extensions[0]}.",
            field="file",
        )
    if claimed_media_type and claimed_media_type != kind.media_type:
        raise APIError(
            400,
            "file_type_mismatch",
            f"The file is {'a ' + kind.media_type}, not {'a ' + claimed_media_type}.",
            field="media_type",
        )
    return kind
