"""Managing one asset through the API: PUT (edit and re-gate), DELETE, and its change record."""

import logging

from redis import RedisError

from portal.api import bp
from portal.api.parsing import json_object
from portal.auth.access import api_login_required, api_user
from portal.extensions import db
from portal.jobs import media as media_jobs
from portal.models import Role
from portal.services.media import deletion, editing
from portal.services.media.audit import change_json, changes_for
from portal.services.media.permissions import managed_asset

log = logging.getLogger(__name__)
STAFF = (Role.ADMIN, Role.INSTRUCTOR)


def managed_json(asset):
    """The asset's editable fields and management state."""
    return {
        "id": asset.id,
        "title": asset.title,
        "description": asset.description,
        "tags": asset.tags,
        "access_level": asset.access_level.value,
        "required_tier": asset.required_tier.value if asset.required_tier else None,
        "entity_type": asset.entity_type.value if asset.entity_type else None,
        "entity_id": asset.entity_id,
        "status": asset.status.value,
        "stream_video_id": asset.stream_video_id,
        "stream_sync_pending": asset.stream_sync_pending,
        "thumbnail_timestamp_pct": asset.thumbnail_timestamp_pct,
    }


def after_commit(enqueue, asset_id):
    """Enqueue a follow-up job; if Redis is down, the periodic requeue finds the asset later."""
    try:
        enqueue(asset_id)
    except RedisError as error:
        log.warning("Could not enqueue %s for %s: %s", enqueue.__name__, asset_id, error)


@bp.put("/media/<asset_id>")
@api_login_required(*STAFF)
def update_media(asset_id):
    """Edit title, description, tags, access level, tier, link and thumbnail time; Stream follows."""
    asset = managed_asset(api_user(), asset_id)
    data = json_object()
    pct = data.pop("thumbnail_timestamp_pct", None)
    new = editing.parse_changes(data, asset)
    pct = None if pct is None else editing.parse_thumbnail_pct(pct)
    if pct is not None:  # first: if Stream then fails on access, only the harmless change is done
        editing.set_thumbnail(asset, api_user(), pct)
    outcome = editing.apply_changes(asset, api_user(), new)
    db.session.commit()
    if outcome.stream == "pending":
        after_commit(media_jobs.enqueue_access_sync, asset.id)
    return {"asset": managed_json(asset), "stream_sync": outcome.stream, "message": outcome.message}


@bp.delete("/media/<asset_id>")
@api_login_required(*STAFF)
def delete_media(asset_id):
    """Delete the Stream video, its captions and the asset; 202 when Stream failed and a job will finish."""
    asset = managed_asset(api_user(), asset_id)
    done = deletion.delete_asset(asset, api_user())
    db.session.commit()
    if done:
        return {"message": "The video, its captions and its Stream copy are deleted."}
    after_commit(media_jobs.enqueue_deletion, asset_id)
    return {
        "message": "Stream could not be reached: the video is hidden and marked for deletion; "
        "a retry removes it from Stream and then from the portal."
    }, 202


@bp.get("/media/<asset_id>/changes")
@api_login_required(*STAFF)
def media_changes(asset_id):
    """Who changed access, tier, captions or links of the asset, newest first."""
    asset = managed_asset(api_user(), asset_id)
    return {"changes": [change_json(change) for change in changes_for(asset.id)]}
