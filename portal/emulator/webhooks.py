"""The webhook subscription and signed, retried delivery of video objects to it."""

import hashlib
import hmac
import json
import logging
import secrets
import threading
import time

import requests

from .store import JsonDocument
from .videos import timestamp_now

log = logging.getLogger(__name__)

DELIVERY_TIMEOUT = 10


def sign_webhook(secret, body, timestamp):
    """The Webhook-Signature header value for `body` sent at unix `timestamp`."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256)
    return f"time={timestamp},sig1={digest.hexdigest()}"


class WebhookNotifier:
    """Keeps the account's single subscription and posts video objects to it with retries and backoff."""

    def __init__(self, state_dir, retry_delays):
        self.subscription_document = JsonDocument(f"{state_dir}/webhook.json", None)
        self.retry_delays = tuple(retry_delays)
        self._lock = threading.Lock()
        self._deliveries = []
        self._generation = 0
        self._stopped = threading.Event()

    def subscribe(self, notification_url):
        """Set the notification URL with a fresh secret (every PUT rotates it); returns the subscription."""
        subscription = {
            "notificationUrl": notification_url,
            "modified": timestamp_now(),
            "secret": secrets.token_hex(16),
        }
        self.subscription_document.save(subscription)
        return subscription

    def subscription(self):
        """The current subscription, or None."""
        return self.subscription_document.load()

    def unsubscribe(self):
        """Remove the subscription."""
        with self.subscription_document.lock:
            self.subscription_document.path.unlink(missing_ok=True)

    def notify(self, video):
        """Post `video` to the subscribed URL in the background, if there is a subscription."""
        subscription = self.subscription()
        if subscription is None or self._stopped.is_set():
            return
        body = json.dumps(video, separators=(",", ":")).encode("utf-8")
        delivery = {
            "url": subscription["notificationUrl"],
            "videoUid": video["uid"],
            "state": video["status"]["state"],
            "statusCode": None,
            "attempts": 0,
            "delivered": False,
            "finished": False,
            "history": [],
        }
        with self._lock:
            self._deliveries.append(delivery)
            generation = self._generation
        threading.Thread(
            target=self._deliver,
            args=(delivery, body, generation),
            name="stream-emulator-webhook",
            daemon=True,
        ).start()

    def deliveries(self):
        """What was sent so far: url, video, last status code, attempts, and each attempt's outcome."""
        with self._lock:
            return json.loads(json.dumps(self._deliveries))

    def reset(self):
        """Drop the subscription and the delivery log, and abandon pending retries."""
        with self._lock:
            self._generation += 1
            self._deliveries = []
        self.unsubscribe()

    def shutdown(self):
        """Abandon pending retries for good."""
        self._stopped.set()

    def _current(self, generation):
        with self._lock:
            return generation == self._generation and not self._stopped.is_set()

    def _deliver(self, delivery, body, generation):
        delays = (0,) + self.retry_delays
        for delay in delays:
            if delay and self._stopped.wait(delay):
                break
            subscription = self.subscription()
            if subscription is None or not self._current(generation):
                break
            self._attempt(delivery, subscription, body)
            if delivery["delivered"]:
                break
        with self._lock:
            delivery["finished"] = True

    def _attempt(self, delivery, subscription, body):
        # Real Cloudflare refuses localhost and private addresses; the emulator delivers to loopback on purpose.
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "Webhook-Signature": sign_webhook(subscription["secret"], body, timestamp),
            "User-Agent": "Cloudflare-Stream-Emulator",
        }
        outcome = {"at": timestamp_now(), "statusCode": None, "error": None}
        try:
            with requests.post(
                delivery["url"], data=body, headers=headers, timeout=DELIVERY_TIMEOUT
            ) as response:
                outcome["statusCode"] = response.status_code
        except requests.RequestException as error:
            outcome["error"] = str(error)
        with self._lock:
            delivery["attempts"] += 1
            delivery["statusCode"] = outcome["statusCode"]
            delivery["delivered"] = outcome["statusCode"] is not None and 200 <= outcome["statusCode"] < 300
            delivery["history"].append(outcome)
        log.info(
            "Webhook for %s to %s: %s",
            delivery["videoUid"],
            delivery["url"],
            outcome["statusCode"] or outcome["error"],
        )
