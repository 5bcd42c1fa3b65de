"""Column defaults every model shares: timezone-aware UTC timestamps and random UUID ids."""

import uuid
from datetime import UTC, datetime


def utcnow():
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def new_uuid():
    """A random UUID as a string, the id format the seed uses."""
    return str(uuid.uuid4())
