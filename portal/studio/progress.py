"""How far an upload still in flight has come, read from its upload session in Redis."""

from portal.services.uploads import UploadError, get_upload_service


def upload_percent_of(asset):
    """Percent of the asset's bytes received so far, or None when no upload session says."""
    upload_id = (
        (asset.extra_metadata or {}).get("upload_id") if isinstance(asset.extra_metadata, dict) else None
    )
    if not upload_id or asset.created_by is None:
        return None
    try:
        progress = get_upload_service().get_upload_progress(upload_id, asset.created_by)
    except UploadError:
        return None  # expired, cancelled or lost with Redis: the list says "waiting for the uploader"
    return progress.get("percent")
