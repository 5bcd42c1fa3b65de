"""Sign-in and sign-out pages."""

from urllib.parse import urlsplit

from flask import flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from portal.auth import bp
from portal.auth.forms import LoginForm, LogoutForm
from portal.auth.session import end_session, start_session
from portal.auth.signin import authenticate
from portal.auth.throttle import release_in_flight, remember_device, sign_in_throttled
from portal.extensions import db


def safe_next(target):
    """The `next` target if it stays on this site, else None."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(ch < " " or ch == "\x7f" for ch in target):  # urlsplit drops these; a header cannot hold them
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@sign_in_throttled
def login():
    """Show the sign-in form; sign in on a valid POST."""
    if current_user.is_authenticated:
        return redirect(url_for("library.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(
            form.email.data, form.password.data, request.remote_addr, request.headers.get("User-Agent")
        )
        if user is not None:
            start_session(user, remember=form.remember.data)
            db.session.commit()
            flash(f"Welcome back, {user.name or user.email}.", "success")
            response = redirect(safe_next(request.args.get("next")) or url_for("library.index"))
            return remember_device(response, user.email)
        db.session.commit()  # the failed attempt, recorded for the account's owner
        g.login_failed = True
        flash("That email and password do not match an active account.", "error")
    return render_template("auth/login.html", form=form), 200


# Both sign-in endpoints (the API's too) hold in-flight slots; they are freed after the limiter's count.
bp.teardown_app_request(release_in_flight)


@bp.route("/logout", methods=["POST"])
def logout():
    """Sign out (a POST form, so another site cannot sign you out)."""
    form = LogoutForm()
    if form.validate_on_submit() and current_user.is_authenticated:
        end_session(current_user)
        db.session.commit()
        flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))
