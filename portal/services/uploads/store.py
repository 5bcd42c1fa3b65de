"""Upload sessions: a manifest on disk (the durable record) and a Redis index updated atomically.

Layout: `UPLOAD_DIR/<upload_id>/manifest.json` and one file per received chunk, `<index>.chunk`.
Redis holds `upload:<id>` (a hash: the manifest's fields, status, updated_at), `upload:<id>:received`
(a bitmap of received chunk indexes), `upload:<id>:sha` (index -> SHA-256) and `uploads:active` (a
sorted set by last activity). If Redis loses a session, `load` rebuilds it from the directory.
"""

import json
import logging
import os
import re
import time

log = logging.getLogger(__name__)

UPLOAD_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")  # secrets.token_urlsafe(16): 128 random bits
MANIFEST = "manifest.json"
FINALIZED_MARK = "finalized"
ACTIVE = "uploads:active"
GONE_TTL = 7 * 24 * 3600
INT_FIELDS = ("user_id", "file_size", "chunk_size", "total_chunks")

# Record one chunk, only while the session is still taking chunks. Answers {-1, 0, 0} when it is
# not uploading, else {the index's old bit, received count, whether the last chunk is in}.
RECORD_CHUNK = """
if redis.call('HGET', KEYS[1], 'status') ~= 'uploading' then return {-1, 0, 0} end
local old = redis.call('SETBIT', KEYS[2], ARGV[1], 1)
if old == 0 then redis.call('HSET', KEYS[3], ARGV[1], ARGV[2]) end
redis.call('HSET', KEYS[1], 'updated_at', ARGV[3])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[4])
return {old, redis.call('BITCOUNT', KEYS[2]), redis.call('GETBIT', KEYS[2], ARGV[5])}
"""
# Move an upload to finalizing when every chunk is in: -2 gone, -1 not uploading, 0 incomplete,
# 1 finalized now, 2 finalized before.
FINALIZE = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return -2 end
if status == 'finalizing' then return 2 end
if status ~= 'uploading' then return -1 end
local total = tonumber(redis.call('HGET', KEYS[1], 'total_chunks'))
if redis.call('BITCOUNT', KEYS[2]) < total then return 0 end
redis.call('HSET', KEYS[1], 'status', 'finalizing', 'updated_at', ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[1], ARGV[2])
return 1
"""


def keys(upload_id):
    """The session's Redis keys: hash, received bitmap, chunk hashes."""
    base = f"upload:{upload_id}"
    return base, f"{base}:received", f"{base}:sha"


def gone_key(upload_id):
    """Tombstone of a cancelled or expired upload, so later calls get 410 instead of 404."""
    return f"upload:{upload_id}:gone"


def chunk_name(index):
    """File name of chunk `index` inside the session directory."""
    return f"{index:06d}.chunk"


def write_json_atomically(path, data):
    """Write JSON to a temporary file, fsync it and rename it over `path`."""
    temp = f"{path}.{os.getpid()}.tmp"
    with open(temp, "w") as handle:
        json.dump(data, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


class SessionStore:
    """Reads and writes upload sessions in Redis and under the upload directory."""

    def __init__(self, redis, upload_dir):
        self.redis = redis
        self.upload_dir = upload_dir
        self._record = redis.register_script(RECORD_CHUNK)
        self._finalize = redis.register_script(FINALIZE)

    def directory(self, upload_id):
        """The session's chunk directory (upload ids are checked before they reach a path)."""
        if not UPLOAD_ID.match(upload_id or ""):
            raise ValueError("invalid upload id")
        return os.path.join(self.upload_dir, upload_id)

    def create(self, manifest):
        """Write the manifest, then index the session in Redis as `uploading`."""
        directory = self.directory(manifest["upload_id"])
        os.makedirs(directory)
        write_json_atomically(os.path.join(directory, MANIFEST), manifest)
        self._index(manifest, "uploading", [])

    def _index(self, manifest, status, received, now=None):
        now = now or time.time()
        key, bitmap, _ = keys(manifest["upload_id"])
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(key, mapping={**{k: v for k, v in manifest.items() if v is not None}, "status": status})
        pipe.hsetnx(key, "updated_at", now)
        for index in received:
            pipe.setbit(bitmap, index, 1)
        pipe.zadd(ACTIVE, {manifest["upload_id"]: now})
        pipe.execute()

    def read_manifest(self, upload_id):
        """The manifest on disk, or None."""
        try:
            with open(os.path.join(self.directory(upload_id), MANIFEST)) as handle:
                return json.load(handle)
        except (FileNotFoundError, NotADirectoryError, ValueError):
            return None

    def load(self, upload_id):
        """The session as a dict (ints decoded), rebuilt from disk if Redis lost it; None if unknown."""
        if not UPLOAD_ID.match(upload_id or ""):
            return None
        raw = self.redis.hgetall(keys(upload_id)[0])
        if not raw:
            return self.rebuild(upload_id)
        session = {k.decode(): v.decode() for k, v in raw.items()}
        for name in INT_FIELDS:
            session[name] = int(session[name])
        session["updated_at"] = float(session.get("updated_at") or 0)
        return session

    def rebuild(self, upload_id):
        """Re-index a session from its manifest and the complete chunk files on disk."""
        manifest = self.read_manifest(upload_id)
        if manifest is None:
            return None
        directory = self.directory(upload_id)
        received = [i for i in range(manifest["total_chunks"]) if self.chunk_on_disk(manifest, i)]
        finalized = os.path.exists(os.path.join(directory, FINALIZED_MARK))
        status = "finalizing" if finalized else "uploading"
        self._index(manifest, status, received, now=last_change(directory))
        log.warning("Upload %s was rebuilt from disk: %d chunk(s) found", upload_id, len(received))
        return self.load(upload_id)

    def chunk_on_disk(self, session, index):
        """True when chunk `index` is on disk with its full expected length."""
        path = os.path.join(self.directory(session["upload_id"]), chunk_name(index))
        try:
            return os.path.getsize(path) == expected_length(session, index)
        except OSError:
            return False

    def record_chunk(self, session, index, sha256):
        """Mark chunk `index` received: (old bit, or -1 if the session takes no chunks; count; last in)."""
        upload_id = session["upload_id"]
        key, bitmap, shas = keys(upload_id)
        args = [index, sha256, time.time(), upload_id, session["total_chunks"] - 1]
        old, count, last = self._record(keys=[key, bitmap, shas, ACTIVE], args=args)
        return int(old), int(count), bool(last)

    def chunk_sha(self, upload_id, index):
        """The recorded SHA-256 of a chunk, or None."""
        value = self.redis.hget(keys(upload_id)[2], index)
        return value.decode() if value else None

    def received(self, session):
        """Sorted indexes of the received chunks."""
        data = self.redis.get(keys(session["upload_id"])[1]) or b""
        return [
            byte_index * 8 + bit
            for byte_index, byte in enumerate(data)
            if byte
            for bit in range(8)
            if byte & (0x80 >> bit) and byte_index * 8 + bit < session["total_chunks"]
        ]

    def finalize(self, upload_id):
        """Atomically move a complete session to finalizing (see FINALIZE for the answers)."""
        key, bitmap, _ = keys(upload_id)
        result = int(self._finalize(keys=[key, bitmap, ACTIVE], args=[time.time(), upload_id]))
        if result == 1:
            with open(os.path.join(self.directory(upload_id), FINALIZED_MARK), "w"):
                pass
        return result

    def set_status(self, upload_id, status, keep_seconds=None):
        """Set a session's status (e.g. `complete`); with keep_seconds the hash expires then."""
        key = keys(upload_id)[0]
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(key, mapping={"status": status, "updated_at": time.time()})
        if keep_seconds:
            pipe.delete(*keys(upload_id)[1:])
            pipe.zrem(ACTIVE, upload_id)
            pipe.expire(key, keep_seconds)
        pipe.execute()

    def forget(self, upload_id, user_id, reason):
        """Drop the session from Redis, leaving a tombstone (`cancelled` or `expired`) for its owner."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(*keys(upload_id))
        pipe.zrem(ACTIVE, upload_id)
        pipe.set(gone_key(upload_id), f"{user_id}:{reason}", ex=GONE_TTL)
        pipe.execute()

    def tombstone(self, upload_id):
        """(user_id, reason) of a cancelled or expired upload, or None."""
        if not UPLOAD_ID.match(upload_id or ""):
            return None
        value = self.redis.get(gone_key(upload_id))
        if not value:
            return None
        user_id, _, reason = value.decode().partition(":")
        return int(user_id), reason

    def active_ids(self, idle_before=None):
        """Ids in the active index, optionally only those idle since before a Unix time."""
        high = "+inf" if idle_before is None else idle_before
        return [member.decode() for member in self.redis.zrangebyscore(ACTIVE, "-inf", high)]


def last_change(path):
    """The newest modification time of a directory and its entries (0 if it is gone)."""
    try:
        names = os.listdir(path)
        return max([os.path.getmtime(path)] + [os.path.getmtime(os.path.join(path, n)) for n in names])
    except OSError:
        return 0


def expected_length(session, index):
    """Bytes chunk `index` must have: chunk_size, or the remainder for the last one."""
    if index < session["total_chunks"] - 1:
        return session["chunk_size"]
    return session["file_size"] - session["chunk_size"] * (session["total_chunks"] - 1)
