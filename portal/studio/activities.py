"""Staff pages to create and edit training sessions and events."""

from datetime import UTC

from flask import abort, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateTimeLocalField, SelectChoice, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from portal.auth.access import staff_required
from portal.extensions import db
from portal.models import Event, TrainingSession
from portal.parsing import whole_number
from portal.services import activities
from portal.studio import bp
from portal.studio.forms import NO_CONTROL_CHARACTERS

MODELS = {"session": TrainingSession, "event": Event}
NAMES = {"session": "training session", "event": "event"}


class ActivityForm(FlaskForm):
    """A training session (with its instructor) or an event (with its location)."""

    title = StringField("Title", validators=[DataRequired(), Length(max=200), NO_CONTROL_CHARACTERS])
    starts_at = DateTimeLocalField("Date and time (UTC)", format="%Y-%m-%dT%H:%M", validators=[Optional()])
    instructor = SelectField("Instructor", choices=[], validators=[Optional()])
    location = StringField("Location", validators=[Optional(), Length(max=200), NO_CONTROL_CHARACTERS])
    description = TextAreaField("Description", validators=[Optional(), Length(max=5000)])
    submit = SubmitField("Save")


def _form(kind, item=None):
    data = {}
    if item is not None:
        data = {"title": item.title, "starts_at": item.starts_at, "description": item.description}
        if kind == "session":
            data["instructor"] = str(item.instructor_id or "")
        else:
            data["location"] = item.location
    form = ActivityForm(data=data) if item is not None else ActivityForm()
    form.instructor.choices = [SelectChoice("", "Nobody yet")] + [
        SelectChoice(str(user.id), user.name or user.email) for user in activities.staff_users()
    ]
    return form


def _save(kind, item, form):
    starts_at = form.starts_at.data.replace(tzinfo=UTC) if form.starts_at.data else None
    if kind == "session":
        instructor_id = whole_number(form.instructor.data or "")
        return activities.save_training_session(
            item, form.title.data, starts_at, instructor_id, form.description.data
        )
    return activities.save_event(item, form.title.data, starts_at, form.location.data, form.description.data)


@bp.route("/studio/activities")
@staff_required
def activity_list():
    """Training sessions and events, newest first, with links to create and edit them."""
    sessions = db.session.scalars(
        select(TrainingSession).order_by(TrainingSession.starts_at.desc()).limit(200)
    ).all()
    events = db.session.scalars(select(Event).order_by(Event.starts_at.desc()).limit(200)).all()
    return render_template("studio/activities.html", sessions=sessions, events=events)


@bp.route("/studio/<any(session, event):kind>/new", methods=["GET", "POST"], endpoint="activity_new")
@bp.route("/studio/<any(session, event):kind>/<entity_id>/edit", methods=["GET", "POST"])
@staff_required
def activity_edit(kind, entity_id=None):
    """Create or edit a training session or an event."""
    item = None
    if entity_id is not None:
        item = db.session.get(MODELS[kind], entity_id) if len(entity_id) <= 36 else None
        if item is None:
            abort(404)
    form = _form(kind, item)
    if form.validate_on_submit():
        try:
            saved = _save(kind, item, form)
        except ValueError as error:
            form.instructor.errors = [str(error)]
        else:
            db.session.commit()
            flash(f"The {NAMES[kind]} “{saved.title}” is saved.", "success")
            endpoint = "library.training_session" if kind == "session" else "library.event"
            return redirect(url_for(endpoint, entity_id=saved.id))
    status = 400 if form.errors else 200
    return render_template(
        "studio/activity_form.html", form=form, kind=kind, name=NAMES[kind], item=item
    ), status
