"""Recognising the seed's video containers (MP4, MOV, MKV, AVI, FLV, WebM) by their first bytes."""

# ISO base media (MP4, MOV, M4V): a box size, then one of these box types at bytes 4-8.
ISO_BOXES = {b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot", b"uuid"}
EBML = b"\x1a\x45\xdf\xa3"  # Matroska and WebM
HEADER_BYTES = 12

FAMILIES = {
    "mp4": "iso",
    "m4v": "iso",
    "mov": "iso",
    "mkv": "ebml",
    "webm": "ebml",
    "avi": "riff",
    "flv": "flv",
}
NAMES = {"iso": "MP4/MOV", "ebml": "Matroska/WebM", "riff": "AVI", "flv": "FLV"}


def sniff(head):
    """The container family the first bytes show ("iso", "ebml", "riff", "flv"), or None."""
    if len(head) >= 8 and head[4:8] in ISO_BOXES:
        return "iso"
    if head.startswith(EBML):
        return "ebml"
    if len(head) >= 12 and head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return "riff"
    if head.startswith(b"FLV\x01"):
        return "flv"
    return None


def matches_extension(head, extension):
    """True when the first bytes are the container the extension names."""
    return sniff(head) == FAMILIES.get(extension)


def describe(extension):
    """A container's name for messages: "MP4/MOV" for .mov."""
    return NAMES.get(FAMILIES.get(extension), extension.upper())
