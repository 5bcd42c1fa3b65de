"""Failed sign-in attempts at an account: recorded for its owner, shown on their account page."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select

from portal.extensions import db
from portal.models import SignInAttempt

KEEP_FOR = timedelta(days=30)


def record_failed_sign_in(user, source_address, user_agent):
    """Record a wrong password for `user` (flush); attempts older than 30 days are dropped."""
    db.session.execute(
        delete(SignInAttempt).where(
            SignInAttempt.user_id == user.id, SignInAttempt.attempted_at < datetime.now(UTC) - KEEP_FOR
        )
    )
    attempt = SignInAttempt(
        user_id=user.id,
        source_address=(source_address or "")[:64],
        user_agent=(user_agent or "").encode("utf-8", "replace").decode("utf-8")[:200],
    )
    db.session.add(attempt)
    db.session.flush()
    return attempt


def recent_failed_sign_ins(user, limit=10):
    """The account's latest failed sign-ins of the last 30 days, newest first."""
    return db.session.scalars(
        select(SignInAttempt)
        .where(SignInAttempt.user_id == user.id, SignInAttempt.attempted_at >= datetime.now(UTC) - KEEP_FOR)
        .order_by(SignInAttempt.attempted_at.desc(), SignInAttempt.id.desc())
        .limit(limit)
    ).all()
