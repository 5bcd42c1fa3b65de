"""Stream videos the portal made but no longer uses: deleted, so they stop costing storage.

A video is left behind on Stream when its asset is deleted while the upload is on its way (the push
creates the video on Stream a moment before it records the uid), or when a push starts a fresh
Stream upload because the tus URL of the first one expired. Every video the portal makes carries
`meta.asset_id` (portal/jobs/uploads.py, `stream_metadata`), so such a video is known: its asset is
gone, or points at another video. Once older than STREAM_ORPHAN_GRACE_SECONDS (a push in progress
records its uid within seconds) it is deleted.

Never touched: a video whose meta does not carry this portal's tag (made by hand, by another
portal sharing the Stream account such as a staging copy, even one with production's SECRET_KEY, or
before the tag existed), and any video
whose uid an asset holds, whatever its meta says.
"""

import hashlib
import hmac
import logging
import uuid
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import select

from portal.extensions import db
from portal.models import MediaAsset
from portal.services.stream import get_client
from portal.services.stream_payloads import parse_modified

log = logging.getLogger(__name__)

PAGE_SIZE = 1000  # Cloudflare's largest list page
MAX_PAGES = 100


def portal_tag():
    """This portal's mark in the meta of the Stream videos it makes: an HMAC with SECRET_KEY (not the
    key itself) over the portal's own address, PORTAL_BASE_URL. A staging copy never claims
    production's videos, even one made from production's dump and settings with the same key: its
    address differs. (Moving the portal to a new address only leaves older orphans in place.)"""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    address = str(current_app.config["PORTAL_BASE_URL"]).rstrip("/").lower().encode()
    return hmac.new(secret, b"stream-video-owner:" + address, hashlib.sha256).hexdigest()[:16]


def _tagged(video, tag):
    """Whether a Stream video object's meta carries `tag` (compared in constant time, any text)."""
    meta = video.get("meta") if isinstance(video.get("meta"), dict) else {}
    mark = meta.get("portal")
    return isinstance(mark, str) and hmac.compare_digest(mark.encode("utf-8", "replace"), tag.encode())


def made_here(video):
    """Whether this portal made the Stream video (its meta carries portal_tag())."""
    return _tagged(video, portal_tag())


def _asset_id(video, tag):
    """The asset id (a UUID) in the meta of a video this portal made, or None."""
    if not _tagged(video, tag):
        return None
    meta = video["meta"]
    try:
        return str(uuid.UUID(meta.get("asset_id")))
    except (TypeError, ValueError, AttributeError):
        return None


def orphans_among(videos):
    """The uids, among Stream `videos`, of the portal's videos that no asset uses (two queries)."""
    tag = portal_tag()
    mine = {video["uid"]: _asset_id(video, tag) for video in videos if isinstance(video.get("uid"), str)}
    mine = {uid: asset_id for uid, asset_id in mine.items() if asset_id}
    if not mine:
        return []
    used = set(
        db.session.scalars(select(MediaAsset.stream_video_id).where(MediaAsset.stream_video_id.in_(mine)))
    )
    # An asset that exists but holds no uid yet keeps the video it names: its push may still be
    # recording it (a retry resumes it by its tus URL).
    waiting = set(
        db.session.scalars(
            select(MediaAsset.id).where(
                MediaAsset.id.in_(set(mine.values())), MediaAsset.stream_video_id.is_(None)
            )
        )
    )
    return [uid for uid, asset_id in mine.items() if uid not in used and asset_id not in waiting]


def remove_orphans(now=None):
    """Delete the portal's Stream videos that no asset uses and that are older than the grace.

    Pages through Stream's list, newest first, from the grace cutoff back. Returns
    {"checked", "deleted"}. Stream errors propagate (the job retries at its next run); videos
    already deleted count as done.
    """
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(seconds=current_app.config["STREAM_ORPHAN_GRACE_SECONDS"])
    client = get_client()
    checked = deleted = 0
    before = cutoff
    for _ in range(MAX_PAGES):
        videos = client.list_videos({"before": before, "limit": PAGE_SIZE})["videos"]
        checked += len(videos)
        for uid in orphans_among(videos):
            log.warning("Deleting Stream video %s: made by the portal, used by no asset", uid)
            client.delete_video(uid, missing_ok=True)
            deleted += 1
        created = [parse_modified(video.get("created")) for video in videos]
        created = [moment[0] for moment in created if moment is not None]
        if len(videos) < PAGE_SIZE or not created:
            break
        # The oldest second of this page is asked again (times are read to the second): seen
        # videos come back unchanged, none of that second is skipped.
        oldest = min(created) + timedelta(seconds=1)
        if oldest >= before:
            break
        before = oldest
    return {"checked": checked, "deleted": deleted}
