"""Analytics pages: /admin/analytics (every video, costs) and /studio/analytics (my videos)."""

from flask import Blueprint

bp = Blueprint("analytics", __name__)

from portal.analytics import views  # noqa: E402,F401
