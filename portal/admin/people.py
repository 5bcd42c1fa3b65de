"""Operations on accounts: search, create, change, deactivate (flush, never commit)."""

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import aliased

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


def _lock_active_admins():
    """Lock the active admins' rows until the transaction ends (PostgreSQL; SQLite ignores it).

    Under PostgreSQL's READ COMMITTED, two admins demoting each other would each still see the other
    as an admin; with the rows locked, the second waits for the first and then sees its change.
    """
    db.session.execute(
        select(User.id).where(User.role == Role.ADMIN, User.active.is_(True)).with_for_update()
    )


def _change_admin_if_another_remains(user, **values):
    """Change an active admin's row in ONE statement that also checks another active admin remains.

    The check and the change are one UPDATE, so no other transaction can slip between them: SQLite
    runs one writer at a time and evaluates the condition when it has the lock. Returns False (and
    changes nothing) when `user` is the last active admin.
    """
    _lock_active_admins()
    other = aliased(User)
    others = (
        select(func.count())
        .select_from(other)
        .where(other.role == Role.ADMIN, other.active.is_(True), other.id != user.id)
        .scalar_subquery()
    )
    result = db.session.execute(
        update(User).where(User.id == user.id, others >= 1).values(**values),
        execution_options={"synchronize_session": "fetch"},
    )
    return result.rowcount == 1


def update_user(user, name, role, tier, new_password=None):
    """Change name, role, tier and optionally the password (which ends the person's sessions and
    tokens); the last active admin keeps the admin role."""
    role, tier = Role(role), Tier(tier)
    try:
        name = check_display_name(name)
    except InvalidIdentity as error:
        raise AccountError(str(error)) from None
    if user.role == Role.ADMIN and role != Role.ADMIN and user.active:
        if not _change_admin_if_another_remains(user, role=role):
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
    if not active and user.role == Role.ADMIN and user.active:
        if not _change_admin_if_another_remains(user, active=False):
            raise AccountError("The last active admin cannot be deactivated.")
        user.session_version += 1
    elif user.active != active:
        user.active = active
        user.session_version += 1
    db.session.flush()
    return user
