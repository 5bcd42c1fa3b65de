"""Demo videos for `make run`: uploaded to the (emulated) Stream, recorded, processed, idempotent."""

import requests
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import MediaAccessLevel, MediaAsset, MediaAssetStatus, RecordingStatus, TrainingSession
from portal.services.stream import get_client


def test_seed_demo_videos_uploads_processes_and_links_the_session(app_factory, emulator):
    app = app_factory(CLOUDFLARE_API_BASE=emulator.api_base, STREAM_CUSTOMER_BASE_URL=emulator.url)
    runner = app.test_cli_runner()
    with app.app_context():
        assert "run `flask seed-demo` first" in runner.invoke(args=["seed-demo-videos"]).output
        assert runner.invoke(args=["seed-demo"]).exit_code == 0
        result = runner.invoke(args=["seed-demo-videos", "--timeout", "60"])
        assert result.exit_code == 0, result.output
        assert "3 uploaded, all processed" in result.output

        assets = db.session.scalars(select(MediaAsset).order_by(MediaAsset.title)).all()
        assert [a.status for a in assets] == [MediaAssetStatus.READY] * 3
        assert all(a.duration_seconds == 6 and (a.width, a.height) == (640, 360) for a in assets)
        stream = get_client()
        for asset in assets:
            video = stream.get_video(asset.stream_video_id)
            assert video["requireSignedURLs"] is (asset.access_level != MediaAccessLevel.PUBLIC)
            bare = requests.get(stream.iframe_url(asset.stream_video_id), timeout=10)
            assert bare.status_code == (200 if asset.access_level == MediaAccessLevel.PUBLIC else 401)

        session = db.session.scalar(select(TrainingSession))
        premium = db.session.scalar(select(MediaAsset).where(MediaAsset.entity_id == session.id))
        assert session.recording_status == RecordingStatus.READY
        assert session.cloudflare_stream_id == premium.stream_video_id and session.video_url.endswith(".m3u8")

        again = runner.invoke(args=["seed-demo-videos"])
        assert "0 uploaded" in again.output
        assert db.session.scalar(select(func.count()).select_from(MediaAsset)) == 3
