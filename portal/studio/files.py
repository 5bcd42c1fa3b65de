"""Staff page to add an image or a PDF document (handouts, syllabi) with who may open it."""

from flask import current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf.file import FileField, FileRequired

from portal.auth.access import staff_required
from portal.body_limits import allows_body
from portal.errors import APIError
from portal.extensions import db
from portal.services import studio
from portal.services.media import files
from portal.studio import bp
from portal.studio.forms import UploadMetadataForm


class FileUploadForm(UploadMetadataForm):
    """An image or PDF and the same details a video has."""

    file = FileField("Image or PDF document", validators=[FileRequired()])


@bp.route("/studio/files/new", methods=["GET", "POST"])
@allows_body("MEDIA_FILE_MAX_BYTES", "file_too_large", "The file is larger than the portal accepts.")
@staff_required
def file_new():
    """Store an image or document after checking what it really is."""
    sessions, events = studio.link_targets()
    form = FileUploadForm(sessions=sessions, events=events)
    form.submit.label.text = "Add file"
    status = 200
    if form.validate_on_submit():
        kind, _, key = (form.link.data or "").partition(":")
        fields = {
            "title": form.title.data,
            "description": form.description.data or "",
            "tags": (form.tags.data or "").split(","),
            "access_level": form.access_level.data,
            "required_tier": form.required_tier.data or None
            if form.access_level.data == "tier_specific"
            else None,
            "entity_type": kind or None,
            "entity_id": key or None,
        }
        upload = form.file.data
        try:
            asset = files.store_file(
                current_user,
                upload.stream,
                upload.filename,
                fields,
                current_app.config["MEDIA_FILE_MAX_BYTES"],
            )
        except APIError as error:
            db.session.rollback()
            form.file.errors = [error.message]
            status = error.status
        else:
            db.session.commit()
            flash(f"“{asset.title}” is stored ({asset.mime_type}).", "success")
            return redirect(url_for("studio.media_page", asset_id=asset.id))
    else:
        status = 400 if form.errors else 200
    return render_template("studio/file_new.html", form=form), status
