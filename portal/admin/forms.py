"""Forms of the people-management screens."""

from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    HiddenField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from portal.models import Role, Tier
from portal.services.identity import InvalidIdentity, check_display_name

ROLE_CHOICES = [SelectChoice(role.value, role.value.title()) for role in Role]
TIER_CHOICES = [SelectChoice(tier.value, tier.value.title()) for tier in Tier]


def visible_name(form, field):
    """Names refuse control, bidi and other invisible characters (portal.services.identity)."""
    try:
        check_display_name(field.data)
    except InvalidIdentity as error:
        raise ValidationError(str(error)) from None


class UserCreateForm(FlaskForm):
    """A new account."""

    name = StringField("Name", validators=[Optional(), Length(max=120), visible_name])
    email = EmailField(
        "Email", validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)]
    )
    password = PasswordField("Initial password", validators=[DataRequired(), Length(min=10, max=256)])
    role = SelectField("Role", choices=ROLE_CHOICES, default=Role.MEMBER.value)
    tier = SelectField("Membership tier", choices=TIER_CHOICES, default=Tier.FREE.value)
    submit = SubmitField("Create account")


class UserEditForm(FlaskForm):
    """Change someone's name, role and tier."""

    name = StringField("Name", validators=[Optional(), Length(max=120), visible_name])
    role = SelectField("Role", choices=ROLE_CHOICES)
    tier = SelectField("Membership tier", choices=TIER_CHOICES)
    new_password = PasswordField("Set a new password", validators=[Optional(), Length(min=10, max=256)])
    submit = SubmitField("Save changes")


class ActivationForm(FlaskForm):
    """The one-button deactivate / reactivate form (the button, naming the account, is in the template)."""

    active = HiddenField()  # "1" reactivates, anything else deactivates
