"""Which failures the client resends: a POST that creates a video is resent only when it never
reached Cloudflare, so a lost response cannot create a duplicate video.

These use `responses` because the failure modes (a response lost after the server acted, a
connect timeout) are network conditions the emulator cannot produce on demand for POSTs.
"""

import pytest
import requests
import responses
from urllib3.exceptions import MaxRetryError, NewConnectionError

from portal.services.stream import StreamClient, StreamError
from portal.services.stream.transport import request_never_reached_server

API = "https://api.cloudflare.com/client/v4"
STREAM = f"{API}/accounts/acct/stream"


@pytest.fixture
def client():
    c = StreamClient(
        api_base=API,
        account_id="acct",
        api_token="tok",
        customer_base_url="https://c.example",
        max_retries=3,
        backoff_base=0.01,
        sleep=lambda s: None,
    )
    yield c
    c.close()


def refused_connection():
    return requests.ConnectionError(
        MaxRetryError(None, STREAM, NewConnectionError(None, "Connection refused"))
    )


def test_only_connect_failures_count_as_never_reaching_the_server():
    assert request_never_reached_server(requests.ConnectTimeout())
    assert request_never_reached_server(refused_connection())
    assert not request_never_reached_server(requests.ReadTimeout())
    assert not request_never_reached_server(requests.ConnectionError("Connection reset by peer"))


@responses.activate
def test_copy_is_not_resent_after_a_lost_response(client):
    responses.add(responses.POST, f"{STREAM}/copy", body=requests.ConnectionError("Connection reset by peer"))
    with pytest.raises(StreamError):
        client.upload_from_url("https://example.org/v.mp4", {"name": "v"})
    assert len(responses.calls) == 1


@responses.activate
def test_copy_is_resent_after_a_refused_connection(client):
    responses.add(responses.POST, f"{STREAM}/copy", body=refused_connection())
    responses.add(
        responses.POST,
        f"{STREAM}/copy",
        json={"success": True, "errors": [], "messages": [], "result": {"uid": "a" * 32}},
    )
    assert client.upload_from_url("https://example.org/v.mp4", {"name": "v"})["uid"] == "a" * 32
    assert len(responses.calls) == 2


@responses.activate
def test_tus_creation_is_not_resent_after_a_read_timeout(client):
    responses.add(responses.POST, STREAM, body=requests.ReadTimeout("read timed out"))
    with pytest.raises(StreamError):
        client.initiate_chunked_upload(300_000_000, {"name": "seminar.mp4"})
    assert len(responses.calls) == 1


@responses.activate
def test_reads_are_still_resent_after_any_network_error(client):
    responses.add(responses.GET, f"{STREAM}/{'b' * 32}", body=requests.ReadTimeout("read timed out"))
    responses.add(
        responses.GET,
        f"{STREAM}/{'b' * 32}",
        json={"success": True, "errors": [], "messages": [], "result": {"uid": "b" * 32}},
    )
    assert client.get_video("b" * 32)["uid"] == "b" * 32
