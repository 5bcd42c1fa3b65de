"""The library grid's HTML, kept per web process for a minute and dropped as soon as a video changes.

A grid page depends only on the query and on the kind of viewer (anonymous, a tier, or staff):
the access policy gives everyone of one kind the same cards. So the rendered grid is cached under
(library version, viewer kind, query). The library version is a Redis counter that every commit
touching a video, its tags or its captions increments (an ORM event below), so every web process
sees a change on its next request; LIBRARY_GRID_CACHE_SECONDS bounds what the counter cannot see
(view counts, which only reorder "most viewed", and changes made outside the ORM). Each process
reads the counter at most once a second, so a change shows within a second everywhere.
Thumbnail tokens in a cached grid stay valid: they are minted per hour and live two.
"""

import logging
import threading
import time
from collections import OrderedDict

from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from portal.models import Caption, MediaAsset, MediaTag
from portal.services.media import access

log = logging.getLogger(__name__)

VERSION_KEY = "portal:library:version"
MAX_ENTRIES = 512
VERSION_CHECK_SECONDS = 1.0  # a change reaches every web process within this
WATCHED = (MediaAsset, MediaTag, Caption)

_entries = OrderedDict()
_lock = threading.Lock()
_installed = []
_version = []  # [version, recheck at (monotonic)]


def viewer_kind(user):
    """Who the grid is for, as far as the policy cares: "staff", "anonymous" or the member's tier."""
    return access.viewer_class(user)


def library_version(redis, now=None):
    """The library version, read from Redis at most once per VERSION_CHECK_SECONDS per process.

    (-1 when Redis cannot say: the library pages then skip the grid cache.)
    """
    now = time.monotonic() if now is None else now
    with _lock:
        if _version and _version[1] > now:
            return _version[0]
    try:
        version = int(redis.get(VERSION_KEY) or 0)
    except Exception:  # noqa: BLE001 - without Redis, the pages skip the grid cache
        log.warning("library version unavailable; library pages are rendered uncached")
        version = -1
    with _lock:
        _version[:] = [version, now + VERSION_CHECK_SECONDS]
    return version


def get(key, now=None):
    """The cached value for `key`, or None when absent or expired."""
    now = time.monotonic() if now is None else now
    with _lock:
        entry = _entries.get(key)
        if entry is None or entry[0] <= now:
            return None
        _entries.move_to_end(key)
        return entry[1]


def put(key, value, ttl_seconds, now=None):
    """Keep `value` for `ttl_seconds`; the least recently used entries go beyond MAX_ENTRIES."""
    now = time.monotonic() if now is None else now
    with _lock:
        _entries[key] = (now + ttl_seconds, value)
        _entries.move_to_end(key)
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)


def clear():
    """Forget every cached grid in this process."""
    with _lock:
        _entries.clear()
        _version.clear()


def _note_changes(session, flush_context):
    if any(isinstance(obj, WATCHED) for obj in (*session.new, *session.dirty, *session.deleted)):
        session.info["library_changed"] = True


def _bump_after_commit(session):
    if not session.info.pop("library_changed", False) or not has_app_context():
        return
    with _lock:
        _version.clear()  # this process sees its own change at once
    try:
        current_app.extensions["redis"].connection.incr(VERSION_KEY)
    except Exception:  # noqa: BLE001 - the commit stands; the grid cache's time limit covers the rest
        log.warning("could not bump the library version after a commit")


def _forget_on_rollback(session, previous_transaction):
    session.info.pop("library_changed", None)


def install():
    """Listen to every ORM session: a commit that changed a video bumps the library version."""
    if _installed:
        return
    event.listen(Session, "after_flush", _note_changes)
    event.listen(Session, "after_commit", _bump_after_commit)
    event.listen(Session, "after_soft_rollback", _forget_on_rollback)
    _installed.append(True)
