"""Idempotency-Key on initiate: a retried request (its response was lost) gets the same upload."""

import hashlib

from .errors import UploadError
from .metadata import CONTROL

PENDING = b"pending"
MAX_KEY = 255


class InitiateKeys:
    """Per-user Idempotency-Key -> upload_id in Redis, kept as long as an idle session."""

    def __init__(self, redis, ttl):
        self.redis = redis
        self.ttl = int(ttl)

    def _key(self, user_id, key):
        if not key or len(key) > MAX_KEY or CONTROL.search(key):
            raise UploadError(
                400, "invalid_idempotency_key", f"Idempotency-Key must be 1-{MAX_KEY} printable characters."
            )
        return f"upload:idempotency:{user_id}:{hashlib.sha256(key.encode()).hexdigest()}"

    def claim(self, user_id, key):
        """None when this request may create the upload; the upload_id a previous request created."""
        redis_key = self._key(user_id, key)
        if self.redis.set(redis_key, PENDING, nx=True, ex=self.ttl):
            return None
        value = self.redis.get(redis_key)
        if value in (None, PENDING):
            raise UploadError(
                409, "initiate_in_progress", "An upload with this Idempotency-Key is being created."
            )
        return value.decode()

    def remember(self, user_id, key, upload_id):
        """Record the upload this key created."""
        self.redis.set(self._key(user_id, key), upload_id, ex=self.ttl)

    def release(self, user_id, key):
        """Forget a claim whose upload was not created."""
        self.redis.delete(self._key(user_id, key))
