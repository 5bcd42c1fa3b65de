"""Migrations: an empty database upgrades to head, and the schema it gets is exactly the models'."""

import logging
import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text

from config import TestConfig, database_url
from portal import create_app
from portal.extensions import db
from portal.redis_runtime import limiter_storage_uri

MODEL_TABLES = {
    "users",
    "media_assets",
    "media_tags",
    "captions",
    "training_sessions",
    "events",
    "webhook_deliveries",
    "sign_in_attempts",
    "watch_progress",
    "daily_views",
    "notifications",
}


@pytest.fixture
def keep_logging():
    """Undo what the migration environment's `fileConfig` does to logging in this process.

    migrations/env.py calls `logging.config.fileConfig`, which replaces the root handlers and disables
    every logger that already exists; harmless in its own `flask db upgrade` process, but in the test
    process it would silence the portal's loggers for the tests that run afterwards.
    """
    manager = logging.Logger.manager
    root = logging.getLogger()
    saved_root = (root.level, root.handlers[:])
    saved = {
        name: (lg.disabled, lg.level, lg.handlers[:], lg.propagate)
        for name, lg in manager.loggerDict.items()
        if isinstance(lg, logging.Logger)
    }
    yield
    root.setLevel(saved_root[0])
    root.handlers[:] = saved_root[1]
    for name, lg in list(manager.loggerDict.items()):
        if not isinstance(lg, logging.Logger):
            continue
        if name in saved:
            lg.disabled, lg.level, lg.handlers[:], lg.propagate = saved[name]
        else:
            lg.disabled = False


@pytest.fixture
def empty_database(tmp_path):
    """(URL, engine options) of an empty database: a fresh schema on TEST_DATABASE_URL's PostgreSQL
    server when it names one (CI's second run), else a new SQLite file."""
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql")):
        yield "sqlite:///" + str(tmp_path / "migrated.db"), {}
        return
    url = database_url(url)
    schema = f"migration_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield url, {"connect_args": {"options": f"-csearch_path={schema}"}}
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def migration_app(empty_database, redis_url, keep_logging):
    """The portal on the empty database, without `create_all`: only migrations build its schema."""
    url, engine_options = empty_database
    app = create_app(
        TestConfig,
        overrides={
            "SQLALCHEMY_DATABASE_URI": url,
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, **engine_options},
            "REDIS_URL": redis_url,
            "RATELIMIT_STORAGE_URI": limiter_storage_uri(redis_url),
        },
    )
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def schema_differences():
    """What alembic's autogenerate would change to make the database match the models."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def head_revision(app):
    return ScriptDirectory(os.path.join(app.root_path, os.pardir, "migrations")).get_current_head()


def test_empty_database_upgrades_to_head_and_matches_the_models(migration_app):
    assert MODEL_TABLES.isdisjoint(inspect(db.engine).get_table_names())
    upgrade()
    assert MODEL_TABLES <= set(inspect(db.engine).get_table_names())
    with db.engine.connect() as connection:
        assert connection.scalar(text("SELECT version_num FROM alembic_version")) == head_revision(
            migration_app
        )
    assert schema_differences() == []


def test_migrations_have_a_single_head(migration_app):
    script = ScriptDirectory(os.path.join(migration_app.root_path, os.pardir, "migrations"))
    assert len(script.get_heads()) == 1


def test_downgrade_to_base_and_upgrade_again(migration_app):
    upgrade()
    downgrade(revision="base")
    assert MODEL_TABLES.isdisjoint(inspect(db.engine).get_table_names())
    upgrade()
    assert schema_differences() == []


def test_the_migrated_schema_holds_what_the_models_write(migration_app):
    from portal.models import Caption, MediaAsset, Role, Tier, User

    upgrade()
    user = User(email="Migrated@Example.org", role=Role.ADMIN, tier=Tier.LIFETIME)
    user.set_password("a-long-password", method="pbkdf2:sha256:1000")
    asset = MediaAsset(title="Kata", created_by=None)
    asset.tags = ["kata"]
    db.session.add_all([user, asset])
    db.session.flush()
    db.session.add(Caption(asset_id=asset.id, language="en", label="English"))
    db.session.commit()
    assert User.by_email("migrated@example.org").role is Role.ADMIN
    assert db.session.get(MediaAsset, asset.id).caption_languages == ["en"]


def test_the_comparison_notices_a_schema_that_drifted(migration_app):
    # Proves the empty diff above means something: a missing index and column are reported.
    upgrade()
    with db.engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_users_role"))
        connection.execute(text("ALTER TABLE events DROP COLUMN location"))
    kinds = {(diff[0], diff[-1].name) for diff in schema_differences() if isinstance(diff, tuple)}
    assert ("add_index", "ix_users_role") in kinds
    assert ("add_column", "location") in kinds
