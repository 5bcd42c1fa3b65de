"""Pytest fixtures that run the Stream emulator as a real HTTP server (loaded through pytest_plugins)."""

import pytest
import requests

from portal.emulator.server import EmulatorServer
from tests.media_samples import make_sample_video

TEST_RETRY_DELAYS = (0.1, 0.2, 0.4)
ACCOUNT = "emulator-account"
AUTH = {"Authorization": "Bearer emulator-token"}
TUS = {"Tus-Resumable": "1.0.0"}


def stream_url(server, path=""):
    """An emulator API URL under the account's /stream."""
    return f"{server.api_base}/accounts/{ACCOUNT}/stream{path}"


@pytest.fixture
def http():
    """A requests session that sends the emulator's API token."""
    with requests.Session() as session:
        session.headers.update(AUTH)
        yield session


@pytest.fixture(scope="session")
def stream_emulator(tmp_path_factory):
    """One emulator server for the session, on a free port, with a temporary state directory."""
    server = EmulatorServer(
        tmp_path_factory.mktemp("stream-emulator"), webhook_retry_delays=TEST_RETRY_DELAYS
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def emulator(stream_emulator):
    """The session's emulator, with its videos, keys, webhook and faults wiped before the test."""
    with requests.Session() as session:
        session.post(f"{stream_emulator.url}/__emulator__/reset", timeout=10).raise_for_status()
        session.delete(f"{stream_emulator.url}/__emulator__/faults", timeout=10).raise_for_status()
    yield stream_emulator


@pytest.fixture(scope="session")
def sample_video(tmp_path_factory):
    """A 2-second 320x240 H.264/AAC MP4."""
    return make_sample_video(tmp_path_factory.mktemp("media") / "sample.mp4")
