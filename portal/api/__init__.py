"""The JSON API under /api."""

from flask import Blueprint

bp = Blueprint("api", __name__)

from portal.api import auth_views, media, operations_views  # noqa: E402,F401

# isort: split
# Uploads: chunked sessions, direct and URL uploads
from portal.api import upload_limits, uploads  # noqa: E402,F401

# isort: split
# Media management: edit, re-gate, delete, captions
from portal.api import media_captions, media_files, media_manage  # noqa: E402,F401
