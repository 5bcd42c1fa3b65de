"""People management for admins: list, search, create, change role and tier, deactivate."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal.admin import bp
from portal.admin.forms import ActivationForm, UserCreateForm, UserEditForm
from portal.admin.people import AccountError, create_user, search_users, set_active, update_user
from portal.auth.access import admin_required
from portal.extensions import db
from portal.models import User

PER_PAGE = 25
MAX_PAGE = 10_000
MAX_ID = 2**31 - 1  # the largest id an INTEGER column holds; larger ones would be a database error


@bp.route("/users")
@admin_required
def users():
    """Everyone with an account, searchable by name or email."""
    query = request.args.get("q", "").replace("\x00", "")[:100]
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)
    people, total = search_users(query, page, PER_PAGE)
    pages = max(1, -(-total // PER_PAGE))
    return render_template(
        "admin/users.html",
        users=people,
        total=total,
        query=query,
        page=page,
        pages=pages,
        activation_form=ActivationForm(),
    )


@bp.route("/users/new", methods=["GET", "POST"])
@admin_required
def new_user():
    """Create an account."""
    form = UserCreateForm()
    if form.validate_on_submit():
        try:
            user = create_user(
                form.email.data, form.password.data, form.role.data, form.tier.data, form.name.data
            )
        except AccountError as exc:
            form.email.errors.append(str(exc))
        else:
            db.session.commit()
            flash(f"Account {user.email} created.", "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_new.html", form=form)


@bp.route(f"/users/<int(max={MAX_ID}):user_id>", methods=["GET", "POST"])
@admin_required
def edit_user(user_id):
    """Change an account's name, role and tier."""
    user = db.session.get(User, user_id) or abort(404)
    current = {"name": user.name, "role": user.role.value, "tier": user.tier.value}
    form = UserEditForm(data=current if request.method == "GET" else None)  # a POST stands on its own
    if form.validate_on_submit():
        try:
            update_user(user, form.name.data, form.role.data, form.tier.data, form.new_password.data)
        except AccountError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(f"{user.email} is now {user.role.value}, tier {user.tier.value}.", "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_edit.html", form=form, user=user)


@bp.route(f"/users/<int(max={MAX_ID}):user_id>/active", methods=["POST"])
@admin_required
def toggle_active(user_id):
    """Deactivate or reactivate an account (a one-button POST form)."""
    user = db.session.get(User, user_id) or abort(404)
    form = ActivationForm()
    if not form.validate_on_submit():
        abort(400)
    wanted = form.active.data == "1"
    try:
        set_active(user, wanted, current_user)
    except AccountError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(f"{user.email} is {'active' if wanted else 'deactivated'}.", "success")
    return redirect(url_for("admin.users"))
