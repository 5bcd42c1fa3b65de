"""Studio pages: the list of uploads, the uploader, and the state the uploader polls."""

from flask import abort, jsonify, render_template, request
from flask_login import current_user

from portal.auth.access import staff_required
from portal.extensions import db
from portal.models import MediaAsset
from portal.services import studio
from portal.studio import bp
from portal.studio.forms import UploadFromUrlForm, UploadMetadataForm
from portal.studio.progress import upload_progress_of

PER_PAGE = 50
MAX_PAGE = 10_000


@bp.route("/studio")
@staff_required
def index():
    """My uploads (everyone's for admins), with their upload and processing state."""
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)
    rows, total = studio.studio_uploads(current_user, page, PER_PAGE, upload_progress_of)
    pages = max(1, -(-total // PER_PAGE))
    return render_template("studio/index.html", rows=rows, total=total, page=page, pages=pages)


@bp.route("/studio/upload")
@staff_required
def upload():
    """The uploader: files by drag and drop or picker, each with its own metadata form."""
    sessions, events = studio.link_targets()
    form = UploadMetadataForm(prefix="file", sessions=sessions, events=events)
    url_form = UploadFromUrlForm(prefix="url", sessions=sessions, events=events)
    return render_template("studio/upload.html", form=form, url_form=url_form)


@bp.route("/studio/assets/<string(length=36):asset_id>/state")
@staff_required
def asset_state(asset_id):
    """The asset's state as JSON, polled by the uploader after finalize until ready or failed."""
    asset = db.session.get(MediaAsset, asset_id)
    if asset is None or not studio.can_manage(current_user, asset):
        abort(404)
    response = jsonify(studio.asset_state(asset))
    response.headers["Cache-Control"] = "no-store"
    return response
