"""The members' side of the portal: the home page, the library grid and the watch page."""

from flask import Blueprint

bp = Blueprint("library", __name__)


@bp.record_once
def _watch_library_changes(state):
    """Cached library grids are dropped when a commit changes a video (see grid_cache)."""
    from portal.services.media import grid_cache

    grid_cache.install()


from portal.library import views  # noqa: E402,F401

# isort: split
# Training sessions, events and instructor profiles
from portal.library import activities, files  # noqa: E402,F401
