"""The thumbnail picker's strip of frames (signed for protected videos) and the staff embed code."""

from dataclasses import dataclass

from portal.models import MediaAccessLevel, MediaAssetStatus
from portal.services.media import playback
from portal.services.stream import StreamError, get_client

STRIP_FRACTIONS = tuple(round(i / 10, 1) for i in range(10))  # 0 %, 10 %, … 90 % of the video
FRAME_WIDTH, FRAME_HEIGHT = 192, 108
STRIP_TOKEN_SECONDS = 3600


@dataclass(frozen=True)
class Frame:
    """One frame of the strip: its thumbnailTimestampPct (as form text), a label and its image URL."""

    value: str
    label: str
    url: str


def pct_text(pct):
    """A fraction as the form's value ("0.3")."""
    return f"{float(pct):g}"


def _token(asset, user_id):
    """A playback token for a protected video's frames (None for public ones); ValueError without a key."""
    if asset.access_level == MediaAccessLevel.PUBLIC:
        return None
    return get_client().sign_token(asset.stream_video_id, expiry_seconds=STRIP_TOKEN_SECONDS, user_id=user_id)


def frame_strip(asset, user_id):
    """Frames across the video from Stream's thumbnail URL, plus the current pick; [] until it is ready."""
    if asset.status != MediaAssetStatus.READY or not asset.stream_video_id:
        return []
    fractions = sorted(
        {*STRIP_FRACTIONS, *([asset.thumbnail_timestamp_pct] if asset.thumbnail_timestamp_pct else [])}
    )
    duration = asset.duration_seconds or 0
    client = get_client()
    try:
        token = _token(asset, user_id)
        return [
            Frame(
                pct_text(pct),
                f"{round(pct * 100)} % ({int(pct * duration) // 60}:{int(pct * duration) % 60:02d})",
                client.get_thumbnail_url(
                    asset.stream_video_id,
                    time_seconds=round(pct * duration, 2),
                    width=FRAME_WIDTH,
                    height=FRAME_HEIGHT,
                    fit="crop",
                    token=token,
                ),
            )
            for pct in fractions
        ]
    except (ValueError, StreamError):
        return []  # no signing key or customer domain: the page says frames are unavailable


def current_choice(asset):
    """The strip value of the current thumbnail time."""
    return pct_text(asset.thumbnail_timestamp_pct or 0)


def staff_embed_code(asset):
    """Stream's embed HTML (by uid when public, signed otherwise), or None when it cannot be made."""
    if asset.status != MediaAssetStatus.READY or not asset.stream_video_id:
        return None
    try:
        return playback.embed_code(asset, _token(asset, None))
    except (ValueError, StreamError):
        return None
