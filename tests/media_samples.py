"""Sample media for the emulator tests, made with the bundled ffmpeg and cached per session."""

import shutil
import subprocess
from pathlib import Path

import imageio_ffmpeg

_made = {}


def _ffmpeg(*args):
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error", *args],
        check=True,
        capture_output=True,
    )


def _cached(key, path, make):
    """Copy a sample made earlier in this session to `path`, or make it (into `path`) and remember it."""
    path = Path(path)
    if key in _made and _made[key].exists():
        if _made[key] != path:
            shutil.copyfile(_made[key], path)
        return path
    make(path)
    _made[key] = path
    return path


def make_sample_video(path, seconds=2, size="320x240"):
    """An H.264/AAC MP4 of the lavfi test pattern with a sine tone (moov atom at the front)."""

    def make(target):
        _ffmpeg(
            "-f",
            "lavfi",
            "-i",
            f"testsrc=size={size}:rate=25",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=44100",
            "-t",
            str(seconds),
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
            "-movflags",
            "+faststart",
            str(target),
        )

    return _cached(("video", seconds, size), path, make)


def make_broken_video(path):
    """An MP4 cut off halfway, with its moov atom (the index) at the end and so lost: a truncated upload."""

    def make(target):
        whole = Path(target).with_suffix(".whole.mp4")
        _ffmpeg(
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=25",
            "-t",
            "2",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            str(whole),
        )
        data = whole.read_bytes()
        whole.unlink()
        Path(target).write_bytes(data[: len(data) // 2])

    return _cached(("broken",), path, make)


def make_not_video(path):
    """A text file dressed up as a video upload."""

    def make(target):
        Path(target).write_text("This is a plain text file, not a video.\n" * 200, encoding="utf-8")

    return _cached(("text",), path, make)
