"""The studio's list of uploads: whose, how far along, and what went wrong in plain words."""

from dataclasses import dataclass

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Event, MediaAsset, MediaAssetStatus, Role, TrainingSession, User
from portal.services.processing_errors import MEANINGS

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
    sending: bool  # every byte received; the push to Stream is queued, running or waiting to retry
    note: str | None  # why the last push attempt failed, while a retry is still to come
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
    """A stored processing error as a sentence for the instructor.

    Stream's failures are stored in plain words already (portal/services/processing_errors.py);
    an older row holding "CODE: text" is read through the same table.
    """
    if not processing_error:
        return "The upload failed, for a reason the portal did not record."
    code = processing_error.partition(":")[0].strip()
    return MEANINGS[code].sentence if code in MEANINGS else processing_error.strip()


def failure_detail(asset):
    """Stream's own words about a failure (kept for staff), or None."""
    return asset.stream_error or None


def stream_percent(asset):
    """Stream's pctComplete while it processes the video (kept on the asset by every status check)."""
    value = asset.stream_pct_complete
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


def studio_uploads(user, page, per_page, upload_progress_of=None):
    """A page of the user's uploads (everyone's for admins), newest first, and the total count.

    `upload_progress_of(asset)` gives the upload session of an asset still uploading (its
    `percent` received and `status`), or None when it is not known."""
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
        progress = upload_progress_of(asset) if uploading and upload_progress_of else None
        sending = bool(progress) and progress.get("status") in ("finalizing", "complete")
        rows.append(
            StudioRow(
                asset=asset,
                owner=owners.get(asset.created_by, "—"),
                size=human_size(asset.file_size_bytes),
                status=STATUS_WORDS[asset.status],
                upload_percent=progress.get("percent") if progress and not sending else None,
                sending=sending,
                note=asset.processing_error if uploading and asset.processing_error else None,
                processing_percent=stream_percent(asset) if processing else None,
                failure=plain_failure(asset.processing_error) if failed else None,
                failure_detail=failure_detail(asset) if failed else None,
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
