"""/admin/operations: queues, failed jobs (requeue), webhook deliveries, stuck assets, uploads."""

import logging
import re
from datetime import timedelta

from flask import current_app, flash, redirect, render_template, url_for
from redis import RedisError

from portal.admin import bp
from portal.auth.access import admin_required
from portal.services import operations, webhook_inbox
from portal.webhooks.refusals import refused_counts

log = logging.getLogger(__name__)

JOB_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")


def check_job_reference(queue_name, job_id):
    """Whether a queue name and job id could name a job at all (else nothing is looked up)."""
    return queue_name in current_app.config["RQ_QUEUES"] and bool(JOB_ID.match(job_id or ""))


def redis_figures(names):
    """The page's figures held in Redis (queues, failed jobs, refusals, inbox); None when Redis is
    unreachable, so the page still shows what the database holds."""
    connection = current_app.extensions["redis"].connection
    try:
        return {
            "queues": operations.queue_depths(connection, names),
            "failed": operations.failed_jobs(connection, names),
            "refused": refused_counts(connection, days=7),
            "inbox": webhook_inbox.waiting(connection),
        }
    except RedisError as error:
        log.error("Operations page: Redis unavailable: %s", error)
        return None


@bp.get("/operations")
@admin_required
def operations_page():
    """What the portal is doing and what is stuck."""
    config = current_app.config
    uploads, upload_bytes = operations.uploads_in_flight(config["UPLOAD_DIR"])
    figures = redis_figures(config["RQ_QUEUES"])
    return render_template(
        "admin/operations.html",
        redis_down=figures is None,
        **(figures or {"queues": [], "failed": [], "refused": None, "inbox": None}),
        deliveries=operations.recent_deliveries(),
        stuck=operations.stuck_assets(timedelta(minutes=config["OPERATIONS_STUCK_MINUTES"])),
        stuck_minutes=config["OPERATIONS_STUCK_MINUTES"],
        uploads=uploads,
        upload_bytes=upload_bytes,
        backend=operations.stream_backend(config),
        human_age=operations.human_age,
        human_bytes=operations.human_bytes,
    )


@bp.post("/operations/jobs/<queue_name>/<job_id>/requeue")
@admin_required
def requeue_job(queue_name, job_id):
    """Put a failed job back on its queue (a one-button POST form; CSRF is checked for every POST)."""
    if not check_job_reference(queue_name, job_id):
        flash("There is no failed job with that id; it may have been requeued already or expired.", "error")
        return redirect(url_for("admin.operations_page"))
    connection = current_app.extensions["redis"].connection
    try:
        operations.requeue_failed_job(connection, queue_name, job_id)
    except operations.JobNotFound:
        flash(f"Job {job_id} is no longer in the failed jobs (requeued already, or expired).", "error")
    else:
        flash(f"Job {job_id} is back on the {queue_name} queue.", "success")
    return redirect(url_for("admin.operations_page"))
