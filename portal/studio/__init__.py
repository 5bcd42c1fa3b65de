"""The instructors' studio: their uploads, the uploader page, and each video's management page."""

from flask import Blueprint

bp = Blueprint("studio", __name__)

from portal.studio import views  # noqa: E402,F401

# isort: split
# A video's management page
from portal.studio import media  # noqa: E402,F401

# isort: split
# Training sessions and events
from portal.studio import activities, files  # noqa: E402,F401
