"""A video's Studio page: edit and re-gate, captions, thumbnail, embed code, history, delete."""

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from portal.api.media_captions import CAPTION_BODY_BYTES
from portal.api.media_manage import after_commit
from portal.auth.access import staff_required
from portal.body_limits import allows_body
from portal.errors import APIError
from portal.extensions import db
from portal.jobs import media as media_jobs
from portal.models import MediaAccessLevel, Role, User
from portal.services import studio
from portal.services.media import captions, deletion, editing, thumbnails
from portal.services.media.audit import changes_for
from portal.services.media.caption_files import MAX_CAPTION_BYTES
from portal.services.media.permissions import managed_asset
from portal.studio import bp
from portal.studio.media_forms import (
    ActionForm,
    CaptionGenerateForm,
    CaptionUploadForm,
    DeleteForm,
    MediaEditForm,
    ThumbnailForm,
)


def _asset(asset_id):
    try:
        return managed_asset(current_user, asset_id)
    except APIError as error:
        abort(error.status)


def _edit_form(asset, formdata=None):
    sessions, events = studio.link_targets()
    instructors = db.session.scalars(
        select(User).where(User.role == Role.INSTRUCTOR).order_by(User.email).limit(200)
    )
    link = f"{asset.entity_type.value}:{asset.entity_id}" if asset.entity_type else ""
    data = {
        "title": asset.title,
        "description": asset.description,
        "tags": ", ".join(asset.tags),
        "access_level": asset.access_level.value,
        "required_tier": asset.required_tier.value if asset.required_tier else "",
        "link": link,
    }
    kwargs = {"data": data} if formdata is None else {}
    form = MediaEditForm(sessions=sessions, events=events, instructors=instructors.all(), **kwargs)
    if link and link not in [choice.value for choice in form.link.choices]:
        form.link.choices.append((link, f"Current link ({link})"))
    return form


def _page(asset, form=None, caption_form=None, status=200):
    """Render the page with the given (possibly failed) forms."""
    if captions.refresh_generating(asset):
        db.session.commit()
    frames = thumbnails.frame_strip(asset, current_user.id)
    thumb_form = ThumbnailForm()
    thumb_form.pct.choices = [(frame.value, frame.label) for frame in frames]
    thumb_form.pct.data = thumbnails.current_choice(asset)
    context = {
        "asset": asset,
        "form": form or _edit_form(asset),
        "caption_form": caption_form or CaptionUploadForm(),
        "generate_form": CaptionGenerateForm(),
        "action_form": ActionForm(),
        "thumb_form": thumb_form,
        "frames": frames,
        "embed_code": thumbnails.staff_embed_code(asset),
        "changes": changes_for(asset.id),
        "max_caption_mb": MAX_CAPTION_BYTES // (1024 * 1024),
    }
    return render_template("studio/media.html", **context), status


@bp.get("/studio/media/<asset_id>")
@staff_required
def media_page(asset_id):
    """The video's management page."""
    return _page(_asset(asset_id))


@bp.post("/studio/media/<asset_id>")
@staff_required
def media_save(asset_id):
    """Save the edit form; a change of who may watch reaches Stream in the same step."""
    asset = _asset(asset_id)
    form = _edit_form(asset, formdata=True)
    if not form.validate_on_submit():
        return _page(asset, form=form, status=400)
    kind, _, key = (form.link.data or "").partition(":")
    data = {
        "title": form.title.data,
        "description": form.description.data or "",
        "tags": form.tags.data or "",
        "access_level": form.access_level.data,
        "required_tier": form.required_tier.data or None,
        "entity_type": kind or None,
        "entity_id": key or None,
    }
    if data["access_level"] != MediaAccessLevel.TIER_SPECIFIC.value:
        data["required_tier"] = None
    try:
        outcome = editing.apply_changes(asset, current_user, editing.parse_changes(data, asset))
    except APIError as error:
        db.session.rollback()
        flash(error.message, "error")
        return _page(_asset(asset_id), form=form, status=error.status)
    db.session.commit()
    if outcome.stream == "pending":
        after_commit(media_jobs.enqueue_access_sync, asset.id)
        flash(outcome.message, "error")
    else:
        flash(
            "Changes saved." + (" Stream now matches who may watch." if outcome.stream == "done" else ""),
            "success",
        )
    return redirect(url_for("studio.media_page", asset_id=asset.id))


@bp.post("/studio/media/<asset_id>/captions")
@allows_body(
    CAPTION_BODY_BYTES, "caption_too_large", "The caption file is larger than Cloudflare's 10 MB limit."
)
@staff_required
def caption_add(asset_id):
    """Add or replace one language's caption track from a .vtt or .srt file."""
    asset = _asset(asset_id)
    form = CaptionUploadForm()
    if not form.validate_on_submit():
        return _page(asset, caption_form=form, status=400)
    upload = form.caption_file.data
    data = upload.stream.read(MAX_CAPTION_BYTES + 1)
    try:
        caption = captions.upload_caption(
            asset, current_user, data, upload.filename, form.language.data, form.label.data
        )
    except APIError as error:
        db.session.rollback()
        form.caption_file.errors = [error.message]
        return _page(_asset(asset_id), caption_form=form, status=error.status)
    db.session.commit()
    flash(
        f"Captions added: {caption.label} ({caption.language}). Viewers see them in the player now.",
        "success",
    )
    return redirect(url_for("studio.media_page", asset_id=asset.id, _anchor="captions"))


def _action(asset_id, form_class, run, success):
    """Run a one-form action, flash its outcome, and go back to the page."""
    asset = _asset(asset_id)
    form = form_class()
    if not form.validate_on_submit():
        flash("The form expired or was incomplete; please try again.", "error")
    else:
        try:
            message = run(asset, form)
            db.session.commit()
            flash(message or success, "success")
        except APIError as error:
            db.session.rollback()
            flash(error.message, "error")
    return redirect(url_for("studio.media_page", asset_id=asset_id))


@bp.post("/studio/media/<asset_id>/captions/generate")
@staff_required
def caption_generate(asset_id):
    """Ask Stream to generate a caption track from the audio."""

    def run(asset, form):
        caption = captions.generate_caption(asset, current_user, form.language.data)
        return f"Stream is generating {caption.label}; it shows as generating until Stream is done."

    return _action(asset_id, CaptionGenerateForm, run, "")


@bp.post("/studio/media/<asset_id>/captions/<language>/delete")
@staff_required
def caption_delete(asset_id, language):
    """Remove one caption track."""
    return _action(
        asset_id,
        ActionForm,
        lambda asset, form: captions.delete_caption(asset, current_user, language),
        f"The {language} captions are removed.",
    )


@bp.post("/studio/media/<asset_id>/thumbnail")
@staff_required
def thumbnail_save(asset_id):
    """Use the chosen frame as the video's thumbnail."""

    def run(asset, form):
        editing.set_thumbnail(asset, current_user, editing.parse_thumbnail_pct(form.pct.data))

    return _action(asset_id, ThumbnailForm, run, "Thumbnail saved.")


@bp.route("/studio/media/<asset_id>/delete", methods=["GET", "POST"])
@staff_required
def media_delete(asset_id):
    """Confirm, then delete the video, its captions and its Stream copy."""
    asset = _asset(asset_id)
    form = DeleteForm()
    if not form.validate_on_submit():
        return render_template("studio/media_delete.html", asset=asset, form=form)
    title = asset.title
    done = deletion.delete_asset(asset, current_user)
    db.session.commit()
    if done:
        flash(f"“{title}” is deleted, with its captions and its copy on Stream.", "success")
    else:
        after_commit(media_jobs.enqueue_deletion, asset_id)
        flash(
            f"Stream could not be reached: “{title}” is hidden and marked for deletion; "
            "it is removed from Stream and the portal as soon as Stream answers.",
            "error",
        )
    return redirect(url_for("studio.index"))
