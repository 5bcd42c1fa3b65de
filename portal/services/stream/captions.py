"""Caption files for Stream: read an upload, convert SRT to WebVTT (Stream accepts only WebVTT)."""

import os
import re

MAX_CAPTION_BYTES = 10 * 1024 * 1024  # Cloudflare's caption size limit
LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
SRT_TIME = re.compile(r"(\d{1,2}):(\d{2}):(\d{2}),(\d{3})")


def srt_to_vtt(text):
    """Convert SubRip text to WebVTT: header, `,` -> `.` in cue timings, normalised newlines."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    lines = [SRT_TIME.sub(_vtt_time, line) if "-->" in line else line for line in text.split("\n")]
    return "WEBVTT\n\n" + "\n".join(lines).strip("\n") + "\n"


def _vtt_time(match):
    """`1:02:03,004` -> `01:02:03.004`."""
    hours, minutes, seconds, millis = match.groups()
    return f"{int(hours):02d}:{minutes}:{seconds}.{millis}"


def is_vtt(text):
    """WebVTT files start with the `WEBVTT` signature."""
    return text.lstrip("\ufeff").startswith("WEBVTT")


def read_caption_file(caption_file):
    """Read a path, bytes or file-like upload; return (text, original filename or None)."""
    if isinstance(caption_file, (bytes, bytearray)):
        data, name = bytes(caption_file), None
    elif isinstance(caption_file, (str, os.PathLike)):
        with open(caption_file, "rb") as fh:
            data = fh.read(MAX_CAPTION_BYTES + 1)
        name = os.fspath(caption_file)
    elif hasattr(caption_file, "read"):
        data = caption_file.read(MAX_CAPTION_BYTES + 1)
        name = getattr(caption_file, "filename", None) or getattr(caption_file, "name", None)
    else:
        raise TypeError("caption_file must be a path, bytes or a file-like object")
    if len(data) > MAX_CAPTION_BYTES:
        raise ValueError("caption file exceeds Cloudflare's 10 MB limit")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError("caption file must be UTF-8 text") from None
    return text, (os.path.basename(str(name)) if name else None)


def to_webvtt(caption_file):
    """Return WebVTT bytes for a .vtt or .srt caption file (SRT detected by name or content)."""
    text, name = read_caption_file(caption_file)
    if is_vtt(text):
        return text.lstrip("\ufeff").encode("utf-8")
    looks_srt = (name or "").lower().endswith(".srt") or SRT_TIME.search(text)
    if not looks_srt:
        raise ValueError("caption file is neither WebVTT nor SRT")
    return srt_to_vtt(text).encode("utf-8")


def check_language(language):
    """Caption languages are BCP-47 tags such as `en` or `pt-BR`."""
    if not isinstance(language, str) or not LANGUAGE.match(language):
        raise ValueError(f"invalid caption language {language!r}")
