"""Browser-test helpers for the Stream player: a longer sample video, a signing emulator client, and
fixed pages served on a loopback port (another origin than the emulator's)."""

import threading
import time
from contextlib import contextmanager

import pytest
from werkzeug.wrappers import Request, Response

from portal.emulator.server import threaded_server
from portal.services.stream import StreamClient
from tests.media_samples import make_sample_video


@pytest.fixture(scope="session")
def long_video(tmp_path_factory):
    """A 30-second small MP4: long enough to seek to 20 s."""
    return make_sample_video(tmp_path_factory.mktemp("long") / "long.mp4", seconds=30, size="160x120")


@pytest.fixture
def signed_stream(emulator):
    """A StreamClient on the emulator holding a signing key (its id and PEM as .signing_key_id/_pem)."""
    plain = StreamClient(
        api_base=emulator.api_base,
        account_id="emulator-account",
        api_token="emulator-token",
        customer_base_url=emulator.url,
    )
    key = plain.create_signing_key()
    plain.close()
    client = StreamClient(
        api_base=emulator.api_base,
        account_id="emulator-account",
        api_token="emulator-token",
        customer_base_url=emulator.url,
        signing_key_id=key["id"],
        signing_key_pem=key["pem"],
    )
    client.signing_key_pem = key["pem"]
    yield client
    client.close()


def ready_uid(client, path, polls=600):
    """Upload `path` as a protected video and wait until it is ready."""
    uid = client.upload_video(path, {"title": "Kata", "require_signed_urls": True})["uid"]
    for _ in range(polls):
        if client.get_video(uid)["status"]["state"] == "ready":
            return uid
        time.sleep(0.1)
    raise AssertionError("video never became ready")


@contextmanager
def pages_served(pages):
    """Serve pages on a free loopback port; yields the port. `pages` maps a path to HTML text, or to a
    function taking the werkzeug Request and returning a Response."""

    @Request.application
    def app(request):
        page = pages.get(request.path)
        if page is None:
            return Response("missing", status=404)
        if callable(page):
            return page(request)
        return Response(page, mimetype="text/html")

    server = threaded_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
