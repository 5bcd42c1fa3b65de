"""`flask stream setup` and `flask stream status` against the emulator, in a minimal Flask app."""

import json
import os
import stat
from pathlib import Path

import pytest
import requests
from flask import Flask

from portal.commands.stream import stream_cli
from portal.services.stream import get_client, init_app
from portal.webhooks import bp as webhooks_bp


@pytest.fixture
def app(emulator, tmp_path):
    """A bare Flask app with the Stream client and CLI registered, pointed at the emulator."""
    app = Flask(__name__)
    app.config.update(
        TESTING=True,
        STREAM_BACKEND="emulator",
        CLOUDFLARE_API_BASE=emulator.api_base,
        STREAM_CUSTOMER_BASE_URL=emulator.url,
        STREAM_SETTINGS_FILE=str(tmp_path / "stream.json"),
        PORTAL_BASE_URL="http://portal.test",
    )
    init_app(app)
    app.register_blueprint(webhooks_bp)  # the setup command builds the webhook URL from the route
    app.cli.add_command(stream_cli)
    return app


def test_setup_prints_and_saves_settings_that_then_sign_playable_urls(app, sample_video):
    path = app.config["STREAM_SETTINGS_FILE"]
    result = app.test_cli_runner().invoke(args=["stream", "setup", "--save", path])
    assert result.exit_code == 0, result.output
    printed = dict(line.split("=", 1) for line in result.output.splitlines() if not line.startswith("#"))
    assert set(printed) == {
        "CLOUDFLARE_STREAM_SIGNING_KEY_ID",
        "CLOUDFLARE_STREAM_SIGNING_KEY",
        "CLOUDFLARE_STREAM_WEBHOOK_SECRET",
    }
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    saved = json.loads(Path(path).read_text(encoding="utf-8"))
    assert {k: saved[k] for k in printed} == printed

    stream = get_client(app)
    assert stream.signing_key_id == printed["CLOUDFLARE_STREAM_SIGNING_KEY_ID"]
    assert stream.webhook_secret == printed["CLOUDFLARE_STREAM_WEBHOOK_SECRET"]
    assert stream.get_webhook()["notificationUrl"] == "http://portal.test/api/webhooks/cloudflare/stream"
    uid = stream.upload_video(sample_video, {"title": "CLI", "require_signed_urls": True})["uid"]
    assert requests.get(stream.generate_signed_url(uid, expiry_seconds=300), timeout=10).status_code == 200


def test_setup_with_explicit_webhook_url_and_status(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["stream", "setup", "--webhook-url", "http://hooks.test/cf"]).exit_code == 0
    status = runner.invoke(args=["stream", "status"])
    assert status.exit_code == 0, status.output
    assert "Signing keys (1):" in status.output and "Webhook: http://hooks.test/cf" in status.output
    assert "no signing key configured" in status.output


def test_status_reports_a_missing_emulator_cleanly(tmp_path):
    app = Flask(__name__)
    app.config.update(CLOUDFLARE_API_BASE="http://127.0.0.1:9/client/v4", STREAM_MAX_RETRIES=0)
    init_app(app)
    app.cli.add_command(stream_cli)
    result = app.test_cli_runner().invoke(args=["stream", "status"])
    assert result.exit_code == 1 and "Error:" in result.output and "Traceback" not in result.output
