"""The Stream emulator under malformed input and awkward timing: Cloudflare's 4xx envelope, never a 500."""

import base64
import json
import socket
import threading
import time

import jwt
import pytest
import requests

from tests.emulator_fixtures import ACCOUNT, AUTH, TUS, stream_url

MIB = 1024 * 1024


def assert_envelope_400(response):
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["success"] is False and body["result"] is None
    assert isinstance(body["errors"][0]["code"], int) and body["errors"][0]["code"] >= 1000


def tus_create(http, server, length, **headers):
    response = http.post(
        stream_url(server), headers={**TUS, "Upload-Length": str(length), **headers}, timeout=10
    )
    assert response.status_code == 201, response.text
    return response.headers["Location"], response.headers["stream-media-id"]


def patch(http, location, offset, data, **headers):
    headers = {
        **TUS,
        "Upload-Offset": str(offset),
        "Content-Type": "application/offset+octet-stream",
        **headers,
    }
    return http.patch(location, data=data, headers=headers, timeout=30)


def test_non_ascii_digits_in_tus_headers_are_refused_not_crashed(emulator, http):
    # "\xb2" (superscript two) passes str.isdigit() but not int()
    assert_envelope_400(http.post(stream_url(emulator), headers={**TUS, "Upload-Length": "\xb2"}, timeout=10))
    location, _ = tus_create(http, emulator, 10)
    assert_envelope_400(patch(http, location, "\xb9", b"x"))


@pytest.mark.parametrize("query", [{"limit": "\u00b2"}, {"after": "99999999999999999"}, {"before": "1e400"}])
def test_bad_list_parameters_are_refused_not_crashed(emulator, http, query):
    assert_envelope_400(http.get(stream_url(emulator), params=query, timeout=10))


@pytest.mark.parametrize("value", [1e300, -1e300, "99999999999999999"])
def test_out_of_range_timestamps_on_edit_are_refused(emulator, http, value):
    _, uid = tus_create(http, emulator, 10)
    assert_envelope_400(
        http.post(stream_url(emulator, f"/{uid}"), json={"scheduledDeletion": value}, timeout=10)
    )
    assert_envelope_400(http.post(stream_url(emulator, f"/{uid}"), json={"uploadExpiry": value}, timeout=10))


def test_unparseable_copy_url_is_refused(emulator, http):
    assert_envelope_400(http.post(stream_url(emulator, "/copy"), json={"url": "http://[::1"}, timeout=10))


@pytest.mark.parametrize(
    "body",
    [
        '{"exp": "nan"}',
        '{"exp": "inf"}',
        '{"exp": 1e400}',
        '{"nbf": "nan"}',
        '{"nbf": "-inf"}',
        '{"id": {"a": 1}, "pem": "AAAA"}',
        '{"id": 7, "pem": "AAAA"}',
    ],
)
def test_token_endpoint_refuses_non_finite_times_and_odd_key_ids(emulator, http, body):
    _, uid = tus_create(http, emulator, 10)
    response = http.post(
        stream_url(emulator, f"/{uid}/token"),
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert_envelope_400(response)


def test_tus_expiry_metadata_is_validated_and_formatted(emulator, http):
    garbage = base64.b64encode(b"garbage").decode()
    response = http.post(
        stream_url(emulator),
        headers={**TUS, "Upload-Length": "10", "Upload-Metadata": f"expiry {garbage}"},
        timeout=10,
    )
    assert_envelope_400(response)
    expiry = base64.b64encode(b"2030-02-27T07:20:50Z").decode()
    _, uid = tus_create(http, emulator, 10, **{"Upload-Metadata": f"expiry {expiry}"})
    video = http.get(stream_url(emulator, f"/{uid}"), timeout=10).json()["result"]
    assert video["uploadExpiry"] == "2030-02-27T07:20:50.000000Z"


def test_token_whose_exp_is_nan_does_not_play(emulator, http):
    """A NaN `exp` compares false both ways; it must not become a token that never expires."""
    _, uid = tus_create(http, emulator, 10)
    key = http.post(stream_url(emulator, "/keys"), timeout=10).json()["result"]
    pem = base64.b64decode(key["pem"])
    token = jwt.encode(
        {"sub": uid, "kid": key["id"], "exp": "NaN"}, pem, algorithm="RS256", headers={"kid": key["id"]}
    )
    response = requests.get(f"{emulator.url}/{token}/iframe", timeout=10)
    assert response.status_code == 401


def test_a_dropped_final_patch_still_completes_the_upload(emulator, http):
    """The drop keeps every byte of the last chunk: the upload is whole and must go on to processing."""
    location, uid = tus_create(http, emulator, 1000)
    requests.post(
        f"{emulator.url}/__emulator__/faults", json={"kind": "drop_patch", "after_bytes": 1000}, timeout=10
    ).raise_for_status()
    with pytest.raises(requests.ConnectionError):
        patch(http, location, 0, b"x" * 1000)
    head = http.head(location, headers=TUS, timeout=10)
    assert head.headers["Upload-Offset"] == "1000"
    for _ in range(200):
        state = http.get(stream_url(emulator, f"/{uid}"), timeout=10).json()["result"]["status"]["state"]
        if state != "pendingupload":
            break
        time.sleep(0.05)
    assert state != "pendingupload"


def test_non_finite_delay_fault_is_refused(emulator):
    response = requests.post(
        f"{emulator.url}/__emulator__/faults",
        data='{"kind": "delay", "seconds": NaN}',
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 400
    assert requests.get(f"{emulator.url}/__emulator__/faults", timeout=10).json()["faults"] == []


def test_deleting_a_video_while_it_is_processed_leaves_no_files(emulator, http, sample_video, monkeypatch):
    from portal.emulator import transcoding

    processor, original_encode = emulator.emulator.processor, transcoding.encode_mp4
    original_process, done = processor._process_safely, threading.Event()

    def delete_then_encode(source, out_dir, duration, on_progress):
        http.delete(stream_url(emulator, f"/{uid}"), timeout=10).raise_for_status()
        return original_encode(source, out_dir, duration, on_progress)

    def process_then_signal(video_uid):
        try:
            original_process(video_uid)
        finally:
            done.set()

    monkeypatch.setattr(transcoding, "encode_mp4", delete_then_encode)
    monkeypatch.setattr(processor, "_process_safely", process_then_signal)
    with open(sample_video, "rb") as stream:
        uid = http.post(stream_url(emulator), files={"file": stream}, timeout=30).json()["result"]["uid"]
    assert done.wait(60)
    assert emulator.emulator.videos.get(uid) is None
    assert not emulator.emulator.videos.video_dir(uid).exists()


def test_json_body_of_wrong_shape_is_a_decoding_error(emulator, http):
    _, uid = tus_create(http, emulator, 10)
    for data in (b"{", b"[1]", b"\xff\xfe", json.dumps("text").encode()):
        response = http.post(
            stream_url(emulator, f"/{uid}"),
            data=data,
            headers={"Content-Type": "application/json"},
            timeout=10,
        )
        assert_envelope_400(response)


@pytest.mark.parametrize("uid", ["%2e%2e", "%2e"])
def test_deleting_a_dot_segment_uid_removes_nothing(emulator, http, uid):
    """`/stream/..` (sent encoded, so no client normalises it away) must not reach the state directory."""
    _, kept = tus_create(http, emulator, 10)
    state_dir = emulator.emulator.state_dir
    with socket.create_connection(("127.0.0.1", emulator.port), timeout=10) as sock:
        sock.sendall(
            f"DELETE /client/v4/accounts/{ACCOUNT}/stream/{uid} HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: {AUTH['Authorization']}\r\nConnection: close\r\n\r\n".encode()
        )
        status_line = sock.recv(200).split(b"\r\n")[0]
    assert b" 404 " in status_line
    assert (state_dir / "keys.json").is_file()
    assert emulator.emulator.videos.source_path(kept).is_file()
    assert http.get(stream_url(emulator, f"/{kept}"), timeout=10).status_code == 200


def test_a_corrupt_video_record_on_disk_is_skipped_at_start(tmp_path):
    from portal.emulator.store import VideoStore

    good = "ab" * 16
    (tmp_path / "videos" / good).mkdir(parents=True)
    (tmp_path / "videos" / good / "video.json").write_text(json.dumps({"uid": good, "status": {}}))
    for name, content in (("cd" * 16, "[]"), ("ef" * 16, '{"no": "uid"}'), ("..x", '{"uid": ".."}')):
        (tmp_path / "videos" / name).mkdir()
        (tmp_path / "videos" / name / "video.json").write_text(content)
    store = VideoStore(tmp_path)
    assert [record["uid"] for record in store.all()] == [good]


def test_a_thumbnail_that_times_out_leaves_no_temporary_file(tmp_path, monkeypatch):
    """A hung ffmpeg cannot run here, so subprocess.run is made to time out."""
    import subprocess

    from portal.emulator import transcoding

    def hang(command, **kwargs):
        raise subprocess.TimeoutExpired(command, kwargs.get("timeout"))

    monkeypatch.setattr(transcoding.subprocess, "run", hang)
    target = tmp_path / "thumbnails" / "t0.jpg"
    assert transcoding.render_thumbnail(tmp_path / "video.mp4", target, 0.0, 64, 64, "crop") is False
    assert list(target.parent.iterdir()) == []


def test_a_video_deleted_during_a_patch_answers_404_not_500(emulator, http, monkeypatch):
    from portal.emulator import tus

    location, uid = tus_create(http, emulator, 1000)
    original_check = tus._check_chunk

    def delete_first(upload, offset, size):
        emulator.emulator.videos.delete(uid)
        return original_check(upload, offset, size)

    monkeypatch.setattr(tus, "_check_chunk", delete_first)
    response = patch(http, location, 0, b"x" * 1000)
    assert response.status_code == 404, response.text
    assert response.json()["errors"][0]["code"] >= 1000
    assert not emulator.emulator.videos.video_dir(uid).exists()


@pytest.mark.parametrize("header", ["Origin", "Referer"])
def test_an_unparseable_embedding_origin_is_refused_not_crashed(emulator, http, header):
    _, uid = tus_create(http, emulator, 10)
    http.post(
        stream_url(emulator, f"/{uid}"), json={"allowedOrigins": ["example.com"]}, timeout=10
    ).raise_for_status()
    response = requests.get(f"{emulator.url}/{uid}/iframe", headers={header: "http://[bad"}, timeout=10)
    assert response.status_code == 403


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def test_tokens_with_another_algorithm_are_refused_even_keyed_with_the_public_key(emulator, http):
    """Alg confusion: an HS256 token whose HMAC key is the signing key's public PEM, and alg none."""
    import hashlib
    import hmac

    from cryptography.hazmat.primitives import serialization

    _, uid = tus_create(http, emulator, 10)
    http.post(
        stream_url(emulator, f"/{uid}"), json={"requireSignedURLs": True}, timeout=10
    ).raise_for_status()
    key = http.post(stream_url(emulator, "/keys"), timeout=10).json()["result"]
    private = serialization.load_pem_private_key(base64.b64decode(key["pem"]), None)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    claims = _b64url(json.dumps({"sub": uid, "kid": key["id"], "exp": int(time.time()) + 600}).encode())

    def forged(alg, signer):
        head = _b64url(json.dumps({"alg": alg, "kid": key["id"], "typ": "JWT"}).encode())
        return f"{head}.{claims}.{signer(f'{head}.{claims}'.encode())}"

    hs256 = forged("HS256", lambda msg: _b64url(hmac.new(public_pem, msg, hashlib.sha256).digest()))
    rs256_hmac = forged("RS256", lambda msg: _b64url(hmac.new(public_pem, msg, hashlib.sha256).digest()))
    unsigned = forged("none", lambda msg: "")
    for token in (hs256, rs256_hmac, unsigned):
        assert requests.get(f"{emulator.url}/{token}/iframe", timeout=10).status_code == 401
    good = jwt.encode(
        {"sub": uid, "kid": key["id"], "exp": int(time.time()) + 600},
        private,
        algorithm="RS256",
        headers={"kid": key["id"]},
    )
    assert requests.get(f"{emulator.url}/{good}/iframe", timeout=10).status_code == 200
