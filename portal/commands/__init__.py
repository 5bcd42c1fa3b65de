"""The portal's `flask` commands, all registered here (grouped as the README lists them)."""

from portal.commands import accounts, stream, worker


def register(app):
    """Add every portal command to `flask`."""
    for command in (
        accounts.create_user_command,
        accounts.seed_demo_command,
        accounts.seed_demo_videos_command,
        worker.worker_command,
        worker.stream_emulator_command,
        stream.stream_cli,
        stream.reconcile_alias,
    ):
        app.cli.add_command(command)
