"""tus 1.0.0 against Cloudflare Stream: the chunk planner, Upload-Metadata and the resumable loop."""

import base64
import logging
import os
from urllib.parse import urljoin

from config import STREAM_DEFAULTS

from .errors import StreamError

log = logging.getLogger(__name__)

TUS_VERSION = "1.0.0"
CHUNK_MULTIPLE = 262_144  # every non-final chunk is a multiple of 256 KiB
MIN_CHUNK = 5_242_880  # 5 MiB, unless the whole file is smaller
MAX_CHUNK = 209_715_200  # 200 MiB
DEFAULT_CHUNK = STREAM_DEFAULTS["STREAM_TUS_CHUNK_SIZE"]
READ_BLOCK = 1_048_576  # bytes read from disk and handed to the socket at a time
TUS_HEADERS = {"Tus-Resumable": TUS_VERSION}


def normalize_chunk_size(chunk_size, min_chunk=MIN_CHUNK):
    """Round a configured chunk size down to a 256 KiB multiple inside [min_chunk, 200 MiB].

    `min_chunk` exists so tests can plan smaller chunks; it is itself rounded up to 256 KiB.
    """
    chunk_size, min_chunk = int(chunk_size), int(min_chunk)
    if chunk_size <= 0 or min_chunk <= 0:
        raise ValueError("tus chunk size and minimum must be positive")
    floor = -(-min_chunk // CHUNK_MULTIPLE) * CHUNK_MULTIPLE
    size = chunk_size // CHUNK_MULTIPLE * CHUNK_MULTIPLE
    return min(MAX_CHUNK, max(floor, size))


def plan_tus_chunks(file_size, chunk_size=DEFAULT_CHUNK, start=0, min_chunk=MIN_CHUNK):
    """Yield (offset, length) for each PATCH from `start`; only the final chunk may be short."""
    file_size, start = int(file_size), int(start)
    if file_size < 0 or not 0 <= start <= file_size:
        raise ValueError(f"bad tus plan: size {file_size}, start {start}")
    size = normalize_chunk_size(chunk_size, min_chunk)
    offset = start
    while offset < file_size:
        length = min(size, file_size - offset)
        yield offset, length
        offset += length


def encode_upload_metadata(pairs):
    """Encode (key, value) pairs as `key base64(value)` joined by bare commas; value None is a flag."""
    parts = []
    for key, value in pairs:
        if not key or not key.isascii() or " " in key or "," in key:
            raise ValueError(f"invalid tus metadata key {key!r}")
        if value is None:
            parts.append(key)
        else:
            parts.append(f"{key} {base64.b64encode(str(value).encode('utf-8')).decode('ascii')}")
    return ",".join(parts)


def create_upload(transport, endpoint, file_size, metadata_pairs=(), creator=None):
    """tus creation: POST Upload-Length + Upload-Metadata, expect 201; return upload URL and uid."""
    headers = dict(TUS_HEADERS, **{"Upload-Length": str(int(file_size))})
    if metadata_pairs:
        headers["Upload-Metadata"] = encode_upload_metadata(metadata_pairs)
    if creator:
        headers["Upload-Creator"] = str(creator)
    resp = transport.request("POST", endpoint, ok=(201,), headers=headers, retry_network="connect")
    location, uid = resp.headers.get("Location"), resp.headers.get("stream-media-id")
    resp.close()
    if not location or not uid:
        missing = "Location" if not location else "stream-media-id"
        raise StreamError(f"Cloudflare Stream tus creation answered 201 without a {missing} header", 201)
    return {"upload_url": urljoin(endpoint, location), "video_id": uid}


def _digits(value):
    """An int from a header made only of ASCII digits, else None (str.isdigit also accepts e.g. '²')."""
    return int(value) if value and value.isascii() and value.isdigit() else None


def head_upload(transport, upload_url):
    """HEAD the upload URL; return (offset, length or None). 404/410/403 raise StreamError."""
    resp = transport.request("HEAD", upload_url, ok=(200, 204), headers=dict(TUS_HEADERS))
    offset = _digits(resp.headers.get("Upload-Offset"))
    if offset is None:
        raise StreamError(
            "Cloudflare Stream tus HEAD answered without a valid Upload-Offset", resp.status_code
        )
    return offset, _digits(resp.headers.get("Upload-Length"))


def patch_chunk(transport, upload_url, data, offset):
    """PATCH one chunk at `offset`; return the server's new offset, asking HEAD after a 409 or a drop."""
    headers = dict(
        TUS_HEADERS, **{"Upload-Offset": str(int(offset)), "Content-Type": "application/offset+octet-stream"}
    )
    try:
        resp = transport.request(
            "PATCH", upload_url, ok=(204, 409), data=data, headers=headers, retry_network=False
        )
    except StreamError as exc:
        if exc.status_code is not None:
            raise
        log.warning("tus PATCH at offset %d dropped (%s); asking the server where it stands", offset, exc)
        return head_upload(transport, upload_url)[0]
    status, new_offset = resp.status_code, _digits(resp.headers.get("Upload-Offset"))
    resp.close()
    if status == 409 or new_offset is None:
        log.warning("tus PATCH at offset %d answered %d; resuming from HEAD", offset, status)
        return head_upload(transport, upload_url)[0]
    return new_offset


class FileSlice:
    """A PATCH body: `length` bytes of an open file from `offset`, streamed through one reusable buffer.

    requests sends it with Content-Length (from __len__) and pulls blocks from __iter__ one at a
    time, so memory stays at one block however large the chunk; iterating again re-reads from the
    start, so a retried PATCH sends the same bytes.
    """

    def __init__(self, fh, offset, length, buffer):
        self.fh, self.offset, self.length, self.buffer = fh, offset, length, buffer

    def __len__(self):
        return self.length

    def __iter__(self):
        self.fh.seek(self.offset)
        remaining = self.length
        while remaining:
            view = self.buffer[: min(len(self.buffer), remaining)]
            n = self.fh.readinto(view)
            if not n:
                raise StreamError("file ended early while sending a tus chunk (was it truncated?)")
            remaining -= n
            yield view[:n]


def upload_file(
    transport,
    file_path,
    upload_url,
    chunk_size=DEFAULT_CHUNK,
    min_chunk=MIN_CHUNK,
    progress_callback=None,
    offset=None,
):
    """Push a file to a tus upload URL from the server's current offset; return the final offset.

    Memory stays at one READ_BLOCK: each chunk streams from disk through one reusable buffer.
    A PATCH that makes no progress is retried from HEAD's offset with backoff, at most
    `transport.max_retries` times in a row. `offset` skips the first HEAD (for a fresh upload: 0).
    """
    file_size = os.path.getsize(file_path)
    length = file_size
    if offset is None:
        offset, length = head_upload(transport, upload_url)
    if length is not None and length != file_size:
        raise StreamError(f"tus upload expects {length} bytes but the file has {file_size}")
    size = normalize_chunk_size(chunk_size, min_chunk)
    buffer = memoryview(bytearray(min(READ_BLOCK, size)))
    stalls = 0
    with open(file_path, "rb", buffering=0) as fh:
        while offset < file_size:
            _, want = next(plan_tus_chunks(file_size, size, start=offset, min_chunk=min_chunk))
            new_offset = patch_chunk(transport, upload_url, FileSlice(fh, offset, want, buffer), offset)
            if new_offset > offset:
                stalls = 0
            else:
                stalls += 1
                if stalls > transport.max_retries:
                    raise StreamError(
                        f"tus upload made no progress at offset {offset} after {stalls} attempts"
                    )
                transport.sleep(transport.backoff(stalls - 1))
            offset = new_offset
            if progress_callback:
                progress_callback(offset, file_size)
    return offset
