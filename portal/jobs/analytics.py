"""Fetching Stream's minutes viewed into the cache (pages never call Stream), and the cost alert."""

import logging
from datetime import UTC, date, datetime

from flask import current_app

from portal.jobs import in_app_context
from portal.jobs.notifications import committing_notifications
from portal.jobs.unique import enqueue_once
from portal.services import analytics, notifications
from portal.services.stream import StreamError, get_client

log = logging.getLogger(__name__)

QUEUE = "default"


def refresh_job_id(period):
    """The deterministic RQ job id of a period's refresh."""
    return f"analytics-refresh-{period.since.isoformat()}-{period.until.isoformat()}"


def enqueue_refresh(period):
    """Ask the worker to fetch a period's figures (once: a refresh already waiting is enough)."""
    queue = current_app.extensions["redis"].queue(QUEUE)
    job_id = refresh_job_id(period)
    return enqueue_once(
        queue,
        job_id,
        lambda: queue.enqueue(
            refresh_stream_analytics,
            period.since.isoformat(),
            period.until.isoformat(),
            job_id=job_id,
            unique=True,
            job_timeout=120,
            result_ttl=0,
            failure_ttl=24 * 3600,
        ),
    )


@in_app_context
def refresh_stream_analytics(since, until):
    """RQ job: fetch Stream's minutes viewed for a period (per video and per day) into the cache.

    When Stream fails, the last figures stay (and say how old they are), the failure is noted
    for the page and the job raises, so it shows among the failed jobs.
    """
    period = analytics.Period(date.fromisoformat(since), date.fromisoformat(until))
    connection = current_app.extensions["redis"].connection
    try:
        stream = get_client()
        by_video = stream.get_account_minutes_viewed(period.since, period.until, "uid")
        by_date = stream.get_account_minutes_viewed(period.since, period.until, "date")
    except StreamError as error:
        analytics.note_failure(connection, period, str(error))
        raise
    analytics.store_figures(
        connection, period, by_video, by_date, current_app.config["ANALYTICS_CACHE_SECONDS"]
    )
    analytics.clear_failure(connection, period)
    if period == analytics.default_period():
        check_cost_threshold(period)
    return {"videos": len(by_video), "minutes": sum(by_video.values())}


def check_cost_threshold(period):
    """Tell the admins, once a month, when the month's projected Stream cost crosses the threshold."""
    config = current_app.config
    threshold = config.get("COST_ALERT_MONTHLY_USD")
    if not threshold:
        return False
    connection = current_app.extensions["redis"].connection
    figures = analytics.cached_figures(connection, period)
    projected = analytics.report(config, period, figures)["costs"]["total_month"]
    if projected < threshold:
        return False
    month = datetime.now(UTC).strftime("%Y-%m")
    if not connection.set(f"portal:cost-alert:{month}", projected, nx=True, ex=40 * 86400):
        return False  # already told this month
    try:
        with committing_notifications():
            for admin_id in notifications.admin_ids():
                notifications.notify(
                    admin_id,
                    notifications.COST_ALERT,
                    f"Stream costs are projected at ${projected:,.2f} this month",
                    f"That is above the alert threshold of ${threshold:,.2f}. "
                    "See the analytics page for what is stored and watched.",
                    link="/admin/analytics",
                )
    except Exception:
        connection.delete(f"portal:cost-alert:{month}")  # the next run tries again
        raise
    return True


@in_app_context
def refresh_default_analytics():
    """Periodic job: keep the default period (the last 30 days) fresh, and check the cost alert."""
    period = analytics.default_period()
    return refresh_stream_analytics(period.since.isoformat(), period.until.isoformat())
