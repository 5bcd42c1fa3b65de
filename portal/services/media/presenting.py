"""What a caller is shown of a video, for cards and the JSON API: locked videos without anything playable."""

from portal.models import MediaAssetStatus
from portal.services.media import access


def duration_label(seconds):
    """`4:05` or `1:02:03` for a duration in seconds ('' when unknown)."""
    if not seconds:
        return ""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def asset_summary(user, asset, decision, tags, thumbnails):
    """The video as the caller may see it. Locked: title, duration, tags and the tier it needs, only.

    `thumbnails` is a `playback.Thumbnails` for this request (it signs protected thumbnails).
    """
    summary = {
        "id": asset.id,
        "title": asset.title,
        "duration_seconds": asset.duration_seconds,
        "tags": list(tags),
        "access_level": asset.access_level.value,
        "required_tier": asset.required_tier.value if asset.required_tier else None,
        "locked": decision.locked,
    }
    if decision.locked:
        summary["lock_reason"] = decision.lock_label
        summary["tier_needed"] = decision.required_tier.value if decision.required_tier else None
        summary["sign_in_needed"] = decision.needs_sign_in
        return summary
    summary.update(
        description=asset.description or "",
        status=asset.status.value,
        thumbnail_url=thumbnails.url(asset) if asset.status == MediaAssetStatus.READY else None,
        entity_type=asset.entity_type.value if asset.entity_type else None,
        entity_id=asset.entity_id,
        view_count=asset.view_count,
        created_at=asset.created_at.isoformat() if asset.created_at else None,
    )
    if access.is_staff(user):
        summary["stream_video_id"] = asset.stream_video_id
    return summary
