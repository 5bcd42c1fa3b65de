"""The last active admin stays: two admins demoting (or deactivating) each other at the same moment
cannot leave none, on a file SQLite where FOR UPDATE does nothing."""

import threading

import pytest
from sqlalchemy import event, func, select

from portal.admin.people import AccountError, set_active, update_user
from portal.extensions import db
from portal.models import Role, Tier, User


@pytest.fixture
def two_admins(app_factory, tmp_path):
    """An app on a file SQLite (shared by threads) with two active admins; returns (app, ids)."""
    app = app_factory(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'race.db'}")
    with app.app_context():
        admins = [User(email=f"admin{n}@example.org", role=Role.ADMIN, tier=Tier.LIFETIME) for n in (1, 2)]
        for admin in admins:
            admin.set_password("x", method="pbkdf2:sha256:1000")
        db.session.add_all(admins)
        db.session.commit()
        return app, [admin.id for admin in admins]


def race(app, change):
    """Run change(target, actor) in two threads, admin 1 on admin 2 and admin 2 on admin 1, each
    thread's checks done before either writes (a barrier before each thread's first UPDATE)."""
    barrier = threading.Barrier(2, timeout=10)
    local = threading.local()
    results = []

    def before_update(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE USERS") and not getattr(local, "waited", False):
            local.waited = True
            barrier.wait()

    def run(target_id, actor_id):
        with app.app_context():
            try:
                change(db.session.get(User, target_id), db.session.get(User, actor_id))
                db.session.commit()
                results.append("changed")
            except AccountError:
                db.session.rollback()
                results.append("refused")
            finally:
                db.session.remove()

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", before_update)
    try:
        threads = [threading.Thread(target=run, args=pair) for pair in ((2, 1), (1, 2))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        event.remove(engine, "before_cursor_execute", before_update)
    return sorted(results)


def active_admins(app):
    with app.app_context():
        return db.session.scalar(
            select(func.count()).select_from(User).where(User.role == Role.ADMIN, User.active.is_(True))
        )


def test_two_admins_demoting_each_other_at_once_leave_one(two_admins):
    app, _ = two_admins
    results = race(app, lambda target, actor: update_user(target, target.name, Role.MEMBER, target.tier))
    assert results == ["changed", "refused"]
    assert active_admins(app) == 1


def test_two_admins_deactivating_each_other_at_once_leave_one(two_admins):
    app, _ = two_admins
    results = race(app, lambda target, actor: set_active(target, False, actor))
    assert results == ["changed", "refused"]
    assert active_admins(app) == 1


@pytest.mark.parametrize("url", ["sqlite:////srv/portal.db", "sqlite://", "SQLite:///x.db"])
def test_production_refuses_a_sqlite_database(url):
    from config import ProductionConfig
    from tests.test_config import production_settings

    problems = ProductionConfig.problems(production_settings(DATABASE_URL=url))
    assert problems == ["DATABASE_URL (PostgreSQL: production refuses SQLite)"]
