"""`flask create-user`, `flask seed-demo` and `flask seed-demo-videos`: accounts and demo data."""

import os

import click
from flask import current_app
from flask.cli import with_appcontext

from portal.admin.people import AccountError, create_user
from portal.demo_media import upload_demo_videos, wait_until_processed
from portal.extensions import db
from portal.models import Role, Tier, User
from portal.services.stream import get_client

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
    if current_app.config.get("ENV_NAME") == "production":
        raise click.ClickException("seed-demo refuses to run in production.")
    for email, name, role, tier in DEMO_ACCOUNTS:
        user = User.by_email(email)
        if user is None:
            # The one bypass of the password policy: known demo accounts, never in production.
            create_user(email, DEMO_PASSWORD, role, tier, name, password_policy=False)
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
    if current_app.config.get("ENV_NAME") == "production":
        raise click.ClickException("seed-demo-videos refuses to run in production.")
    owner = User.by_email(DEMO_ACCOUNTS[1][0])
    if owner is None:
        raise click.ClickException("run `flask seed-demo` first: the demo instructor owns the videos.")
    stream = get_client()
    created = upload_demo_videos(stream, owner, os.path.join(current_app.config["UPLOAD_DIR"], "demo"))
    db.session.commit()
    pending = wait_until_processed(stream, created, timeout=timeout)
    db.session.commit()
    click.echo(
        f"Demo videos: {len(created)} uploaded"
        + (f", {len(pending)} still processing." if pending else ", all processed.")
    )
