"""Caption tracks of a video: upload (.vtt/.srt), generate, list and delete, in step with Stream."""

import logging

from sqlalchemy.exc import IntegrityError

from portal.errors import APIError
from portal.extensions import db
from portal.models import Caption, MediaAssetStatus
from portal.services.media.audit import record_change
from portal.services.media.caption_files import CaptionFileError, read_caption_file
from portal.services.media.languages import InvalidLanguage, check_generatable, normalize_language
from portal.services.stream import StreamError, get_client

log = logging.getLogger(__name__)

MAX_LABEL_LENGTH = 100


def _language(tag):
    try:
        return normalize_language(tag)
    except InvalidLanguage as error:
        raise APIError(400, "invalid_language", str(error), field="language") from None


def _label(label, language):
    label = (label or "").strip()
    if len(label) > MAX_LABEL_LENGTH:
        raise APIError(
            400, "field_too_long", f"'label' is longer than {MAX_LABEL_LENGTH} characters.", field="label"
        )
    if any(ord(ch) < 32 for ch in label):
        raise APIError(400, "invalid_field", "'label' must be one line of text.", field="label")
    return label or language


def _stream_uid(asset):
    if not asset.stream_video_id:
        raise APIError(
            409, "not_on_stream", "This video is not on Stream yet; add captions once it is uploaded."
        )
    return asset.stream_video_id


def stream_failure(error, doing):
    """The APIError telling the editor Stream did not take a change (and that nothing changed)."""
    log.warning("Stream refused or failed while %s: %s", doing, error)
    if error.status_code and 400 <= error.status_code < 500 and error.status_code not in (408, 429):
        return APIError(409, "stream_refused", f"Stream refused {doing}: {error}. Nothing was changed.")
    return APIError(
        503,
        "stream_unavailable",
        f"Stream could not be reached while {doing}; nothing was changed. Try again.",
    )


def find_caption(asset, language):
    """The asset's track for a (normalized) language, or None."""
    return next((c for c in asset.captions if c.language.lower() == language.lower()), None)


def upload_caption(asset, user, data, filename, language, label=None):
    """Check a caption file, push it to Stream as WebVTT (replacing the language's track), keep it."""
    language = _language(language)
    label = _label(label, language)
    try:
        track = read_caption_file(data, filename)
    except CaptionFileError as error:
        extra = {"line": error.line} if error.line else {}
        raise APIError(error.status, error.code, error.message, field="caption_file", **extra) from None
    uid = _stream_uid(asset)
    try:
        get_client().upload_captions(uid, track.vtt.encode("utf-8"), language)
    except StreamError as error:
        raise stream_failure(error, f"taking the {language} captions") from None
    caption = find_caption(asset, language)
    old = caption.label if caption else None
    if caption is None:
        caption, old = _claim_track(asset, language, label)
    caption.label, caption.source_format = label, track.source_format
    caption.generated, caption.status = False, "ready"
    record_change(asset, user, "caption_uploaded", language, old, f"{label} ({track.cue_count} cues)")
    db.session.flush()
    return caption


def _claim_track(asset, language, label):
    """(row, its old label): a new row for the language, or the one a concurrent upload just committed."""
    try:
        with db.session.begin_nested():
            caption = Caption(asset=asset, language=language, label=label)
            db.session.add(caption)
    except IntegrityError:
        db.session.expire(asset, ["captions"])
        caption = find_caption(asset, language)
        return caption, caption.label
    return caption, None


def generate_caption(asset, user, language):
    """Ask Stream to generate a track for a ready video; an existing track must be removed first."""
    language = _language(language)
    try:
        check_generatable(language)
    except InvalidLanguage as error:
        raise APIError(400, "language_not_generatable", str(error), field="language") from None
    if asset.status != MediaAssetStatus.READY:
        raise APIError(409, "not_ready", "Captions can be generated once the video is ready.")
    existing = find_caption(asset, language)
    if existing is not None:
        kind = "a generated" if existing.generated else "an uploaded"
        raise APIError(
            409,
            "caption_exists",
            f"There is already {kind} {language} track; delete it first, as Stream allows one per language.",
        )
    try:
        result = get_client().generate_captions(_stream_uid(asset), language) or {}
    except StreamError as error:
        raise stream_failure(error, f"generating {language} captions") from None
    caption = Caption(
        asset=asset,
        language=language,
        label=str(result.get("label") or f"{language} (auto-generated)")[:MAX_LABEL_LENGTH],
        source_format="vtt",  # Stream writes generated tracks as WebVTT (and `generated` says who made it)
        generated=True,
        status=str(result.get("status") or "inprogress")[:16],
    )
    db.session.add(caption)
    record_change(asset, user, "caption_generation_started", language, None, caption.label)
    db.session.flush()
    return caption


def refresh_generating(asset):
    """Ask Stream about tracks still generating and take their status; True if any changed."""
    pending = [c for c in asset.captions if c.generated and c.status == "inprogress"]
    if not pending or not asset.stream_video_id:
        return False
    try:
        tracks = {t.get("language"): t for t in get_client().list_captions(asset.stream_video_id)}
    except StreamError as error:
        log.info("Could not refresh caption status of %s: %s", asset.id, error)
        return False
    changed = False
    for caption in pending:
        status = (tracks.get(caption.language) or {}).get("status", "error")
        if status != caption.status:
            caption.status, changed = status, True
    db.session.flush()
    return changed


def delete_caption(asset, user, language):
    """Remove a track from Stream and the portal (a track Stream no longer has is removed here too)."""
    language = _language(language)
    caption = find_caption(asset, language)
    if caption is None:
        raise APIError(404, "caption_not_found", f"This video has no {language} caption track.")
    try:
        get_client().delete_captions(_stream_uid(asset), caption.language)
    except StreamError as error:
        if error.status_code != 404:
            raise stream_failure(error, f"deleting the {language} captions") from None
    record_change(asset, user, "caption_deleted", caption.language, caption.label, None)
    asset.captions.remove(caption)
    db.session.flush()


def caption_json(caption):
    """A track as the API returns it."""
    return {
        "language": caption.language,
        "label": caption.label,
        "generated": caption.generated,
        "status": caption.status,
        "source_format": caption.source_format,
        "created_at": caption.created_at.isoformat() if caption.created_at else None,
    }
