"""Contract suite: the Stream client's whole surface against the running emulator over real HTTP."""

import json
import os
import threading
import time
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from portal.services.stream import StreamClient, StreamError
from portal.services.stream.tokens import sign_token

MiB = 1024 * 1024
ACCOUNT, TOKEN = "emulator-account", "emulator-token"
SRT = "1\n00:00:00,500 --> 00:00:01,500\nOss!\n\n2\n00:00:01,600 --> 00:00:02,000\nRei\n"
VTT = "WEBVTT\n\n00:00.500 --> 00:01.500\nHajime\n"


# -- helpers -------------------------------------------------------------------------------------


@pytest.fixture
def sleeps():
    """Backoff delays the client asked for (recorded instead of slept)."""
    return []


def make_client(server, sleeps, **overrides):
    kwargs = dict(
        api_base=server.api_base,
        account_id=ACCOUNT,
        api_token=TOKEN,
        customer_base_url=server.url,
        max_retries=3,
        backoff_base=0.01,
        timeout=30,
        sleep=sleeps.append,
    )
    kwargs.update(overrides)
    return StreamClient(**kwargs)


@pytest.fixture
def client(emulator, sleeps):
    """A client for the freshly reset emulator."""
    c = make_client(emulator, sleeps)
    yield c
    c.close()


@pytest.fixture
def keyed(emulator, client, sleeps):
    """A client holding a signing key that the emulator created."""
    key = client.create_signing_key()
    c = make_client(emulator, sleeps, signing_key_id=key["id"], signing_key_pem=key["pem"])
    yield c
    c.close()


@pytest.fixture
def random_file(tmp_path):
    """~11 MiB of random bytes: three tus PATCHes at Cloudflare's 5 MiB minimum."""
    path = tmp_path / "random.bin"
    path.write_bytes(os.urandom(11 * MiB + 12345))
    return path


def stored_bytes(server, uid):
    """The bytes the emulator stored for a video (its state on disk), to prove uploads arrive intact."""
    return server.emulator.videos.source_path(uid).read_bytes()


def arm(server, **spec):
    requests.post(f"{server.url}/__emulator__/faults", json=spec, timeout=10).raise_for_status()


def wait_for_state(client, uid, states=("ready",), polls=600):
    """Poll get_video until the state is one of `states` (bounded by polls, not by a clock assertion)."""
    for _ in range(polls):
        video = client.get_video(uid)
        if video["status"]["state"] in states:
            return video
        time.sleep(0.05)
    raise AssertionError(f"video {uid} never reached {states}: {video['status']}")


class LocalServer:
    """A loopback HTTP server in a thread: serves a directory, or records POSTed webhooks."""

    def __init__(self, handler):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class WebhookReceiver(BaseHTTPRequestHandler):
    received = None

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((body, self.headers.get("Webhook-Signature")))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


# -- uploads -------------------------------------------------------------------------------------


def test_basic_upload_processes_to_ready(client, emulator, sample_video):
    progress = []
    video = client.upload_video(
        sample_video,
        {"title": "Heian Shodan", "creator": "instructor-1", "meta": {"asset_id": "a1"}},
        progress_callback=lambda *p: progress.append(p),
    )
    assert video["meta"]["name"] == "Heian Shodan" and video["meta"]["asset_id"] == "a1"
    assert video["creator"] == "instructor-1" and video["requireSignedURLs"] is False
    size = os.path.getsize(sample_video)
    assert progress[-1] == (size, size)
    assert stored_bytes(emulator, video["uid"]) == Path(sample_video).read_bytes()
    ready = wait_for_state(client, video["uid"])
    assert ready["readyToStream"] is True and ready["duration"] > 0 and ready["size"] == size


def test_tus_upload_in_5_mib_chunks(client, emulator, random_file):
    size = random_file.stat().st_size
    offsets, created = [], []
    result = client.upload_file_tus(
        random_file,
        metadata={"name": "big", "require_signed_urls": True},
        chunk_size=5 * MiB,
        progress_callback=lambda o, t: offsets.append(o),
        on_created=lambda url, uid: created.append((url, uid)),
    )
    assert offsets == [5 * MiB, 10 * MiB, size] and result["bytes_uploaded"] == size
    assert created == [(result["upload_url"], result["video_id"])]
    assert client.get_upload_offset(result["upload_url"]) == size
    video = client.get_video(result["video_id"])
    assert video["meta"]["name"] == "big" and video["requireSignedURLs"] is True and video["size"] == size
    assert stored_bytes(emulator, result["video_id"]) == random_file.read_bytes()


def test_large_file_goes_through_tus_via_upload_video(client, emulator, random_file, monkeypatch):
    monkeypatch.setattr("portal.services.stream.client.BASIC_UPLOAD_LIMIT", 10 * MiB)
    client.tus_chunk_size = 5 * MiB
    seen = []
    video = client.upload_video(
        random_file, {"title": "Via tus"}, on_created=lambda url, uid: seen.append(uid)
    )
    assert seen == [video["uid"]] and video["meta"]["name"] == "Via tus"
    assert video["size"] == random_file.stat().st_size
    assert stored_bytes(emulator, video["uid"]) == random_file.read_bytes()


def test_copy_upload_fetches_from_a_url(client, sample_video):
    files = LocalServer(partial(QuietFiles, directory=os.path.dirname(sample_video)))
    try:
        url = f"{files.url}/{os.path.basename(sample_video)}"
        video = client.upload_from_url(url, {"name": "Copied", "require_signed_urls": True})
        assert video["meta"]["name"] == "Copied" and video["meta"]["downloaded-from"] == url
        assert video["requireSignedURLs"] is True
        assert wait_for_state(client, video["uid"])["duration"] > 0
    finally:
        files.close()


# -- videos --------------------------------------------------------------------------------------


def test_get_update_list_delete(client, sample_video):
    first = client.upload_video(
        sample_video, {"title": "Kata one", "creator": "c1", "meta": {"asset_id": "a1"}}
    )
    second = client.upload_video(sample_video, {"title": "Kumite two", "creator": "c2"})
    assert client.get_video(first["uid"])["uid"] == first["uid"]

    updated = client.update_video(first["uid"], {"title": "Kata one (edited)", "require_signed_urls": True})
    assert updated["meta"] == {**first["meta"], "name": "Kata one (edited)"}
    assert updated["requireSignedURLs"] is True

    everything = client.list_videos()
    assert {v["uid"] for v in everything["videos"]} == {first["uid"], second["uid"]}
    assert everything["total"] == 2
    assert [v["uid"] for v in client.list_videos({"search": "kata"})["videos"]] == [first["uid"]]
    assert [v["uid"] for v in client.list_videos({"creator": "c2"})["videos"]] == [second["uid"]]
    assert client.list_videos({"limit": 1})["range"] == 1

    assert client.delete_video(first["uid"]) is True
    with pytest.raises(StreamError) as info:
        client.get_video(first["uid"])
    assert info.value.status_code == 404
    assert client.delete_video(first["uid"], missing_ok=True) is False


def test_captions_vtt_and_srt(client, sample_video, tmp_path):
    uid = client.upload_video(sample_video, {"title": "Captioned"})["uid"]
    srt = tmp_path / "fr.srt"
    srt.write_text(SRT, encoding="utf-8")
    assert client.upload_captions(uid, VTT.encode(), "en", label="English")["language"] == "en"
    assert client.upload_captions(uid, str(srt), "fr")["status"] == "ready"
    assert {c["language"] for c in client.list_captions(uid)} == {"en", "fr"}
    vtt = requests.get(
        f"{client.stream_url}/{uid}/captions/fr/vtt", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    ).text
    assert vtt.startswith("WEBVTT") and "00:00:00.500 --> 00:00:01.500" in vtt
    assert client.delete_captions(uid, "en") is True
    assert [c["language"] for c in client.list_captions(uid)] == ["fr"]


# -- keys, webhook, signed playback --------------------------------------------------------------


def test_keys_and_webhook_setup_deliver_a_verifiable_webhook(client, sample_video):
    received = []
    receiver = LocalServer(type("Receiver", (WebhookReceiver,), {"received": received}))
    try:
        key = client.create_signing_key()
        assert key["id"] in {k["id"] for k in client.list_signing_keys()}
        url = f"{receiver.url}/api/webhooks/cloudflare/stream"
        secret = client.set_webhook(url)
        assert client.get_webhook() == {**client.get_webhook(), "notificationUrl": url, "secret": secret}
        uid = client.upload_video(sample_video, {"title": "Hook"})["uid"]
        wait_for_state(client, uid)
        for _ in range(400):
            if received:
                break
            time.sleep(0.05)
        body, header = received[0]
        assert json.loads(body)["uid"] == uid
        assert client.verify_webhook_signature(body, header, secret)
        assert not client.verify_webhook_signature(body + b" ", header, secret)
        assert client.delete_webhook() is True and client.get_webhook() is None
        assert client.delete_signing_key(key["id"]) is True
        assert key["id"] not in {k["id"] for k in client.list_signing_keys()}
    finally:
        receiver.close()


def test_signed_urls_play_and_expired_ones_are_refused(keyed, sample_video):
    uid = keyed.upload_video(sample_video, {"title": "Members only", "require_signed_urls": True})["uid"]
    wait_for_state(keyed, uid)
    assert requests.get(keyed.iframe_url(uid), timeout=10).status_code in (401, 403)
    assert (
        requests.get(keyed.generate_signed_url(uid, expiry_seconds=600, user_id=7), timeout=10).status_code
        == 200
    )
    expired = keyed.sign_token(uid, expiry_seconds=60, now=time.time() - 3600)
    assert requests.get(keyed.iframe_url(expired), timeout=10).status_code in (401, 403)
    forged = sign_token(
        uid,
        keyed.signing_key_id,
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        expiry_seconds=60,
    )
    assert requests.get(keyed.iframe_url(forged), timeout=10).status_code in (401, 403)


def test_thumbnails_plain_and_signed(keyed, sample_video):
    public = keyed.upload_video(sample_video, {"title": "Public"})["uid"]
    private = keyed.upload_video(sample_video, {"title": "Private", "require_signed_urls": True})["uid"]
    wait_for_state(keyed, public)
    wait_for_state(keyed, private)
    shot = requests.get(keyed.get_thumbnail_url(public, time_seconds=1, width=320, height=180), timeout=10)
    assert shot.status_code == 200 and shot.headers["Content-Type"].startswith("image/jpeg")
    assert requests.get(keyed.get_thumbnail_url(private), timeout=10).status_code in (401, 403)
    signed = requests.get(keyed.get_thumbnail_url(private, signed=True, expiry_seconds=300), timeout=10)
    assert signed.status_code == 200 and signed.content[:2] == b"\xff\xd8"


# -- faults --------------------------------------------------------------------------------------


def test_429_with_retry_after_then_success(client, emulator, sample_video, sleeps):
    uid = client.upload_video(sample_video, {"title": "x"})["uid"]
    arm(emulator, kind="status", status=429, count=1, retry_after=2)
    assert client.get_video(uid)["uid"] == uid
    assert sleeps == [2.0]


def test_5xx_beyond_the_retry_budget_raises(client, emulator, sleeps):
    arm(emulator, kind="status", status=500, count=10)
    with pytest.raises(StreamError) as info:
        client.list_videos()
    assert info.value.status_code == 500 and info.value.errors
    assert len(sleeps) == 3 and all(0 <= s <= 0.08 for s in sleeps)


def test_retry_after_too_long_is_not_slept(client, emulator, sleeps):
    arm(emulator, kind="status", status=429, count=1, retry_after=300)
    with pytest.raises(StreamError) as info:
        client.list_videos()
    assert info.value.status_code == 429 and info.value.retry_after == 300 and sleeps == []


def test_wrong_token_gets_cloudflare_10000_and_is_not_leaked(emulator, sleeps):
    bad = make_client(emulator, sleeps, api_token="not-the-token-xyz")
    with pytest.raises(StreamError) as info:
        bad.list_videos()
    assert info.value.status_code == 401 and 10000 in info.value.codes
    assert "not-the-token-xyz" not in str(info.value) and sleeps == []


def test_unreachable_server_is_retried_then_raises(sleeps):
    dead = StreamClient(
        api_base="http://127.0.0.1:9/client/v4",
        account_id=ACCOUNT,
        api_token=TOKEN,
        customer_base_url="http://127.0.0.1:9",
        max_retries=2,
        sleep=sleeps.append,
        timeout=2,
    )
    with pytest.raises(StreamError) as info:
        dead.get_video("x")
    assert info.value.status_code is None and len(sleeps) == 2


def test_dropped_patch_is_resumed_from_head(client, emulator, random_file):
    arm(emulator, kind="drop_patch", after_bytes=3 * MiB, count=1)
    offsets = []
    result = client.upload_file_tus(
        random_file, chunk_size=5 * MiB, progress_callback=lambda o, t: offsets.append(o)
    )
    size = random_file.stat().st_size
    assert offsets[0] == 3 * MiB and offsets[-1] == size
    assert offsets == [3 * MiB, 8 * MiB, size]
    assert client.get_upload_offset(result["upload_url"]) == size
    assert stored_bytes(emulator, result["video_id"]) == random_file.read_bytes()


def test_dropped_patch_resume_keeps_the_bytes_intact(client, emulator, sample_video):
    half = os.path.getsize(sample_video) // 2
    arm(emulator, kind="drop_patch", after_bytes=half, count=1)
    result = client.upload_file_tus(sample_video, metadata={"name": "resumed"})
    assert stored_bytes(emulator, result["video_id"]) == Path(sample_video).read_bytes()
    video = wait_for_state(client, result["video_id"], states=("ready", "error"))
    assert video["status"]["state"] == "ready" and video["duration"] > 0


def test_patch_500_is_retried(client, emulator, random_file, sleeps):
    arm(emulator, kind="status", status=500, count=1, method="PATCH")
    result = client.upload_file_tus(random_file, chunk_size=5 * MiB)
    assert result["bytes_uploaded"] == random_file.stat().st_size and len(sleeps) == 1
    assert stored_bytes(emulator, result["video_id"]) == random_file.read_bytes()


def test_409_offset_mismatch_is_recovered_and_a_known_url_resumes(emulator, client, random_file, sleeps):
    created = client.initiate_chunked_upload(random_file.stat().st_size, {"name": "resume me"})
    first = random_file.read_bytes()[: 5 * MiB]
    assert client.upload_chunk(created["upload_url"], first, 0) == 5 * MiB
    assert client.upload_chunk(created["upload_url"], first, 0) == 5 * MiB  # stale offset: 409, then HEAD
    restarted = make_client(emulator, sleeps)  # a retried job, new process
    offsets = []
    done = restarted.upload_file_tus(
        random_file,
        upload_url=created["upload_url"],
        chunk_size=5 * MiB,
        progress_callback=lambda o, t: offsets.append(o),
    )
    assert offsets == [10 * MiB, random_file.stat().st_size] and done["video_id"] is None
    assert [v["uid"] for v in client.list_videos()["videos"]] == [created["video_id"]]
    assert stored_bytes(emulator, created["video_id"]) == random_file.read_bytes()


def test_resuming_a_url_with_another_file_is_refused(client, random_file, sample_video):
    created = client.initiate_chunked_upload(random_file.stat().st_size, {"name": "a"})
    with pytest.raises(StreamError, match="expects"):
        client.upload_file_tus(sample_video, upload_url=created["upload_url"])


def test_tus_chunks_stream_through_one_small_buffer(client, emulator, random_file, monkeypatch):
    """Memory is bounded by one read block, not by the chunk: every PATCH body is handed to the
    socket in blocks of at most 1 MiB, all views of the same reusable buffer."""
    blocks, send = [], client.http.session.request

    def spying_request(method, url, **kwargs):
        if method == "PATCH":
            body = kwargs["data"]
            kwargs["data"] = type(
                "Spy",
                (),
                {
                    "__len__": lambda self: len(body),
                    "__iter__": lambda self: (blocks.append(b) or b for b in body),
                },
            )()
        return send(method, url, **kwargs)

    monkeypatch.setattr(client.http.session, "request", spying_request)
    result = client.upload_file_tus(random_file, chunk_size=5 * MiB)
    assert result["bytes_uploaded"] == random_file.stat().st_size == sum(len(b) for b in blocks)
    assert max(len(b) for b in blocks) <= MiB
    assert len({id(b.obj) for b in blocks}) == 1
    assert stored_bytes(emulator, result["video_id"]) == random_file.read_bytes()


def test_basic_upload_whose_follow_up_edit_fails_leaves_no_public_orphan(
    client, emulator, sample_video, sleeps
):
    """requireSignedURLs can only be set after a basic upload; if that edit fails, the video must not stay."""
    arm(
        emulator,
        kind="status",
        status=500,
        count=None,
        method="POST",
        path_prefix=f"/client/v4/accounts/{ACCOUNT}/stream/",
    )
    with pytest.raises(StreamError):
        client.upload_video(sample_video, {"title": "Members only", "require_signed_urls": True})
    requests.delete(f"{emulator.url}/__emulator__/faults", timeout=10).raise_for_status()
    assert client.list_videos()["videos"] == []
