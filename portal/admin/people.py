"""Operations on accounts: search, create, change, deactivate (flush, never commit)."""

from sqlalchemy import func, or_, select

from portal.auth.passwords import WeakPassword, check_new_password
from portal.extensions import db
from portal.models import Role, Tier, User
from portal.services.identity import InvalidIdentity, canonical_email, check_display_name


class AccountError(ValueError):
    """A change to an account that cannot be made, with a message for the admin."""


def search_users(query="", page=1, per_page=25):
    """Accounts matching a name or email fragment, newest first, one page; returns (users, total)."""
    stmt = select(User)
    query = query.strip().lower()
    if query:
        stmt = stmt.where(
            or_(
                func.lower(User.email).contains(query, autoescape=True),
                func.lower(User.name).contains(query, autoescape=True),
            )
        )
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    users = db.session.scalars(
        stmt.order_by(User.created_at.desc(), User.id.desc()).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return users, total


def create_user(email, password, role=Role.MEMBER, tier=Tier.FREE, name="", password_policy=True):
    """A new active account; AccountError when the email is taken or the password too weak.

    Only `flask seed-demo` passes password_policy=False, for its demo accounts in development.
    """
    try:
        email, name = canonical_email(email), check_display_name(name)
        if password_policy:
            check_new_password(password, email=email, name=name)
    except (InvalidIdentity, WeakPassword) as error:
        raise AccountError(str(error)) from None
    if User.by_email(email) is not None:
        raise AccountError(f"An account with {email} already exists.")
    user = User(email=email, name=name, role=Role(role), tier=Tier(tier), active=True)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def active_admin_count():
    """How many active admins there are, locking their rows (PostgreSQL) until the transaction ends,
    so two admins demoting each other at once cannot both see "another admin remains"."""
    admins = db.session.scalars(
        select(User.id).where(User.role == Role.ADMIN, User.active.is_(True)).with_for_update()
    ).all()
    return len(admins)


def update_user(user, name, role, tier, new_password=None):
    """Change name, role, tier and optionally the password (which ends the person's sessions and
    tokens); the last active admin keeps the admin role."""
    role, tier = Role(role), Tier(tier)
    try:
        name = check_display_name(name)
    except InvalidIdentity as error:
        raise AccountError(str(error)) from None
    if user.role == Role.ADMIN and role != Role.ADMIN and user.active and active_admin_count() <= 1:
        raise AccountError("The last active admin cannot lose the admin role.")
    if new_password:
        try:
            check_new_password(new_password, email=user.email, name=name, current=user)
        except WeakPassword as error:
            raise AccountError(str(error)) from None
    user.name, user.role, user.tier = name, role, tier
    if new_password:
        user.replace_password(new_password)
    db.session.flush()
    return user


def set_active(user, active, acting_user):
    """Deactivate (ending every session and token) or reactivate an account."""
    if not active and user.id == acting_user.id:
        raise AccountError("You cannot deactivate your own account.")
    if not active and user.role == Role.ADMIN and user.active and active_admin_count() <= 1:
        raise AccountError("The last active admin cannot be deactivated.")
    if user.active != active:
        user.active = active
        user.session_version += 1
    db.session.flush()
    return user
