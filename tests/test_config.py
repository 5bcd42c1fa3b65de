"""Configuration: production refuses to start without what it needs, and says what is missing."""

import base64
import logging

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from config import (
    DEFAULT_SECRET_KEY,
    DevelopmentConfig,
    ProductionConfig,
    TestConfig,
    config_from_env,
    database_url,
)
from portal import create_app

SIGNING_KEY_PEM_B64 = base64.b64encode(
    rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
).decode()  # the base64 PEM exactly as Stream's /stream/keys returns it

CLOUDFLARE_SETTINGS = {
    "CLOUDFLARE_ACCOUNT_ID": "0123456789abcdef0123456789abcdef",
    "CLOUDFLARE_STREAM_API_TOKEN": "cf-api-token",
    "CLOUDFLARE_STREAM_CUSTOMER_CODE": "abc123xyz",
    "CLOUDFLARE_STREAM_SIGNING_KEY_ID": "signing-key-id",
    "CLOUDFLARE_STREAM_SIGNING_KEY": SIGNING_KEY_PEM_B64,
    "CLOUDFLARE_STREAM_WEBHOOK_SECRET": "webhook-secret",
}


def production_settings(redis_url="redis://127.0.0.1:6379/0", **changes):
    """Everything production needs, pointing at throwaway resources; `changes` override (None removes)."""
    settings = {
        "SECRET_KEY": "a-production-secret-key-that-is-long-and-random-0123456789",
        "DATABASE_URL": "postgresql://portal@db.internal/portal",
        "SQLALCHEMY_DATABASE_URI": "sqlite://",
        "REDIS_URL": redis_url,
        "PORTAL_BASE_URL": "https://videos.example.org",
        "STREAM_BACKEND": "cloudflare",
        **CLOUDFLARE_SETTINGS,
    }
    settings.update(changes)
    return settings


def test_complete_production_settings_have_no_problems():
    assert ProductionConfig.problems(production_settings()) == []


@pytest.mark.parametrize("secret", [None, "", DEFAULT_SECRET_KEY, "short-secret"])
def test_production_names_a_missing_default_or_short_secret_key(secret):
    problems = ProductionConfig.problems(production_settings(SECRET_KEY=secret))
    assert len(problems) == 1
    assert problems[0].startswith("SECRET_KEY")


@pytest.mark.parametrize("name", ["DATABASE_URL", "REDIS_URL", *CLOUDFLARE_SETTINGS])
@pytest.mark.parametrize("value", [None, ""])
def test_production_names_each_missing_setting(name, value):
    assert ProductionConfig.problems(production_settings(**{name: value})) == [name]


def test_cloudflare_settings_are_not_needed_with_the_emulator_backend():
    settings = production_settings(STREAM_BACKEND="emulator", **{name: None for name in CLOUDFLARE_SETTINGS})
    assert ProductionConfig.problems(settings) == []


def test_production_lists_everything_missing_at_once():
    problems = ProductionConfig.problems({"STREAM_BACKEND": "cloudflare"})
    assert [p.split(" ")[0] for p in problems] == [
        "SECRET_KEY",
        "DATABASE_URL",
        "REDIS_URL",
        "PORTAL_BASE_URL",
        *CLOUDFLARE_SETTINGS,
    ]


@pytest.mark.parametrize("base_url", [None, "", "http://127.0.0.1:5000", "http://videos.example.org"])
def test_production_needs_a_public_https_base_url_for_the_stream_webhook(base_url):
    problems = ProductionConfig.problems(production_settings(PORTAL_BASE_URL=base_url))
    assert len(problems) == 1 and problems[0].startswith("PORTAL_BASE_URL")


def test_create_app_refuses_to_start_production_with_a_message_naming_what_is_missing():
    overrides = production_settings(
        SECRET_KEY=DEFAULT_SECRET_KEY, REDIS_URL=None, CLOUDFLARE_STREAM_WEBHOOK_SECRET=""
    )
    with pytest.raises(RuntimeError) as excinfo:
        create_app(ProductionConfig, overrides=overrides)
    message = str(excinfo.value)
    assert message.startswith("production configuration is incomplete")
    for name in ("SECRET_KEY", "REDIS_URL", "CLOUDFLARE_STREAM_WEBHOOK_SECRET"):
        assert name in message
    assert "DATABASE_URL" not in message


def test_create_app_refuses_production_without_database_url():
    with pytest.raises(RuntimeError, match="set: DATABASE_URL$"):
        create_app(ProductionConfig, overrides=production_settings(DATABASE_URL=None))


def test_production_starts_with_everything_set_and_secures_cookies(redis_url):
    app = create_app(ProductionConfig, overrides=production_settings(redis_url))
    assert app.config["ENV_NAME"] == "production"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    assert app.config["HSTS_ENABLED"] is True
    assert app.config["PREFERRED_URL_SCHEME"] == "https"
    assert not app.debug and not app.testing


@pytest.mark.parametrize("config_class", [DevelopmentConfig, TestConfig])
def test_development_and_test_need_nothing_from_the_environment(config_class):
    assert config_class.problems({}) == []


def test_session_lifetimes_fit_the_security_targets():
    for config_class in (DevelopmentConfig, TestConfig, ProductionConfig):
        assert config_class.PERMANENT_SESSION_LIFETIME.total_seconds() <= 12 * 3600
        assert config_class.REMEMBER_COOKIE_DURATION.days <= 30
        assert config_class.SESSION_COOKIE_HTTPONLY and config_class.REMEMBER_COOKIE_HTTPONLY
        assert config_class.SESSION_COOKIE_SAMESITE == config_class.REMEMBER_COOKIE_SAMESITE == "Lax"


@pytest.mark.parametrize(
    "url, expected",
    [
        ("postgres://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
        ("postgresql://u:p@h:5432/db", "postgresql+psycopg://u:p@h:5432/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:////tmp/portal.db", "sqlite:////tmp/portal.db"),
    ],
)
def test_database_url_uses_the_psycopg3_driver_for_postgresql(url, expected):
    assert database_url(url) == expected


@pytest.mark.parametrize(
    "name, expected",
    [
        (None, DevelopmentConfig),
        ("development", DevelopmentConfig),
        ("test", TestConfig),
        ("production", ProductionConfig),
    ],
)
def test_portal_env_picks_the_configuration(monkeypatch, name, expected):
    if name is None:
        monkeypatch.delenv("PORTAL_ENV", raising=False)
    else:
        monkeypatch.setenv("PORTAL_ENV", name)
    assert config_from_env() is expected


def test_test_config_keeps_csrf_on(app):
    assert app.config["WTF_CSRF_ENABLED"] is not False
    assert app.config["TESTING"] is True


# -- a malformed signing key is reported at start-up, naming the setting ----------------------------


def test_production_refuses_to_start_with_a_malformed_signing_key(redis_url):
    settings = production_settings(redis_url, CLOUDFLARE_STREAM_SIGNING_KEY="not-a-pem")
    with pytest.raises(RuntimeError, match="CLOUDFLARE_STREAM_SIGNING_KEY is malformed"):
        create_app(ProductionConfig, overrides=settings)


def test_development_logs_a_malformed_signing_key_at_start_up_and_runs(app_factory, caplog):
    with caplog.at_level(logging.ERROR, logger="portal"):
        app = app_factory(CLOUDFLARE_STREAM_SIGNING_KEY="not-a-pem", CLOUDFLARE_STREAM_SIGNING_KEY_ID="kid")
    assert app is not None
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "CLOUDFLARE_STREAM_SIGNING_KEY is malformed" in errors[0]
