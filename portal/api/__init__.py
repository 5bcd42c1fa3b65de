"""The JSON API under /api."""

from flask import Blueprint

bp = Blueprint("api", __name__)

from portal.api import auth_views, operations_views  # noqa: E402,F401
