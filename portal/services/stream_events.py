"""Stream webhook operations: record a delivery once, apply a video object to its asset (never
backwards), and reconcile what webhooks missed. Operations flush; callers commit (recording a
delivery excepted: it is one autocommitted statement)."""

import hashlib
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, select, text

from portal.extensions import db
from portal.models import (
    EntityType,
    MediaAsset,
    MediaAssetStatus,
    RecordingStatus,
    TrainingSession,
    WebhookDelivery,
)
from portal.services import notifications, stream_orphans
from portal.services.processing_errors import MISSING_ON_STREAM, meaning_of
from portal.services.stream import StreamError, get_client
from portal.services.stream_payloads import (  # noqa: F401  (parse_payload, InvalidPayload: the endpoint's)
    InvalidPayload,
    check_video,
    in_the_future,
    parse_modified,
    parse_payload,
)

log = logging.getLogger(__name__)

MAX_UID_LENGTH = 64
MAX_STATE_LENGTH = 32
TERMINAL_STATES = {"ready": MediaAssetStatus.READY, "error": MediaAssetStatus.FAILED}
SETTLED = (MediaAssetStatus.READY, MediaAssetStatus.FAILED)
# A webhook can beat the commit that records its video's uid (a small file processes in a second):
# for this long, an unknown uid is retried rather than dropped (the job's retries span ~22 minutes).
UNKNOWN_VIDEO_GRACE = timedelta(minutes=20)
_INSERT_DELIVERY = None  # built on first use, see _insert_delivery


class VideoNotRecordedYet(LookupError):
    """The delivery names a uid no asset has (yet); raised so the job is retried later."""


def dedupe_key(signature_time, raw_body):
    """SHA-256 hex of `<time>.<raw body>`: the same delivery replayed gives the same key."""
    return hashlib.sha256(f"{int(signature_time)}.".encode("ascii") + bytes(raw_body)).hexdigest()


def video_state(video):
    """`status.state` of a video object, or None."""
    status = video.get("status")
    state = status.get("state") if isinstance(status, dict) else None
    return state if isinstance(state, str) and len(state) <= MAX_STATE_LENGTH else None


def _insert_delivery():
    """`INSERT INTO webhook_deliveries ... ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`, the same
    text for PostgreSQL and SQLite (3.35+), built once.

    Text, not `insert().on_conflict_do_nothing()`: SQLAlchemy cannot cache the compiled form of the
    ON CONFLICT construct and compiled it again on every delivery (about 1 ms); a text statement
    with typed parameters is compiled once.
    """
    global _INSERT_DELIVERY
    if _INSERT_DELIVERY is None:
        columns = WebhookDelivery.__table__.c
        names = ("dedupe_key", "video_uid", "state", "signature_time", "body", "received_at")
        _INSERT_DELIVERY = text(
            f"INSERT INTO webhook_deliveries ({', '.join(names)}) "
            f"VALUES ({', '.join(':' + name for name in names)}) "
            "ON CONFLICT (dedupe_key) DO NOTHING RETURNING id"
        ).bindparams(*(bindparam(name, type_=columns[name].type) for name in names))
    return _INSERT_DELIVERY


def _delivery_values(raw_body, signature_time, video, received_at):
    return {
        "dedupe_key": dedupe_key(signature_time, raw_body),
        "video_uid": video["uid"],
        "state": video_state(video),
        "signature_time": int(signature_time),
        "body": bytes(raw_body).decode("utf-8"),
        "received_at": received_at,
    }


def insert_delivery(raw_body, signature_time, video, received_at):
    """Insert the delivery in the session's transaction unless the same one is stored; its id, or
    None for a delivery already stored. A concurrent duplicate inserts nothing and leaves the
    transaction usable."""
    values = _delivery_values(raw_body, signature_time, video, received_at)
    return db.session.execute(_insert_delivery(), values).scalar()


def record_delivery(raw_body, signature_time, video):
    """Store the delivery, committed, unless the same one is already stored; returns (its id, True),
    or (None, False) for a delivery already stored. The webhook's way when Redis is unreachable.

    The one operation here that commits by itself: a single `INSERT ... ON CONFLICT (dedupe_key)
    DO NOTHING RETURNING id` on a connection of its own in autocommit, one round trip to the
    database (a transaction would add BEGIN and COMMIT).
    """
    values = _delivery_values(raw_body, signature_time, video, datetime.now(UTC))
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        delivery_id = connection.execute(_insert_delivery(), values).scalar()
    return delivery_id, delivery_id is not None


def _positive(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return value
    return None


def _status_field(video, *names):
    """The first non-empty string among `names` in the video's status (or the video itself)."""
    status = video.get("status") if isinstance(video.get("status"), dict) else {}
    for source in (status, video):
        for name in names:
            if isinstance(source.get(name), str) and source[name].strip():
                return source[name].strip()[:500]
    return None


def error_code(video):
    """Stream's errorReasonCode (or the docs' errReasonCode spelling), or None."""
    return _status_field(video, "errorReasonCode", "errReasonCode")


def error_reason(video):
    """`CODE: text` from errorReasonCode/Text (or the docs' errReasonCode/Text spelling): Stream's
    own words, kept for staff."""
    text = _status_field(video, "errorReasonText", "errReasonText")
    return (
        ": ".join(part for part in (error_code(video), text) if part) or "Stream could not process the video"
    )


def pct_complete(video):
    """Stream's pctComplete (a string such as "39.000000") as a number from 0 to 100, or None."""
    status = video.get("status") if isinstance(video.get("status"), dict) else {}
    try:
        value = float(status.get("pctComplete"))
    except (TypeError, ValueError):
        return None
    return min(max(value, 0.0), 100.0) if value == value else None  # NaN is not a percentage


def is_newer(asset, video):
    """Whether `video` may replace the settled state of `asset`: only if provably newer.

    A stored time in the future (recorded before such times were refused) proves nothing, so it
    does not hold back a real event.
    """
    last, incoming = parse_modified(asset.stream_modified), parse_modified(video.get("modified"))
    if incoming is not None and in_the_future(last):
        return True
    return last is not None and incoming is not None and incoming > last


def apply_video(asset, video):
    """Apply a Stream video object to its asset and linked training session; True if anything changed.

    Only `ready` and `error` move an asset, and never backwards: a processing (or uploading) asset
    takes either; a ready or failed one changes only for a strictly newer `modified`.
    """
    state = video_state(video)
    target = TERMINAL_STATES.get(state)
    if target is None and asset.status not in SETTLED and pct_complete(video) is not None:
        asset.stream_pct_complete = pct_complete(video)  # progress only; the status stays
    if target is None or (asset.status in SETTLED and not is_newer(asset, video)):
        return False
    asset.status = target
    asset.stream_pct_complete = pct_complete(video)
    if target == MediaAssetStatus.READY:
        size = video.get("input") if isinstance(video.get("input"), dict) else {}
        playback = video.get("playback") if isinstance(video.get("playback"), dict) else {}
        duration = _positive(video.get("duration"))
        asset.duration_seconds = int(round(duration)) if duration else None
        asset.width, asset.height = _positive(size.get("width")), _positive(size.get("height"))
        asset.thumbnail_url = video.get("thumbnail") or None
        asset.preview_url = video.get("preview") or None
        asset.url = playback.get("hls") or None
        asset.processing_error = asset.stream_error = None
    else:
        asset.processing_error = meaning_of(error_code(video)).sentence
        asset.stream_error = error_reason(video)
    modified = video.get("modified")
    asset.stream_modified = modified[:40] if isinstance(modified, str) else None
    _update_training_session(asset)
    db.session.flush()
    return True


def settle(asset, video):
    """apply_video, and when the asset moved, tell the people involved in the same transaction.

    Every path that applies Stream's word (the webhook job, the follow-up job, the sweep and
    `flask stream-reconcile`) comes through here, so a transition is announced exactly once. A newer
    object in the same state (Stream bumps `modified` on any edit) updates the asset, telling no one.
    """
    before = asset.status
    if not apply_video(asset, video):
        return False
    if asset.status != before:
        notifications.video_settled(asset)
    return True


def fail_missing(asset):
    """Fail a processing asset whose video Stream no longer has (a 404), and announce it."""
    asset.status = MediaAssetStatus.FAILED
    asset.processing_error = MISSING_ON_STREAM.sentence
    asset.stream_error = "404: Stream has no video with this id"
    _update_training_session(asset)
    db.session.flush()
    notifications.video_settled(asset)


def _update_training_session(asset):
    """Give a ready asset's linked training session its recording (or mark the recording failed)."""
    if asset.entity_type != EntityType.TRAINING_SESSION or not asset.entity_id:
        return
    training_session = db.session.get(TrainingSession, asset.entity_id)
    if training_session is None:
        return
    if asset.status == MediaAssetStatus.READY:
        training_session.cloudflare_stream_id = asset.stream_video_id
        training_session.video_url = asset.url
        training_session.recording_status = RecordingStatus.READY
    elif training_session.cloudflare_stream_id in (None, asset.stream_video_id):
        training_session.recording_status = RecordingStatus.FAILED


def apply_delivery(delivery_id):
    """Apply one recorded delivery to its asset, once; returns what happened (a short word)."""
    delivery = db.session.scalar(
        select(WebhookDelivery).where(WebhookDelivery.id == delivery_id).with_for_update()
    )
    if delivery is None:
        log.warning("Stream webhook delivery %s does not exist", delivery_id)
        return "missing"
    if delivery.processed_at is not None:
        return "already_processed"
    try:
        video = parse_payload(delivery.body.encode("utf-8"))
        check_video(video)
    except InvalidPayload as error:
        log.warning("Stream webhook %s refused: %s", delivery.id, error)
        return _finish(delivery, "refused")
    asset = db.session.scalar(
        select(MediaAsset).where(MediaAsset.stream_video_id == video["uid"]).with_for_update()
    )
    if asset is None:
        received = (
            delivery.received_at if delivery.received_at.tzinfo else delivery.received_at.replace(tzinfo=UTC)
        )
        # Only the portal's own videos can be waiting for their uid to be recorded: Stream calls
        # back for every video on the account (hand uploads, a staging copy), and those close now.
        if datetime.now(UTC) - received < UNKNOWN_VIDEO_GRACE and stream_orphans.made_here(video):
            raise VideoNotRecordedYet(f"no asset has Stream video {video['uid']} yet")
        log.warning(
            "Stream webhook %s for unknown video %s (state %s)", delivery.id, video["uid"], video_state(video)
        )
        outcome = "unknown_video"
    else:
        outcome = "applied" if settle(asset, video) else "unchanged"
        log.info(
            "Stream webhook %s for asset %s (%s): %s", delivery.id, asset.id, video_state(video), outcome
        )
    return _finish(delivery, outcome)


def _finish(delivery, outcome):
    """Mark a delivery processed with its outcome (never applied again, never retried)."""
    delivery.processed_at = datetime.now(UTC)
    delivery.outcome = outcome
    db.session.flush()
    return outcome


def reconcile_processing_assets(older_than_minutes=30, stream=None, limit=200):
    """Ask Stream about assets processing for longer than that and apply what it says.

    Returns counts {"checked", "updated", "missing", "errors"}. A video Stream no longer has
    (404) fails its asset; other Stream errors are logged and left for the next run.
    """
    stream = stream or get_client()
    cutoff = datetime.now(UTC) - timedelta(minutes=older_than_minutes)
    assets = db.session.scalars(
        select(MediaAsset)
        .where(
            MediaAsset.status == MediaAssetStatus.PROCESSING,
            MediaAsset.stream_video_id.is_not(None),
            MediaAsset.updated_at < cutoff,
        )
        .order_by(MediaAsset.updated_at)
        .limit(limit)
    ).all()
    counts = {"checked": len(assets), "updated": 0, "missing": 0, "errors": 0}
    for asset in assets:
        try:
            video = stream.get_video(asset.stream_video_id)
        except StreamError as error:
            db.session.refresh(asset, with_for_update=True)
            if asset.status != MediaAssetStatus.PROCESSING:
                continue  # a webhook settled it while we asked
            if error.status_code == 404:
                fail_missing(asset)
                counts["missing"] += 1
            else:
                log.error("Reconcile: Stream lookup of %s failed: %s", asset.stream_video_id, error)
                counts["errors"] += 1
            continue
        try:
            check_video(video)
        except InvalidPayload as error:
            log.error("Reconcile: Stream's answer for %s cannot be applied: %s", asset.stream_video_id, error)
            counts["errors"] += 1
            continue
        # Re-read under a row lock: a webhook may have applied a newer state during the HTTP call.
        db.session.refresh(asset, with_for_update=True)
        if settle(asset, video):
            counts["updated"] += 1
    db.session.flush()
    return counts
