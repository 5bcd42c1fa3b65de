"""The studio's list of uploads: whose, how far along, and what went wrong in plain words."""

from dataclasses import dataclass

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Event, MediaAsset, MediaAssetStatus, Role, TrainingSession, User

# Cloudflare's errorReasonCode values, said so that an instructor knows what to do next.
PLAIN_REASONS = {
    "ERR_NON_VIDEO": "The file is not a video Stream can read.",
    "ERR_DURATION_EXCEED_CONSTRAINT": "The video is longer than the portal allows.",
    "ERR_DURATION_TOO_SHORT": "The video is too short (under a tenth of a second).",
    "ERR_FETCH_ORIGIN_ERROR": "Stream could not download the video from the address given.",
    "ERR_MALFORMED_VIDEO": "The video file is damaged or incomplete.",
    "ERR_STORAGE_QUOTA_EXHAUSTED": "The association's Stream storage is full; tell an admin.",
    "ERR_UNSUPPORTED_VIDEO_CODEC": "The video uses a format Stream does not support.",
    "ERR_UNSUPPORTED_AUDIO_CODEC": "The sound uses a format Stream does not support.",
    "ERR_GOP_OUT_OF_RANGE": "The video's keyframes are too far apart for Stream.",
    "ERR_UNKNOWN": "Stream could not process the video, for a reason it did not give.",
}
STATUS_WORDS = {
    MediaAssetStatus.UPLOADING: "Uploading",
    MediaAssetStatus.PROCESSING: "Processing",
    MediaAssetStatus.READY: "Ready",
    MediaAssetStatus.FAILED: "Failed",
}


@dataclass
class StudioRow:
    """One line of the studio list."""

    asset: MediaAsset
    owner: str
    size: str
    status: str
    upload_percent: float | None
    processing_percent: float | None
    failure: str | None
    failure_detail: str | None


def human_size(size):
    """1536 -> '1.5 KB' (decimal units, as file managers show them); None -> '—'."""
    if size is None:
        return "—"
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{int(value)} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"  # pragma: no cover


def plain_failure(processing_error):
    """A stored processing error ('CODE: text' or free text) as a sentence for the instructor."""
    if not processing_error:
        return "The upload failed, for a reason the portal did not record."
    code = processing_error.partition(":")[0].strip()
    return PLAIN_REASONS.get(code, processing_error.strip())


def failure_detail(processing_error):
    """The technical text after a known code (for a "details" disclosure), or None."""
    code, _, text = (processing_error or "").partition(":")
    return text.strip() or None if code.strip() in PLAIN_REASONS else None


def stream_percent(asset):
    """Stream's pctComplete, when the asset holds one (Stream sends it as a string)."""
    meta = asset.extra_metadata if isinstance(asset.extra_metadata, dict) else {}
    value = meta.get("stream_pct_complete", meta.get("pctComplete"))
    try:
        percent = float(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, min(100.0, percent))


def visible_uploads_query(user):
    """Video assets the user sees in the studio: their own, or everyone's for an admin."""
    query = select(MediaAsset)
    if user.role != Role.ADMIN:
        query = query.where(MediaAsset.created_by == user.id)
    return query


def studio_uploads(user, page, per_page, upload_percent_of=None):
    """A page of the user's uploads (everyone's for admins), newest first, and the total count.

    `upload_percent_of(asset)` gives the percent received of an asset still uploading (from the
    upload sessions), or None when it is not known."""
    query = visible_uploads_query(user)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    assets = db.session.scalars(
        query.order_by(MediaAsset.created_at.desc(), MediaAsset.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    owner_ids = {a.created_by for a in assets if a.created_by is not None}
    owners = dict(db.session.execute(select(User.id, User.email).where(User.id.in_(owner_ids))).all())
    rows = []
    for asset in assets:
        uploading = asset.status == MediaAssetStatus.UPLOADING
        failed = asset.status == MediaAssetStatus.FAILED
        processing = asset.status == MediaAssetStatus.PROCESSING
        rows.append(
            StudioRow(
                asset=asset,
                owner=owners.get(asset.created_by, "—"),
                size=human_size(asset.file_size_bytes),
                status=STATUS_WORDS[asset.status],
                upload_percent=upload_percent_of(asset) if uploading and upload_percent_of else None,
                processing_percent=stream_percent(asset) if processing else None,
                failure=plain_failure(asset.processing_error) if failed else None,
                failure_detail=failure_detail(asset.processing_error) if failed else None,
            )
        )
    return rows, total


def asset_state(asset):
    """What the uploader page shows after finalize: status, Stream's percent, failure reason."""
    return {
        "asset_id": asset.id,
        "status": asset.status.value,
        "status_text": STATUS_WORDS[asset.status],
        "processing_percent": stream_percent(asset),
        "failure": plain_failure(asset.processing_error) if asset.status == MediaAssetStatus.FAILED else None,
    }


def can_manage(user, asset):
    """Whether the user may follow this upload: its uploader, or any admin."""
    return user.role == Role.ADMIN or asset.created_by == user.id


def link_targets(limit=200):
    """Training sessions and events an upload can be linked to, newest first."""
    sessions = db.session.scalars(
        select(TrainingSession).order_by(TrainingSession.starts_at.desc(), TrainingSession.title).limit(limit)
    ).all()
    events = db.session.scalars(
        select(Event).order_by(Event.starts_at.desc(), Event.title).limit(limit)
    ).all()
    return sessions, events
