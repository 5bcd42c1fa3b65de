"""How far an upload still in flight has come (received, or being sent to Stream), from its upload session."""

from portal.services.uploads import UploadError, get_upload_service


def upload_progress_of(asset):
    """The asset's upload session as the progress API shows it (percent, status), or None."""
    upload_id = (
        (asset.extra_metadata or {}).get("upload_id") if isinstance(asset.extra_metadata, dict) else None
    )
    if not upload_id or asset.created_by is None:
        return None
    try:
        progress = get_upload_service().get_upload_progress(upload_id, asset.created_by)
    except UploadError:
        return None  # expired, cancelled or lost with Redis: the list says "waiting for the uploader"
    return progress
