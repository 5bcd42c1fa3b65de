"""`flask stream setup|status|reconcile`: Stream's signing key and webhook, and catching up on deliveries."""

import click
from flask import current_app, url_for
from flask.cli import AppGroup, with_appcontext
from redis import RedisError

from portal.extensions import db
from portal.jobs.webhooks import enqueue_unprocessed_deliveries
from portal.services import stream_events
from portal.services.stream import StreamError, get_client, reset_client
from portal.services.stream.settings import write_settings_file

stream_cli = AppGroup("stream", help="Cloudflare Stream: setup, status, reconcile.")


def default_webhook_url():
    """The webhook route's URL on PORTAL_BASE_URL (built with url_for, so it follows the route)."""
    base = current_app.config["PORTAL_BASE_URL"].rstrip("/")
    with current_app.test_request_context("/", base_url=base):
        return url_for("webhooks.cloudflare_stream", _external=True)


@stream_cli.command("setup")
@click.option("--webhook-url", default=None, help="Where Stream posts webhooks (default: the portal's).")
@click.option(
    "--save",
    "save_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="Also write the settings to this JSON file (mode 0600); STREAM_SETTINGS_FILE is re-read.",
)
def setup_command(webhook_url, save_path):
    """Create a signing key, subscribe the webhook, and print the settings to keep."""
    try:
        client = get_client()
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
    reset_client()


@stream_cli.command("status")
def status_command():
    """List the signing keys and the webhook subscription of the configured Stream account."""
    try:
        client = get_client()
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


RECONCILE_OPTION = click.option(
    "--older-than",
    "older_than_minutes",
    default=30,
    show_default=True,
    help="Ask Stream about assets processing for more than this many minutes.",
)


def reconcile(older_than_minutes):
    """Enqueue unprocessed webhook deliveries and ask Stream about videos stuck in processing."""
    try:
        queued = enqueue_unprocessed_deliveries()
    except RedisError as error:
        raise click.ClickException(f"Redis is unavailable, nothing was enqueued: {error}") from error
    counts = stream_events.reconcile_processing_assets(older_than_minutes=older_than_minutes)
    db.session.commit()
    click.echo(f"Deliveries: {queued['enqueued']} enqueued, {queued['already_queued']} already queued.")
    click.echo(
        f"Processing assets: {counts['checked']} checked, {counts['updated']} updated, "
        f"{counts['missing']} missing on Stream, {counts['errors']} lookup errors."
    )


@stream_cli.command("reconcile")
@RECONCILE_OPTION
def reconcile_command(older_than_minutes):
    """Enqueue unprocessed webhook deliveries and ask Stream about videos stuck in processing."""
    reconcile(older_than_minutes)


@click.command("stream-reconcile", hidden=True, deprecated="use `flask stream reconcile`")
@RECONCILE_OPTION
@with_appcontext
def reconcile_alias(older_than_minutes):
    """Deprecated name of `flask stream reconcile` (kept for one release, for existing cron entries)."""
    reconcile(older_than_minutes)
