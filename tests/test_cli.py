"""The `flask` commands: create-user, seed-demo (never in production), db upgrade."""

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select

from config import ProductionConfig, TestConfig
from portal import create_app
from portal.commands.accounts import DEMO_ACCOUNTS, DEMO_PASSWORD
from portal.extensions import db
from portal.models import Role, Tier, User
from portal.redis_runtime import limiter_storage_uri
from tests.test_config import production_settings
from tests.test_migrations import MODEL_TABLES, keep_logging  # noqa: F401


def user_count():
    return db.session.scalar(select(func.count()).select_from(User))


# --- create-user ----------------------------------------------------------------------------------


def test_create_user_stores_an_account(runner):
    result = runner.invoke(
        args=[
            "create-user",
            "--email",
            "Ida@Example.org",
            "--password",
            "a-long-password",
            "--role",
            "instructor",
            "--tier",
            "premium",
            "--name",
            "Ida",
        ]
    )
    assert result.exit_code == 0, result.output
    assert result.output == "Created ida@example.org (instructor, premium).\n"
    user = User.by_email("ida@example.org")
    assert (user.name, user.role, user.tier, user.active) == ("Ida", Role.INSTRUCTOR, Tier.PREMIUM, True)
    assert user.check_password("a-long-password") and "a-long-password" not in user.password_hash


def test_create_user_defaults_to_a_free_member_and_prompts_for_the_password(runner):
    result = runner.invoke(
        args=["create-user", "--email", "m@example.org"], input="a-long-password\na-long-password\n"
    )
    assert result.exit_code == 0, result.output
    assert "a-long-password" not in result.output  # the prompt hides what is typed
    user = User.by_email("m@example.org")
    assert (user.role, user.tier) == (Role.MEMBER, Tier.FREE)
    assert user.check_password("a-long-password")


def test_create_user_refuses_a_taken_email_whatever_its_case(runner, make_user):
    make_user(email="taken@example.org")
    result = runner.invoke(
        args=["create-user", "--email", "TAKEN@example.org", "--password", "a-long-password"]
    )
    assert result.exit_code == 1
    assert "An account with taken@example.org already exists." in result.output
    assert user_count() == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (["--email", "s@example.org", "--password", "short"], "Use 10 to 256 characters"),
        (
            ["--email", "s@example.org", "--password", "a-long-password", "--role", "owner"],
            "'owner' is not one of",
        ),
        (
            ["--email", "s@example.org", "--password", "a-long-password", "--tier", "gold"],
            "'gold' is not one of",
        ),
        (["--password", "a-long-password"], "Missing option '--email'"),
        (["--email", "", "--password", "a-long-password"], "not a valid email address"),
        (["--email", "   ", "--password", "a-long-password"], "not a valid email address"),
        (["--email", "no-at-sign", "--password", "a-long-password"], "not a valid email address"),
        (["--email", "a@b@example.org", "--password", "a-long-password"], "not a valid email address"),
    ],
)
def test_create_user_refuses_bad_input_and_stores_nothing(runner, args, message):
    result = runner.invoke(args=["create-user", *args])
    assert result.exit_code in (1, 2)
    assert message in result.output
    assert user_count() == 0


# --- seed-demo ------------------------------------------------------------------------------------


def test_seed_demo_creates_one_account_per_role_and_tier(app, runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert f"Demo accounts ready (password {DEMO_PASSWORD}):" in result.output
    stored = {u.email: (u.role, u.tier) for u in db.session.scalars(select(User))}
    assert stored == {email: (role, tier) for email, _, role, tier in DEMO_ACCOUNTS}
    assert {role for role, _ in stored.values()} == set(Role)
    assert {tier for role, tier in stored.values() if role == Role.MEMBER} == set(Tier)
    for email in stored:
        assert email in result.output
        assert User.by_email(email).check_password(DEMO_PASSWORD)


def test_seed_demo_twice_restores_the_demo_accounts(runner):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    admin = User.by_email("admin@example.org")
    admin.role, admin.active = Role.MEMBER, False
    admin.set_password("changed-password", method="pbkdf2:sha256:1000")
    db.session.commit()
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    db.session.expire_all()
    admin = User.by_email("admin@example.org")
    assert (admin.role, admin.active) == (Role.ADMIN, True)
    assert admin.check_password(DEMO_PASSWORD)
    assert user_count() == len(DEMO_ACCOUNTS)


def test_seed_demo_accounts_sign_in(app, runner):
    runner.invoke(args=["seed-demo"])
    client = app.test_client()
    response = client.post(
        "/api/auth/login", json={"email": "premium@example.org", "password": DEMO_PASSWORD}
    )
    assert response.status_code == 200


def test_seed_demo_refuses_in_production(redis_url):
    app = create_app(
        ProductionConfig,
        overrides=production_settings(redis_url, RATELIMIT_STORAGE_URI=limiter_storage_uri(redis_url)),
    )
    with app.app_context():
        db.create_all()
        try:
            result = app.test_cli_runner().invoke(args=["seed-demo"])
            assert result.exit_code == 1
            assert "seed-demo refuses to run in production." in result.output
            assert user_count() == 0
        finally:
            db.session.remove()
            db.drop_all()
            db.engine.dispose()


# --- db upgrade -----------------------------------------------------------------------------------


def test_flask_db_upgrade_builds_the_schema(tmp_path, redis_url, keep_logging):  # noqa: F811
    app = create_app(
        TestConfig,
        overrides={
            "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(tmp_path / "cli.db"),
            "REDIS_URL": redis_url,
            "RATELIMIT_STORAGE_URI": limiter_storage_uri(redis_url),
        },
    )
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert MODEL_TABLES <= set(inspect(db.engine).get_table_names())
        with db.engine.connect() as connection:
            head = ScriptDirectory.from_config(
                app.extensions["migrate"].migrate.get_config()
            ).get_current_head()
            assert connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == head
        db.engine.dispose()


def test_stream_reconcile_is_a_flask_command(runner):
    result = runner.invoke(args=["stream-reconcile"])
    assert result.exit_code == 0, result.output


def test_stream_reconcile_is_in_the_stream_group_and_the_old_name_is_a_hidden_alias(runner):
    result = runner.invoke(args=["stream", "reconcile", "--older-than", "30"])
    assert result.exit_code == 0, result.output
    assert "Deliveries: 0 enqueued" in result.output
    listed = runner.invoke(args=["--help"]).output
    assert "stream-reconcile" not in listed and "stream" in listed
    group = runner.invoke(args=["stream", "--help"]).output
    assert all(name in group for name in ("setup", "status", "reconcile"))
    assert "deprecated" in runner.invoke(args=["stream-reconcile"]).output.lower()
