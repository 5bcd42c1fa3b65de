"""The Stream emulator over real HTTP: API contract, tus, processing, captions, tokens, webhooks, faults."""

import base64
import hashlib
import hmac
import json
import re
import socket
import struct
import threading
import time
from types import SimpleNamespace

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.wrappers import Request, Response

from portal.emulator import faults
from portal.emulator.server import EmulatorServer, threaded_server
from tests.emulator_fixtures import AUTH, TEST_RETRY_DELAYS, TUS, stream_url
from tests.media_samples import make_broken_video, make_not_video

MIB = 1024 * 1024
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


# --- helpers -----------------------------------------------------------------------------------------------------


def upload_basic(http, server, path, filename="sample.mp4"):
    with open(path, "rb") as stream:
        response = http.post(stream_url(server), files={"file": (filename, stream, "video/mp4")}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["result"]


def wait_for(http, server, uid, states=("ready", "error"), timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        video = http.get(stream_url(server, f"/{uid}"), timeout=10).json()["result"]
        if video["status"]["state"] in states:
            return video
        assert time.monotonic() < deadline, f"video stuck in {video['status']}"
        time.sleep(0.05)


def ready_video(http, server, sample_video, **edits):
    video = wait_for(http, server, upload_basic(http, server, sample_video)["uid"])
    assert video["status"]["state"] == "ready", video["status"]
    if edits:
        video = http.post(stream_url(server, f"/{video['uid']}"), json=edits, timeout=10).json()["result"]
    return video


def tus_create(http, server, length, metadata=None, **headers):
    all_headers = {**TUS, "Upload-Length": str(length), **headers}
    if metadata is not None:
        all_headers["Upload-Metadata"] = metadata
    return http.post(stream_url(server), headers=all_headers, timeout=10)


def tus_patch(http, location, offset, data, **headers):
    all_headers = {
        **TUS,
        "Upload-Offset": str(offset),
        "Content-Type": "application/offset+octet-stream",
        **headers,
    }
    return http.patch(location, data=data, headers=all_headers, timeout=30)


def b64(text):
    return base64.b64encode(text.encode()).decode()


def padded_video(sample_video, total):
    """The sample MP4 followed by a `free` box, so it is still a valid video but `total` bytes long."""
    data = sample_video.read_bytes()
    padding = total - len(data)
    return data + padding.to_bytes(4, "big") + b"free" + bytes(padding - 8)


def jpeg_size(data):
    """(width, height) from a JPEG's start-of-frame marker."""
    index = 2
    while index < len(data):
        marker, length = data[index + 1], int.from_bytes(data[index + 2 : index + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2):
            return int.from_bytes(data[index + 7 : index + 9], "big"), int.from_bytes(
                data[index + 5 : index + 7], "big"
            )
        index += 2 + length
    raise AssertionError("no SOF marker")


def self_signed(key, claims, kid=None):
    pem = base64.b64decode(key["pem"])
    kid = kid or key["id"]
    return jwt.encode({"kid": kid, **claims}, pem, algorithm="RS256", headers={"kid": kid})


class LocalReceiver:
    """A tiny real HTTP server: records POSTs, answers the first `failures` with 500, serves `files`."""

    def __init__(self, failures=0, files=None):
        self.failures = failures
        self.files = files or {}
        self.received = []
        self._server = threaded_server("127.0.0.1", 0, self._app)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @Request.application
    def _app(self, request):
        if request.method == "GET":
            if request.path in self.files:
                return Response(self.files[request.path], mimetype="video/mp4")
            return Response("missing", status=404)
        self.received.append({"headers": dict(request.headers), "body": request.get_data()})
        if len(self.received) <= self.failures:
            return Response("try again", status=500)
        return Response("ok")

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


# --- auth --------------------------------------------------------------------------------------------------------


def test_api_refuses_missing_or_wrong_token_with_code_10000(emulator):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "emulator-token"}):
        response = requests.get(stream_url(emulator), headers=headers, timeout=10)
        assert response.status_code == 401
        body = response.json()
        assert body["success"] is False and body["result"] is None
        assert body["errors"] == [{"code": 10000, "message": "Authentication error"}]
    other_account = requests.get(
        f"{emulator.api_base}/accounts/someone-else/stream", headers=AUTH, timeout=10
    )
    assert other_account.status_code == 403
    assert other_account.json()["errors"][0]["code"] == 10000


def test_unknown_video_is_404_in_the_envelope(emulator, http):
    response = http.get(stream_url(emulator, "/" + "0" * 32), timeout=10)
    assert response.status_code == 404
    assert response.json()["success"] is False and response.json()["errors"][0]["code"] >= 1000


# --- tus ---------------------------------------------------------------------------------------------------------


def test_tus_creation_answers_201_with_location_uid_and_applies_metadata(emulator, http):
    metadata = f"name {b64('Kata basics')}, requiresignedurls, maxdurationseconds {b64('600')},filetype {b64('video/mp4')}"
    response = tus_create(http, emulator, 12345, metadata, **{"Upload-Creator": "instructor-7"})
    assert response.status_code == 201
    uid = response.headers["stream-media-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", uid)
    assert response.headers["Tus-Resumable"] == "1.0.0"
    assert response.headers["Location"].startswith(emulator.url + "/") and uid in response.headers["Location"]
    video = http.get(stream_url(emulator, f"/{uid}"), timeout=10).json()["result"]
    assert video["status"]["state"] == "pendingupload"
    assert video["meta"] == {"name": "Kata basics", "filetype": "video/mp4"}
    assert video["requireSignedURLs"] is True and video["maxDurationSeconds"] == 600
    assert video["creator"] == "instructor-7" and video["duration"] == -1
    assert video["input"] == {"width": -1, "height": -1}
    assert TIMESTAMP.match(video["created"]) and video["readyToStream"] is False
    assert video["thumbnail"] == f"{emulator.url}/{uid}/thumbnails/thumbnail.jpg"
    assert video["playback"]["hls"] == f"{emulator.url}/{uid}/manifest/video.m3u8"


def test_tus_creation_rejects_bad_requests(emulator, http):
    assert tus_create(http, emulator, 10, **{"Tus-Resumable": "0.2.2"}).status_code == 412
    assert http.post(stream_url(emulator), headers=TUS, timeout=10).status_code == 400
    assert tus_create(http, emulator, 31 * 1024**3).status_code == 413


def test_tus_upload_in_chunks_resumes_and_reaches_ready(emulator, http, sample_video):
    data = padded_video(sample_video, 5 * MIB + 300_000)
    location = tus_create(http, emulator, len(data), f"name {b64('chunked')}").headers["Location"]
    first = tus_patch(http, location, 0, data[: 5 * MIB])
    assert first.status_code == 204 and first.headers["Upload-Offset"] == str(5 * MIB)
    head = http.head(location, headers=TUS, timeout=10)
    assert head.status_code == 200 and head.headers["Cache-Control"] == "no-store"
    assert head.headers["Upload-Offset"] == str(5 * MIB) and head.headers["Upload-Length"] == str(len(data))
    uid = location.split("/")[-1].split("?")[0]
    assert (
        http.get(stream_url(emulator, f"/{uid}"), timeout=10).json()["result"]["status"]["state"]
        == "pendingupload"
    )
    last = tus_patch(http, location, 5 * MIB, data[5 * MIB :])
    assert last.status_code == 204 and last.headers["Upload-Offset"] == str(len(data))
    video = wait_for(http, emulator, uid)
    assert video["status"] == {
        "state": "ready",
        "pctComplete": "100.000000",
        "errorReasonCode": "",
        "errorReasonText": "",
    }
    assert video["size"] == len(data) and video["readyToStream"] is True
    assert abs(video["duration"] - 2.0) < 0.1 and video["input"] == {"width": 320, "height": 240}


def test_tus_patch_enforces_cloudflare_chunk_rules(emulator, http):
    location = tus_create(http, emulator, 12 * MIB).headers["Location"]
    too_small = tus_patch(http, location, 0, bytes(MIB))
    assert too_small.status_code == 400 and "5 MiB" in too_small.json()["errors"][0]["message"]
    unaligned = tus_patch(http, location, 0, bytes(5 * MIB + 1000))
    assert unaligned.status_code == 400
    assert unaligned.json()["errors"][0]["message"] == "Chunk size must be a multiple of 256KiB"
    assert tus_patch(http, location, 0, bytes(5 * MIB), **{"Content-Type": "video/mp4"}).status_code == 415
    assert tus_patch(http, location, 0, bytes(10), **{"Tus-Resumable": "0.2.2"}).status_code == 412
    assert tus_patch(http, location, 0, bytes(13 * MIB)).status_code == 413
    assert tus_patch(http, location, 0, bytes(5 * MIB)).status_code == 204
    conflict = tus_patch(http, location, 0, bytes(5 * MIB))
    assert conflict.status_code == 409
    assert http.head(location, headers=TUS, timeout=10).headers["Upload-Offset"] == str(5 * MIB)
    unknown = location.replace(location.split("/")[-1].split("?")[0], "f" * 32)
    assert http.head(unknown, headers=TUS, timeout=10).status_code == 404
    assert requests.head(location, headers=TUS, timeout=10).status_code == 401


# --- processing --------------------------------------------------------------------------------------------------


def test_basic_upload_is_processed_with_real_duration_size_hls_and_thumbnails(emulator, http, sample_video):
    uploaded = upload_basic(http, emulator, sample_video)
    assert (
        uploaded["status"]["state"] in ("queued", "inprogress") and uploaded["meta"]["name"] == "sample.mp4"
    )
    video = wait_for(http, emulator, uploaded["uid"])
    assert video["status"]["state"] == "ready" and video["status"]["pctComplete"] == "100.000000"
    assert video["size"] == sample_video.stat().st_size
    assert abs(video["duration"] - 2.0) < 0.1 and video["input"] == {"width": 320, "height": 240}
    assert TIMESTAMP.match(video["readyToStreamAt"]) and TIMESTAMP.match(video["uploaded"])
    master = requests.get(video["playback"]["hls"], timeout=10)
    assert master.status_code == 200 and master.text.startswith("#EXTM3U")
    assert master.headers["Access-Control-Allow-Origin"] == "*"
    media = requests.get(video["playback"]["hls"].replace("video.m3u8", "stream.m3u8"), timeout=10).text
    segment = next(line for line in media.splitlines() if line.endswith(".ts"))
    assert (
        requests.get(video["playback"]["hls"].replace("video.m3u8", segment), timeout=10).content[:1] == b"G"
    )
    assert requests.get(video["playback"]["dash"], timeout=10).text.lstrip().startswith("<?xml")
    thumbnail = requests.get(
        video["thumbnail"], params={"time": "1s", "width": 100, "height": 100}, timeout=10
    )
    assert thumbnail.headers["Content-Type"] == "image/jpeg" and jpeg_size(thumbnail.content) == (100, 100)
    default = requests.get(video["thumbnail"], timeout=10)
    assert jpeg_size(default.content) == (640, 480)
    assert requests.get(video["thumbnail"], params={"fit": "stretch"}, timeout=10).status_code == 400


def test_non_video_upload_ends_in_err_non_video(emulator, http, tmp_path):
    video = wait_for(
        http, emulator, upload_basic(http, emulator, make_not_video(tmp_path / "notes.mp4"))["uid"]
    )
    assert video["status"]["state"] == "error" and video["status"]["errorReasonCode"] == "ERR_NON_VIDEO"
    assert video["readyToStream"] is False


def test_truncated_video_ends_in_err_malformed_video(emulator, http, tmp_path):
    video = wait_for(
        http, emulator, upload_basic(http, emulator, make_broken_video(tmp_path / "cut.mp4"))["uid"]
    )
    assert video["status"]["state"] == "error" and video["status"]["errorReasonCode"] == "ERR_MALFORMED_VIDEO"


def test_video_longer_than_max_duration_is_refused(emulator, http, sample_video):
    data = sample_video.read_bytes()
    location = tus_create(http, emulator, len(data), f"maxdurationseconds {b64('1')}").headers["Location"]
    assert tus_patch(http, location, 0, data).status_code == 204
    video = wait_for(http, emulator, location.split("/")[-1].split("?")[0])
    assert video["status"]["errorReasonCode"] == "ERR_DURATION_EXCEED_CONSTRAINT"


def test_copy_downloads_the_url_and_reports_fetch_errors(emulator, http, sample_video):
    with LocalReceiver(files={"/clip.mp4": sample_video.read_bytes()}) as origin:
        body = {"url": f"{origin.url}/clip.mp4", "meta": {"name": "copied"}, "requireSignedURLs": True}
        copied = http.post(stream_url(emulator, "/copy"), json=body, timeout=10).json()["result"]
        assert copied["status"]["state"] == "downloading"
        assert copied["meta"] == {"name": "copied", "downloaded-from": f"{origin.url}/clip.mp4"}
        missing = http.post(
            stream_url(emulator, "/copy"), json={"input": f"{origin.url}/nope.mp4"}, timeout=10
        )
        ready = wait_for(http, emulator, copied["uid"])
        failed = wait_for(http, emulator, missing.json()["result"]["uid"])
    assert ready["status"]["state"] == "ready" and ready["requireSignedURLs"] is True
    assert failed["status"]["errorReasonCode"] == "ERR_FETCH_ORIGIN_ERROR"
    assert http.post(stream_url(emulator, "/copy"), json={"url": "ftp://x/y"}, timeout=10).status_code == 400


# --- edit, list, delete ------------------------------------------------------------------------------------------


def test_edit_list_and_delete(emulator, http):
    uids = []
    for name in ("Kata one", "Sparring", "Kata two"):
        uids.append(tus_create(http, emulator, 100, f"name {b64(name)}").headers["stream-media-id"])
        time.sleep(0.002)
    edited = http.post(
        stream_url(emulator, f"/{uids[0]}"),
        timeout=10,
        json={
            "uid": uids[0],
            "meta": {"name": "Kata one"},
            "creator": "sensei",
            "requireSignedURLs": True,
            "allowedOrigins": ["example.org"],
            "thumbnailTimestampPct": 0.5,
        },
    ).json()["result"]
    assert edited["creator"] == "sensei" and edited["requireSignedURLs"] is True
    assert edited["allowedOrigins"] == ["example.org"] and edited["thumbnailTimestampPct"] == 0.5
    assert edited["modified"] > edited["created"]
    assert (
        http.post(stream_url(emulator, f"/{uids[0]}"), json={"uid": uids[1]}, timeout=10).status_code == 400
    )
    assert (
        http.post(
            stream_url(emulator, f"/{uids[0]}"), json={"requireSignedURLs": "yes"}, timeout=10
        ).status_code
        == 400
    )

    listing = http.get(stream_url(emulator), timeout=10).json()
    assert [video["uid"] for video in listing["result"]] == uids[::-1]
    assert listing["range"] == 3 and listing["total"] == 3
    search = http.get(stream_url(emulator), params={"search": "kata"}, timeout=10).json()
    assert {video["uid"] for video in search["result"]} == {uids[0], uids[2]}
    assert [
        v["uid"]
        for v in http.get(stream_url(emulator), params={"creator": "sensei"}, timeout=10).json()["result"]
    ] == [uids[0]]
    ascending = http.get(stream_url(emulator), params={"asc": "true", "limit": 2}, timeout=10).json()
    assert [video["uid"] for video in ascending["result"]] == uids[:2] and ascending["total"] == 3
    cursor = ascending["result"][-1]["created"]
    after = http.get(stream_url(emulator), params={"after": cursor}, timeout=10).json()["result"]
    assert [video["uid"] for video in after] == [uids[2]]
    statuses = http.get(stream_url(emulator), params={"status": "ready,pendingupload"}, timeout=10).json()
    assert statuses["total"] == 3
    assert http.get(stream_url(emulator), params={"status": "ready"}, timeout=10).json()["total"] == 0
    assert http.get(stream_url(emulator), params={"limit": 1001}, timeout=10).status_code == 400

    assert http.delete(stream_url(emulator, f"/{uids[1]}"), timeout=10).status_code == 200
    assert http.get(stream_url(emulator, f"/{uids[1]}"), timeout=10).status_code == 404
    assert http.delete(stream_url(emulator, f"/{uids[1]}"), timeout=10).status_code == 404


# --- captions ----------------------------------------------------------------------------------------------------


def test_captions_upload_list_vtt_and_delete(emulator, http):
    uid = tus_create(http, emulator, 100).headers["stream-media-id"]
    captions = stream_url(emulator, f"/{uid}/captions")
    vtt = "WEBVTT\n\n00:00.000 --> 00:01.000\nBow to the instructor\n"
    response = http.put(f"{captions}/de", files={"file": ("de.vtt", vtt, "text/vtt")}, timeout=10)
    assert response.json()["result"] == {
        "language": "de",
        "label": "Deutsch",
        "generated": False,
        "status": "ready",
    }
    not_vtt = http.put(
        f"{captions}/en", files={"file": ("en.srt", "1\n00:00:00,000 --> 00:00:01,000\nHi\n")}, timeout=10
    )
    assert not_vtt.status_code == 400 and "WEBVTT" in not_vtt.json()["errors"][0]["message"]
    hand_set = http.put(
        f"{captions}/en", data=vtt, headers={"Content-Type": "multipart/form-data"}, timeout=10
    )
    assert hand_set.status_code == 400 and hand_set.json()["errors"][0]["code"] == 10004
    assert [c["language"] for c in http.get(captions, timeout=10).json()["result"]] == ["de"]
    assert http.get(f"{captions}/de", timeout=10).json()["result"]["label"] == "Deutsch"
    raw = http.get(f"{captions}/de/vtt", timeout=10)
    assert raw.headers["Content-Type"].startswith("text/vtt") and raw.text == vtt
    deleted = http.delete(f"{captions}/de", timeout=10).json()
    assert deleted["success"] is True and deleted["result"] == ""
    assert http.get(captions, timeout=10).json()["result"] == []
    assert http.get(f"{captions}/de", timeout=10).status_code == 404


# --- keys, tokens and the customer domain -------------------------------------------------------------------------


def test_signing_keys_create_list_revoke(emulator, http):
    key = http.post(stream_url(emulator, "/keys"), timeout=10).json()["result"]
    assert base64.b64decode(key["pem"]).startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    jwk = json.loads(base64.b64decode(key["jwk"]))
    assert jwk["kid"] == key["id"] and jwk["alg"] == "RS256" and {"n", "e", "d", "p", "q"} <= set(jwk)
    assert http.get(stream_url(emulator, "/keys"), timeout=10).json()["result"] == [
        {"id": key["id"], "created": key["created"]}
    ]
    uid = tus_create(http, emulator, 100).headers["stream-media-id"]
    signing_key = jwt.PyJWK(jwk).key
    token = jwt.encode(
        {"sub": uid, "kid": key["id"], "exp": int(time.time()) + 60},
        signing_key,
        algorithm="RS256",
        headers={"kid": key["id"]},
    )
    assert "not ready" in requests.get(f"{emulator.url}/{token}/iframe", timeout=10).text
    assert http.delete(stream_url(emulator, f"/keys/{key['id']}"), timeout=10).json()["result"] == "Revoked"
    assert http.get(stream_url(emulator, "/keys"), timeout=10).json()["result"] == []


def test_signed_urls_on_the_customer_domain(emulator, http, sample_video):
    video = ready_video(http, emulator, sample_video, requireSignedURLs=True)
    other = ready_video(http, emulator, sample_video)
    uid = video["uid"]
    key = http.post(stream_url(emulator, "/keys"), timeout=10).json()["result"]
    now = int(time.time())

    def page(token_or_uid, path="iframe"):
        return requests.get(f"{emulator.url}/{token_or_uid}/{path}", timeout=10)

    bare = page(uid)
    assert bare.status_code == 401 and bare.headers["Content-Type"].startswith("text/html")
    assert 'data-error="this video requires a signed URL token"' in bare.text and "<video" not in bare.text
    assert page(uid, "manifest/video.m3u8").status_code == 401
    assert page(uid, "thumbnails/thumbnail.jpg").status_code == 401
    assert page(other["uid"]).status_code == 200

    issued = http.post(stream_url(emulator, f"/{uid}/token"), json={}, timeout=10).json()["result"]["token"]
    claims = jwt.decode(issued, options={"verify_signature": False})
    assert claims["sub"] == uid and isinstance(claims["exp"], str) and isinstance(claims["nbf"], str)
    played = page(issued)
    assert played.status_code == 200 and "X-Frame-Options" not in played.headers
    assert f'data-video-uid="{uid}"' in played.text and "<video" in played.text
    source = re.search(r'<source src="([^"]+\.mp4)"', played.text).group(1)
    assert requests.get(emulator.url + source, timeout=10).content[4:8] == b"ftyp"

    valid = self_signed(key, {"sub": uid, "exp": now + 600})
    assert page(valid).status_code == 200
    assert page(valid, "manifest/video.m3u8").text.startswith("#EXTM3U")
    assert page(valid, "thumbnails/thumbnail.jpg").content[:2] == b"\xff\xd8"
    assert page(self_signed(key, {"sub": uid, "exp": str(now + 600), "nbf": str(now - 5)})).status_code == 200
    assert page(self_signed(key, {"sub": uid, "exp": now - 10})).status_code == 401
    assert page(self_signed(key, {"sub": uid, "exp": now + 600, "nbf": now + 3600})).status_code == 401
    assert page(self_signed(key, {"sub": uid, "exp": now + 3 * 86400})).status_code == 401
    assert page(self_signed(key, {"sub": uid})).status_code == 401
    stranger = {
        "id": key["id"],
        "pem": base64.b64encode(rsa.generate_private_key(65537, 2048).private_bytes(*_pkcs1_args())).decode(),
    }
    assert page(self_signed(stranger, {"sub": uid, "exp": now + 600})).status_code == 401
    assert page(self_signed(key, {"sub": uid, "exp": now + 600}, kid="0" * 32)).status_code == 401
    assert page(valid.replace(valid.split(".")[1], valid.split(".")[1][:-2] + "AA")).status_code == 401
    for_other = page(self_signed(key, {"sub": other["uid"], "exp": now + 600}))
    assert f'data-video-uid="{other["uid"]}"' in for_other.text and uid not in for_other.text
    assert page(self_signed(key, {"sub": "a" * 32, "exp": now + 600})).status_code == 404
    assert page("b" * 32).status_code == 404

    blocked = [
        {"type": "ip.src", "action": "allow", "ip": ["10.0.0.0/8"]},
        {"type": "any", "action": "block"},
    ]
    assert page(self_signed(key, {"sub": uid, "exp": now + 600, "accessRules": blocked})).status_code == 403
    allowed = [
        {"type": "ip.src", "action": "allow", "ip": ["127.0.0.1/32"]},
        {"type": "any", "action": "block"},
    ]
    assert page(self_signed(key, {"sub": uid, "exp": now + 600, "accessRules": allowed})).status_code == 200

    downloadable = self_signed(key, {"sub": uid, "exp": now + 600, "downloadable": True})
    assert page(downloadable, "downloads/default.mp4").status_code == 404
    http.post(stream_url(emulator, f"/{uid}/downloads"), timeout=10).raise_for_status()
    assert page(valid, "downloads/default.mp4").status_code == 403
    download = page(downloadable, "downloads/default.mp4")
    assert download.status_code == 200 and download.headers["Content-Type"] == "video/mp4"

    http.delete(stream_url(emulator, f"/keys/{key['id']}"), timeout=10).raise_for_status()
    assert page(valid).status_code == 401
    assert page(issued).status_code == 200


def _pkcs1_args():
    from cryptography.hazmat.primitives import serialization

    return (
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def test_iframe_honours_player_parameters_and_lists_caption_tracks(emulator, http, sample_video):
    uid = ready_video(http, emulator, sample_video)["uid"]
    for language in ("en", "fr"):
        http.put(
            stream_url(emulator, f"/{uid}/captions/{language}"),
            timeout=10,
            files={"file": ("c.vtt", "WEBVTT\n\n00:00.000 --> 00:01.000\nHi\n")},
        ).raise_for_status()
    params = {
        "autoplay": "true",
        "muted": "true",
        "loop": "true",
        "controls": "false",
        "preload": "metadata",
        "startTime": "1s",
        "defaultTextTrack": "fr",
        "poster": "https://example.org/p.jpg",
    }
    html = requests.get(f"{emulator.url}/{uid}/iframe", params=params, timeout=10).text
    video_tag = re.search(r"<video[^>]*>", html).group(0)
    for attribute in (
        "autoplay",
        "muted",
        "loop",
        'preload="metadata"',
        'poster="https://example.org/p.jpg"',
        'data-start-time="1.0"',
    ):
        assert attribute in video_tag
    assert "controls" not in video_tag
    tracks = re.findall(r"<track[^>]*>", html)
    assert len(tracks) == 2 and "default" in next(track for track in tracks if 'srclang="fr"' in track)
    webm = re.search(r'<source src="([^"]+\.webm)"', html).group(1)
    assert requests.get(emulator.url + webm, timeout=30).content[:4] == b"\x1a\x45\xdf\xa3"
    vtt_path = re.search(r'<track[^>]*src="([^"]+)"', html).group(1)
    assert requests.get(emulator.url + vtt_path, timeout=10).text.startswith("WEBVTT")
    master = requests.get(f"{emulator.url}/{uid}/manifest/video.m3u8", timeout=10).text
    assert "TYPE=SUBTITLES" in master and 'LANGUAGE="fr"' in master
    assert "<video" in requests.get(f"{emulator.url}/{uid}/watch", timeout=10).text


def test_allowed_origins_limit_who_may_embed(emulator, http, sample_video):
    uid = ready_video(http, emulator, sample_video, allowedOrigins=["example.org", "*.dojo.test"])["uid"]

    def embedded_from(page):
        return requests.get(f"{emulator.url}/{uid}/iframe", headers={"Referer": page}, timeout=10).status_code

    assert embedded_from("https://example.org/library/1") == 200
    assert embedded_from("https://members.dojo.test/watch") == 200
    assert embedded_from("https://dojo.test/watch") == 403
    assert embedded_from("https://elsewhere.example/") == 403


# --- webhooks ----------------------------------------------------------------------------------------------------


def test_webhook_is_signed_and_retried_until_the_receiver_accepts(emulator, http, sample_video):
    webhook = stream_url(emulator, "/webhook")
    assert http.put(webhook, json={"notificationUrl": "ftp://example.org"}, timeout=10).status_code == 400
    with LocalReceiver(failures=1) as receiver:
        first = http.put(webhook, json={"notificationUrl": receiver.url + "/hook"}, timeout=10).json()[
            "result"
        ]
        subscription = http.put(webhook, json={"notificationUrl": receiver.url + "/hook"}, timeout=10).json()[
            "result"
        ]
        assert (
            re.fullmatch(r"[0-9a-f]{32}", subscription["secret"])
            and subscription["secret"] != first["secret"]
        )
        assert http.get(webhook, timeout=10).json()["result"] == subscription
        uid = upload_basic(http, emulator, sample_video)["uid"]
        wait_for(http, emulator, uid)
        deadline = time.monotonic() + 10
        while len(receiver.received) < 2:
            assert time.monotonic() < deadline, "webhook was not retried"
            time.sleep(0.05)
    delivered = receiver.received[-1]
    fields = dict(part.split("=", 1) for part in delivered["headers"]["Webhook-Signature"].split(","))
    expected = hmac.new(
        subscription["secret"].encode(), f"{fields['time']}.".encode() + delivered["body"], hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(fields["sig1"], expected)
    assert abs(int(fields["time"]) - time.time()) < 60
    body = json.loads(delivered["body"])
    assert body["uid"] == uid and body["status"]["state"] == "ready" and body["readyToStream"] is True
    deliveries = requests.get(f"{emulator.url}/__emulator__/webhook-deliveries", timeout=10).json()[
        "deliveries"
    ]
    assert deliveries[0]["attempts"] == 2 and deliveries[0]["statusCode"] == 200
    assert deliveries[0]["url"] == receiver.url + "/hook" and deliveries[0]["delivered"] is True
    assert http.delete(webhook, timeout=10).json()["result"] == "ok"
    assert http.get(webhook, timeout=10).status_code == 404


def test_webhook_gives_up_after_the_configured_retries(emulator, http, tmp_path):
    with LocalReceiver(failures=100) as receiver:
        http.put(stream_url(emulator, "/webhook"), json={"notificationUrl": receiver.url}, timeout=10)
        uid = upload_basic(http, emulator, make_not_video(tmp_path / "x.mp4"))["uid"]
        wait_for(http, emulator, uid)
        deadline = time.monotonic() + 10
        while True:
            deliveries = requests.get(f"{emulator.url}/__emulator__/webhook-deliveries", timeout=10).json()[
                "deliveries"
            ]
            if deliveries and deliveries[0]["finished"]:
                break
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert deliveries[0]["attempts"] == 1 + len(TEST_RETRY_DELAYS) and deliveries[0]["delivered"] is False
    assert json.loads(receiver.received[0]["body"])["status"]["errorReasonCode"] == "ERR_NON_VIDEO"


# --- faults ------------------------------------------------------------------------------------------------------


def test_status_faults_fail_n_requests_then_recover(emulator, http):
    faults = f"{emulator.url}/__emulator__/faults"
    assert (
        requests.post(faults, json={"kind": "status", "status": 503, "count": 2}, timeout=10).status_code
        == 201
    )
    codes = [http.get(stream_url(emulator), timeout=10).status_code for _ in range(3)]
    assert codes == [503, 503, 200]
    requests.post(faults, json={"kind": "status", "status": 429, "retry_after": 3}, timeout=10)
    limited = http.get(stream_url(emulator), timeout=10)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "3"
    assert limited.json()["success"] is False
    requests.post(faults, json={"kind": "status", "status": 500, "method": "PATCH", "count": 5}, timeout=10)
    assert http.get(stream_url(emulator), timeout=10).status_code == 200
    assert len(requests.get(faults, timeout=10).json()["faults"]) == 1
    requests.delete(faults, timeout=10)
    assert requests.get(faults, timeout=10).json()["faults"] == []
    assert requests.post(faults, json={"kind": "explode"}, timeout=10).status_code == 400


def test_delay_fault_slows_the_next_request(emulator, http, monkeypatch):
    slept = []  # the emulator's sleeps, counted instead of timed
    monkeypatch.setattr(faults, "time", SimpleNamespace(sleep=slept.append))
    emulator.emulator.faults.add({"kind": "delay", "seconds": 0.3})
    assert http.get(stream_url(emulator), timeout=10).status_code == 200
    assert slept == [0.3]
    assert emulator.emulator.faults.armed() == []
    assert http.get(stream_url(emulator), timeout=10).status_code == 200
    assert slept == [0.3]  # only the next request was delayed


def test_drop_patch_keeps_what_was_read_and_the_upload_resumes(emulator, http, sample_video):
    data = padded_video(sample_video, 6 * MIB)
    location = tus_create(http, emulator, len(data)).headers["Location"]
    requests.post(
        f"{emulator.url}/__emulator__/faults", json={"kind": "drop_patch", "after_bytes": MIB}, timeout=10
    )
    with pytest.raises(requests.ConnectionError):
        tus_patch(http, location, 0, data[: 5 * MIB])
    offset = int(http.head(location, headers=TUS, timeout=10).headers["Upload-Offset"])
    assert offset == MIB
    assert tus_patch(http, location, offset, data[offset:]).status_code == 204
    video = wait_for(http, emulator, location.split("/")[-1].split("?")[0])
    assert video["status"]["state"] == "ready" and video["size"] == len(data)


# --- persistence -------------------------------------------------------------------------------------------------


def test_unfinished_processing_resumes_after_a_restart(tmp_path, sample_video):
    data = sample_video.read_bytes()
    with EmulatorServer(tmp_path / "state") as first, requests.Session() as http:
        http.headers.update(AUTH)
        first.emulator.processor.shutdown()
        location = tus_create(http, first, len(data)).headers["Location"]
        assert tus_patch(http, location, 0, data).status_code == 204
        uid = location.split("/")[-1].split("?")[0]
        assert (
            http.get(stream_url(first, f"/{uid}"), timeout=10).json()["result"]["status"]["state"] == "queued"
        )
    with EmulatorServer(tmp_path / "state") as second, requests.Session() as http:
        http.headers.update(AUTH)
        assert wait_for(http, second, uid)["status"]["state"] == "ready"


def test_state_survives_a_restart(tmp_path, sample_video):
    with EmulatorServer(tmp_path / "state") as first, requests.Session() as http:
        http.headers.update(AUTH)
        video = ready_video(http, first, sample_video, requireSignedURLs=True)
        key = http.post(stream_url(first, "/keys"), timeout=10).json()["result"]
        subscription = http.put(
            stream_url(first, "/webhook"), json={"notificationUrl": "http://127.0.0.1:9/h"}, timeout=10
        ).json()["result"]
    with EmulatorServer(tmp_path / "state") as second, requests.Session() as http:
        http.headers.update(AUTH)
        again = http.get(stream_url(second, f"/{video['uid']}"), timeout=10).json()["result"]
        assert again["status"]["state"] == "ready" and again["requireSignedURLs"] is True
        assert again["duration"] == video["duration"]
        assert [k["id"] for k in http.get(stream_url(second, "/keys"), timeout=10).json()["result"]] == [
            key["id"]
        ]
        assert http.get(stream_url(second, "/webhook"), timeout=10).json()["result"] == subscription
        token = self_signed(key, {"sub": video["uid"], "exp": int(time.time()) + 600})
        assert requests.get(f"{second.url}/{token}/iframe", timeout=10).status_code == 200


def test_a_response_is_closed_when_the_client_resets_the_connection():
    """werkzeug's server skips close() when the client's reset reaches it as it drains the request
    (a page navigating away from a thumbnail): the file behind send_file stayed open until the
    garbage collector found it, a ResourceWarning. The server closes every response anyway."""
    closes = []

    class Body:
        def __iter__(self):
            yield b"thumbnail"

        def close(self):
            closes.append(True)

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "image/jpeg"), ("Content-Length", "9")])
        return Body()

    server = threaded_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        for attempt in range(20):
            client = socket.create_connection(("127.0.0.1", server.server_port))
            client.sendall(b"GET /thumbnail.jpg HTTP/1.1\r\nHost: localhost\r\n\r\n")
            received = b""
            while not received.endswith(b"thumbnail"):
                received += client.recv(1024)
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            client.close()  # a reset, as a browser leaving the page sends
            deadline = time.monotonic() + 5
            while len(closes) <= attempt and time.monotonic() < deadline:
                time.sleep(0.01)
            assert len(closes) == attempt + 1
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
