"""The job that applies a recorded Stream webhook, and its enqueueing: by a drain job the webhook
schedules, and by the scheduled reconcile (`flask stream reconcile`) for anything left."""

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
from portal.jobs.notifications import enqueue_emails
from portal.models import WebhookDelivery
from portal.services import notifications, stream_events

log = logging.getLogger(__name__)

QUEUE = "webhooks"
RETRY_INTERVALS = [10, 30, 60, 300, 900]
JOB_TIMEOUT = 120
FAILURE_TTL = 30 * 24 * 3600
DRAIN_PENDING_KEY = "portal:webhooks:drain-pending"
DRAIN_PENDING_SECONDS = 60
DRAIN_BATCH = 1000


def job_id_for(delivery_id):
    """The deterministic RQ job id of a delivery's apply job."""
    return f"stream-webhook-{delivery_id}"


def enqueue_delivery(delivery_id):
    """Enqueue the apply job of a committed delivery; False if a job with its id already exists.

    Redis errors propagate: the caller decides (the webhook view logs them, since the
    delivery is recorded and `flask stream reconcile` enqueues it later).
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


def schedule_delivery_jobs():
    """After a delivery is committed: make sure a drain job (enqueue_new_deliveries) runs after now.

    The webhook answers after this, so it is cheap: while a drain is already pending (under a burst
    of deliveries, nearly always) it is one SET NX to Redis; the per-delivery apply jobs, with their
    own retries, are enqueued by the drain in the worker. Correct without a lock because the drain
    clears the flag before it reads the table: a delivery committed before that read is found by
    it, and one committed after finds the flag clear and enqueues another drain. A flag whose drain
    never got enqueued (Redis failed between the two calls) expires after DRAIN_PENDING_SECONDS,
    and the scheduled reconcile enqueues what is left meanwhile.

    Redis errors propagate: the webhook logs them (the delivery is recorded; the reconcile finds it).
    """
    redis = current_app.extensions["redis"]
    if redis.connection.set(DRAIN_PENDING_KEY, 1, nx=True, ex=DRAIN_PENDING_SECONDS):
        redis.queue(QUEUE).enqueue(
            enqueue_new_deliveries,
            retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
            job_timeout=JOB_TIMEOUT,
            failure_ttl=FAILURE_TTL,
        )


@in_app_context
def enqueue_new_deliveries():
    """RQ job (the drain): clear the pending flag, then enqueue the apply job of every delivery not
    yet processed; returns the counts. See schedule_delivery_jobs."""
    current_app.extensions["redis"].connection.delete(DRAIN_PENDING_KEY)
    return enqueue_unprocessed_deliveries(older_than_seconds=0, limit=DRAIN_BATCH)


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
    try:
        outcome = stream_events.apply_delivery(delivery_id)
        db.session.commit()
    except Exception:
        db.session.rollback()
        notifications.forget_new_notifications()
        raise
    enqueue_emails(notifications.take_new_notification_ids())
    return outcome


@in_app_context
def reconcile_stream(older_than_minutes=30):
    """RQ job (scheduled in portal/jobs/schedule.py): enqueue unprocessed deliveries and ask Stream
    about videos stuck in processing; one commit. Returns the counts."""
    try:
        queued = enqueue_unprocessed_deliveries()
    except RedisError as error:
        log.error("Reconcile: Redis unavailable, no delivery enqueued: %s", error)
        queued = {"enqueued": 0, "already_queued": 0}
    try:
        counts = stream_events.reconcile_processing_assets(older_than_minutes=older_than_minutes)
        db.session.commit()
    except Exception:
        db.session.rollback()
        notifications.forget_new_notifications()
        raise
    enqueue_emails(notifications.take_new_notification_ids())
    return {**queued, **counts}
