"""Inbound webhooks (Cloudflare Stream): verify, record, enqueue."""

from flask import Blueprint

bp = Blueprint("webhooks", __name__)

from portal.webhooks import views  # noqa: E402,F401
