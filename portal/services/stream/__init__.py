"""Cloudflare Stream for the portal: the client, signed playback, webhooks, and `init_app`."""

import threading

from .captions import srt_to_vtt
from .client import StreamClient
from .errors import StreamError
from .tus import plan_tus_chunks
from .webhooks import verify_webhook_signature

__all__ = [
    "StreamClient",
    "StreamError",
    "LazyStreamClient",
    "init_app",
    "get_client",
    "plan_tus_chunks",
    "srt_to_vtt",
    "verify_webhook_signature",
]


class LazyStreamClient:
    """Builds the app's StreamClient from `app.config` on first use; forwards attributes to it."""

    def __init__(self, app):
        self._config = app.config
        self._client = None
        self._lock = threading.Lock()

    @property
    def client(self):
        """The real StreamClient, built once (config errors surface here, not in init_app)."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = StreamClient.from_config(self._config)
        return self._client

    def reset(self):
        """Drop the built client so the next use re-reads config and the settings file."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def __getattr__(self, name):
        return getattr(self.client, name)

    def __repr__(self):
        return f"<LazyStreamClient built={self._client is not None}>"


def init_app(app):
    """Register a lazily-built Stream client at `app.extensions["stream"]` (no network here)."""
    app.extensions["stream"] = LazyStreamClient(app)
    return app.extensions["stream"]


def get_client(app=None):
    """The Stream client of `app`, or of the current app."""
    if app is None:
        from flask import current_app

        app = current_app
    return app.extensions["stream"].client
