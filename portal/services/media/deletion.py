"""Deleting an asset: its Stream video (and so its captions) or stored file first, then its rows; never half done."""

import logging
from datetime import UTC, datetime

from portal.extensions import db
from portal.services.media import links
from portal.services.media.audit import record_change
from portal.services.storage import StorageError, get_storage
from portal.services.stream import StreamError, get_client

log = logging.getLogger(__name__)


def delete_asset(asset, user):
    """Remove the Stream video and the asset; True when done, False when Stream failed.

    On a Stream failure the asset is marked for deletion (hidden everywhere) and the caller
    enqueues `finish_media_deletion` after the commit.
    """
    if asset.deletion_requested_at is None:
        record_change(asset, user, "deleted", "asset", asset.title, None)
        asset.deletion_requested_at = datetime.now(UTC)
    session_id = links.session_id_of(asset)
    try:
        if asset.stream_video_id:
            get_client().delete_video(asset.stream_video_id, missing_ok=True)
        if asset.object_storage_key:
            get_storage().delete(asset.object_storage_key)
    except (StreamError, StorageError, OSError) as error:
        log.warning("Stream could not delete %s (%s): %s", asset.id, asset.stream_video_id, error)
        links.refresh_session_recording(session_id, leaving_asset=asset)
        db.session.flush()
        return False
    db.session.delete(asset)
    db.session.flush()
    links.refresh_session_recording(session_id)
    db.session.flush()
    return True
