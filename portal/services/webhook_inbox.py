"""The Stream webhook's inbox in Redis: a verified delivery is acknowledged once Redis holds it.

Accepting is one Lua call, atomic in Redis: mark the delivery seen (its dedupe key, for an hour;
a replay is refused by its timestamp after 300 s anyway), append it to the inbox list, and raise the
drain flag. The `webhooks` worker then moves the inbox into the `webhook_deliveries` table in
batches (`store_inbox`) and applies each delivery in its own job. The database's unique dedupe key
stays the final guard: a delivery stored twice (a crash between commit and trim, a replay while
Redis was down) inserts nothing the second time.

Redis persists with its append-only file (README, "Shared services"); were the last second of
acknowledged deliveries ever lost with it, the portal still ends up true: every processing video is
followed by its own checks against Stream (portal/jobs/processing.py) and by the periodic sweep.
When Redis is unreachable the webhook records the delivery in the database instead.
"""

import json
import logging
from datetime import UTC, datetime

from portal.extensions import db
from portal.services import stream_events
from portal.services.stream.webhooks import MAX_TIME_DIGITS

log = logging.getLogger(__name__)

INBOX_KEY = "portal:webhooks:inbox"
SEEN_PREFIX = "portal:webhooks:seen:"
DRAIN_PENDING_KEY = "portal:webhooks:drain-pending"
SEEN_SECONDS = 3600
DRAIN_PENDING_SECONDS = 60
STORE_BATCH = 200
MAX_SIGNATURE_TIME = 10**MAX_TIME_DIGITS  # the webhook accepts at most that many digits

ACCEPTED, ACCEPTED_FIRST, DUPLICATE = "accepted", "accepted_first", "duplicate"

# KEYS: seen key, inbox, drain flag. ARGV: seen ttl, entry, drain flag ttl.
# 0: seen before; 1: accepted, a drain is already pending; 2: accepted, schedule a drain.
_ACCEPT = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[2])
if redis.call('SET', KEYS[3], '1', 'NX', 'EX', ARGV[3]) then return 2 end
return 1
"""
_accept_script = None


def _script(connection):
    """The accept script (EVALSHA, loaded on first use by each Redis); called with its client."""
    global _accept_script
    if _accept_script is None:
        _accept_script = connection.register_script(_ACCEPT)
    return _accept_script


def accept(connection, raw_body, signature_time):
    """Put a verified delivery in the inbox unless it was seen; ACCEPTED_FIRST when the caller
    must enqueue the drain job (no drain was pending), ACCEPTED, or DUPLICATE. RedisError propagates."""
    key = stream_events.dedupe_key(signature_time, raw_body)
    entry = json.dumps(
        {
            "key": key,
            "time": int(signature_time),
            "received": datetime.now(UTC).isoformat(),
            "body": bytes(raw_body).decode("utf-8"),
        },
        separators=(",", ":"),
    )
    outcome = _script(connection)(
        keys=[SEEN_PREFIX + key, INBOX_KEY, DRAIN_PENDING_KEY],
        args=[SEEN_SECONDS, entry, DRAIN_PENDING_SECONDS],
        client=connection,
    )
    return {0: DUPLICATE, 1: ACCEPTED, 2: ACCEPTED_FIRST}[int(outcome)]


def _stored(entry):
    """Insert one inbox entry (in the caller's transaction); False for an entry that cannot be read."""
    try:
        item = json.loads(entry)
        raw = item["body"].encode("utf-8")
        video = stream_events.parse_payload(raw)
        received = datetime.fromisoformat(item["received"])
        signature_time = int(item["time"])
        if not 0 <= signature_time < MAX_SIGNATURE_TIME:
            raise ValueError("signature time out of range")
    except (ValueError, KeyError, TypeError, AttributeError, OverflowError, RecursionError):
        # An entry the webhook never wrote (Infinity, 1e30, deep nesting): dropped, so it cannot
        # hold back every delivery behind it while the drain retries.
        log.error("Dropping an unreadable webhook inbox entry: %.200r", entry)
        return False
    stream_events.insert_delivery(raw, signature_time, video, received)
    return True


def _remove(connection, entries):
    """Take these entries out of the inbox, by value: entries other drains stored or others added
    meanwhile are left alone."""
    with connection.pipeline(transaction=False) as pipe:
        for entry in entries:
            pipe.lrem(INBOX_KEY, 1, entry)
        pipe.execute()


def store_inbox(connection, batch=STORE_BATCH):
    """Move the inbox into the database, oldest first, one committed batch at a time; returns how
    many entries were read.

    Each batch is read, inserted and committed, and only then removed from the inbox, so a worker
    killed in between stores the batch again, inserting nothing the second time. Two drains at once
    may read the same batch: both insert (the second inserts nothing), both remove (the second
    removes nothing). Call with the drain flag already cleared.
    """
    stored = 0
    while entries := connection.lrange(INBOX_KEY, 0, batch - 1):
        stored += sum(_stored(entry) for entry in entries)
        db.session.commit()
        _remove(connection, entries)
    return stored


def waiting(connection):
    """How many acknowledged deliveries wait in the inbox (for the operations page)."""
    return connection.llen(INBOX_KEY)
