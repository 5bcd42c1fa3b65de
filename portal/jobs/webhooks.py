"""The jobs behind the Stream webhook: the drain (stores the inbox in the database and enqueues the
apply jobs), the apply job of one delivery, and the scheduled reconcile for anything left."""

import logging
from datetime import UTC, datetime, timedelta

from flask import current_app
from redis import RedisError
from rq import Retry
from rq.exceptions import DuplicateJobError
from rq.job import Job
from sqlalchemy import select

from portal.extensions import db
from portal.jobs import in_app_context
from portal.jobs.notifications import committing_notifications
from portal.models import WebhookDelivery
from portal.services import stream_events, webhook_inbox

log = logging.getLogger(__name__)

QUEUE = "webhooks"
RETRY_INTERVALS = [10, 30, 60, 300, 900]
JOB_TIMEOUT = 120
FAILURE_TTL = 30 * 24 * 3600
DRAIN_BATCH = 1000


def job_id_for(delivery_id):
    """The deterministic RQ job id of a delivery's apply job."""
    return f"stream-webhook-{delivery_id}"


def enqueue_delivery(delivery_id):
    """Enqueue the apply job of a committed delivery; False if a job with its id already exists.

    Redis errors propagate: the drain job is then retried, and the scheduled reconcile
    (`flask stream reconcile`) enqueues what is still unapplied.
    """
    queue = current_app.extensions["redis"].queue(QUEUE)
    try:
        queue.enqueue(
            apply_stream_webhook,
            delivery_id,
            job_id=job_id_for(delivery_id),
            unique=True,
            retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
            job_timeout=JOB_TIMEOUT,
            failure_ttl=FAILURE_TTL,
        )
    except DuplicateJobError:
        return False
    return True


def enqueue_drain():
    """Enqueue the drain job, ahead of the queued apply jobs (the inbox is the only copy of its
    deliveries until the drain stores them); the webhook calls this when its delivery raised the
    drain flag (see portal/services/webhook_inbox.py). Redis errors propagate."""
    current_app.extensions["redis"].queue(QUEUE).enqueue(
        enqueue_new_deliveries,
        at_front=True,
        retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
        job_timeout=JOB_TIMEOUT,
        failure_ttl=FAILURE_TTL,
    )


@in_app_context
def enqueue_new_deliveries():
    """RQ job (the drain): clear the drain flag, store the inbox in the database, then enqueue the
    apply job of every delivery not yet processed; returns the counts.

    The flag is cleared before the inbox is read: a delivery accepted before that is stored by
    this drain, one accepted after raises the flag again and enqueues another drain.
    """
    connection = current_app.extensions["redis"].connection
    connection.delete(webhook_inbox.DRAIN_PENDING_KEY)
    stored = webhook_inbox.store_inbox(connection)
    return {"stored": stored, **enqueue_unprocessed_deliveries(older_than_seconds=0, limit=DRAIN_BATCH)}


def enqueue_unprocessed_deliveries(older_than_seconds=60, limit=500):
    """(Re)enqueue the apply job of deliveries recorded but not processed (e.g. Redis was down).

    Returns counts {"enqueued", "already_queued"}; a job still queued, running or in the failed
    registry under its id is left alone (requeue failed jobs from RQ's failed registry).
    """
    cutoff = datetime.now(UTC) - timedelta(seconds=older_than_seconds)
    ids = db.session.scalars(
        select(WebhookDelivery.id)
        .where(WebhookDelivery.processed_at.is_(None), WebhookDelivery.received_at < cutoff)
        .order_by(WebhookDelivery.id)
        .limit(limit)
    ).all()
    counts = {"enqueued": 0, "already_queued": 0}
    connection = current_app.extensions["redis"].connection
    with connection.pipeline(transaction=False) as pipe:  # one round trip tells which jobs exist
        for delivery_id in ids:
            pipe.exists(Job.key_for(job_id_for(delivery_id)))
        exists = pipe.execute()
    for delivery_id, queued in zip(ids, exists, strict=True):
        counts["enqueued" if not queued and enqueue_delivery(delivery_id) else "already_queued"] += 1
    return counts


@in_app_context
def apply_stream_webhook(delivery_id):
    """RQ job: apply delivery `delivery_id` to its asset; one commit; errors propagate for Retry.
    The notifications of a transition commit with it; their emails are enqueued after."""
    with committing_notifications():
        outcome = stream_events.apply_delivery(delivery_id)
    return outcome


@in_app_context
def reconcile_stream(older_than_minutes=30):
    """RQ job (scheduled in portal/jobs/schedule.py): store the webhook inbox, enqueue unprocessed
    deliveries and ask Stream about videos stuck in processing; one commit. Returns the counts."""
    try:
        webhook_inbox.store_inbox(current_app.extensions["redis"].connection)
        queued = enqueue_unprocessed_deliveries()
    except RedisError as error:
        log.error("Reconcile: Redis unavailable, no delivery enqueued: %s", error)
        queued = {"enqueued": 0, "already_queued": 0}
    with committing_notifications():
        counts = stream_events.reconcile_processing_assets(older_than_minutes=older_than_minutes)
    return {**queued, **counts}
