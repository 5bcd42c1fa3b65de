"""Accounts: people who sign in, with a role and a membership tier."""

import unicodedata
from datetime import datetime

from flask import current_app, has_app_context
from flask_login import UserMixin
from sqlalchemy import Boolean, DateTime, String, select, true
from sqlalchemy.orm import Mapped, mapped_column, validates
from werkzeug.security import check_password_hash, generate_password_hash

from portal.extensions import db
from portal.models.base import utcnow
from portal.models.enums import Role, Tier, enum_column

# users.id is an INTEGER column: ids from tokens and cookies outside 1..2^31-1 name nobody, and would be
# a database error (an overflow) if they reached the query.
MAX_USER_ID = 2**31 - 1


def parse_user_id(value):
    """The user id a token or session names, as an int in 1..MAX_USER_ID, or None."""
    text = str(value)
    if not text.isascii() or not text.isdigit() or len(text) > 10:
        return None
    user_id = int(text)
    return user_id if 1 <= user_id <= MAX_USER_ID else None


def normalize_email(email):
    """Emails compare case-insensitively and by their NFC form (a composed and a decomposed "é" are
    one address): trimmed, NFC, lower-cased. New accounts store portal.services.identity's form."""
    return unicodedata.normalize("NFC", (email or "").strip()).lower()


class User(UserMixin, db.Model):
    """A person with an account on the portal."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[Role] = mapped_column(enum_column(Role, "user_role"), default=Role.MEMBER, index=True)
    tier: Mapped[Tier] = mapped_column(enum_column(Tier, "user_tier"), default=Tier.FREE, index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    session_version: Mapped[int] = mapped_column(default=1)
    email_notifications: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    @validates("email")
    def _normalize_email(self, key, value):
        return normalize_email(value)

    def set_password(self, password, method=None):
        """Store a salted hash of the password, never the password (PASSWORD_HASH_METHOD, if set)."""
        method = method or (current_app.config.get("PASSWORD_HASH_METHOD") if has_app_context() else None)
        kwargs = {"method": method} if method else {}
        self.password_hash = generate_password_hash(password, **kwargs)

    def replace_password(self, password):
        """A new password, set by its owner or an admin: every other session and token ends."""
        self.set_password(password)
        self.session_version += 1

    def check_password(self, password):
        """True when the password matches the stored hash."""
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self):
        """Deactivated accounts cannot sign in (flask-login reads this)."""
        return self.active

    def get_id(self):
        """Session identity: the id plus a version, so a deactivation ends old sessions."""
        return f"{self.id}:{self.session_version}"

    @property
    def is_admin(self):
        return self.role == Role.ADMIN

    @property
    def is_staff(self):
        """Admins and instructors see and manage every video."""
        return self.role in (Role.ADMIN, Role.INSTRUCTOR)

    @classmethod
    def by_email(cls, email):
        """The account with this email, compared case-insensitively, or None."""
        # Emails are stored normalised (see _normalize_email), so plain equality uses the unique index.
        return db.session.scalar(select(cls).where(cls.email == normalize_email(email)))

    def __repr__(self):
        return f"<User {self.id} {self.email} {self.role.value}/{self.tier.value}>"
