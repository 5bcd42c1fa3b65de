"""The player page's settings, read from Cloudflare's iframe query parameters."""

import re

TIME_PATTERN = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$")
COLOUR_PATTERN = re.compile(r"^[#A-Za-z0-9(),.% ]{1,40}$")
PRELOAD_VALUES = ("auto", "metadata", "none")


def parse_time_offset(text):
    """Seconds from `123`, `2s`, `8m`, `5m2s` or `1h12m27s`; ValueError otherwise."""
    text = (text or "").strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    match = TIME_PATTERN.match(text)
    if not text or not match:
        raise ValueError(f"not a time offset: {text!r}")
    hours, minutes, seconds = (float(part) if part else 0.0 for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def _flag(args, name, default=False):
    if name not in args:
        return default
    return args[name].strip().lower() not in ("false", "0", "no")


def _colour(args, name):
    value = args.get(name, "")
    return value if COLOUR_PATTERN.match(value) else None


def player_settings(args, video_id, record, codecs):
    """Template values: sources, tracks and the <video> attributes the query string asks for."""
    base = f"/{video_id}"
    mp4_type = f'video/mp4; codecs="{codecs}"' if codecs else "video/mp4"
    preload = args.get("preload", "none")
    preload = "auto" if preload in ("", "true") else preload
    try:
        start_time = parse_time_offset(args["startTime"]) if args.get("startTime") else 0.0
    except ValueError:
        start_time = 0.0
    default_track = args.get("defaultTextTrack")
    tracks = [
        {
            "src": f"{base}/__emulator__/captions/{language}.vtt",
            "language": language,
            "label": caption["label"],
            "default": language == default_track,
        }
        for language, caption in sorted(record["_captions"].items())
    ]
    return {
        "ready": record["status"]["state"] == "ready",
        "sources": [
            {"src": f"{base}/__emulator__/video.mp4", "type": mp4_type},
            {"src": f"{base}/__emulator__/video.webm", "type": 'video/webm; codecs="vp9, opus"'},
        ],
        "tracks": tracks,
        "autoplay": _flag(args, "autoplay"),
        "muted": _flag(args, "muted"),
        "loop": _flag(args, "loop"),
        "controls": _flag(args, "controls", default=True),
        "preload": preload if preload in PRELOAD_VALUES else "none",
        "poster": args.get("poster") or f"{base}/thumbnails/thumbnail.jpg",
        "start_time": start_time,
        "primary_color": _colour(args, "primaryColor"),
        "letterbox_color": _colour(args, "letterboxColor"),
    }
