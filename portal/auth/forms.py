"""Forms of the sign-in screen."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SubmitField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    """Email and password, with an optional remember-me."""

    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)])
    remember = BooleanField("Keep me signed in on this device (30 days)")
    submit = SubmitField("Sign in")


class LogoutForm(FlaskForm):
    """The one-button sign-out form (a POST with CSRF)."""

    submit = SubmitField("Sign out")
