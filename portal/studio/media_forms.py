"""Forms of a video's Studio page: edit, caption upload, caption generation, thumbnail, delete."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, RadioField, SelectChoice, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional

from portal.services.media.languages import GENERATABLE
from portal.studio.forms import NO_CONTROL_CHARACTERS, UploadMetadataForm, link_choices


class MediaEditForm(UploadMetadataForm):
    """The video's metadata and who may watch it (the uploader's fields, plus instructor profiles)."""

    submit = SubmitField("Save changes")

    def __init__(self, *args, sessions=(), events=(), instructors=(), **kwargs):
        super().__init__(*args, sessions=sessions, events=events, **kwargs)
        self.link.label.text = "Linked training session, event or instructor profile"
        self.link.choices = link_choices(sessions, events) + [
            SelectChoice(f"profile:{user.id}", f"Instructor: {user.name or user.email}")
            for user in instructors
        ]


class CaptionUploadForm(FlaskForm):
    """One caption track: a .vtt or .srt file, its BCP-47 language and a label."""

    caption_file = FileField("Caption file (.vtt or .srt, UTF-8, up to 10 MB)", validators=[FileRequired()])
    language = StringField("Language (BCP-47, e.g. en or pt-BR)", validators=[DataRequired(), Length(max=35)])
    label = StringField(
        "Label shown in the player", validators=[Optional(), Length(max=100), NO_CONTROL_CHARACTERS]
    )
    submit = SubmitField("Add captions")


class CaptionGenerateForm(FlaskForm):
    """Ask Stream to generate captions from the audio, in a language it supports."""

    language = SelectField("Language to generate", choices=[SelectChoice(code, code) for code in GENERATABLE])
    submit = SubmitField("Generate captions")


class ActionForm(FlaskForm):
    """A one-button action (delete a track, delete the video); CSRF only."""

    language = HiddenField()


class ThumbnailForm(FlaskForm):
    """The frame to show as the video's thumbnail, as a fraction of its duration."""

    pct = RadioField("Thumbnail frame", choices=[], validators=[DataRequired()], validate_choice=False)
    submit = SubmitField("Use this frame")


class DeleteForm(FlaskForm):
    """The final step of deleting a video, shown on its own confirmation page."""

    submit = SubmitField("Delete this video for good")
