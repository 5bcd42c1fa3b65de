"""Sending an upload's chunks to Stream over tus, in order, without assembling the file on disk.

ChunkReader presents the chunk files as one seekable file, so the Stream client's tus pieces
(Cloudflare-sized: 5-200 MiB, multiples of 256 KiB) stream from them through one small buffer.
"""

import hashlib
import logging
import os

from portal.services.stream import tus
from portal.services.stream.errors import StreamError

from .store import chunk_name, expected_length

log = logging.getLogger(__name__)

EXPIRED_STATUSES = (404, 410)


class ChunkReader:
    """The chunk files of one session read as a single file: seek() and readinto()."""

    def __init__(self, directory, session):
        self.directory = directory
        self.session = session
        self.size = session["file_size"]
        self.position = 0
        self._index = None
        self._handle = None

    def seek(self, position):
        """Move to a byte position of the whole file."""
        self.position = int(position)

    def _open(self, index):
        if self._index != index:
            self.close()
            path = os.path.join(self.directory, chunk_name(index))
            self._handle = open(path, "rb", buffering=0)
            self._index = index
        return self._handle

    def readinto(self, buffer):
        """Fill `buffer` from the current position (within one chunk); 0 at the end."""
        if self.position >= self.size:
            return 0
        chunk_size = self.session["chunk_size"]
        index, inner = divmod(self.position, chunk_size)
        handle = self._open(index)
        handle.seek(inner)
        room = expected_length(self.session, index) - inner
        view = memoryview(buffer)[: min(len(buffer), room)]
        n = handle.readinto(view) or 0
        self.position += n
        return n

    def sha256(self):
        """SHA-256 of the whole file, read chunk by chunk."""
        digest = hashlib.sha256()
        buffer = bytearray(tus.READ_BLOCK)
        self.seek(0)
        while n := self.readinto(buffer):
            digest.update(memoryview(buffer)[:n])
        return digest.hexdigest()

    def close(self):
        """Close the open chunk file."""
        if self._handle is not None:
            self._handle.close()
        self._handle, self._index = None, None


def resume_offset(client, upload_url):
    """Stream's offset for a saved tus URL, or None when Stream says it expired (404/410)."""
    try:
        return client.get_upload_offset(upload_url)
    except StreamError as error:
        if error.status_code in EXPIRED_STATUSES:
            return None
        raise


def send_chunks(client, upload_url, reader, offset, progress=None):
    """PATCH from `offset` to the end in Cloudflare-sized pieces; returns Stream's final offset.

    A PATCH that makes no progress is retried from Stream's offset with backoff, at most
    `max_retries` times in a row, then StreamError. Memory: one READ_BLOCK buffer.
    """
    size, piece = reader.size, client.tus_chunk_size
    buffer = memoryview(bytearray(min(tus.READ_BLOCK, piece)))
    http, stalls = client.http, 0
    while offset < size:
        _, length = next(tus.plan_tus_chunks(size, piece, start=offset))
        new_offset = client.upload_chunk(upload_url, tus.FileSlice(reader, offset, length, buffer), offset)
        if new_offset > offset:
            stalls = 0
        else:
            stalls += 1
            if stalls > http.max_retries:
                raise StreamError(f"Stream accepted no bytes at offset {offset} after {stalls} attempts")
            http.sleep(http.backoff(stalls - 1))
        offset = new_offset
        if progress:
            progress(offset, size)
    return offset
