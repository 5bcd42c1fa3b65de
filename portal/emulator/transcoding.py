"""The ffmpeg work: probing an input, encoding the renditions, packaging HLS/DASH and cutting thumbnails."""

import logging
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg

log = logging.getLogger(__name__)

DURATION_PATTERN = re.compile(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)")
FRAME_SIZE_PATTERN = re.compile(r"[ ,](\d{2,5})x(\d{2,5})\b")
OUT_TIME_PATTERN = re.compile(r"^out_time_us=(\d+)")
# Magic bytes of containers Stream accepts: a file that starts like one but will not open is malformed.
CONTAINER_SIGNATURES = (
    (4, b"ftyp"),
    (0, b"\x1a\x45\xdf\xa3"),
    (0, b"RIFF"),
    (0, b"FLV"),
    (0, b"\x00\x00\x01\xba"),
    (4, b"moov"),
    (4, b"mdat"),
    (4, b"wide"),
    (4, b"free"),
    (0, b"\x30\x26\xb2\x75"),
)
PROBE_TIMEOUT = 60
THUMBNAIL_TIMEOUT = 60


@dataclass
class Probe:
    """What ffmpeg could tell about an input."""

    opened: bool
    duration: float
    width: int
    height: int
    looks_like_container: bool
    stderr: str

    @property
    def has_video(self):
        """Whether a video stream with a size was found."""
        return self.width > 0 and self.height > 0


def ffmpeg_exe():
    """The ffmpeg binary that imageio-ffmpeg ships."""
    return imageio_ffmpeg.get_ffmpeg_exe()


def looks_like_container(path):
    """Whether the file starts with the signature of a video container (or an MPEG-TS sync byte)."""
    with open(path, "rb") as stream:
        head = stream.read(512)
    if len(head) > 376 and head[0] == 0x47 and head[188] == 0x47 and head[376] == 0x47:
        return True
    return any(head[offset : offset + len(magic)] == magic for offset, magic in CONTAINER_SIGNATURES)


def probe_media(path):
    """Duration and frame size of `path`, parsed from ffmpeg's stderr (there is no ffprobe)."""
    completed = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)],
        capture_output=True,
        text=True,
        errors="replace",
        timeout=PROBE_TIMEOUT,
        check=False,
    )
    stderr = completed.stderr
    duration_match = DURATION_PATTERN.search(stderr)
    duration = -1.0
    if duration_match:
        hours, minutes, seconds = duration_match.groups()
        duration = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    width, height = frame_size(stderr)
    return Probe("Input #0" in stderr, duration, width, height, looks_like_container(path), stderr)


def frame_size(stderr):
    """Width and height of the first real video stream in ffmpeg's input listing, or (-1, -1)."""
    for line in stderr.splitlines():
        if "Stream #" in line and ": Video: " in line and "attached pic" not in line:
            match = FRAME_SIZE_PATTERN.search(line.split(": Video: ", 1)[1])
            if match:
                return int(match.group(1)), int(match.group(2))
    return -1, -1


def encode_mp4(source, out_dir, duration, on_progress):
    """Encode the H.264/AAC MP4 rendition (at most 720p); False if the input broke on the way.

    `on_progress(fraction)` is called as ffmpeg reports its position.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    scale = "scale=-2:'min(720,ih)':flags=bicubic,scale=trunc(iw/2)*2:trunc(ih/2)*2,setsar=1"
    command = [
        ffmpeg_exe(),
        "-hide_banner",
        "-nostdin",
        "-y",
        "-loglevel",
        "error",
        "-nostats",
        "-progress",
        "pipe:1",
        "-i",
        str(source),
        "-map",
        "0:v:0",
        "-map",
        "0:a:0?",
        "-vf",
        scale,
        "-c:v",
        "libx264",
        "-preset",
        "superfast",
        "-profile:v",
        "main",
        "-pix_fmt",
        "yuv420p",
        "-force_key_frames",
        "expr:gte(t,n_forced*2)",
        "-c:a",
        "aac",
        "-b:a",
        "128k",
        "-ac",
        "2",
        "-ar",
        "48000",
        "-movflags",
        "+faststart",
        str(out_dir / "video.mp4"),
    ]
    reached = 0.0
    with open(out_dir / "ffmpeg.log", "w", encoding="utf-8") as log_file:
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log_file, text=True) as process:
            for line in process.stdout:
                match = OUT_TIME_PATTERN.match(line)
                if match:
                    reached = int(match.group(1)) / 1_000_000
                    if duration > 0:
                        on_progress(min(reached / duration, 1.0))
            returncode = process.wait()
    errors = (out_dir / "ffmpeg.log").read_text(encoding="utf-8", errors="replace")
    if returncode != 0 or "partial file" in errors:
        log.info("Encoding %s failed (exit %s): %s", source, returncode, errors[-500:])
        return False
    if duration > 1 and reached < duration * 0.9 - 0.5:
        log.info("Encoding %s stopped at %.2fs of %.2fs", source, reached, duration)
        return False
    return True


def encode_webm(out_dir):
    """Make a VP9/Opus WebM (at most 480p) from the MP4, for Chromium builds that cannot play H.264."""
    out_dir = Path(out_dir)
    handle, temporary = tempfile.mkstemp(dir=out_dir, prefix=".tmp-", suffix=".webm")
    os.close(handle)
    command = [
        ffmpeg_exe(),
        "-hide_banner",
        "-nostdin",
        "-y",
        "-loglevel",
        "error",
        "-i",
        str(out_dir / "video.mp4"),
        "-vf",
        "scale=-2:'min(480,ih)',scale=trunc(iw/2)*2:trunc(ih/2)*2",
        "-c:v",
        "libvpx-vp9",
        "-deadline",
        "realtime",
        "-cpu-used",
        "8",
        "-row-mt",
        "1",
        "-b:v",
        "800k",
        "-c:a",
        "libopus",
        "-b:a",
        "96k",
        "-f",
        "webm",
        temporary,
    ]
    completed = subprocess.run(command, capture_output=True, text=True, errors="replace", check=False)
    if completed.returncode != 0:
        Path(temporary).unlink(missing_ok=True)
        log.warning("WebM rendition in %s failed: %s", out_dir, completed.stderr[-500:])
        return False
    os.replace(temporary, out_dir / "video.webm")
    return True


def package_streaming(out_dir):
    """Cut the MP4 rendition into HLS (4 s segments, master video.m3u8) and DASH (video.mpd); whether it worked."""
    out_dir = Path(out_dir)
    manifest_dir = out_dir / "manifest"
    manifest_dir.mkdir(parents=True, exist_ok=True)
    base = [
        ffmpeg_exe(),
        "-hide_banner",
        "-nostdin",
        "-y",
        "-loglevel",
        "error",
        "-i",
        str(out_dir / "video.mp4"),
        "-map",
        "0",
        "-c",
        "copy",
    ]
    hls = [
        *base,
        "-f",
        "hls",
        "-hls_time",
        "4",
        "-hls_playlist_type",
        "vod",
        "-hls_segment_filename",
        str(manifest_dir / "seg_%03d.ts"),
        "-master_pl_name",
        "master.m3u8",
        str(manifest_dir / "stream.m3u8"),
    ]
    dash = [
        *base,
        "-f",
        "dash",
        "-seg_duration",
        "4",
        "-use_template",
        "1",
        "-use_timeline",
        "1",
        str(manifest_dir / "video.mpd"),
    ]
    for command in (hls, dash):
        completed = subprocess.run(command, capture_output=True, text=True, errors="replace", check=False)
        if completed.returncode != 0:
            log.warning("Packaging in %s failed: %s", out_dir, completed.stderr[-500:])
            return False
    return True


def thumbnail_filter(width, height, fit):
    """The ffmpeg scale filter for Cloudflare's thumbnail width/height/fit parameters."""
    if width and height:
        if fit == "scale":
            return f"scale={width}:{height}"
        if fit == "clip":
            return f"scale={width}:{height}:force_original_aspect_ratio=decrease"
        if fit == "fill":
            return (
                f"scale={width}:{height}:force_original_aspect_ratio=decrease,"
                f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2"
            )
        return f"scale={width}:{height}:force_original_aspect_ratio=increase,crop={width}:{height}"
    if height:
        return f"scale=-2:{height}"
    return f"scale={width or 640}:-2"


def render_thumbnail(video_path, target, seconds, width, height, fit):
    """Write a JPEG frame at `seconds` to `target` (atomically); whether it worked."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".jpg")
    os.close(handle)
    command = [
        ffmpeg_exe(),
        "-hide_banner",
        "-nostdin",
        "-y",
        "-loglevel",
        "error",
        "-ss",
        f"{seconds:.3f}",
        "-i",
        str(video_path),
        "-frames:v",
        "1",
        "-vf",
        thumbnail_filter(width, height, fit),
        "-q:v",
        "3",
        "-f",
        "image2",
        temporary,
    ]
    try:
        completed = subprocess.run(
            command, capture_output=True, text=True, errors="replace", timeout=THUMBNAIL_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        completed = subprocess.CompletedProcess(command, -1, "", f"timed out after {THUMBNAIL_TIMEOUT}s")
    if completed.returncode != 0 or os.path.getsize(temporary) == 0:
        os.unlink(temporary)
        log.warning("Thumbnail of %s at %.3fs failed: %s", video_path, seconds, completed.stderr[-300:])
        return False
    os.replace(temporary, target)
    return True
