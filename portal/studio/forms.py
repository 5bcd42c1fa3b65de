"""The metadata form the uploader sends with each file, and the copy-from-URL form."""

from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField, SubmitField, TextAreaField, URLField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from portal.models import MediaAccessLevel, Tier

ACCESS_CHOICES = [
    SelectChoice(MediaAccessLevel.MEMBERS_ONLY.value, "Members only (any signed-in member)"),
    SelectChoice(MediaAccessLevel.PUBLIC.value, "Public (anyone, also signed out)"),
    SelectChoice(MediaAccessLevel.TIER_SPECIFIC.value, "Members of a tier and above"),
]
TIER_CHOICES = [SelectChoice("", "Any tier")] + [SelectChoice(t.value, t.value.title()) for t in Tier]
NO_CONTROL_CHARACTERS = Regexp(r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*\Z", message="Remove control characters.")


def link_choices(sessions, events):
    """Choices for the "linked to" select: nothing, a training session, or an event."""
    choices = [SelectChoice("", "Nothing")]
    choices += [SelectChoice(f"training_session:{s.id}", f"Training session: {s.title}") for s in sessions]
    choices += [SelectChoice(f"event:{e.id}", f"Event: {e.title}") for e in events]
    return choices


class UploadMetadataForm(FlaskForm):
    """What the portal stores about a video: title, description, tags, who may watch, what it belongs to."""

    title = StringField("Title", validators=[DataRequired(), Length(max=200), NO_CONTROL_CHARACTERS])
    description = TextAreaField("Description", validators=[Optional(), Length(max=5000)])
    tags = StringField("Tags", validators=[Optional(), Length(max=500), NO_CONTROL_CHARACTERS])
    access_level = SelectField("Who may watch", choices=ACCESS_CHOICES)
    required_tier = SelectField("Required tier", choices=TIER_CHOICES)
    link = SelectField("Linked training session or event", choices=[SelectChoice("", "Nothing")])
    submit = SubmitField("Upload")

    def __init__(self, *args, sessions=(), events=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.link.choices = link_choices(sessions, events)

    def validate_required_tier(self, field):
        """A tier video names its tier."""
        if self.access_level.data == MediaAccessLevel.TIER_SPECIFIC.value and not field.data:
            raise ValidationError("Choose the tier a member needs for this video.")


class UploadFromUrlForm(UploadMetadataForm):
    """Ask Stream to copy a video from an https address, with the same metadata."""

    url = URLField(
        "Video address (https)",
        validators=[
            DataRequired(),
            Length(max=2048),
            Regexp(r"^https://[^\s/$.?#][^\s]*\Z", message="Give an https:// address."),
        ],
    )
    submit = SubmitField("Copy from address")
