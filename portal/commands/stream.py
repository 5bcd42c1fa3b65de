"""`flask stream`: create a signing key and subscribe the webhook; show what Stream has configured."""

import click
from flask import current_app
from flask.cli import AppGroup

from portal.services.stream import StreamError
from portal.services.stream.settings import write_settings_file

WEBHOOK_PATH = "/api/webhooks/cloudflare/stream"
DEFAULT_PORTAL_BASE = "http://127.0.0.1:5000"

stream_cli = AppGroup("stream", help="Cloudflare Stream setup and status.")


def _extension():
    """The app's lazily-built Stream client (registered by portal.services.stream.init_app)."""
    ext = current_app.extensions.get("stream")
    if ext is None:
        raise click.ClickException("the Stream client is not registered (call init_app)")
    return ext


def default_webhook_url():
    """`<PORTAL_BASE_URL>/api/webhooks/cloudflare/stream`."""
    base = current_app.config.get("PORTAL_BASE_URL") or DEFAULT_PORTAL_BASE
    return base.rstrip("/") + WEBHOOK_PATH


@stream_cli.command("setup")
@click.option("--webhook-url", default=None, help="Where Stream posts webhooks (default: the portal's).")
@click.option(
    "--save",
    "save_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="Also write the settings to this JSON file (mode 0600).",
)
def setup_command(webhook_url, save_path):
    """Create a signing key, subscribe the webhook, and print the settings to keep."""
    ext = _extension()
    try:
        client = ext.client
        key = client.create_signing_key()
        secret = client.set_webhook(webhook_url or default_webhook_url())
    except (StreamError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    settings = {
        "CLOUDFLARE_STREAM_SIGNING_KEY_ID": key["id"],
        "CLOUDFLARE_STREAM_SIGNING_KEY": key["pem"],
        "CLOUDFLARE_STREAM_WEBHOOK_SECRET": secret,
    }
    click.echo("# Keep these as environment variables (they are shown only once):")
    for name, value in settings.items():
        click.echo(f"{name}={value}")
    if save_path:
        write_settings_file(
            save_path,
            {**settings, "CLOUDFLARE_API_BASE": client.api_base, "CLOUDFLARE_ACCOUNT_ID": client.account_id},
        )
        click.echo(f"# Saved to {save_path} (mode 0600).")
    ext.reset()


@stream_cli.command("status")
def status_command():
    """List the signing keys and the webhook subscription of the configured Stream account."""
    try:
        client = _extension().client
        keys = client.list_signing_keys()
        webhook = client.get_webhook()
    except (StreamError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    configured = client.signing_key_id
    click.echo(f"API base: {client.api_base}")
    click.echo(f"Account: {client.account_id}")
    click.echo(f"Signing keys ({len(keys)}):")
    for key in keys:
        marker = "  (configured)" if key.get("id") == configured else ""
        click.echo(f"  {key.get('id')}  created {key.get('created', '?')}{marker}")
    if configured and configured not in {k.get("id") for k in keys}:
        click.echo(f"  warning: the configured key {configured} is not on this account")
    if not configured:
        click.echo("  warning: no signing key configured; run `flask stream setup`")
    if webhook:
        click.echo(f"Webhook: {webhook.get('notificationUrl')} (modified {webhook.get('modified', '?')})")
        matches = webhook.get("secret") == client.webhook_secret
        click.echo(
            f"  secret {'matches the configured one' if matches else 'differs from the configured one'}"
        )
    else:
        click.echo("Webhook: none")
