"""Cloudflare Stream for the portal: the client, signed playback, webhooks, and `init_app`.

The one way to reach the client: `from portal.services.stream import get_client` → `get_client()`.
"""

import threading

from flask import current_app

from .captions import srt_to_vtt
from .client import StreamClient
from .errors import StreamError
from .settings import apply_settings_file
from .tus import plan_tus_chunks
from .webhooks import verify_webhook_signature

__all__ = [
    "StreamClient",
    "StreamError",
    "init_app",
    "get_client",
    "reset_client",
    "plan_tus_chunks",
    "srt_to_vtt",
    "verify_webhook_signature",
]

_EXTENSION = "stream"


class _ClientSlot:
    """The app's StreamClient, built from `app.config` on first use; what the settings file filled."""

    def __init__(self, config):
        self.config = config
        self.client = None
        self.filled = {}
        self.lock = threading.Lock()

    def get(self):
        """The client, built once (config errors surface here, not in init_app)."""
        if self.client is None:
            with self.lock:
                if self.client is None:
                    self.client = StreamClient.from_config(self.config)
        return self.client

    def reload(self):
        """Re-read the settings file into config and drop the built client."""
        with self.lock:
            self.filled = apply_settings_file(self.config, self.filled)
            client, self.client = self.client, None
        if client is not None:
            client.close()


def init_app(app):
    """Merge the settings file into `app.config` and register a lazily-built client (no network)."""
    slot = _ClientSlot(app.config)
    slot.reload()
    app.extensions[_EXTENSION] = slot


def get_client(app=None):
    """The Stream client of `app`, or of the current app (ValueError when Stream is misconfigured)."""
    return (app or current_app).extensions[_EXTENSION].get()


def reset_client(app=None):
    """Re-read the settings file (after `flask stream setup --save`) and rebuild the client on next use."""
    (app or current_app).extensions[_EXTENSION].reload()
