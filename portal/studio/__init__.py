"""The instructors' studio: their uploads and the uploader page."""

from flask import Blueprint

bp = Blueprint("studio", __name__)

from portal.studio import views  # noqa: E402,F401
