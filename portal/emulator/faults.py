"""Fault injection: canned error statuses, delays and dropped tus PATCH connections, consumed by count."""

import logging
import socket
import threading
import time

from flask import current_app, request

from .envelope import RATE_LIMITED, SERVER_ERROR, failure

log = logging.getLogger(__name__)

KINDS = ("status", "delay", "drop_patch")
CONTROL_PREFIX = "/__emulator__"


class Fault:
    """One injected fault; `remaining` is None for a fault that never runs out."""

    def __init__(self, spec):
        kind = spec.get("kind")
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        self.kind = kind
        count = spec.get("count", 1)
        if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 1):
            raise ValueError("count must be a positive integer or null (for ever)")
        self.remaining = count
        self.method = (spec.get("method") or "").upper() or None
        default_prefix = "/" if kind == "drop_patch" else "/client/v4"
        self.path_prefix = spec.get("path_prefix") or default_prefix
        self.status = int(spec.get("status", 500))
        self.retry_after = spec.get("retry_after")
        self.message = spec.get("message")
        self.seconds = float(spec.get("seconds", 0))
        self.after_bytes = int(spec.get("after_bytes", 0))
        if kind == "status" and not 400 <= self.status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        if not 0 <= self.seconds < float("inf") or self.after_bytes < 0:
            raise ValueError("seconds must be a finite number and neither it nor after_bytes negative")

    def matches(self, kind, path, method):
        """Whether this fault applies to a request."""
        return (
            self.kind == kind
            and path.startswith(self.path_prefix)
            and (self.method is None or self.method == method.upper())
        )

    def describe(self):
        """The fault as JSON for the control API."""
        return {
            "kind": self.kind,
            "remaining": self.remaining,
            "method": self.method,
            "path_prefix": self.path_prefix,
            "status": self.status,
            "retry_after": self.retry_after,
            "seconds": self.seconds,
            "after_bytes": self.after_bytes,
        }


class FaultInjector:
    """The list of armed faults; each match uses up one of a fault's count."""

    def __init__(self):
        self._lock = threading.Lock()
        self._faults = []

    def add(self, spec):
        """Arm a fault from its JSON spec; raises ValueError for a bad spec."""
        fault = Fault(spec)
        with self._lock:
            self._faults.append(fault)
        log.info("Armed fault %s", fault.describe())
        return fault

    def clear(self):
        """Disarm every fault."""
        with self._lock:
            self._faults.clear()

    def armed(self):
        """Descriptions of the faults still armed."""
        with self._lock:
            return [fault.describe() for fault in self._faults]

    def take(self, kind, path, method):
        """The first armed fault of `kind` matching the request, using up one of its count; or None."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(kind, path, method):
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining == 0:
                            self._faults.remove(fault)
                    return fault
        return None


def apply_request_faults():
    """A before_request hook: sleep for a delay fault, answer a status fault; control paths are exempt."""
    if request.path.startswith(CONTROL_PREFIX):
        return None
    faults = current_app.extensions["stream_emulator"].faults
    delay = faults.take("delay", request.path, request.method)
    if delay is not None:
        time.sleep(delay.seconds)
    fault = faults.take("status", request.path, request.method)
    if fault is None:
        return None
    headers = {}
    if fault.retry_after is not None:
        headers["Retry-After"] = str(fault.retry_after)
    if fault.status == 429:
        message = fault.message or "Please wait and consider throttling your request speed"
        return failure(429, RATE_LIMITED, message, headers)
    return failure(fault.status, SERVER_ERROR, fault.message or "Injected fault (stream emulator)", headers)


def drop_connection():
    """Shut the client's socket so it gets no response at all; whether a socket was there to shut."""
    connection = request.environ.get("werkzeug.socket")
    if connection is None:
        return False
    try:
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    return True
