"""The JSON API under /api."""

from flask import Blueprint

bp = Blueprint("api", __name__)

from portal.api import auth_views, media  # noqa: E402,F401,I001

# Media management
import portal.api.media_captions  # noqa: E402,F401
import portal.api.media_manage  # noqa: E402,F401
