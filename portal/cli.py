"""The portal's `flask` commands: accounts, demo data, the worker and the Stream emulator."""

import os

import click
from flask import current_app
from flask.cli import with_appcontext

from portal.extensions import db
from portal.models import Role, Tier

DEMO_PASSWORD = "portal-demo"
DEMO_ACCOUNTS = [
    ("admin@example.org", "Ada Admin", Role.ADMIN, Tier.LIFETIME),
    ("instructor@example.org", "Ian Instructor", Role.INSTRUCTOR, Tier.LIFETIME),
    ("free@example.org", "Fay Free", Role.MEMBER, Tier.FREE),
    ("basic@example.org", "Bo Basic", Role.MEMBER, Tier.BASIC),
    ("premium@example.org", "Pia Premium", Role.MEMBER, Tier.PREMIUM),
    ("lifetime@example.org", "Lee Lifetime", Role.MEMBER, Tier.LIFETIME),
]


@click.command("create-user")
@click.option("--email", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.MEMBER.value)
@click.option("--tier", type=click.Choice([t.value for t in Tier]), default=Tier.FREE.value)
@click.option("--name", default="")
@with_appcontext
def create_user_command(email, password, role, tier, name):
    """Create an account."""
    from portal.admin.people import AccountError, create_user

    if len(password) < 10:
        raise click.BadParameter("use at least 10 characters", param_hint="--password")
    try:
        user = create_user(email, password, role, tier, name)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"Created {user.email} ({user.role.value}, {user.tier.value}).")


@click.command("seed-demo")
@with_appcontext
def seed_demo_command():
    """Create the demo accounts (development only), all with the password portal-demo."""
    from portal.admin.people import create_user
    from portal.models import User

    if current_app.config.get("ENV_NAME") == "production":
        raise click.ClickException("seed-demo refuses to run in production.")
    for email, name, role, tier in DEMO_ACCOUNTS:
        user = User.by_email(email)
        if user is None:
            create_user(email, DEMO_PASSWORD, role, tier, name)
        else:
            user.role, user.tier, user.active = role, tier, True
            user.set_password(DEMO_PASSWORD)
    db.session.commit()
    click.echo(f"Demo accounts ready (password {DEMO_PASSWORD}):")
    for email, _, role, tier in DEMO_ACCOUNTS:
        click.echo(f"  {email:<26} {role.value:<10} {tier.value}")


@click.command("seed-demo-videos")
@click.option("--timeout", default=120, show_default=True, help="Seconds to wait for Stream to process them.")
@with_appcontext
def seed_demo_videos_command(timeout):
    """Upload a few demo videos to Stream and record them (development only)."""
    from portal.demo_media import upload_demo_videos, wait_until_processed
    from portal.models import User

    if current_app.config.get("ENV_NAME") == "production":
        raise click.ClickException("seed-demo-videos refuses to run in production.")
    owner = User.by_email(DEMO_ACCOUNTS[1][0])
    if owner is None:
        raise click.ClickException("run `flask seed-demo` first: the demo instructor owns the videos.")
    stream = current_app.extensions["stream"]
    created = upload_demo_videos(stream, owner, os.path.join(current_app.config["UPLOAD_DIR"], "demo"))
    db.session.commit()
    pending = wait_until_processed(stream, created, timeout=timeout)
    db.session.commit()
    click.echo(
        f"Demo videos: {len(created)} uploaded"
        + (f", {len(pending)} still processing." if pending else ", all processed.")
    )


@click.command("worker")
@click.option("--queue", "queues", multiple=True, help="Queues to listen on (default: all).")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@with_appcontext
def worker_command(queues, burst):
    """Run an RQ worker (with its scheduler and the periodic jobs) for this app, which it has preloaded."""
    import threading

    from rq import Worker

    from portal.jobs import schedule

    services = current_app.extensions["redis"]
    names = queues or services.queue_names
    worker = Worker([services.queue(name) for name in names], connection=services.connection)
    stop = threading.Event()
    if not burst:
        schedule.run_in_background(services.connection, current_app.config, stop)
    try:
        worker.work(with_scheduler=True, burst=burst)
    finally:
        stop.set()


@click.command("stream-emulator")
@click.option("--host", default="127.0.0.1")
@click.option("--port", type=int, default=None, help="Default: STREAM_EMULATOR_PORT (8788).")
@with_appcontext
def stream_emulator_command(host, port):
    """Serve the local Cloudflare Stream emulator in the foreground."""
    from portal.emulator.server import serve

    serve(
        host=host,
        port=port or current_app.config["STREAM_EMULATOR_PORT"],
        state_dir=current_app.config["STREAM_EMULATOR_DIR"],
    )


def register(app):
    """Add the portal's commands to `flask`."""
    from portal.commands.stream import stream_cli
    from portal.jobs.webhooks import reconcile_command

    for command in (
        create_user_command,
        seed_demo_command,
        seed_demo_videos_command,
        worker_command,
        stream_emulator_command,
    ):
        app.cli.add_command(command)
    app.cli.add_command(stream_cli)
    app.cli.add_command(reconcile_command)
