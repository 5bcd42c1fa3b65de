"""The chunked upload API: initiate, chunk, progress, finalize, cancel, and their refusals."""

import base64
import os
import threading

import pytest

from portal.extensions import db
from portal.models import MediaAsset, MediaAssetStatus, Role, TrainingSession
from tests import uploads_support
from tests.uploads_support import CHUNK, PREFIX, chunk_files, mp4_bytes, sha

app = uploads_support.app
make_uploader = uploads_support.make_uploader
SIZE = 3 * CHUNK + 100


def upload_keys(app):
    return sorted(k.decode() for k in app.extensions["redis"].connection.keys("upload*"))


def nothing_stored(app):
    """No asset, no session in Redis, no session directory."""
    upload_dir = app.config["UPLOAD_DIR"]
    dirs = [n for n in os.listdir(upload_dir) if not n.startswith(".")] if os.path.isdir(upload_dir) else []
    return db.session.query(MediaAsset).count() == 0 and upload_keys(app) == [] and dirs == []


def started(up, **fields):
    response = up.initiate(**fields)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_whole_upload_moves_from_initiate_to_finalize(make_uploader, app):
    up = make_uploader()
    data = mp4_bytes(SIZE)
    body = started(up, tags=["kata", "Basics"], access_level="tier_specific", required_tier="premium")
    assert set(body) == {"upload_id", "asset_id", "chunk_size", "total_chunks", "file_size", "expires_at"}
    assert body["chunk_size"] == CHUNK and body["total_chunks"] == 4
    asset = db.session.get(MediaAsset, body["asset_id"])
    assert asset.status == MediaAssetStatus.UPLOADING and asset.created_by == up.user.id
    assert asset.tags == ["basics", "kata"] and asset.required_tier.value == "premium"
    assert asset.filename == "seminar.mp4" and asset.file_size_bytes == SIZE
    up.send_all(body["upload_id"], data)
    progress = up.progress(body["upload_id"]).get_json()
    assert progress["received_chunks"] == 4 and progress["missing_chunks"] == []
    assert progress["bytes_received"] == len(data) and progress["percent"] == 100.0
    response = up.finalize(body["upload_id"])
    assert response.status_code == 202, response.get_json()
    assert response.get_json() == {
        "upload_id": body["upload_id"],
        "asset_id": body["asset_id"],
        "status": "finalizing",
        "asset_status": "uploading",
        "job_id": f"upload-push-{body['upload_id']}",
    }
    assert chunk_files(app, body["upload_id"]) == [f"{i:06d}.chunk" for i in range(4)]


@pytest.mark.parametrize(
    "fields, status, code",
    [
        ({"file_size": 0}, 422, "invalid_file_size"),
        ({"file_size": -5}, 422, "invalid_file_size"),
        ({"file_size": "1000"}, 422, "invalid_file_size"),
        ({"file_size": 1.5}, 422, "invalid_file_size"),
        ({"file_size": True}, 422, "invalid_file_size"),
        ({"file_size": None}, 400, "missing_field"),
        ({"file_size": 30_000_000_001}, 413, "file_too_large"),
        ({"file_size": 10**30}, 413, "file_too_large"),
        ({"file_name": None}, 400, "missing_field"),
        ({"file_name": 123}, 422, "invalid_field"),
        ({"file_name": "../../a.mp4"}, 422, "invalid_file_name"),
        ({"file_name": "videos/a.mp4"}, 422, "invalid_file_name"),
        ({"file_name": "c:\\videos\\a.mp4"}, 422, "invalid_file_name"),
        ({"file_name": "a\x00.mp4"}, 422, "invalid_field"),
        ({"file_name": "a\nb.mp4"}, 422, "invalid_field"),
        ({"file_name": "a\u202egnp.mp4"}, 422, "invalid_field"),
        ({"file_name": "a.mp4.html"}, 415, "unsupported_file_type"),
        ({"file_name": "notes.pdf"}, 415, "unsupported_file_type"),
        ({"file_name": "x" * 300 + ".mp4"}, 422, "field_too_long"),
        ({"title": None}, 400, "missing_field"),
        ({"title": ["a"]}, 422, "invalid_field"),
        ({"title": "t" * 201}, 422, "field_too_long"),
        ({"description": 5}, 422, "invalid_field"),
        ({"tags": [1, 2]}, 422, "invalid_tags"),
        ({"tags": {"a": 1}}, 422, "invalid_tags"),
        ({"access_level": "secret"}, 422, "invalid_access_level"),
        ({"access_level": "tier_specific", "required_tier": "gold"}, 422, "invalid_tier"),
        ({"access_level": "tier_specific"}, 422, "missing_required_tier"),
        ({"access_level": "members_only", "required_tier": "basic"}, 422, "tier_without_tier_access"),
        ({"required_tier": "basic"}, 422, "tier_without_tier_access"),
        ({"entity_type": "club", "entity_id": "x"}, 422, "invalid_entity_type"),
        ({"entity_type": "training_session", "entity_id": "nope"}, 422, "unknown_entity"),
        # "²" passes str.isdigit() and fails int(); 30 nines is past the id column
        ({"entity_type": "profile", "entity_id": "\u00b2"}, 422, "unknown_entity"),
        ({"entity_type": "profile", "entity_id": "9" * 30}, 422, "unknown_entity"),
        ({"entity_id": "abc"}, 422, "missing_entity_type"),
        ({"sha256": "xyz"}, 422, "invalid_sha256"),
        ({"colour": "red"}, 422, "unknown_field"),
    ],
)
def test_initiate_refuses_bad_metadata_and_stores_nothing(make_uploader, app, fields, status, code):
    up = make_uploader()
    response = up.initiate(**fields)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["error"]["code"] == code
    assert nothing_stored(app)


def test_initiate_needs_a_json_object(make_uploader, app):
    up = make_uploader()
    response = up.client.post(f"{PREFIX}/initiate", data="file_name=a.mp4", headers=up.headers)
    assert response.status_code == 415
    response = up.client.post(f"{PREFIX}/initiate", json=[1, 2], headers=up.headers)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_json"
    assert nothing_stored(app)


def test_initiate_links_an_existing_training_session(make_uploader):
    session = TrainingSession(title="Spring seminar")
    db.session.add(session)
    db.session.commit()
    body = started(make_uploader(), entity_type="training_session", entity_id=session.id)
    asset = db.session.get(MediaAsset, body["asset_id"])
    assert asset.entity_type.value == "training_session" and asset.entity_id == session.id


def test_only_staff_may_start_uploads(make_uploader, app, client, login_as):
    response = make_uploader(role=Role.MEMBER).initiate()
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "forbidden"
    response = client.post(f"{PREFIX}/initiate", json={"file_name": "a.mp4", "file_size": 5, "title": "t"})
    # anonymous: no session to forge, so the answer is "sign in", not a CSRF refusal
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "authentication_required"
    response = client.post(
        f"{PREFIX}/initiate",
        json={"file_name": "a.mp4", "file_size": 5, "title": "t"},
        headers={"Authorization": "Bearer not-a-token"},
    )
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "invalid_token"
    signed_in = login_as(Role.INSTRUCTOR)
    response = signed_in.post(f"{PREFIX}/initiate", json={"file_name": "a.mp4", "file_size": 5, "title": "t"})
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "csrf_failed"
    assert nothing_stored(app)


def test_upload_ids_carry_128_random_bits(make_uploader):
    up = make_uploader()
    ids = {started(up)["upload_id"] for _ in range(5)}
    assert len(ids) == 5
    for upload_id in ids:
        assert len(base64.urlsafe_b64decode(upload_id + "==")) == 16


@pytest.mark.parametrize(
    "index, code",
    [
        ("-1", "invalid_chunk_index"),
        ("4", "chunk_index_out_of_range"),
        ("x", "invalid_chunk_index"),
        ("1.5", "invalid_chunk_index"),
    ],
)
def test_chunk_index_is_checked(make_uploader, app, index, code):
    up = make_uploader()
    body = started(up)
    response = up.chunk(body["upload_id"], index, mp4_bytes(CHUNK))
    assert response.status_code == 422 and response.get_json()["error"]["code"] == code
    assert up.progress(body["upload_id"]).get_json()["received_chunks"] == 0
    assert os.listdir(os.path.join(app.config["UPLOAD_DIR"], body["upload_id"])) == ["manifest.json"]


def test_every_chunk_but_the_last_is_exactly_chunk_size(make_uploader, app):
    up = make_uploader()
    body = started(up)
    data = mp4_bytes(SIZE)
    short = up.chunk(body["upload_id"], 0, data[: CHUNK - 1])
    assert short.status_code == 422 and short.get_json()["error"]["code"] == "chunk_size_mismatch"
    last_too_long = up.chunk(body["upload_id"], 3, data[3 * CHUNK :] + b"x")
    assert last_too_long.status_code == 422 and last_too_long.get_json()["error"]["expected_bytes"] == 100
    assert up.chunk(body["upload_id"], 3, data[3 * CHUNK :]).status_code == 200
    assert chunk_files(app, body["upload_id"]) == ["000003.chunk"]


def test_a_checksum_mismatch_is_refused_and_nothing_kept(make_uploader, app):
    up = make_uploader()
    body = started(up)
    part = mp4_bytes(CHUNK)
    response = up.chunk(body["upload_id"], 0, part, digest=sha(b"other"))
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "checksum_mismatch"
    assert up.progress(body["upload_id"]).get_json()["missing_chunks"] == [0, 1, 2, 3]
    assert os.listdir(os.path.join(app.config["UPLOAD_DIR"], body["upload_id"])) == ["manifest.json"]
    bad_header = up.chunk(body["upload_id"], 0, part, digest="md5:abc")
    assert (
        bad_header.status_code == 400 and bad_header.get_json()["error"]["code"] == "invalid_checksum_header"
    )
    assert up.chunk(body["upload_id"], 0, part, digest=sha(part)).status_code == 200


def test_a_resent_chunk_is_a_no_op_and_different_bytes_are_refused(make_uploader, app):
    up = make_uploader()
    body = started(up)
    part = mp4_bytes(CHUNK)
    first = up.chunk(body["upload_id"], 0, part).get_json()
    assert first["already_received"] is False and first["received_chunks"] == 1
    again = up.chunk(body["upload_id"], 0, part)
    assert again.status_code == 200 and again.get_json()["already_received"] is True
    assert again.get_json()["received_chunks"] == 1
    other = mp4_bytes(CHUNK, seed=b"other")
    conflict = up.chunk(body["upload_id"], 0, other)
    assert conflict.status_code == 409 and conflict.get_json()["error"]["code"] == "chunk_conflict"
    with open(os.path.join(app.config["UPLOAD_DIR"], body["upload_id"], "000000.chunk"), "rb") as handle:
        assert handle.read() == part


def test_chunks_need_octet_stream_or_multipart_and_a_bounded_body(make_uploader):
    up = make_uploader()
    body = started(up)
    response = up.client.post(
        f"{PREFIX}/chunk?upload_id={body['upload_id']}&chunk_index=0",
        data=b"x" * 10,
        headers=dict(up.headers, **{"Content-Type": "text/plain"}),
    )
    assert response.status_code == 415
    too_big = up.chunk(body["upload_id"], 0, b"\0" * (CHUNK + 70 * 1024))
    assert too_big.status_code == 413 and too_big.get_json()["error"]["code"] == "request_entity_too_large"
    assert up.progress(body["upload_id"]).get_json()["received_chunks"] == 0


def test_chunks_pass_a_small_app_wide_body_limit_with_a_session_cookie(app_factory, tmp_path, make_user):
    """Browsers send chunks with the session cookie and X-CSRFToken, raw or multipart."""
    app = app_factory(**uploads_support.upload_settings(tmp_path), MAX_CONTENT_LENGTH=4096)
    with app.app_context():
        from tests.conftest import AuthActions, csrf_token_from

        user = make_user(role=Role.INSTRUCTOR)
        client = app.test_client()
        assert AuthActions(client).login(user.email).status_code == 302
        token = csrf_token_from(client.get("/account").get_data(as_text=True))
        headers = {"X-CSRFToken": token}
        response = client.post(
            f"{PREFIX}/initiate",
            json={"file_name": "a.mp4", "file_size": SIZE, "title": "t"},
            headers=headers,
        )
        assert response.status_code == 201, response.get_json()
        upload_id = response.get_json()["upload_id"]
        data = mp4_bytes(SIZE)
        raw = client.post(
            f"{PREFIX}/chunk?upload_id={upload_id}&chunk_index=0",
            data=data[:CHUNK],
            headers=headers,
            content_type="application/octet-stream",
        )
        assert raw.status_code == 200, raw.get_json()
        from io import BytesIO

        multipart = client.post(
            f"{PREFIX}/chunk",
            data={
                "upload_id": upload_id,
                "chunk_index": "1",
                "chunk": (BytesIO(data[CHUNK : 2 * CHUNK]), "blob"),
            },
            headers=headers,
        )
        assert multipart.status_code == 200, multipart.get_json()
        assert multipart.get_json()["received_chunks"] == 2
        incoming = os.path.join(app.config["UPLOAD_DIR"], ".incoming")
        assert os.listdir(incoming) == []  # the spooled part was removed


def test_another_users_upload_is_not_found(make_uploader, app):
    owner, other = make_uploader(), make_uploader()
    body = started(owner)
    upload_id = body["upload_id"]
    owner.chunk(upload_id, 0, mp4_bytes(CHUNK))
    for response in (
        other.chunk(upload_id, 1, mp4_bytes(CHUNK)),
        other.progress(upload_id),
        other.finalize(upload_id),
        other.cancel(upload_id),
    ):
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "upload_not_found"
    assert owner.progress(upload_id).get_json()["received_chunks"] == 1
    assert chunk_files(app, upload_id) == ["000000.chunk"]


@pytest.mark.parametrize("upload_id", ["../x", "%2e%2e", "..", "a" * 21 + "\x00", "A" * 23])
def test_odd_upload_ids_are_not_found(make_uploader, upload_id):
    up = make_uploader()
    response = up.chunk(upload_id, 0, b"x")
    assert response.status_code == 404
    response = up.finalize(upload_id)
    assert response.status_code == 404


def test_progress_lists_exact_missing_chunks_never_cached(make_uploader):
    up = make_uploader()
    body = started(up)
    data = mp4_bytes(SIZE)
    up.chunk(body["upload_id"], 1, data[CHUNK : 2 * CHUNK])
    up.chunk(body["upload_id"], 3, data[3 * CHUNK :])
    response = up.progress(body["upload_id"])
    assert response.headers["Cache-Control"] == "no-store"
    progress = response.get_json()
    assert progress["missing_chunks"] == [0, 2] and progress["bytes_received"] == CHUNK + 100
    assert progress["status"] == "uploading" and progress["expires_at"].endswith("Z")
    assert progress["percent"] == round(100 * (CHUNK + 100) / SIZE, 2)


def test_progress_is_rebuilt_from_disk_when_redis_loses_the_session(make_uploader, app):
    up = make_uploader()
    body = started(up)
    upload_id, data = body["upload_id"], mp4_bytes(SIZE)
    up.chunk(upload_id, 0, data[:CHUNK])
    up.chunk(upload_id, 2, data[2 * CHUNK : 3 * CHUNK])
    with open(os.path.join(app.config["UPLOAD_DIR"], upload_id, "000001.chunk"), "wb") as handle:
        handle.write(data[CHUNK : CHUNK + 10])  # a torn file is never counted
    app.extensions["redis"].connection.flushdb()
    progress = up.progress(upload_id).get_json()
    assert progress["missing_chunks"] == [1, 3] and progress["status"] == "uploading"
    os.unlink(os.path.join(app.config["UPLOAD_DIR"], upload_id, "000001.chunk"))
    up.chunk(upload_id, 1, data[CHUNK : 2 * CHUNK])
    assert up.chunk(upload_id, 0, data[:CHUNK]).get_json()["already_received"] is True
    up.chunk(upload_id, 3, data[3 * CHUNK :])
    assert up.finalize(upload_id).status_code == 202


def test_cancel_frees_the_disk_at_once_and_later_calls_get_410(make_uploader, app):
    up = make_uploader()
    body = started(up)
    upload_id = body["upload_id"]
    up.chunk(upload_id, 0, mp4_bytes(CHUNK))
    assert up.cancel(upload_id).status_code == 204
    assert not os.path.exists(os.path.join(app.config["UPLOAD_DIR"], upload_id))
    assert db.session.get(MediaAsset, body["asset_id"]) is None
    for response in (
        up.chunk(upload_id, 1, mp4_bytes(CHUNK)),
        up.progress(upload_id),
        up.finalize(upload_id),
    ):
        assert response.status_code == 410 and response.get_json()["error"]["code"] == "upload_cancelled"
    assert make_uploader().progress(upload_id).status_code == 404


def test_finalize_with_missing_chunks_is_409_and_enqueues_nothing(make_uploader, app):
    up = make_uploader()
    body = started(up)
    up.chunk(body["upload_id"], 0, mp4_bytes(CHUNK))
    response = up.finalize(body["upload_id"])
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "upload_incomplete"
    assert response.get_json()["error"]["missing_chunks"] == [1, 2, 3]
    assert app.extensions["redis"].queue("uploads").count == 0


def test_finalize_twice_or_concurrently_makes_one_job(make_uploader, app):
    up = make_uploader()
    body = started(up)
    up.send_all(body["upload_id"], mp4_bytes(SIZE))
    answers = []

    def finalize():
        answers.append(up.finalize(body["upload_id"]))

    threads = [threading.Thread(target=finalize) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    answers.append(up.finalize(body["upload_id"]))
    assert [a.status_code for a in answers] == [202] * 4
    assert {a.get_json()["job_id"] for a in answers} == {f"upload-push-{body['upload_id']}"}
    queue = app.extensions["redis"].queue("uploads")
    assert queue.count == 1
    job = queue.jobs[0]
    assert job.timeout == app.config["UPLOAD_JOB_TIMEOUT"] >= 6 * 3600
    assert job.retries_left == len(app.config["UPLOAD_RETRY_INTERVALS"]) >= 3


def test_a_finalized_upload_takes_no_chunks_and_cannot_be_cancelled(make_uploader):
    up = make_uploader()
    body = started(up)
    data = mp4_bytes(SIZE)
    up.send_all(body["upload_id"], data)
    up.finalize(body["upload_id"])
    response = up.chunk(body["upload_id"], 0, data[:CHUNK])
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "upload_finalized"
    response = up.cancel(body["upload_id"])
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "upload_finalized"


def test_a_first_chunk_that_is_not_the_named_container_cancels_the_upload(make_uploader, app):
    up = make_uploader()
    body = started(up)
    response = up.chunk(body["upload_id"], 0, b"%PDF-1.7" + b"\0" * (CHUNK - 8))
    assert response.status_code == 415 and response.get_json()["error"]["code"] == "unsupported_container"
    assert not os.path.exists(os.path.join(app.config["UPLOAD_DIR"], body["upload_id"]))
    asset = db.session.get(MediaAsset, body["asset_id"])
    assert asset.status == MediaAssetStatus.FAILED and "not a video" in asset.processing_error
    assert up.chunk(body["upload_id"], 1, mp4_bytes(CHUNK)).status_code == 410


@pytest.mark.parametrize(
    "name, head",
    [
        ("a.mov", b"\x00\x00\x00\x14ftypqt  "),
        ("a.mkv", b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81"),
        ("a.webm", b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81"),
        ("a.avi", b"RIFF\x00\x00\x00\x00AVI LIST"),
        ("a.flv", b"FLV\x01\x05\x00\x00\x00\x09"),
    ],
)
def test_each_seed_container_is_recognised_by_its_first_bytes(make_uploader, name, head):
    up = make_uploader()
    body = started(up, file_name=name, file_size=100)
    response = up.chunk(body["upload_id"], 0, head + b"\0" * (100 - len(head)))
    assert response.status_code == 200, response.get_json()
    wrong = started(up, file_name=name, file_size=100)
    assert up.chunk(wrong["upload_id"], 0, b"\x00\x00\x00\x18ftypisom" + b"\0" * 88).status_code == (
        200 if name == "a.mov" else 415
    )


def test_initiate_retried_with_the_same_idempotency_key_gets_the_same_upload(make_uploader, app):
    up = make_uploader()
    key = {"Idempotency-Key": "browser-retry-1"}
    body = {"file_name": "a.mp4", "file_size": SIZE, "title": "t"}
    first = up.client.post(f"{PREFIX}/initiate", json=body, headers={**up.headers, **key})
    again = up.client.post(f"{PREFIX}/initiate", json=body, headers={**up.headers, **key})
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json()
    assert db.session.query(MediaAsset).count() == 1
    other = make_uploader()  # keys are per user
    theirs = other.client.post(f"{PREFIX}/initiate", json=body, headers={**other.headers, **key})
    assert theirs.status_code == 201 and theirs.get_json()["upload_id"] != first.get_json()["upload_id"]
    refused = up.client.post(
        f"{PREFIX}/initiate", json={**body, "file_size": -1}, headers={**up.headers, "Idempotency-Key": "k2"}
    )
    assert refused.status_code == 422
    retried = up.client.post(f"{PREFIX}/initiate", json=body, headers={**up.headers, "Idempotency-Key": "k2"})
    assert retried.status_code == 201  # a refused request does not hold the key


def test_a_received_first_chunk_sent_again_with_non_video_bytes_is_a_conflict_not_a_cancel(
    make_uploader, app
):
    """A careless client re-sending chunk 0 with other bytes must not cost the upload its chunks."""
    up = make_uploader()
    body = started(up)
    data = mp4_bytes(SIZE)
    up.send_all(body["upload_id"], data[: 2 * CHUNK])
    response = up.chunk(body["upload_id"], 0, b"\0" * CHUNK)
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "chunk_conflict"
    assert chunk_files(app, body["upload_id"]) == ["000000.chunk", "000001.chunk"]
    progress = up.progress(body["upload_id"]).get_json()
    assert progress["status"] == "uploading" and progress["missing_chunks"] == [2, 3]
    assert db.session.get(MediaAsset, body["asset_id"]).status == MediaAssetStatus.UPLOADING


@pytest.mark.parametrize(
    "raw",
    [
        '{"file_name": "a\\ud800.mp4", "file_size": 1000, "title": "T"}',
        '{"file_name": "a.mp4", "file_size": 1000, "title": "T\\udc00"}',
        '{"file_name": "a.mp4", "file_size": 1000, "title": "T", "description": "\\ud83d"}',
        '{"file_name": "a.mp4", "file_size": 1000, "title": "T", "tags": ["\\udfff"]}',
    ],
)
def test_unpaired_surrogates_in_the_metadata_are_refused_and_nothing_is_stored(make_uploader, app, raw):
    up = make_uploader()
    response = up.client.post(
        f"{PREFIX}/initiate", data=raw, headers=up.headers, content_type="application/json"
    )
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["code"] in ("invalid_field", "invalid_tags")
    assert nothing_stored(app)
