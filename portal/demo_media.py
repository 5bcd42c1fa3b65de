"""Demo videos for development: short clips made with the bundled ffmpeg, pushed to Stream, and
recorded as media assets with tags and captions: public, members-only and each tier, some linked
to a training session or an event, so a fresh library has something to browse."""

import logging
import os
import subprocess
import time
from datetime import UTC, datetime, timedelta

import imageio_ffmpeg
from sqlalchemy import select

from portal.extensions import db
from portal.models import (
    Caption,
    EntityType,
    Event,
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
        "captions": {"en": "Welcome to the association", "de": "Willkommen im Verband"},
    },
    {
        "title": "Basic stances, part 1",
        "source": "testsrc2",
        "access_level": MediaAccessLevel.MEMBERS_ONLY,
        "required_tier": None,
        "tags": ["stances", "beginner"],
        "description": "Front stance, back stance and horse stance, for every signed-in member.",
        "captions": {"en": "Front stance", "fr": "Position avant"},
    },
    {
        "title": "Spring seminar: joint locks",
        "source": "rgbtestsrc",
        "access_level": MediaAccessLevel.TIER_SPECIFIC,
        "required_tier": Tier.PREMIUM,
        "tags": ["seminar", "joint-locks"],
        "description": "Recording of the spring seminar, for premium and lifetime members.",
        "session": "Spring seminar: joint locks",
        "captions": {"en": "Wrist lock from a grab"},
    },
    {
        "title": "Basic stances, part 2",
        "source": "testsrc",
        "access_level": MediaAccessLevel.MEMBERS_ONLY,
        "required_tier": None,
        "tags": ["stances", "beginner"],
        "description": "Cat stance and crane stance, and moving between them.",
        "captions": {"en": "Cat stance"},
    },
    {
        "title": "Heian Shodan, step by step",
        "source": "mandelbrot",
        "access_level": MediaAccessLevel.TIER_SPECIFIC,
        "required_tier": Tier.BASIC,
        "tags": ["kata", "beginner"],
        "description": "The first kata, broken into its 21 moves, for basic members and above.",
        "captions": {"en": "Step one: down block", "ja": "下段払い"},
    },
    {
        "title": "Sparring footwork drills",
        "source": "life",
        "access_level": MediaAccessLevel.PUBLIC,
        "required_tier": None,
        "tags": ["sparring", "drills"],
        "description": "Three footwork drills to warm up before sparring; open to everyone.",
        "event": "Open training day",
    },
    {
        "title": "Grading day: black belt kata",
        "source": "cellauto",
        "access_level": MediaAccessLevel.TIER_SPECIFIC,
        "required_tier": Tier.LIFETIME,
        "tags": ["kata", "grading"],
        "description": "The black belt candidates' kata from the autumn grading, for lifetime members.",
        "event": "Autumn grading",
        "captions": {"en": "Candidate one"},
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
        if spec.get("event"):
            event = Event(title=spec["event"], starts_at=datetime.now(UTC) - timedelta(days=30))
            db.session.add(event)
            db.session.flush()
            asset.entity_type, asset.entity_id = EntityType.EVENT, event.id
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


LANGUAGE_LABELS = {"en": "English", "de": "Deutsch", "fr": "Français", "ja": "日本語"}


def caption_vtt(text, seconds=6):
    """A one-cue WebVTT track saying `text` for the whole clip."""
    return f"WEBVTT\n\n00:00:00.000 --> 00:00:0{seconds}.000\n{text}\n".encode()


def add_demo_captions(stream, assets):
    """Upload each ready demo video's caption tracks to Stream and record them; returns how many."""
    specs = {spec["title"]: spec for spec in DEMO_VIDEOS}
    added = 0
    for asset in assets:
        if asset.status != MediaAssetStatus.READY:
            continue
        for language, text in specs.get(asset.title, {}).get("captions", {}).items():
            if language in asset.caption_languages:
                continue
            stream.upload_captions(asset.stream_video_id, caption_vtt(text), language)
            asset.captions.append(Caption(language=language, label=LANGUAGE_LABELS.get(language, language)))
            added += 1
    db.session.flush()
    return added
