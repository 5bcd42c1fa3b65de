"""Jobs run in an app context even when a plain `rq worker -w portal.worker.AppWorker` runs them."""

import os
import subprocess
import sys

from rq.job import Job, JobStatus

from portal.commands import worker as worker_commands
from portal.jobs.webhooks import apply_stream_webhook, job_id_for
from portal.worker import AppWorker


def test_jobs_keep_their_dotted_path():
    assert (
        f"{apply_stream_webhook.__module__}.{apply_stream_webhook.__qualname__}"
        == "portal.jobs.webhooks.apply_stream_webhook"
    )


def test_a_plain_rq_worker_runs_a_job_in_a_fresh_app_context(app, redis_url, tmp_path):
    """The worker process builds the app from the environment; a missing delivery is a clean no-op."""
    queue = app.extensions["redis"].queue("webhooks")
    queue.enqueue(apply_stream_webhook, 424242, job_id=job_id_for(424242))
    env = dict(
        os.environ,
        PORTAL_ENV="test",
        TEST_REDIS_URL=redis_url,
        TEST_DATABASE_URL=f"sqlite:///{tmp_path / 'worker.db'}",
        PORTAL_INSTANCE_DIR=str(tmp_path),
    )
    code = (
        "from portal import create_app; from portal.extensions import db; app = create_app(); "
        "ctx = app.app_context(); ctx.push(); db.create_all(); ctx.pop()"
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=os.getcwd())
    subprocess.run(
        [
            sys.executable,
            "-m",
            "rq.cli",
            "worker",
            "-w",
            "portal.worker.AppWorker",
            "--burst",
            "--url",
            redis_url,
            "webhooks",
        ],
        env=env,
        check=True,
        cwd=os.getcwd(),
        capture_output=True,
    )
    job = Job.fetch(job_id_for(424242), connection=queue.connection)
    assert job.get_status() == JobStatus.FINISHED and job.return_value() == "missing"


def test_flask_worker_looks_for_jobs_of_dead_workers_every_minute(app, monkeypatch):
    """A push whose worker was killed is found (and retried) within minutes, not RQ's default 10."""
    seen = {}

    def work(self, **kwargs):
        seen["interval"], seen["burst"] = self.maintenance_interval, kwargs.get("burst")

    monkeypatch.setattr(AppWorker, "work", work)  # run nothing: the test reads how it was built
    result = app.test_cli_runner().invoke(worker_commands.worker_command, ["--burst"])
    assert result.exit_code == 0, result.output
    assert seen == {"interval": 60, "burst": True}
