"""The customer domain at the server root: /<uid or token>/iframe, /watch, manifests, thumbnails, downloads."""

import re

from flask import Blueprint, Response, current_app, render_template, request, send_file

from .access import DeliveryRefused, authorize, check_embedding_origin
from .player import player_settings
from .playlists import caption_playlist, master_playlist, stream_codecs
from .thumbnails import thumbnail_file
from .videos import state_of

SAFE_FILE_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
CAPTION_FILE = re.compile(r"^caption_([A-Za-z0-9-]+)\.(m3u8|vtt)$")
CONTENT_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".mpd": "application/dash+xml",
    ".m4s": "video/iso.segment",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".vtt": "text/vtt",
}

customer_domain = Blueprint("customer_domain", __name__)


@customer_domain.errorhandler(DeliveryRefused)
def refused(error):
    """A refusal as a short text body, as Cloudflare's delivery hosts answer."""
    return Response(f"{error.status} {error.reason}\n", status=error.status, mimetype="text/plain")


@customer_domain.after_request
def allow_any_origin(response):
    """Delivery URLs are fetched by players on other origins."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _emulator():
    return current_app.extensions["stream_emulator"]


def _ready(record):
    if state_of(record) != "ready":
        raise DeliveryRefused(404, f"video is not ready (state {state_of(record)})")


def _send(path):
    if not path.is_file():
        raise DeliveryRefused(404, "not found")
    mimetype = CONTENT_TYPES.get(path.suffix)
    return send_file(path, mimetype=mimetype, conditional=True, max_age=0)


@customer_domain.get("/<video_id>/iframe")
@customer_domain.get("/<video_id>/watch")
def player(video_id):
    """The player page: a <video> over the processed rendition, with a <track> per caption.

    A refused id (bad or expired token, bare uid of a protected video, foreign origin) keeps its
    status but gets a page that reports `error` to the Player API, as Cloudflare's player does.
    """
    page = request.path.rsplit("/", 1)[1]
    try:
        record, _ = authorize(video_id)
        check_embedding_origin(record)
    except DeliveryRefused as refusal:
        html = render_template("emulator/player.html", page=page, record=None, error=refusal)
        return Response(html, status=refusal.status, mimetype="text/html")
    out_dir = _emulator().videos.output_dir(record["uid"])
    settings = player_settings(request.args, video_id, record, stream_codecs(out_dir))
    return render_template("emulator/player.html", page=page, record=record, video_id=video_id, **settings)


@customer_domain.get("/<video_id>/manifest/video.m3u8")
def hls_manifest(video_id):
    """The HLS master playlist, with the caption tracks as subtitle renditions."""
    record, _ = authorize(video_id)
    check_embedding_origin(record)
    _ready(record)
    text = master_playlist(_emulator().videos.output_dir(record["uid"]), record)
    return Response(text, mimetype=CONTENT_TYPES[".m3u8"])


@customer_domain.get("/<video_id>/manifest/<name>")
def manifest_file(video_id, name):
    """HLS media playlists and segments, the DASH manifest and its segments, caption playlists."""
    record, _ = authorize(video_id)
    _ready(record)
    caption = CAPTION_FILE.match(name)
    if caption:
        language, kind = caption.groups()
        if language not in record["_captions"]:
            raise DeliveryRefused(404, "caption not found")
        if kind == "m3u8":
            return Response(caption_playlist(record, language), mimetype=CONTENT_TYPES[".m3u8"])
        return _send(_emulator().videos.video_dir(record["uid"]) / "captions" / f"{language}.vtt")
    if not SAFE_FILE_NAME.match(name) or name == "master.m3u8":
        raise DeliveryRefused(404, "not found")
    return _send(_emulator().videos.output_dir(record["uid"]) / "manifest" / name)


@customer_domain.get("/<video_id>/thumbnails/thumbnail.jpg")
def thumbnail(video_id):
    """A JPEG frame (time, width, height, fit), made by ffmpeg and cached."""
    record, _ = authorize(video_id)
    _ready(record)
    try:
        path = thumbnail_file(_emulator().videos.output_dir(record["uid"]), record, request.args)
    except ValueError as error:
        raise DeliveryRefused(400, str(error)) from None
    if path is None:
        raise DeliveryRefused(500, "the thumbnail could not be made")
    return _send(path)


@customer_domain.get("/<video_id>/downloads/default.mp4")
def download(video_id):
    """The MP4 download, once created through the API; protected videos need a downloadable token."""
    record, _ = authorize(video_id, download=True)
    _ready(record)
    if not record["_downloads"].get("default"):
        raise DeliveryRefused(404, "no download has been created for this video")
    response = _send(_emulator().videos.output_dir(record["uid"]) / "video.mp4")
    name = request.args.get("filename", "")
    if name and re.fullmatch(r"[A-Za-z0-9_-]{1,120}", name):
        response.headers["Content-Disposition"] = f'attachment; filename="{name}.mp4"'
    return response


@customer_domain.get("/<video_id>/__emulator__/video.<any(mp4, webm):extension>")
def progressive(video_id, extension):
    """The progressive rendition the emulator's player page plays (browsers cannot play HLS natively)."""
    record, _ = authorize(video_id)
    _ready(record)
    if extension == "webm":
        return _send(_emulator().processor.ensure_webm(record["uid"]))
    return _send(_emulator().videos.output_dir(record["uid"]) / "video.mp4")


@customer_domain.get("/<video_id>/__emulator__/captions/<language>.vtt")
def caption_track(video_id, language):
    """A caption's WebVTT for the player page's <track> element."""
    record, _ = authorize(video_id)
    if language not in record["_captions"]:
        raise DeliveryRefused(404, "caption not found")
    return _send(_emulator().videos.video_dir(record["uid"]) / "captions" / f"{language}.vtt")
