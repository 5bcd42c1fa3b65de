"""The members' side of the portal: the home page (the video library grows here)."""

from flask import Blueprint, render_template

bp = Blueprint("library", __name__)


@bp.route("/")
def index():
    """Home page: what the visitor's account gives access to."""
    return render_template("library/index.html")
