"""Chunks read straight from gunicorn's socket (portal/api/socket_body.py): the reader on a real
socket pair with gunicorn's own body classes, then the chunk API under a real gunicorn, where a
keep-alive connection must stay in step across good, refused, pipelined and broken requests."""

import http.client
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time

import pytest
from gunicorn.http.body import Body, ChunkedReader, LengthReader
from gunicorn.http.unreader import SocketUnreader

from portal.api.socket_body import SocketBody
from portal.redis_runtime import limiter_storage_uri
from tests import uploads_support
from tests.conftest import free_port, shareable_database
from tests.uploads_support import CHUNK, PREFIX, chunk_files, make_user_in, mp4_bytes, sha, uploader_for

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def gunicorn_body(sock, length, read_ahead=b""):
    """gunicorn's reader for a body of `length` bytes, holding `read_ahead` as it would after
    reading the request's headers."""
    unreader = SocketUnreader(sock)
    if read_ahead:
        unreader.unread(read_ahead)
    return Body(LengthReader(unreader, length))


def socket_reader(body, sock):
    """The SocketBody the upload endpoint would use for this gunicorn body and socket."""
    return SocketBody.from_environ({"wsgi.input": body, "gunicorn.socket": sock}, body.reader.length)


def read_all(reader, size, block=64 * 1024):
    out, buffer = bytearray(), bytearray(block)
    while len(out) < size:
        count = reader.readinto(memoryview(buffer)[: min(block, size - len(out))])
        if not count:
            break
        out += buffer[:count]
    return bytes(out)


def send_in_background(sock, data):
    """Send while the reader reads: more than a socket buffer holds would block a plain sendall."""
    sender = threading.Thread(target=sock.sendall, args=(data,), daemon=True)
    sender.start()
    return sender


@pytest.fixture
def pair():
    server, client = socket.socketpair()
    yield server, client
    server.close()
    client.close()


def test_the_body_is_read_from_what_gunicorn_read_ahead_and_then_the_socket(pair):
    server, client = pair
    data = os.urandom(300_000)
    body = gunicorn_body(server, len(data), read_ahead=data[:8000])
    reader = socket_reader(body, server)
    sender = send_in_background(client, data[8000:] + b"GET /next HTTP/1.1\r\n")
    assert reader is not None
    assert read_all(reader, len(data) + 100) == data
    sender.join(timeout=10)
    assert reader.readinto(bytearray(10)) == 0 and body.reader.length == 0
    assert not body.failed
    assert body.reader.unreader.read(20) == b"GET /next HTTP/1.1\r\n"  # nothing read past the body


def test_a_pipelined_request_behind_a_small_body_is_put_back_for_gunicorn(pair):
    server, _ = pair
    data, following = b"x" * 100, b"GET /next HTTP/1.1\r\n\r\n"
    body = gunicorn_body(server, len(data), read_ahead=data + following)
    reader = socket_reader(body, server)
    assert read_all(reader, 1000) == data
    assert body.reader.unreader.read(len(following)) == following


def test_a_request_that_stops_reading_early_leaves_gunicorn_the_exact_rest(pair):
    server, client = pair
    data = os.urandom(50_000)
    body = gunicorn_body(server, len(data), read_ahead=data[:1000])
    reader = socket_reader(body, server)
    sender = send_in_background(client, data[1000:] + b"NEXT")
    assert read_all(reader, 3000) == data[:3000]
    assert body.read() == data[3000:]  # gunicorn drains what is left of the body, and no more
    sender.join(timeout=10)
    assert body.reader.unreader.read(4) == b"NEXT"


def test_a_client_that_hangs_up_mid_body_marks_the_body_failed(pair):
    server, client = pair
    data = os.urandom(20_000)
    body = gunicorn_body(server, len(data))
    client.sendall(data[:5000])
    client.shutdown(socket.SHUT_WR)
    reader = socket_reader(body, server)
    assert read_all(reader, len(data)) == data[:5000]
    assert body.failed  # gunicorn closes the connection instead of reading a next request


def test_only_an_untouched_gunicorn_body_of_known_length_is_read_from_the_socket(pair):
    server, client = pair
    body = gunicorn_body(server, 10, read_ahead=b"0123456789")
    assert SocketBody.from_environ({"wsgi.input": body}, 10) is None
    assert SocketBody.from_environ({"wsgi.input": body, "gunicorn.socket": client}, 10) is None
    assert SocketBody.from_environ({"wsgi.input": body, "gunicorn.socket": server}, 11) is None
    assert SocketBody.from_environ({"wsgi.input": body, "gunicorn.socket": server}, None) is None
    chunked = Body(ChunkedReader(None, SocketUnreader(server)))
    assert SocketBody.from_environ({"wsgi.input": chunked, "gunicorn.socket": server}, 10) is None
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    tls.check_hostname, tls.verify_mode = False, ssl.CERT_NONE
    with tls.wrap_socket(socket.socket(), do_handshake_on_connect=False) as secure:
        over_tls = gunicorn_body(secure, 10)
        assert SocketBody.from_environ({"wsgi.input": over_tls, "gunicorn.socket": secure}, 10) is None
    body.read(3)  # the application read some of it itself
    assert SocketBody.from_environ({"wsgi.input": body, "gunicorn.socket": server}, 7) is None


# -- the chunk API under a real gunicorn -------------------------------------------------------------


@pytest.fixture
def app(app_factory, tmp_path, redis_url):
    overrides = {
        **uploads_support.upload_settings(tmp_path),
        **shareable_database(tmp_path),
        "REDIS_URL": redis_url,
        "RATELIMIT_STORAGE_URI": limiter_storage_uri(redis_url),
        "STREAM_SETTINGS_FILE": str(tmp_path / "stream-settings.json"),
    }
    app = app_factory(**overrides)
    app.served_overrides = overrides
    with app.app_context():
        yield app


@pytest.fixture
def gunicorn(app):
    """gunicorn serving the test's app (same database, Redis and upload folder), as `make run` does."""
    port = free_port()
    env = dict(os.environ, PORTAL_TEST_OVERRIDES=json.dumps(app.served_overrides), LOG_LEVEL="WARNING")
    command = [sys.executable, "-m", "gunicorn", "-w", "1", "-k", "gthread", "--threads", "4"]
    command += ["-b", f"127.0.0.1:{port}", "--log-level", "warning", "tests.gunicorn_app:make_app()"]
    process = subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def post_chunk(connection, token, upload_id, index, data, digest, length=None):
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/octet-stream",
        "Content-Length": str(len(data) if length is None else length),
        "X-Chunk-SHA256": digest,
    }
    connection.request("POST", f"{PREFIX}/chunk?upload_id={upload_id}&chunk_index={index}", data, headers)
    response = connection.getresponse()
    return response.status, json.loads(response.read())


def test_a_keep_alive_connection_stays_in_step_across_good_and_refused_chunks(app, gunicorn):
    user = make_user_in(app)
    up = uploader_for(app, user)
    token = up.headers["Authorization"].split()[1]
    data = mp4_bytes(3 * CHUNK + 100)
    upload_id = up.initiate().get_json()["upload_id"]
    parts = [data[i * CHUNK : (i + 1) * CHUNK] for i in range(4)]
    connection = http.client.HTTPConnection("127.0.0.1", gunicorn, timeout=30)
    status, body = post_chunk(connection, token, upload_id, 0, parts[0], sha(parts[0]))
    assert status == 200, body
    first_socket = connection.sock
    # refused after the whole body was read: the checksum
    status, body = post_chunk(connection, token, upload_id, 1, parts[1], sha(b"other"))
    assert (status, body["error"]["code"]) == (422, "checksum_mismatch")
    # refused before any of it was read: gunicorn drains the (small) body, the connection goes on
    status, body = post_chunk(connection, token, upload_id, 3, parts[3][:-1], sha(parts[3][:-1]))
    assert (status, body["error"]["code"]) == (422, "chunk_size_mismatch")
    for index in (1, 2, 3):
        status, body = post_chunk(connection, token, upload_id, index, parts[index], sha(parts[index]))
        assert status == 200, body
    assert connection.sock is first_socket  # one connection throughout
    connection.close()
    assert chunk_files(app, upload_id) == [f"{i:06d}.chunk" for i in range(4)]
    for index, part in enumerate(parts):
        with open(os.path.join(app.config["UPLOAD_DIR"], upload_id, f"{index:06d}.chunk"), "rb") as handle:
            assert handle.read() == part


def test_a_request_pipelined_behind_a_small_last_chunk_is_answered(app, gunicorn):
    up = uploader_for(app, make_user_in(app))
    token = up.headers["Authorization"].split()[1]
    data = mp4_bytes(3 * CHUNK + 100)
    upload_id = up.initiate().get_json()["upload_id"]
    last = data[3 * CHUNK :]
    request = (
        f"POST {PREFIX}/chunk?upload_id={upload_id}&chunk_index=3 HTTP/1.1\r\nHost: portal\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/octet-stream\r\n"
        f"X-Chunk-SHA256: {sha(last)}\r\nContent-Length: {len(last)}\r\n\r\n"
    ).encode() + last
    request += (
        f"GET {PREFIX}/{upload_id}/progress HTTP/1.1\r\nHost: portal\r\n"
        f"Authorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", gunicorn), timeout=30) as sock:
        sock.sendall(request)  # both requests in one write: the server reads them together
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.count(b"HTTP/1.1 200") == 2, answer[:500]
    assert b'"received_chunks":1' in answer.replace(b" ", b"")
    assert chunk_files(app, upload_id) == ["000003.chunk"]


def test_a_body_cut_off_under_gunicorn_is_a_400_and_keeps_nothing(app, gunicorn):
    up = uploader_for(app, make_user_in(app))
    token = up.headers["Authorization"].split()[1]
    part = mp4_bytes(CHUNK)
    upload_id = up.initiate().get_json()["upload_id"]
    head = (
        f"POST {PREFIX}/chunk?upload_id={upload_id}&chunk_index=0 HTTP/1.1\r\nHost: portal\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/octet-stream\r\n"
        f"X-Chunk-SHA256: {sha(part)}\r\nContent-Length: {len(part)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", gunicorn), timeout=30) as sock:
        sock.sendall(head + part[: CHUNK // 2])
        sock.shutdown(socket.SHUT_WR)  # the client stops sending half way
        answer = b""
        while chunk := sock.recv(65536):  # the server answers, then closes the connection
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400"), answer[:300]
    assert b"incomplete_chunk" in answer
    assert chunk_files(app, upload_id) == []
    assert up.progress(upload_id).get_json()["received_chunks"] == 0
    assert up.chunk(upload_id, 0, part, sha(part)).status_code == 200  # the upload resumes
