"""Administration pages: people and their roles and tiers."""

from flask import Blueprint

bp = Blueprint("admin", __name__)

from portal.admin import operations, views  # noqa: E402,F401
