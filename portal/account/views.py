"""The account page: who you are, what your membership opens, a password change, email preferences."""

from flask import flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from portal.account import bp
from portal.account.forms import ChangePasswordForm, EmailPreferencesForm
from portal.auth.passwords import WeakPassword, check_new_password
from portal.auth.session import start_session
from portal.extensions import db, limiter
from portal.services.sign_in_attempts import recent_failed_sign_ins


def _password_change_key():
    return f"password-change:{current_user.get_id()}"


def _policy_problem(password, user):
    """Why the password policy refuses `password` for `user`, or None."""
    try:
        check_new_password(password, email=user.email, name=user.name, current=user)
    except WeakPassword as error:
        return str(error)
    return None


@bp.route("/account", methods=["GET"])
@login_required
def index():
    """Your details, the password form and the email preferences."""
    return render_template(
        "account/index.html",
        form=ChangePasswordForm(),
        failed_sign_ins=recent_failed_sign_ins(current_user),
        email_form=_email_form(),
    )


def _email_form(formdata=None):
    """The email preferences form, showing the stored choice unless a POST is being answered."""
    if formdata is None:
        return EmailPreferencesForm(
            formdata=None, data={"email_notifications": current_user.email_notifications}
        )
    return EmailPreferencesForm()


@bp.route("/account/email", methods=["POST"])
@login_required
def email_preferences():
    """Turn notification emails on or off for yourself."""
    form = _email_form(formdata=True)
    if not form.validate_on_submit():
        flash("The form expired; please try again.", "error")
        return redirect(url_for("account.index"))
    current_user.email_notifications = bool(form.email_notifications.data)
    db.session.commit()
    flash(
        "Notifications will also come by email."
        if form.email_notifications.data
        else "Notifications will no longer come by email.",
        "success",
    )
    return redirect(url_for("account.index"))


@bp.route("/account/password", methods=["POST"])
@login_required
@limiter.limit("10 per hour", key_func=_password_change_key)
def change_password():
    """Change your password; every other session and API token of yours stops working."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        if not user.check_password(form.current_password.data):
            form.current_password.errors.append("That is not your current password.")
        elif weak := _policy_problem(form.new_password.data, user):
            form.new_password.errors.append(weak)
        else:
            user.replace_password(form.new_password.data)
            start_session(user)
            db.session.commit()
            flash("Your password is changed. Other devices have been signed out.", "success")
            return redirect(url_for("account.index"))
    failed = recent_failed_sign_ins(current_user)
    return render_template(
        "account/index.html", form=form, failed_sign_ins=failed, email_form=_email_form()
    ), 400
