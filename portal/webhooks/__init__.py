"""Inbound webhooks (Cloudflare Stream): verify, record, enqueue."""

from flask import Blueprint

from portal.extensions import csrf

bp = Blueprint("webhooks", __name__, url_prefix="/api/webhooks")
csrf.exempt(bp)  # every webhook is authenticated by its signature, not a session

from portal.webhooks import views  # noqa: E402,F401
