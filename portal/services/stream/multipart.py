"""A multipart/form-data body with one file field, streamed from disk so memory stays flat.

requests builds `files=` bodies in memory; a 200 MB basic upload would hold the video twice.
This body has a known length (so Content-Length is sent) and reads the file as it is sent.
"""

import io
import os
import re
import secrets


def new_boundary():
    """A random multipart boundary."""
    return f"portal-stream-{secrets.token_hex(16)}"


def content_type(boundary):
    """The Content-Type header naming the boundary the body uses."""
    return f"multipart/form-data; boundary={boundary}"


class MultipartFileBody(io.RawIOBase):
    """File-like body: part header, the file's bytes, closing boundary; reports progress as it reads."""

    def __init__(
        self,
        path,
        boundary,
        field="file",
        filename=None,
        mime="application/octet-stream",
        progress_callback=None,
    ):
        super().__init__()
        safe_name = re.sub(r"[^A-Za-z0-9._ -]", "_", filename or os.path.basename(path)) or "upload"
        head = (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="{field}"; filename="{safe_name}"\r\n'
            f"Content-Type: {mime}\r\n\r\n"
        ).encode("ascii")
        tail = f"\r\n--{boundary}--\r\n".encode("ascii")
        self.file_size = os.path.getsize(path)
        self._length = len(head) + self.file_size + len(tail)
        self._file = open(path, "rb")
        self._parts = [io.BytesIO(head), self._file, io.BytesIO(tail)]
        self._sent = 0
        self._position = 0
        self._progress = progress_callback

    def __len__(self):
        return self._length

    def readable(self):
        """Always readable: requests reads the body as it sends it."""
        return True

    def tell(self):
        """Bytes of the body read so far (requests uses this to compute Content-Length)."""
        return self._position

    def readinto(self, buffer):
        """Fill `buffer` from the current part, moving to the next part when one is exhausted."""
        while self._parts:
            n = self._parts[0].readinto(buffer)
            if n:
                self._position += n
                if self._parts[0] is self._file:
                    self._sent += n
                    if self._progress:
                        self._progress(self._sent, self.file_size)
                return n
            self._parts.pop(0)
        return 0

    def close(self):
        """Close the underlying file."""
        self._file.close()
        super().close()
