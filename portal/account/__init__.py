"""A signed-in person's own account: details and password."""

from flask import Blueprint

bp = Blueprint("account", __name__)

from portal.account import views  # noqa: E402,F401
