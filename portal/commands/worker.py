"""`flask worker` (RQ with its scheduler, through portal.worker.AppWorker) and `flask stream-emulator`."""

import click
from flask import current_app
from flask.cli import with_appcontext

from portal.emulator.server import serve
from portal.jobs.schedule import start_scheduler
from portal.worker import AppWorker


@click.command("worker")
@click.option("--queue", "queues", multiple=True, help="Queues to listen on (default: all).")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@with_appcontext
def worker_command(queues, burst):
    """Run an RQ worker (with its scheduler); each job runs in this app's context. Beside it, RQ's
    cron scheduler enqueues the periodic jobs of portal/jobs/schedule.py; both stop together."""
    services = current_app.extensions["redis"]
    names = queues or services.queue_names
    worker = AppWorker(
        [services.queue(name) for name in names],
        connection=services.connection,
        app=current_app._get_current_object(),
        maintenance_interval=current_app.config["WORKER_MAINTENANCE_SECONDS"],
    )
    stop_cron = start_scheduler(services.connection)
    try:
        worker.work(with_scheduler=True, burst=burst)
    finally:
        stop_cron()


@click.command("stream-emulator")
@click.option("--host", default="127.0.0.1")
@click.option("--port", type=int, default=None, help="Default: STREAM_EMULATOR_PORT (8788).")
@with_appcontext
def stream_emulator_command(host, port):
    """Serve the local Cloudflare Stream emulator in the foreground."""
    serve(
        host=host,
        port=port or current_app.config["STREAM_EMULATOR_PORT"],
        state_dir=current_app.config["STREAM_EMULATOR_DIR"],
    )
