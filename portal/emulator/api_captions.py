"""Caption tracks of a video: upload (WebVTT), list, get, fetch the VTT, delete."""

import logging
import re
import subprocess
import threading

from flask import Blueprint, Response, current_app, request

from .api_videos import find_video
from .auth import emulator, require_api_auth
from .envelope import CONFLICT, DECODING_ERROR, ApiError, bad_request, envelope, not_found
from .generated_captions import GENERATABLE, generated_vtt, sound_spans
from .videos import state_of

log = logging.getLogger(__name__)

MAX_CAPTION_BYTES = 10 * 1024 * 1024
LANGUAGE_PATTERN = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
# Cloudflare labels a track with the language's own name.
NATIVE_NAMES = {
    "cs": "Čeština",
    "da": "Dansk",
    "de": "Deutsch",
    "el": "Ελληνικά",
    "en": "English",
    "en-gb": "British English",
    "en-us": "American English",
    "es": "Español",
    "fi": "Suomi",
    "fr": "Français",
    "hi": "हिन्दी",
    "it": "Italiano",
    "ja": "日本語",
    "ko": "한국어",
    "nl": "Nederlands",
    "no": "Norsk",
    "pl": "Polski",
    "pt": "Português",
    "pt-br": "Português do Brasil",
    "ru": "Русский",
    "sv": "Svenska",
    "tr": "Türkçe",
    "uk": "Українська",
    "zh": "中文",
    "zh-cn": "中文（中国）",
    "zh-tw": "中文（台灣）",
}

captions_api = Blueprint(
    "captions_api", __name__, url_prefix="/client/v4/accounts/<account_id>/stream/<uid>/captions"
)
captions_api.before_request(require_api_auth)


def caption_label(language):
    """The native name Cloudflare shows for a language code."""
    lowered = language.lower()
    return NATIVE_NAMES.get(lowered) or NATIVE_NAMES.get(lowered.split("-")[0]) or language


def caption_object(language, caption):
    """The caption as Cloudflare returns it."""
    return {
        "language": language,
        "label": caption["label"],
        "generated": bool(caption.get("generated", False)),
        "status": caption.get("status", "ready"),
    }


def caption_path(uid, language):
    """Where a caption's WebVTT text is kept."""
    return emulator().videos.video_dir(uid) / "captions" / f"{language}.vtt"


def _find_caption(uid, language):
    caption = find_video(uid)["_captions"].get(language)
    if caption is None:
        raise not_found("Caption not found")
    return caption


@captions_api.put("/<language>")
def upload_caption(account_id, uid, language):
    """Add or replace a caption track from a multipart `file` holding WebVTT."""
    find_video(uid)
    if not LANGUAGE_PATTERN.match(language):
        raise bad_request("The language must be a BCP-47 tag such as en or pt-BR")
    if request.mimetype != "multipart/form-data" or "boundary" not in request.mimetype_params:
        raise ApiError(400, DECODING_ERROR, "Decoding Error")
    upload = request.files.get("file")
    if upload is None:
        raise bad_request("The multipart body must have a `file` field with the WebVTT captions")
    content = upload.read(MAX_CAPTION_BYTES + 1)
    if len(content) > MAX_CAPTION_BYTES:
        raise ApiError(413, 10006, "Caption files are limited to 10 MB")
    text = content.decode("utf-8-sig", errors="replace")
    if not text.startswith("WEBVTT"):
        raise bad_request("The caption file must be WebVTT (it has to start with WEBVTT)")
    path = caption_path(uid, language)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    caption = {"label": caption_label(language)}
    record = emulator().videos.mutate(uid, lambda video: video["_captions"].update({language: caption}))
    if record is None:
        raise not_found("Video not found")
    return envelope(caption_object(language, caption))


@captions_api.get("")
def list_captions(account_id, uid):
    """Every caption track of the video."""
    captions = find_video(uid)["_captions"]
    return envelope([caption_object(language, caption) for language, caption in sorted(captions.items())])


@captions_api.get("/<language>")
def get_caption(account_id, uid, language):
    """One caption track."""
    return envelope(caption_object(language, _find_caption(uid, language)))


@captions_api.get("/<language>/vtt")
def caption_vtt(account_id, uid, language):
    """The raw WebVTT text (no envelope)."""
    _find_caption(uid, language)
    return Response(caption_path(uid, language).read_text(encoding="utf-8"), mimetype="text/vtt")


@captions_api.delete("/<language>")
def delete_caption(account_id, uid, language):
    """Remove a caption track; the result is an empty string."""
    _find_caption(uid, language)
    emulator().videos.mutate(uid, lambda video: video["_captions"].pop(language, None))
    caption_path(uid, language).unlink(missing_ok=True)
    return envelope("")


@captions_api.post("/<language>/generate")
def generate_caption(account_id, uid, language):
    """Start generating a track from the audio (ready videos, Cloudflare's languages, one track per language)."""
    record = find_video(uid)
    if language not in GENERATABLE:
        raise bad_request(f"Captions can be generated in {', '.join(GENERATABLE)} only")
    if state_of(record) != "ready":
        raise bad_request("Captions can be generated for ready videos only")
    if language in record["_captions"]:
        raise ApiError(409, CONFLICT, "A caption track exists for this language; delete it first")
    caption = {
        "label": f"{caption_label(language)} (auto-generated)",
        "generated": True,
        "status": "inprogress",
    }
    emulator().videos.mutate(uid, lambda video: video["_captions"].update({language: caption}))
    app = current_app._get_current_object()
    threading.Thread(target=_generate, args=(app, uid, language), daemon=True).start()
    return envelope(caption_object(language, caption))


def _generate(app, uid, language):
    """Write the generated track and mark it ready (or error), unless it was deleted meanwhile."""
    with app.app_context():
        videos = emulator().videos
        record = videos.get(uid)
        if record is None:
            return
        try:
            spans = sound_spans(videos.source_path(uid), record.get("duration") or 0)
            status = "ready"
        except (OSError, ValueError, subprocess.SubprocessError) as error:
            log.info("Generating %s captions for %s failed: %s", language, uid, error)
            spans, status = [], "error"
        if status == "ready":
            path = caption_path(uid, language)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(generated_vtt(spans, language), encoding="utf-8")

        def finish(video):
            caption = video["_captions"].get(language)
            if caption is not None and caption.get("generated") and caption.get("status") == "inprogress":
                caption["status"] = status

        videos.mutate(uid, finish)
