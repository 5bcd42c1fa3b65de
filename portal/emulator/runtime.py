"""The per-app emulator object (app.extensions["stream_emulator"]): settings, state, faults and workers."""

import logging
import threading
from pathlib import Path

from flask import has_request_context, request

from .analytics import ViewLog
from .faults import FaultInjector
from .processing import VideoProcessor
from .signing import SigningKeys
from .store import VideoStore
from .videos import render_video
from .webhooks import WebhookNotifier

log = logging.getLogger(__name__)


class StreamEmulator:
    """Everything one emulator app holds: account settings, videos, keys, webhook, faults, processing."""

    def __init__(self, state_dir, *, account_id, api_token, public_url, webhook_retry_delays):
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.account_id = account_id
        self.api_token = api_token
        self.public_url = public_url.rstrip("/") if public_url else None
        self.videos = VideoStore(self.state_dir)
        self.keys = SigningKeys(self.state_dir)
        self.webhooks = WebhookNotifier(self.state_dir, webhook_retry_delays)
        self.faults = FaultInjector()
        self.analytics = ViewLog(self.state_dir)
        self.processor = VideoProcessor(self)
        self._upload_locks = {}
        self._upload_locks_guard = threading.Lock()

    def customer_base(self):
        """The customer-domain base URL used in video objects (the server's own URL unless set)."""
        if self.public_url:
            return self.public_url
        if has_request_context():
            return request.host_url.rstrip("/")
        return "http://127.0.0.1"

    def video_object(self, record):
        """The public video object of a record."""
        return render_video(record, self.customer_base())

    def upload_lock(self, uid):
        """The lock that serialises tus PATCHes to one upload."""
        with self._upload_locks_guard:
            return self._upload_locks.setdefault(uid, threading.Lock())

    def finish_video(self, uid, change):
        """Apply the final state change of processing and post the webhook; returns the record or None."""
        record = self.videos.mutate(uid, change)
        if record is not None:
            self.webhooks.notify(self.video_object(record))
        return record

    def reset(self):
        """Wipe videos, signing keys, the webhook subscription, the delivery log and views (for tests)."""
        self.webhooks.reset()
        self.analytics.wipe()
        self.videos.wipe()
        self.keys.wipe()
        log.info("Stream emulator state reset")

    def close(self):
        """Stop background work (processing jobs and webhook retries)."""
        self.processor.shutdown()
        self.webhooks.shutdown()
