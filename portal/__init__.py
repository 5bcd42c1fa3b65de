"""The member video portal: the application factory."""

import logging
import os

from flask import Flask

from config import config_from_env

BASE_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir))


def create_app(config_class=None, overrides=None):
    """Build the portal app: configuration, extensions, blueprints, errors, commands."""
    config_class = config_class or config_from_env()
    configure_logging(config_class.LOG_LEVEL)
    app = Flask(
        __name__,
        template_folder=os.path.join(BASE_DIR, "templates"),
        static_folder=os.path.join(BASE_DIR, "static"),
        instance_path=config_class.INSTANCE_DIR,
    )
    app.config.from_object(config_class)
    app.config.update(overrides or {})
    load_stream_settings(app)
    check_settings(app, config_class)
    register_extensions(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_commands(app)
    return app


def load_stream_settings(app):
    """Merge the `flask stream setup --save` file into app.config (the one overlay) and register the
    lazily-built Stream client, before the settings are checked."""
    from portal.services import stream

    stream.init_app(app)


def check_settings(app, config_class):
    """Refuse to start when the environment lacks what this configuration needs.

    A malformed CLOUDFLARE_STREAM_SIGNING_KEY stops production; elsewhere it is logged as an error
    at start-up and the portal runs on (the webhook and `flask stream setup` still work).
    """
    from portal.services.stream.settings import signing_key_problem

    missing = config_class.problems(app.config)
    bad_key = signing_key_problem(app.config)
    if bad_key and config_class.ENV_NAME == "production":
        missing.append(bad_key)
    elif bad_key:
        logging.getLogger(__name__).error("Stream settings: %s", bad_key)
    if missing:
        raise RuntimeError(f"{config_class.ENV_NAME} configuration is incomplete; set: " + ", ".join(missing))


def configure_logging(level):
    """Log to stderr with timestamps, at LOG_LEVEL (before the app exists, as the factory's first step)."""
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=level,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def register_extensions(app):
    """Bind the unbound extensions and the per-app clients (Redis, queues; Stream is in load_stream_settings)."""
    from portal import page_links, redis_runtime, security
    from portal.auth import session as auth_session
    from portal.extensions import csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(BASE_DIR, "migrations"), render_as_batch=True)
    csrf.init_app(app)
    auth_session.init_app(login_manager, app)
    redis_runtime.init_app(app)
    limiter.init_app(app)
    security.init_app(app)
    page_links.init_app(app)


def register_blueprints(app):
    """Mount the blueprints."""
    from portal.account import bp as account_bp
    from portal.admin import bp as admin_bp
    from portal.analytics import bp as analytics_bp
    from portal.api import bp as api_bp
    from portal.auth import bp as auth_bp
    from portal.library import bp as library_bp
    from portal.notifications import bp as notifications_bp
    from portal.studio import bp as studio_bp
    from portal.webhooks import bp as webhooks_bp

    app.register_blueprint(library_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(account_bp)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(api_bp, url_prefix="/api")
    app.register_blueprint(webhooks_bp)
    app.register_blueprint(studio_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(analytics_bp)


def register_error_handlers(app):
    """Friendly error pages and JSON errors under /api."""
    from portal.errors import register_error_handlers as register

    register(app)
    from portal import body_limits

    body_limits.init_app(app)


def register_commands(app):
    """The `flask` CLI commands."""
    from portal.commands import register

    register(app)
