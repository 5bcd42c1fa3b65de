"""The chunked upload API: initiate, chunk, progress, finalize, cancel, and their refusals."""

import pytest

from portal.extensions import db
from portal.models import MediaAsset, MediaAssetStatus
from tests.uploads_support import CHUNK, app, chunk_files, make_uploader, mp4_bytes, sha  # noqa: F401


def test_a_whole_upload_moves_from_initiate_to_finalize(make_uploader, app):
    up = make_uploader()
    data = mp4_bytes(3 * CHUNK + 100)
    response = up.initiate(tags=["kata", "Basics"], access_level="tier_specific", required_tier="premium")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert set(body) >= {"upload_id", "asset_id", "chunk_size", "total_chunks", "expires_at"}
    assert body["chunk_size"] == CHUNK and body["total_chunks"] == 4
    asset = db.session.get(MediaAsset, body["asset_id"])
    assert asset.status == MediaAssetStatus.UPLOADING and asset.created_by == up.user.id
    assert asset.tags == ["basics", "kata"]
    up.send_all(body["upload_id"], data)
    progress = up.progress(body["upload_id"]).get_json()
    assert progress["received_chunks"] == 4 and progress["missing_chunks"] == []
    assert progress["bytes_received"] == len(data) and progress["percent"] == 100.0
    response = up.finalize(body["upload_id"])
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["job_id"] == f"upload-push-{body['upload_id']}"
    assert chunk_files(app, body["upload_id"]) == [f"{i:06d}.chunk" for i in range(4)]
