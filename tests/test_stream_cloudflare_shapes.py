"""Cloudflare's documented response shapes that the emulator cannot prove, pinned with `responses`.

These mock HTTP on purpose: the emulator answers in its own (faithful) way, but only Cloudflare's
published examples show the quirks a client must tolerate: list `range`/`total` sent as strings,
the exact webhook example body, the GraphQL analytics answer exactly as Cloudflare documents it
(the emulator's own GraphQL is tested in test_emulator_analytics.py),
the 10000 authentication error envelope, absolute tus `Location` + `stream-media-id` on a 201,
and `"Revoked"` as the key-delete result. Everything else is tested against the real emulator.
"""

import json

import pytest
import responses

from portal.services.stream import StreamClient, StreamError
from portal.services.stream.webhooks import signature_header

API = "https://api.cloudflare.com/client/v4"
ACCOUNT = "023e105f4ecef8ad9ca31a8372d0c353"
STREAM = f"{API}/accounts/{ACCOUNT}/stream"
TOKEN = "cf-secret-api-token-value"
UID = "6b9e68b07dfee8cc2d116e4c51d6a957"


@pytest.fixture
def client():
    """A client configured for real Cloudflare, with sleeps recorded instead of taken."""
    return StreamClient.from_config(
        {
            "STREAM_BACKEND": "cloudflare",
            "CLOUDFLARE_ACCOUNT_ID": ACCOUNT,
            "CLOUDFLARE_STREAM_API_TOKEN": TOKEN,
            "CLOUDFLARE_STREAM_CUSTOMER_CODE": "f33zs165nr7gyfy4",
        },
        sleep=lambda s: None,
    )


def envelope(result, **extra):
    return {"success": True, "errors": [], "messages": [], "result": result, **extra}


@responses.activate
def test_list_tolerates_range_and_total_as_strings(client):
    responses.get(
        STREAM, json=envelope([{"uid": UID, "status": {"state": "ready"}}], total="35586", range="1000")
    )
    page = client.list_videos(
        {
            "status": ["downloading", "queued", "inprogress", "ready", "error"],
            "creator": "instructor-7",
            "include_counts": True,
            "limit": 1000,
        }
    )
    assert page == {"videos": [{"uid": UID, "status": {"state": "ready"}}], "total": 35586, "range": 1000}
    sent = responses.calls[0].request
    assert "status=downloading%2Cqueued%2Cinprogress%2Cready%2Cerror" in sent.url
    assert "include_counts=true" in sent.url and "creator=instructor-7" in sent.url
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"


WEBHOOK_EXAMPLE = (
    b'{"uid":"6b9e68b07dfee8cc2d116e4c51d6a957","creator":null,'
    b'"thumbnail":"https://customer-f33zs165nr7gyfy4.cloudflarestream.com/6b9e68b07dfee8cc2d116e4c51d6a957/thumbnails/thumbnail.jpg",'
    b'"thumbnailTimestampPct":0,"readyToStream":true,'
    b'"status":{"state":"ready","pctComplete":"39.000000","errorReasonCode":"","errorReasonText":""},'
    b'"meta":{"filename":"small.mp4","filetype":"video/mp4","name":"small.mp4","relativePath":"null","type":"video/mp4"},'
    b'"created":"2022-06-30T17:53:12.512033Z","modified":"2022-06-30T17:53:21.774299Z","size":383631,'
    b'"preview":"https://customer-f33zs165nr7gyfy4.cloudflarestream.com/6b9e68b07dfee8cc2d116e4c51d6a957/watch",'
    b'"allowedOrigins":[],"requireSignedURLs":false,"uploaded":"2022-06-30T17:53:12.511981Z",'
    b'"uploadExpiry":"2022-07-01T17:53:12.511973Z","maxSizeBytes":null,"maxDurationSeconds":null,'
    b'"duration":5.5,"input":{"width":560,"height":320},'
    b'"playback":{"hls":"https://customer-f33zs165nr7gyfy4.cloudflarestream.com/6b9e68b07dfee8cc2d116e4c51d6a957/manifest/video.m3u8",'
    b'"dash":"https://customer-f33zs165nr7gyfy4.cloudflarestream.com/6b9e68b07dfee8cc2d116e4c51d6a957/manifest/video.mpd"},'
    b'"watermark":null}'
)


@responses.activate
def test_webhook_subscription_and_the_documented_example_body(client):
    secret = "85011ed3a913c6ad5f9cf6c5573cc0a7"
    sub = {
        "notificationUrl": "https://portal.example.org/api/webhooks/cloudflare/stream",
        "modified": "2022-06-30T17:53:21.774299Z",
        "secret": secret,
    }
    responses.put(f"{STREAM}/webhook", json=envelope(sub))
    responses.get(f"{STREAM}/webhook", json=envelope({**sub, "notification_url": sub.pop("notificationUrl")}))
    assert client.set_webhook("https://portal.example.org/api/webhooks/cloudflare/stream") == secret
    assert json.loads(responses.calls[0].request.body) == {
        "notificationUrl": "https://portal.example.org/api/webhooks/cloudflare/stream"
    }
    assert client.get_webhook()["notificationUrl"].endswith("/api/webhooks/cloudflare/stream")
    header = signature_header(WEBHOOK_EXAMPLE, secret, timestamp=1656611601)
    assert client.verify_webhook_signature(WEBHOOK_EXAMPLE, header, secret, now=1656611601)
    assert not client.verify_webhook_signature(
        json.dumps(json.loads(WEBHOOK_EXAMPLE)).encode(), header, secret, now=1656611601
    )


@responses.activate
def test_graphql_minutes_viewed_are_summed_per_video(client):
    responses.post(
        f"{API}/graphql",
        json={
            "data": {
                "viewer": {
                    "accounts": [
                        {
                            "streamMinutesViewedAdaptiveGroups": [
                                {"dimensions": {"date": "2024-03-01"}, "sum": {"minutesViewed": 12.5}},
                                {"dimensions": {"date": "2024-03-02"}, "sum": {"minutesViewed": 30}},
                            ]
                        }
                    ]
                }
            },
            "errors": None,
        },
    )
    stats = client.get_video_analytics(UID, "2024-03-01", "2024-03-31")
    assert stats["minutes_viewed"] == 42.5
    assert stats["by_date"] == [
        {"date": "2024-03-01", "minutes_viewed": 12.5},
        {"date": "2024-03-02", "minutes_viewed": 30.0},
    ]
    sent = json.loads(responses.calls[0].request.body)
    assert "streamMinutesViewedAdaptiveGroups" in sent["query"] and "uid: $uid" in sent["query"]
    assert sent["variables"] == {
        "accountTag": ACCOUNT,
        "uid": UID,
        "start": "2024-03-01",
        "end": "2024-03-31",
    }


@responses.activate
def test_graphql_errors_arrive_with_http_200_and_raise(client):
    responses.post(
        f"{API}/graphql",
        json={
            "data": None,
            "errors": [{"message": "not authorized for that account", "path": ["viewer", "accounts"]}],
        },
    )
    with pytest.raises(StreamError, match="not authorized"):
        client.get_video_analytics(UID, "2024-03-01", "2024-03-02")
    with pytest.raises(ValueError):
        client.get_video_analytics(UID, "2024-01-01", "2024-03-01")


@responses.activate
def test_authentication_error_envelope_code_10000(client, caplog):
    responses.get(
        f"{STREAM}/{UID}",
        status=401,
        json={
            "success": False,
            "errors": [{"code": 10000, "message": "Authentication error"}],
            "messages": [],
            "result": None,
        },
    )
    with pytest.raises(StreamError) as info:
        client.get_video(UID)
    err = info.value
    assert err.status_code == 401 and err.codes == [10000]
    assert "10000 Authentication error" in str(err) and TOKEN not in str(err)
    assert TOKEN not in caplog.text
    assert len(responses.calls) == 1  # 4xx other than 408/429 is not retried


@responses.activate
def test_tus_creation_201_reads_uid_from_stream_media_id(client):
    location = f"https://edge-production.gateway.api.cloudflare.com/client/v4/accounts/{ACCOUNT}/media/{UID}?tusv2=true"
    responses.post(
        STREAM, status=201, headers={"Location": location, "stream-media-id": UID, "Tus-Resumable": "1.0.0"}
    )
    created = client.initiate_chunked_upload(
        600_000_000, {"name": "Kata 1", "require_signed_urls": True, "max_duration_seconds": 3600}
    )
    assert created == {"upload_url": location, "video_id": UID}
    headers = responses.calls[0].request.headers
    assert headers["Tus-Resumable"] == "1.0.0" and headers["Upload-Length"] == "600000000"
    assert headers["Upload-Metadata"] == "name S2F0YSAx,requiresignedurls,maxdurationseconds MzYwMA=="


@responses.activate
def test_key_create_and_revoked_delete(client):
    responses.post(
        f"{STREAM}/keys",
        json=envelope(
            {
                "id": "8f926b2b01f383510025a6b39a3e1e4a",
                "pem": "LS0tLS1CRUdJTi...",
                "jwk": "eyJ1c2UiOiJzaWci...",
                "created": "2014-01-02T02:20:00Z",
            }
        ),
    )
    responses.delete(f"{STREAM}/keys/8f926b2b01f383510025a6b39a3e1e4a", json=envelope("Revoked"))
    assert client.create_signing_key()["id"] == "8f926b2b01f383510025a6b39a3e1e4a"
    assert client.delete_signing_key("8f926b2b01f383510025a6b39a3e1e4a") is True


@responses.activate
def test_tus_creation_without_stream_media_id_raises(client):
    """The uid comes only from `stream-media-id`; without it there is no video to follow up."""
    location = f"https://edge-production.gateway.api.cloudflare.com/client/v4/accounts/{ACCOUNT}/media/{UID}?tusv2=true"
    responses.post(STREAM, status=201, headers={"Location": location, "Tus-Resumable": "1.0.0"})
    with pytest.raises(StreamError, match="stream-media-id"):
        client.initiate_chunked_upload(600_000_000, {"name": "Kata 1"})


@responses.activate
def test_tus_lengths_and_offsets_that_are_not_ascii_digits_are_not_trusted(client):
    upload_url = f"{API}/accounts/{ACCOUNT}/media/{UID}?tusv2=true"
    responses.head(upload_url, status=200, headers={"Upload-Offset": "5", "Upload-Length": "\u00b2"})
    responses.head(upload_url, status=200, headers={"Upload-Offset": "\u00b2"})
    assert client.get_upload_offset(upload_url) == 5
    with pytest.raises(StreamError, match="Upload-Offset"):
        client.get_upload_offset(upload_url)


@responses.activate
@pytest.mark.parametrize("bad", ["..", ".", ""])
def test_dot_segment_ids_never_leave_the_stream_path(client, bad):
    """requests normalises `/stream/..` to `/accounts/<id>/`: such an id must be refused before sending."""
    for call in (
        lambda: client.delete_video(bad),
        lambda: client.get_video(bad),
        lambda: client.delete_signing_key(bad),
        lambda: client.list_captions(bad),
    ):
        with pytest.raises(ValueError):
            call()
    assert len(responses.calls) == 0


@pytest.mark.parametrize("upload_url", ["not-a-url", "http://", "ftp://upload.example/tus/x"])
def test_requests_errors_other_than_network_ones_are_stream_errors(client, upload_url):
    """A bad upload URL (e.g. persisted from an earlier job) surfaces as StreamError, not a requests error."""
    with pytest.raises(StreamError) as info:
        client.get_upload_offset(upload_url)
    assert info.value.status_code is None and TOKEN not in str(info.value)
