"""HLS playlists built at request time: the master (with caption renditions) and one playlist per caption."""

import math
import re
from pathlib import Path

from .api_captions import caption_label

CODECS_PATTERN = re.compile(r'CODECS="([^"]+)"')


def _master_lines(out_dir):
    path = Path(out_dir) / "manifest" / "master.m3u8"
    return path.read_text(encoding="utf-8").splitlines() if path.is_file() else []


def stream_codecs(out_dir):
    """The RFC 6381 codecs string of the MP4 rendition (from ffmpeg's master playlist), or None."""
    for line in _master_lines(out_dir):
        match = CODECS_PATTERN.search(line)
        if match:
            return match.group(1)
    return None


def master_playlist(out_dir, record):
    """ffmpeg's master playlist plus an EXT-X-MEDIA subtitle rendition for each caption."""
    captions = sorted(record["_captions"])
    lines = []
    for line in _master_lines(out_dir):
        if line.startswith("#EXT-X-STREAM-INF") and captions:
            for language in captions:
                name = caption_label(language).replace('"', "'")
                lines.append(
                    f'#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="{name}",LANGUAGE="{language}",'
                    f'AUTOSELECT=YES,DEFAULT=NO,URI="caption_{language}.m3u8"'
                )
            line += ',SUBTITLES="subs"'
        lines.append(line)
    return "\n".join(lines) + "\n"


def caption_playlist(record, language):
    """A VOD media playlist whose single segment is the caption's WebVTT file."""
    duration = max(float(record.get("duration") or 0), 1.0)
    return (
        "\n".join(
            [
                "#EXTM3U",
                "#EXT-X-VERSION:3",
                f"#EXT-X-TARGETDURATION:{math.ceil(duration)}",
                "#EXT-X-MEDIA-SEQUENCE:0",
                "#EXT-X-PLAYLIST-TYPE:VOD",
                f"#EXTINF:{duration:.3f},",
                f"caption_{language}.vtt",
                "#EXT-X-ENDLIST",
            ]
        )
        + "\n"
    )
