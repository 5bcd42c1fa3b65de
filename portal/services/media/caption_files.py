"""Caption files: check an uploaded .vtt or .srt (encoding, cue timings) and give Stream WebVTT."""

import re
from dataclasses import dataclass

MAX_CAPTION_BYTES = 10 * 1024 * 1024  # Cloudflare's caption size limit
FORMATS = ("vtt", "srt")

_VTT_TIME = r"(?:(\d{1,}):)?(\d{2}):(\d{2})\.(\d{3})"
_SRT_TIME = r"(\d{1,2}):(\d{2}):(\d{2})[,.](\d{3})"
VTT_TIMING = re.compile(rf"^{_VTT_TIME}[ \t]+-->[ \t]+{_VTT_TIME}(?:[ \t]+(.*))?$")
SRT_TIMING = re.compile(rf"^{_SRT_TIME}[ \t]*-->[ \t]*{_SRT_TIME}(?:[ \t]+.*)?$")
VTT_HEADER = re.compile(r"^WEBVTT(?:[ \t].*)?$")


class CaptionFileError(ValueError):
    """A caption file Stream would not take; `code` is snake_case, `line` the first bad line (1-based)."""

    def __init__(self, code, message, line=None, status=400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.line = line
        self.status = status


@dataclass
class CaptionTrack:
    """A checked caption file: WebVTT text for Stream, the format it came in, and its cue count."""

    vtt: str
    source_format: str
    cue_count: int


def decode_caption_bytes(data):
    """The file as text: UTF-8 (a BOM allowed); binary, UTF-16 and other encodings refused with the reason."""
    if not data or not data.strip(b" \t\r\n\xef\xbb\xbf"):
        raise CaptionFileError("empty_caption_file", "The caption file is empty.")
    if len(data) > MAX_CAPTION_BYTES:
        raise CaptionFileError(
            "caption_too_large", "The caption file is larger than Cloudflare's 10 MB limit.", status=413
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CaptionFileError(
            "unsupported_encoding", "The caption file is UTF-16; save it as UTF-8 and upload it again.", 1
        )
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise CaptionFileError(
            "binary_caption_file",
            f"Line {line}: the file holds binary data (NUL bytes), not caption text.",
            line,
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        byte = data[error.start]
        raise CaptionFileError(
            "unsupported_encoding",
            f"Line {line}: byte 0x{byte:02x} is not UTF-8 (the file looks like Latin-1 or Windows-1252); "
            "save it as UTF-8 and upload it again.",
            line,
        ) from None
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    for number, line_text in enumerate(text.split("\n"), start=1):
        if any(ord(ch) < 32 and ch not in "\t" for ch in line_text):
            raise CaptionFileError(
                "binary_caption_file", f"Line {number}: control characters are not caption text.", number
            )
    return text


def _seconds(hours, minutes, seconds, millis):
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(millis) / 1000


def _check_timing(match, number, groups_at=(0, 4)):
    """Start and end of a parsed timing line; minutes/seconds in range and start before end."""
    parts = match.groups()
    times = []
    for offset in groups_at:
        hours, minutes, seconds, millis = parts[offset : offset + 4]
        if int(minutes) > 59 or int(seconds) > 59:
            raise CaptionFileError(
                "invalid_cue_timing", f"Line {number}: minutes and seconds must be below 60.", number
            )
        times.append(_seconds(hours, minutes, seconds, millis))
    if times[0] >= times[1]:
        raise CaptionFileError(
            "invalid_cue_timing", f"Line {number}: the cue ends before or when it starts.", number
        )
    return times


def _blocks(lines, first=0):
    """(line number of the block's first line, its lines) for each blank-line separated block."""
    block, start = [], None
    for index in range(first, len(lines)):
        if lines[index].strip() == "":
            if block:
                yield start, block
            block, start = [], None
            continue
        if start is None:
            start = index + 1
        block.append(lines[index])
    if block:
        yield start, block


def check_vtt(text):
    """Check a WebVTT file's header and every cue's timing line; returns the cue count."""
    lines = text.split("\n")
    if not VTT_HEADER.match(lines[0]):
        raise CaptionFileError(
            "invalid_caption_file", "Line 1: a WebVTT file must start with the line WEBVTT.", 1
        )
    header_end = next((i for i, line in enumerate(lines) if not line.strip()), len(lines))
    cues = 0
    for start, block in _blocks(lines, header_end):
        if block[0].startswith(("NOTE", "STYLE", "REGION")) and "-->" not in block[0]:
            continue
        timing_at = 0 if "-->" in block[0] else 1
        if timing_at >= len(block) or "-->" not in block[timing_at]:
            raise CaptionFileError(
                "invalid_cue_timing",
                f"Line {start + timing_at}: expected a cue timing line such as "
                "'00:00:01.000 --> 00:00:04.000'.",
                start + timing_at,
            )
        number = start + timing_at
        match = VTT_TIMING.match(block[timing_at].strip())
        if not match:
            raise CaptionFileError(
                "invalid_cue_timing",
                f"Line {number}: '{block[timing_at][:80]}' is not a WebVTT timing "
                "('hh:mm:ss.ttt --> hh:mm:ss.ttt').",
                number,
            )
        _check_timing(match, number, (0, 4))
        cues += 1
    if not cues:
        raise CaptionFileError("empty_caption_file", "The caption file has no cues.")
    return cues


def srt_to_checked_vtt(text):
    """Check SubRip cues (index, timing, text) and convert them to WebVTT; returns (vtt, cue count)."""
    out = ["WEBVTT", ""]
    cues = 0
    for start, block in _blocks(text.split("\n")):
        timing_at = 1 if block[0].strip().isdigit() else 0
        number = start + timing_at
        if timing_at >= len(block):
            raise CaptionFileError(
                "invalid_cue_timing", f"Line {number}: the cue has no timing line.", number
            )
        match = SRT_TIMING.match(block[timing_at].strip())
        if not match:
            raise CaptionFileError(
                "invalid_cue_timing",
                f"Line {number}: '{block[timing_at][:80]}' is not an SRT timing "
                "('hh:mm:ss,mmm --> hh:mm:ss,mmm').",
                number,
            )
        _check_timing(match, number, (0, 4))
        g = match.groups()
        timing = f"{int(g[0]):02d}:{g[1]}:{g[2]}.{g[3]} --> {int(g[4]):02d}:{g[5]}:{g[6]}.{g[7]}"
        if timing_at:
            out.append(block[0].strip())
        out.append(timing)
        out.extend(line.replace("-->", "->") for line in block[timing_at + 1 :])
        out.append("")
        cues += 1
    if not cues:
        raise CaptionFileError("empty_caption_file", "The caption file has no cues.")
    return "\n".join(out), cues


def read_caption_file(data, filename=None):
    """Check an uploaded caption file (bytes) and return a CaptionTrack holding WebVTT for Stream."""
    text = decode_caption_bytes(data)
    name = (filename or "").lower()
    extension = name.rsplit(".", 1)[-1] if "." in name else ""
    if extension and extension not in FORMATS:
        raise CaptionFileError(
            "unsupported_caption_format",
            f"'.{extension}' files are not captions: upload a .vtt or .srt file.",
        )
    if text.startswith("WEBVTT") or extension == "vtt":
        return CaptionTrack(text.rstrip("\n") + "\n", "vtt", check_vtt(text))
    vtt, cues = srt_to_checked_vtt(text)
    return CaptionTrack(vtt, "srt", cues)
