"""Thumbnails on demand: Cloudflare's time/width/height/fit parameters, cached per combination."""

from pathlib import Path

from .player import parse_time_offset
from .transcoding import render_thumbnail

FITS = ("crop", "clip", "scale", "fill")
MAX_DIMENSION = 4096


def _dimension(args, name):
    value = args.get(name)
    if value in (None, ""):
        return None
    if not value.isdigit() or not 1 <= int(value) <= MAX_DIMENSION:
        raise ValueError(f"{name} must be an integer from 1 to {MAX_DIMENSION}")
    return int(value)


def thumbnail_file(out_dir, record, args):
    """The cached (or freshly made) JPEG for these parameters; None if ffmpeg failed; ValueError for bad input."""
    duration = max(float(record.get("duration") or 0), 0.0)
    if args.get("time"):
        seconds = parse_time_offset(args["time"])
    else:
        seconds = float(record.get("thumbnailTimestampPct") or 0) * duration
    seconds = min(seconds, max(duration - 0.1, 0.0))
    width, height = _dimension(args, "width"), _dimension(args, "height")
    fit = args.get("fit", "crop")
    if fit not in FITS:
        raise ValueError(f"fit must be one of {', '.join(FITS)}")
    target = Path(out_dir) / "thumbnails" / f"t{round(seconds * 1000)}-w{width or 0}-h{height or 0}-{fit}.jpg"
    if target.is_file():
        return target
    if not render_thumbnail(Path(out_dir) / "video.mp4", target, seconds, width, height, fit):
        return None
    return target
