"""Writing one chunk to disk: streamed through a small buffer, hashed, fsynced, then linked in place.

The chunk first goes to a temporary file in the session directory; `os.link` then gives it its
final name only if no copy is there yet, so of two concurrent writers of one index exactly one
copy wins and the other is compared with it. A chunk file with its final name is always whole.
"""

import errno
import hashlib
import os
import secrets
from concurrent.futures import ThreadPoolExecutor

from .errors import UploadError

BUFFER = 1024 * 1024  # bytes read, hashed and written at a time
NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
HASHERS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="chunk-sha256")


def no_space():
    """The error for a full disk: the chunk is not kept and the session can resume later."""
    return UploadError(507, "insufficient_storage", "The portal's upload disk is full; try again later.")


class ChunkWrite:
    """The outcome of writing one chunk: its SHA-256 and whether this request stored it."""

    def __init__(self, sha256, stored):
        self.sha256 = sha256
        self.stored = stored


def _copy(source, target, length):
    """Copy exactly `length` bytes from a readable to a file; return their SHA-256 (hex).

    Each block is hashed on a helper thread while it is written and the next one is read (hashlib
    and file writes release the GIL), so checking the hash adds little to a chunk's time. The
    blocks are hashed one after the other, in order; at most two are held at once.
    """
    digest = hashlib.sha256()
    hashing = None
    remaining = length
    try:
        while remaining:
            block = source.read(min(BUFFER, remaining))
            if not block:
                raise UploadError(
                    400, "incomplete_chunk", f"The chunk ended after {length - remaining} of {length} bytes."
                )
            if hashing is not None:
                hashing.result()
            hashing = HASHERS.submit(digest.update, block)
            target.write(block)
            remaining -= len(block)
    finally:
        if hashing is not None:
            hashing.result()
    if source.read(1):
        raise UploadError(422, "chunk_size_mismatch", f"The chunk is longer than {length} bytes.")
    return digest.hexdigest()


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
            handle = open(temp, "wb", buffering=0)
        except FileNotFoundError:
            raise UploadError(410, "upload_gone", "This upload was cancelled or has expired.") from None
        with handle:
            sha = _copy(source, handle, length)
            handle.flush()
            os.fsync(handle.fileno())
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
