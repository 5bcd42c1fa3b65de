"""What the upload endpoints accept: body size caps raised before anything reads the body,
multipart files streamed into the upload disk, and per-user rate limits."""

import os
import secrets

from flask import current_app, request

from portal.api import bp
from portal.api.socket_body import SocketBody
from portal.auth.access import api_user
from portal.errors import APIError

MULTIPART_SLACK = 64 * 1024  # form fields and part headers around a chunk or file
INCOMING = ".incoming"
FORM_MEMORY = 256 * 1024  # metadata fields held in memory while a multipart body is parsed


def body_limits():
    """Endpoint -> the largest body it accepts, from the settings."""
    config = current_app.config
    return {
        "api.upload_chunk": int(config["UPLOAD_CHUNK_SIZE"]) + MULTIPART_SLACK,
        "api.direct_upload": int(config["UPLOAD_DIRECT_MAX_SIZE"]) + MULTIPART_SLACK,
    }


@bp.url_value_preprocessor
def raise_body_limit(endpoint, values):
    """Runs before every before_request hook (CSRF reads multipart forms), so the cap is in place first."""
    limit = body_limits().get(endpoint)
    if limit is not None:
        request.max_content_length = limit
        # werkzeug's multipart parser buffers up to 64 KiB reads; file parts still go to disk
        request.max_form_memory_size = FORM_MEMORY
        stream_files_to(request, incoming_dir)


@bp.teardown_request
def remove_incoming_files(error=None):
    """Delete what multipart parsing spooled to the upload disk and the request did not move away."""
    files = request.__dict__.get("files")
    for part in files.values() if files else ():
        name = getattr(part.stream, "name", None)
        part.stream.close()
        if isinstance(name, str) and os.path.dirname(name).endswith(INCOMING):
            try:
                os.unlink(name)
            except OSError:
                pass


def incoming_dir():
    """Where multipart files land while a request is read: on the upload disk, so moving them is a rename."""
    path = os.path.join(current_app.config["UPLOAD_DIR"], INCOMING)
    os.makedirs(path, exist_ok=True)
    return path


def stream_files_to(req, directory):
    """Have werkzeug stream multipart file parts into new files under `directory()`, never into memory.

    The folder is made when a multipart body first needs it, so raw chunks cost no file system calls here.
    """

    def stream_factory(total_content_length, content_type, filename=None, content_length=None):
        return open(os.path.join(directory(), secrets.token_hex(16)), "wb+")

    req._get_file_stream = stream_factory


def raw_body():
    """The body of a raw (non-multipart) upload request, to be read for exactly its Content-Length.

    `request.stream` is touched first, so a Content-Length over the endpoint's cap is still refused
    with 413 before anything is read. The reader then takes exactly Content-Length bytes (the service
    refuses any other length before reading), which WSGI allows straight from the server's input
    stream: werkzeug's guard around it, needed when a reader might go past the end, copies every
    block twice more. Under gunicorn the body is read from the socket into the copy loop's buffer
    (see socket_body). Without a Content-Length the guarded stream is returned (the service answers 411).
    """
    guarded = request.stream
    if request.content_length is None:
        return guarded
    direct = SocketBody.from_environ(request.environ, request.content_length)
    return direct if direct is not None else request.input_stream


def per_user():
    """Rate-limit key: the signed-in user (bearer or session), else the client address."""
    try:
        user = api_user()
    except APIError:
        user = None
    return f"user:{user.id}" if user is not None else f"ip:{request.remote_addr}"


def chunk_limit():
    """Chunks per user: generous enough for three 5 MiB chunks in flight on a fast line."""
    return current_app.config["UPLOAD_CHUNK_RATE_LIMIT"]


def status_limit():
    """Progress polls per user."""
    return current_app.config["UPLOAD_STATUS_RATE_LIMIT"]


def start_limit():
    """Initiate, finalize, cancel, direct and URL uploads per user."""
    return current_app.config["UPLOAD_START_RATE_LIMIT"]
