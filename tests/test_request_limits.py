"""Request bodies are capped before they are read; page routes answer wrong methods with 405; pages
tied to a session are not cached."""

import socket
from urllib.parse import urlsplit

import pytest

from portal.models import Role, Tier
from tests.conftest import serving, shareable_database

BIG = 200 * 1000 * 1000


def raw_request(url, head, body=b"", timeout=10):
    """Send bytes over a real socket; return the status line and headers the server answers."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.sendall(head.encode("latin-1") + body)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    return received.decode("latin-1")


@pytest.fixture
def live_url(app_factory, tmp_path):
    app = app_factory(**shareable_database(tmp_path))
    with app.app_context(), serving(app) as url:
        yield url


@pytest.mark.parametrize(
    "path, content_type",
    [
        ("/api/auth/login", "application/json"),
        ("/login", "application/x-www-form-urlencoded"),
        ("/api/webhooks/cloudflare/stream", "application/json"),
    ],
)
def test_a_huge_content_length_gets_413_without_the_body_being_read(live_url, path, content_type):
    # The server would wait for 200 MB that never come if it tried to read them: the 413 arrives
    # with only 16 bytes sent, so nothing was buffered.
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {BIG}\r\nConnection: close\r\n\r\n"
    )
    answer = raw_request(live_url, head, b'{"email": "a@b.c')
    assert answer.startswith("HTTP/1.1 413"), answer[:200]


def test_a_chunked_body_over_the_cap_gets_413(live_url):
    chunk = b"x" * 8192
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(8)) + b"0\r\n\r\n"
    head = (
        "POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    answer = raw_request(live_url, head, body)
    assert answer.startswith("HTTP/1.1 413"), answer[:200]


def test_a_small_chunked_body_is_read_whole(live_url):
    data = b'{"email": "nobody@example.org", "password": "wrong-password"}'
    body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data)
    head = (
        "POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    assert raw_request(live_url, head, body).startswith("HTTP/1.1 401")


def test_api_bodies_over_the_cap_get_a_json_413(app, client):
    email = "a" * (app.config["MAX_CONTENT_LENGTH"]) + "@example.org"
    response = client.post("/api/auth/login", json={"email": email, "password": "x"})
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "request_entity_too_large"


def test_the_cap_is_a_few_kilobytes_and_forms_are_capped_too(app):
    assert app.config["MAX_CONTENT_LENGTH"] <= 64 * 1024
    assert app.config["MAX_FORM_MEMORY_SIZE"] <= app.config["MAX_CONTENT_LENGTH"]
    assert app.config["MAX_FORM_PARTS"] <= 100


def test_a_view_may_raise_its_own_limit(app, client):
    from flask import jsonify, request

    def large():
        request.max_content_length = 1024 * 1024
        return jsonify(size=len(request.get_data()))

    app.add_url_rule("/api/test/large", "test_large", large, methods=["POST"])
    response = client.post("/api/test/large", data=b"x" * 200_000, headers={"Authorization": "Bearer x"})
    assert response.get_json() == {"size": 200_000}


# --- methods and caching --------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("path", ["/login", "/", "/account", "/admin/users"])
def test_page_routes_answer_other_methods_with_405(client, method, path):
    response = client.open(path, method=method)
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]


def test_anonymous_page_that_sets_a_session_cookie_is_not_cached(client):
    response = client.get("/login")
    assert "session=" in response.headers.get("Set-Cookie", "")
    assert response.headers["Cache-Control"] == "no-store"
    again = client.get("/")  # the page carries the session's CSRF token
    assert again.headers["Cache-Control"] == "no-store"


def test_static_files_may_still_be_cached(client):
    response = client.get("/static/css/portal.css")
    response.close()
    assert "no-store" not in response.headers.get("Cache-Control", "")


def test_an_upload_sized_body_with_a_csrf_header_reaches_the_view_that_allows_it(
    app, client, auth, make_user
):
    from flask import jsonify, request

    def upload():
        request.max_content_length = 1024 * 1024
        return jsonify(size=len(request.get_data()))

    app.add_url_rule("/api/test/upload", "test_upload", upload, methods=["POST"])
    auth.login(make_user().email)
    token = auth.csrf("/")
    response = client.post("/api/test/upload", data=b"x" * 300_000, headers={"X-CSRFToken": token})
    assert response.get_json() == {"size": 300_000}
    refused = client.post("/api/test/upload", data=b"x" * 10, headers={"X-CSRFToken": token + "x"})
    assert refused.status_code == 400


def test_a_missing_static_file_is_not_cached_when_its_page_carries_the_session(client, login_as):
    """The 404 page under /static/ shows who is signed in and the session's CSRF token, and for an
    anonymous visitor sets the session cookie: a shared cache must not keep it."""
    anonymous = client.get("/static/css/missing.css")
    assert anonymous.status_code == 404
    assert "session=" in anonymous.headers.get("Set-Cookie", "")
    assert anonymous.headers["Cache-Control"] == "no-store"
    member = login_as(Role.MEMBER, Tier.BASIC)
    signed_in = member.get("/static/css/missing.css")
    assert signed_in.status_code == 404
    assert signed_in.headers["Cache-Control"] == "no-store"
