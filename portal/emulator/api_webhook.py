"""The webhook subscription: PUT (rotates the secret), GET, DELETE under /stream/webhook."""

from flask import Blueprint

from .auth import emulator, json_body, require_api_auth
from .envelope import bad_request, envelope, not_found

webhook_api = Blueprint("webhook_api", __name__, url_prefix="/client/v4/accounts/<account_id>/stream/webhook")
webhook_api.before_request(require_api_auth)


@webhook_api.put("")
def subscribe(account_id):
    """Set the notification URL; every PUT makes a new secret."""
    body = json_body()
    url = body.get("notificationUrl", body.get("notification_url"))
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise bad_request("notificationUrl must start with http:// or https://")
    # Real Cloudflare refuses localhost and private addresses; the emulator accepts them for local work.
    return envelope(emulator().webhooks.subscribe(url))


@webhook_api.get("")
def subscription(account_id):
    """The subscription with its secret."""
    current = emulator().webhooks.subscription()
    if current is None:
        raise not_found("No webhook subscription")
    return envelope(current)


@webhook_api.delete("")
def unsubscribe(account_id):
    """Remove the subscription."""
    emulator().webhooks.unsubscribe()
    return envelope("ok")
