"""The media asset an upload creates, and the Stream protection it gets."""

from portal.models import MediaAccessLevel, MediaAsset, MediaAssetStatus
from portal.models.media import new_uuid


def new_asset(fields, user_id):
    """A MediaAsset in `uploading`, owned by the uploader, from checked metadata."""
    asset = MediaAsset(
        id=new_uuid(),
        title=fields["title"],
        description=fields["description"],
        filename=fields["file_name"],
        file_size_bytes=fields["file_size"],
        mime_type=fields["mime_type"],
        status=MediaAssetStatus.UPLOADING,
        access_level=fields["access_level"],
        required_tier=fields["required_tier"],
        created_by=user_id,
        entity_type=fields["entity_type"],
        entity_id=fields["entity_id"],
    )
    asset.tags = fields["tags"]
    return asset


def requires_signed_urls(asset):
    """Every video that is not public is protected on Stream from the moment it is created."""
    return asset.access_level != MediaAccessLevel.PUBLIC
