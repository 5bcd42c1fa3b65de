"""Request bodies capped before they are read: by Content-Length, and for chunked bodies by counting.

Werkzeug refuses a Content-Length above `request.max_content_length` before reading anything, but a
chunked body (no Content-Length) is only cut off at the limit and then parsed as if it were whole.
PortalRequest reads such a body at most one byte past the limit and answers 413 when that byte
arrives, so memory stays bounded and a truncated body is never mistaken for the real one.
"""

from flask import Request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream, get_input_stream


class CappedStream(LimitedStream):
    """A stream that yields at most `cap` bytes and raises 413 if the body holds more."""

    def __init__(self, stream, cap):
        super().__init__(stream, cap + 1, is_max=True)
        self.cap = cap

    def readinto(self, buffer):
        """Read like LimitedStream, refusing the body once it is longer than the cap."""
        count = super().readinto(buffer)
        if self._pos > self.cap:
            raise RequestEntityTooLarge()
        return count


class PortalRequest(Request):
    """Flask's request, with chunked bodies held to max_content_length too."""

    @cached_property
    def stream(self):
        """The body stream; a chunked body longer than max_content_length raises 413 as it is read."""
        cap = self.max_content_length
        if self.content_length is None and cap is not None and "wsgi.input_terminated" in self.environ:
            return CappedStream(self.environ["wsgi.input"], cap)
        return get_input_stream(self.environ, max_content_length=cap)


def init_app(app):
    """Make every request of the app a PortalRequest."""
    app.request_class = PortalRequest
