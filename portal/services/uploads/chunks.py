"""Writing one chunk to disk: read in large blocks, hashed, written, made durable, then linked in place.

The chunk first goes to a temporary file in the session directory; `os.link` then gives it its
final name only if no copy is there yet, so of two concurrent writers of one index exactly one
copy wins and the other is compared with it. A chunk file with its final name is always whole.

Durability: the chunk's bytes are flushed with `fdatasync` before it is linked (the data and the
size needed to read it back; only timestamps may lag), and the directory is flushed with `fsync`
after the link, so the name survives a crash too. Only then is the chunk recorded and acknowledged.
"""

import errno
import hashlib
import os
import secrets
import threading

from .errors import UploadError

BUFFER = 1024 * 1024  # bytes read, hashed and written at a time
NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
_buffers = threading.local()


def no_space():
    """The error for a full disk: the chunk is not kept and the session can resume later."""
    return UploadError(507, "insufficient_storage", "The portal's upload disk is full; try again later.")


class ChunkWrite:
    """The outcome of writing one chunk: its SHA-256 and whether this request stored it."""

    def __init__(self, sha256, stored):
        self.sha256 = sha256
        self.stored = stored


def _incomplete(length, remaining):
    return UploadError(
        400, "incomplete_chunk", f"The chunk ended after {length - remaining} of {length} bytes."
    )


def _copy(source, fd, length):
    """Copy exactly `length` bytes from a readable to a file descriptor; return their SHA-256 (hex).

    `source` holds at most `length` bytes (the request body of that Content-Length, or a spooled
    multipart file of that size), so nothing is read past them. Each block is read into the thread's
    buffer, reused from chunk to chunk (`readinto`, where the source has it), hashed and written; hashlib
    and file writes release the GIL, so the other requests' threads run meanwhile.
    A client that disconnects mid-body gets 400, never 500.
    """
    digest = hashlib.sha256()
    readinto = getattr(source, "readinto", None)
    buffer = _thread_buffer() if readinto is not None else None
    remaining = length
    while remaining:
        try:
            if readinto is not None:
                block = buffer[: readinto(buffer[: min(BUFFER, remaining)])]
            else:
                block = source.read(min(BUFFER, remaining))
        except (OSError, ValueError):  # the connection was reset or timed out mid-body
            raise _incomplete(length, remaining) from None
        if not block:
            raise _incomplete(length, remaining)
        digest.update(block)
        _write_all(fd, block)
        remaining -= len(block)
    return digest.hexdigest()


def _thread_buffer():
    """This thread's read buffer, made once: a fresh 1 MiB per chunk cost page faults every time."""
    buffer = getattr(_buffers, "buffer", None)
    if buffer is None:
        buffer = _buffers.buffer = memoryview(bytearray(BUFFER))
    return buffer


def _write_all(fd, data):
    """os.write until every byte is written (a write to a file may be short, e.g. near a full disk)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _sync_directory(directory):
    """Flush a directory's entries (a new link) to disk."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def file_sha256(path):
    """SHA-256 (hex) of a file on disk."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(BUFFER), b""):
            digest.update(block)
    return digest.hexdigest()


def write_chunk(directory, name, source, length, claimed_sha256=None, check_head=None):
    """Store `length` bytes from `source` as `directory/name`, unless a copy is already there.

    Raises UploadError 422 (checksum), 507 (disk full), 400 (body ended early), 410 (the session
    directory is gone); leaves no temporary file behind. `check_head(first_bytes)` may refuse the
    chunk by raising. Returns ChunkWrite(sha256, stored); stored is False when a copy existed
    (the caller compares hashes). The head is checked only while no copy is stored: other bytes
    for a received first chunk are a conflict for the caller, never a reason to refuse the upload.
    """
    temp = os.path.join(directory, f".{name}.{secrets.token_hex(8)}.tmp")
    final = os.path.join(directory, name)
    try:
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
        except FileNotFoundError:
            raise UploadError(410, "upload_gone", "This upload was cancelled or has expired.") from None
        try:
            sha = _copy(source, fd, length)
            os.fdatasync(fd)
        finally:
            os.close(fd)
        if claimed_sha256 and claimed_sha256 != sha:
            raise UploadError(
                422,
                "checksum_mismatch",
                "The chunk's SHA-256 does not match X-Chunk-SHA256; it was not kept.",
            )
        if check_head is not None and not os.path.exists(final):
            with open(temp, "rb") as handle:
                check_head(handle.read(64))
        try:
            os.link(temp, final)
        except FileExistsError:
            return ChunkWrite(sha, stored=False)
        _sync_directory(directory)
        return ChunkWrite(sha, stored=True)
    except OSError as error:
        if error.errno in NO_SPACE:
            raise no_space() from None
        if isinstance(error, FileNotFoundError):
            raise UploadError(410, "upload_gone", "This upload was cancelled or has expired.") from None
        raise
    finally:
        try:
            os.unlink(temp)
        except OSError:
            pass
