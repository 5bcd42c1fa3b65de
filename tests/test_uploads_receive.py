"""Receiving one chunk: read straight from the request body, durable before it is acknowledged,
and a body that breaks off mid-way is a 400 that keeps nothing."""

import io
import os

from portal.services.uploads import chunks
from tests import uploads_support
from tests.uploads_support import CHUNK, PREFIX, chunk_files, mp4_bytes, sha

app = uploads_support.app
make_uploader = uploads_support.make_uploader


def started(up):
    response = up.initiate()
    assert response.status_code == 201, response.get_json()
    return response.get_json()["upload_id"]


def files_in(app, upload_id):
    return sorted(os.listdir(os.path.join(app.config["UPLOAD_DIR"], upload_id)))


def test_a_chunk_is_flushed_and_linked_and_its_folder_flushed_before_it_is_acknowledged(
    make_uploader, app, monkeypatch
):
    events = []
    real_fdatasync, real_fsync, real_link = os.fdatasync, os.fsync, os.link

    def fdatasync(fd):
        events.append(("fdatasync", os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))))
        real_fdatasync(fd)

    def fsync(fd):
        events.append(("fsync", os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))))
        real_fsync(fd)

    def link(source, target):
        events.append(("link", os.path.basename(target)))
        real_link(source, target)

    up = make_uploader()
    upload_id = started(up)
    monkeypatch.setattr(chunks.os, "fdatasync", fdatasync)
    monkeypatch.setattr(chunks.os, "fsync", fsync)
    monkeypatch.setattr(chunks.os, "link", link)
    part = mp4_bytes(CHUNK)
    response = up.chunk(upload_id, 0, part, sha(part))
    assert response.status_code == 200 and response.get_json()["received_chunks"] == 1
    kinds = [kind for kind, _ in events]
    assert kinds == ["fdatasync", "link", "fsync"]
    assert events[0][1].startswith(".000000.chunk.") and events[0][1].endswith(".tmp")
    assert events[1][1] == "000000.chunk" and events[2][1] == upload_id
    # the same bytes again: a no-op that links nothing and so flushes nothing but its own temp file
    events.clear()
    assert up.chunk(upload_id, 0, part, sha(part)).get_json()["already_received"] is True
    assert [kind for kind, _ in events] == ["fdatasync", "link"]
    with open(os.path.join(app.config["UPLOAD_DIR"], upload_id, "000000.chunk"), "rb") as handle:
        assert handle.read() == part


class BreaksOff(io.BytesIO):
    """A request body that delivers `good` bytes, then fails as a reset connection does."""

    def __init__(self, data, good, error=ConnectionResetError):
        super().__init__(data)
        self.good, self.error = good, error

    def read(self, size=-1):
        if self.tell() >= self.good:
            raise self.error("connection reset by peer")
        return super().read(min(size, self.good - self.tell()))

    def readinto(self, buffer):  # the copy loop reads into its own buffer where it can
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def raw_chunk(up, upload_id, stream, length, digest=None):
    headers = dict(up.headers)
    if digest:
        headers["X-Chunk-SHA256"] = digest
    return up.client.post(
        f"{PREFIX}/chunk?upload_id={upload_id}&chunk_index=0",
        input_stream=stream,
        headers=headers,
        content_type="application/octet-stream",
        environ_overrides={"CONTENT_LENGTH": str(length)},
    )


def test_a_connection_reset_mid_chunk_is_a_400_and_keeps_nothing(make_uploader, app):
    up = make_uploader()
    upload_id = started(up)
    part = mp4_bytes(CHUNK)
    for error in (ConnectionResetError, TimeoutError, ValueError):
        response = raw_chunk(up, upload_id, BreaksOff(part, CHUNK // 2 + 1, error), CHUNK, sha(part))
        assert response.status_code == 400, response.get_data()
        assert response.get_json()["error"]["code"] == "incomplete_chunk"
        assert files_in(app, upload_id) == ["manifest.json"]
    assert up.progress(upload_id).get_json()["received_chunks"] == 0
    assert up.chunk(upload_id, 0, part, sha(part)).status_code == 200  # the upload resumes
    assert chunk_files(app, upload_id) == ["000000.chunk"]


def test_a_body_shorter_than_its_content_length_is_a_400_and_keeps_nothing(make_uploader, app):
    up = make_uploader()
    upload_id = started(up)
    part = mp4_bytes(CHUNK)
    response = raw_chunk(up, upload_id, io.BytesIO(part[:1000]), CHUNK)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "incomplete_chunk"
    assert files_in(app, upload_id) == ["manifest.json"]
    assert up.progress(upload_id).get_json()["received_chunks"] == 0


def test_the_body_is_read_exactly_to_its_length_and_never_past_it(make_uploader, app):
    """The reader takes Content-Length bytes from the server's stream and asks for nothing more
    (a keep-alive connection's next request follows them)."""
    up = make_uploader()
    upload_id = started(up)
    part = mp4_bytes(CHUNK)
    stream = io.BytesIO(part + b"GET /next HTTP/1.1\r\n\r\n")
    response = raw_chunk(up, upload_id, stream, CHUNK, sha(part))
    assert response.status_code == 200, response.get_json()
    assert stream.tell() == CHUNK
    with open(os.path.join(app.config["UPLOAD_DIR"], upload_id, "000000.chunk"), "rb") as handle:
        assert handle.read() == part
