"""The library's filter lists: the most used tags and the sessions/events with videos, cached briefly."""

import threading
import time
from dataclasses import dataclass

from sqlalchemy import and_, desc, func, literal, select, union_all

from portal.extensions import db
from portal.models import EntityType, Event, MediaAsset, MediaTag, TrainingSession
from portal.services.media import access


@dataclass
class Facets:
    """What the filter lists offer: the most used tags, and the sessions and events with videos."""

    tags: list
    entities: list  # [(EntityType, id, title)]


_facets_cache = {}
_facets_lock = threading.Lock()


def cached_facets(user, ttl_seconds, cache_key=""):
    """`library_facets`, kept for `ttl_seconds` per process (they change rarely and cost a scan).

    `cache_key` names the library they come from (the library pages pass the database and the
    library version, so a changed video changes the lists at once).
    """
    if ttl_seconds <= 0:
        return library_facets(user)
    key = (cache_key, access.is_staff(user))
    now = time.monotonic()
    with _facets_lock:
        hit = _facets_cache.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    facets = library_facets(user)
    with _facets_lock:
        for stale in [k for k, (until, _) in _facets_cache.items() if until <= now]:
            del _facets_cache[stale]  # keys carry the library version: old ones are never asked again
        _facets_cache[key] = (now + ttl_seconds, facets)
    return facets


def library_facets(user, tag_limit=30, entity_limit=50):
    """Tags and sessions/events among the videos the caller may see, in one statement."""
    visible = access.visible_assets_clause(user)
    tags = (
        select(
            literal("tag").label("kind"), MediaTag.tag.label("value"), literal(None, db.String).label("title")
        )
        .join(MediaAsset, MediaAsset.id == MediaTag.asset_id)
        .where(visible)
        .group_by(MediaTag.tag)
        .order_by(desc(func.count()), MediaTag.tag)
        .limit(tag_limit)
        .subquery()
    )
    title = func.coalesce(TrainingSession.title, Event.title)
    entities = (
        select(
            MediaAsset.entity_type.label("kind"), MediaAsset.entity_id.label("value"), title.label("title")
        )
        .outerjoin(
            TrainingSession,
            and_(
                MediaAsset.entity_type == EntityType.TRAINING_SESSION,
                TrainingSession.id == MediaAsset.entity_id,
            ),
        )
        .outerjoin(Event, and_(MediaAsset.entity_type == EntityType.EVENT, Event.id == MediaAsset.entity_id))
        .where(visible, MediaAsset.entity_id.is_not(None), title.is_not(None))
        .group_by(MediaAsset.entity_type, MediaAsset.entity_id, title)
        .order_by(title)
        .limit(entity_limit)
        .subquery()
    )
    rows = db.session.execute(union_all(select(tags), select(entities)))
    facets = Facets([], [])
    for kind, value, entity_title_ in rows:
        if kind == "tag":
            facets.tags.append(value)
        else:
            facets.entities.append((EntityType(kind), value, entity_title_))
    return facets
