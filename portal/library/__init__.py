"""The members' side of the portal: the home page, the library grid and the watch page."""

from flask import Blueprint

bp = Blueprint("library", __name__)

from portal.library import views  # noqa: E402,F401
