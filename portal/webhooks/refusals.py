"""Counts of refused webhook deliveries per UTC day and reason, in Redis (for the operations page)."""

import logging
from datetime import UTC, datetime, timedelta

from redis import RedisError

log = logging.getLogger(__name__)

REASONS = ("bad_signature", "stale", "malformed_header", "invalid_payload", "too_large")
KEEP_DAYS = 35


def day_key(day):
    """The Redis hash holding one UTC day's refusal counts."""
    return f"portal:webhook-refused:{day.isoformat()}"


def count_refused(connection, reason):
    """Add one refusal of `reason` to today's counts; a Redis outage is logged, never raised."""
    key = day_key(datetime.now(UTC).date())
    try:
        with connection.pipeline() as pipe:
            pipe.hincrby(key, reason, 1)
            pipe.expire(key, KEEP_DAYS * 24 * 3600)
            pipe.execute()
    except RedisError:
        log.warning("Could not count a refused webhook (%s): Redis unavailable", reason)


def refused_counts(connection, days=7):
    """{reason: count} over the last `days` UTC days, today included."""
    today = datetime.now(UTC).date()
    totals = dict.fromkeys(REASONS, 0)
    with connection.pipeline() as pipe:
        for back in range(days):
            pipe.hgetall(day_key(today - timedelta(days=back)))
        for counts in pipe.execute():
            for reason, value in counts.items():
                name = reason.decode() if isinstance(reason, bytes) else reason
                totals[name] = totals.get(name, 0) + int(value)
    return totals
