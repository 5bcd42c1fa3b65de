"""Reading a raw upload body straight from gunicorn's client socket, into the caller's buffer.

gunicorn's `wsgi.input` returns new bytes objects assembled in BytesIO buffers, so each byte of a
5 MiB chunk was copied four or five times in Python before it reached the hash and the file.
`SocketBody.readinto` fills the caller's buffer with one `recv_into` per block instead: the kernel
copies the bytes once, into memory the copy loop reuses for every block.

It reads exactly what is left of the body and keeps gunicorn's own reader in step: bytes gunicorn
had already read ahead are taken from its buffer first (what lies past the body is put back),
its count of the body's remaining bytes is lowered with every read, and a failed read marks the
body failed. So when a request stops early (a full disk, an error), gunicorn drains the rest as
usual, and a keep-alive connection's next request starts where it should. A failed read closes
the connection, as gunicorn's own reader does.

Anything other than gunicorn reading a body of known length over plain TCP (the Flask development
server, the test client, chunked transfer coding, TLS terminated by gunicorn) gets None, and the
caller uses `wsgi.input` as before.
"""

import os
import socket
import ssl

try:
    from gunicorn.http.body import Body, LengthReader
    from gunicorn.http.unreader import SocketUnreader
except ImportError:  # served by something else: the WSGI input stream is used
    Body = LengthReader = SocketUnreader = None


class SocketBody:
    """A readable with `readinto` for the rest of one request body, read from the socket."""

    def __init__(self, body, sock):
        self._body = body
        self._sock = sock
        # MSG_WAITALL: one system call per block. It would ignore a Python-level socket timeout,
        # so it is used only on a blocking socket without one (gunicorn's threaded workers).
        self._flags = socket.MSG_WAITALL if sock.gettimeout() is None else 0

    @classmethod
    def from_environ(cls, environ, length):
        """A SocketBody for a request of `length` bytes served by gunicorn, else None."""
        if Body is None or length is None:
            return None
        body, sock = environ.get("wsgi.input"), environ.get("gunicorn.socket")
        if not (isinstance(body, Body) and isinstance(body.reader, LengthReader)):
            return None
        reader = body.reader
        if not isinstance(reader.unreader, SocketUnreader) or reader.unreader.sock is not sock:
            return None
        if isinstance(sock, ssl.SSLSocket):
            # TLS served by gunicorn itself: bytes of a pipelined next request can wait in OpenSSL's
            # buffer, where gunicorn does not look; its own reader moves them into its buffer.
            return None
        body.buf.seek(0, os.SEEK_END)
        if reader.length != length or body.buf.tell():  # the body was read from already
            return None
        return cls(body, sock)

    def readinto(self, buffer):
        """Read up to len(buffer) bytes of the body into `buffer`; 0 once it is all read.

        0 before the end means the client closed the connection, and an OSError that it broke:
        the caller stops, and gunicorn closes the connection instead of reusing it.
        """
        reader = self._body.reader
        view = memoryview(buffer)[: reader.length]
        if not view:
            return 0
        count = self._take_read_ahead(reader.unreader, view)
        if not count:
            try:
                count = self._sock.recv_into(view, len(view), self._flags)
            except OSError:
                self._body.failed = True
                raise
            if not count:
                self._body.failed = True  # the client closed the connection before the body ended
        reader.length -= count
        return count

    @staticmethod
    def _take_read_ahead(unreader, view):
        """Copy bytes gunicorn read ahead of the body into `view`; put back what does not fit."""
        unreader.buf.seek(0, os.SEEK_END)
        if not unreader.buf.tell():
            return 0
        held = unreader.take_buffered()
        count = min(len(held), len(view))
        view[:count] = held[:count]
        if len(held) > count:
            unreader.unread(held[count:])
        return count
