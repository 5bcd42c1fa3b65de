"""Demo videos for development: short clips made with the bundled ffmpeg, pushed to Stream, and
recorded as media assets (one public, one members-only, one premium linked to a training session)."""

import logging
import os
import subprocess
import time
from datetime import UTC, datetime, timedelta

import imageio_ffmpeg
from sqlalchemy import select

from portal.extensions import db
from portal.models import (
    EntityType,
    MediaAccessLevel,
    MediaAsset,
    MediaAssetStatus,
    RecordingStatus,
    Tier,
    TrainingSession,
)
from portal.services.stream_events import apply_video

log = logging.getLogger(__name__)

DEMO_VIDEOS = [
    {
        "title": "Welcome to the association",
        "source": "smptehdbars",
        "access_level": MediaAccessLevel.PUBLIC,
        "required_tier": None,
        "tags": ["welcome"],
        "description": "A short public greeting: what the video library offers members.",
    },
    {
        "title": "Basic stances, part 1",
        "source": "testsrc2",
        "access_level": MediaAccessLevel.MEMBERS_ONLY,
        "required_tier": None,
        "tags": ["stances", "beginner"],
        "description": "Front stance, back stance and horse stance, for every signed-in member.",
    },
    {
        "title": "Spring seminar: joint locks",
        "source": "rgbtestsrc",
        "access_level": MediaAccessLevel.TIER_SPECIFIC,
        "required_tier": Tier.PREMIUM,
        "tags": ["seminar", "joint-locks"],
        "description": "Recording of the spring seminar, for premium and lifetime members.",
        "session": "Spring seminar: joint locks",
    },
]


def make_demo_clip(path, source, seconds=6):
    """A 640x360 H.264/AAC clip of an ffmpeg test pattern with a tone."""
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-hide_banner",
            "-nostdin",
            "-y",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"{source}=size=640x360:rate=25",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=330",
            "-t",
            str(seconds),
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
            "-movflags",
            "+faststart",
            str(path),
        ],
        check=True,
        capture_output=True,
    )
    return path


def _existing(title, owner):
    return db.session.scalar(
        select(MediaAsset).where(MediaAsset.title == title, MediaAsset.created_by == owner.id)
    )


def upload_demo_videos(stream, owner, workdir):
    """Upload the demo clips not yet recorded; returns the assets created (status processing)."""
    os.makedirs(workdir, exist_ok=True)
    created = []
    for spec in DEMO_VIDEOS:
        if _existing(spec["title"], owner) is not None:
            continue
        path = make_demo_clip(os.path.join(workdir, f"{spec['source']}.mp4"), spec["source"])
        protected = spec["access_level"] != MediaAccessLevel.PUBLIC
        video = stream.upload_video(path, {"title": spec["title"], "require_signed_urls": protected})
        asset = MediaAsset(
            title=spec["title"],
            description=spec["description"],
            filename=os.path.basename(path),
            file_size_bytes=os.path.getsize(path),
            mime_type="video/mp4",
            stream_video_id=video["uid"],
            status=MediaAssetStatus.PROCESSING,
            access_level=spec["access_level"],
            required_tier=spec["required_tier"],
            created_by=owner.id,
        )
        asset.tags = spec["tags"]
        if spec.get("session"):
            training_session = TrainingSession(
                title=spec["session"],
                instructor_id=owner.id,
                starts_at=datetime.now(UTC) - timedelta(days=7),
                recording_status=RecordingStatus.PROCESSING,
            )
            db.session.add(training_session)
            db.session.flush()
            asset.entity_type, asset.entity_id = EntityType.TRAINING_SESSION, training_session.id
        db.session.add(asset)
        db.session.flush()
        created.append(asset)
    return created


def wait_until_processed(stream, assets, timeout=120, poll=0.5):
    """Poll Stream until every asset is ready or failed (or the timeout passes)."""
    deadline = time.monotonic() + timeout
    pending = list(assets)
    while pending and time.monotonic() < deadline:
        for asset in list(pending):
            apply_video(asset, stream.get_video(asset.stream_video_id))
            if asset.status != MediaAssetStatus.PROCESSING:
                pending.remove(asset)
        if pending:
            time.sleep(poll)
    return pending
