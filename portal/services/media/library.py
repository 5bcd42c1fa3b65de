"""Library queries: the grid (search, tag and session/event filters, sorts, pages), tags, related videos.

Every query filters with the access policy's SQL clauses, so a list never holds what the caller
may not see; a page costs a fixed number of statements whatever the library's size.
"""

from dataclasses import dataclass, field

from sqlalchemy import and_, bindparam, desc, exists, func, or_, select
from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.models import (
    EntityType,
    Event,
    MediaAsset,
    MediaAssetStatus,
    MediaTag,
    MediaType,
    TrainingSession,
)
from portal.parsing import whole_number
from portal.services.media import access

SORTS = {  # each matches an index on (status, <sort columns>)
    "newest": (desc(MediaAsset.created_at), desc(MediaAsset.id)),
    "most_viewed": (desc(MediaAsset.view_count), desc(MediaAsset.id)),
    "title": (MediaAsset.title, MediaAsset.id),
}
# What cards and the API's lists read: plain rows (not ORM objects), cheaper on a page of 24.
CARD_COLUMNS = (
    MediaAsset.id,
    MediaAsset.title,
    MediaAsset.description,
    MediaAsset.duration_seconds,
    MediaAsset.access_level,
    MediaAsset.required_tier,
    MediaAsset.status,
    MediaAsset.stream_video_id,
    MediaAsset.entity_type,
    MediaAsset.entity_id,
    MediaAsset.view_count,
    MediaAsset.created_at,
)
SORT_LABELS = {"newest": "Newest", "most_viewed": "Most viewed", "title": "Title"}


class LibraryQueryError(ValueError):
    """A library filter the caller got wrong; carries the parameter's name."""

    def __init__(self, parameter, message):
        super().__init__(message)
        self.parameter = parameter


@dataclass
class LibraryQuery:
    """What the caller asked for: search text, filters, sort and page."""

    q: str = ""
    tag: str | None = None
    entity_type: EntityType | None = None
    entity_id: str | None = None
    status: MediaAssetStatus | None = None
    sort: str = "newest"
    page: int = 1
    per_page: int = 24
    # The /library page shows videos only (handouts are on their session's or event's page);
    # the JSON API lists every kind the caller may see.
    media_type: MediaType | None = None


@dataclass
class LibraryPage:
    """One page of results: (asset, decision) pairs and the total the filters match."""

    entries: list
    total: int
    page: int
    per_page: int
    tags: dict = field(default_factory=dict)

    @property
    def pages(self):
        """How many pages the results fill (at least one)."""
        return max(1, -(-self.total // self.per_page))


def like_pattern(text):
    """`%text%` with LIKE's wildcards and the escape character taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_clause(text):
    """Title, description or a tag contains `text` (case-insensitive, wildcards literal)."""
    pattern = like_pattern(text.strip().lower())
    tag_match = exists().where(MediaTag.asset_id == MediaAsset.id, MediaTag.tag.like(pattern, escape="\\"))
    return or_(
        func.lower(MediaAsset.title).like(pattern, escape="\\"),
        func.lower(MediaAsset.description).like(pattern, escape="\\"),
        tag_match,
    )


def filters(user, query):
    """The WHERE clause for the caller and the query: the policy first, then the filters."""
    clauses = [access.visible_assets_clause(user), access.status_clause(user, query.status)]
    if query.q.strip():
        clauses.append(search_clause(query.q))
    if query.tag:
        clauses.append(
            exists().where(MediaTag.asset_id == MediaAsset.id, MediaTag.tag == query.tag.strip().lower())
        )
    if query.entity_type is not None:
        clauses.append(MediaAsset.entity_type == query.entity_type)
    if query.entity_id:
        clauses.append(MediaAsset.entity_id == query.entity_id)
    if query.media_type is not None:
        clauses.append(MediaAsset.media_type == query.media_type)
    return and_(*clauses)


TAG_SEPARATOR = "\x1f"


def tag_list_column():
    """A video's tags in one string column (a correlated subquery), so cards need no second query."""
    tags = select(func.aggregate_strings(MediaTag.tag, TAG_SEPARATOR)).where(
        MediaTag.asset_id == MediaAsset.id
    )
    return tags.scalar_subquery().label("tag_list")


def split_tags(tag_list):
    """The tags from a `tag_list_column` value, sorted."""
    return sorted(tag_list.split(TAG_SEPARATOR)) if tag_list else []


def search_library(user, query):
    """One page of the library for the caller: card rows with their tags and the total, in one statement."""
    where = filters(user, query)
    count = select(func.count()).select_from(MediaAsset).where(where)
    rows = db.session.execute(
        select(*CARD_COLUMNS, tag_list_column(), count.correlate(None).scalar_subquery().label("total"))
        .where(where)
        .order_by(*SORTS[query.sort])
        .limit(query.per_page)
        .offset((query.page - 1) * query.per_page)
    ).all()
    total = rows[0].total if rows else db.session.scalar(count) if query.page > 1 else 0
    entries = [(row, access.visibility(user, row)) for row in rows]
    tags = {row.id: split_tags(row.tag_list) for row in rows}
    return LibraryPage(entries, total, query.page, query.per_page, tags)


def entity_title(entity_type, entity_id):
    """The title of the training session or event a video belongs to, or None."""
    model = {EntityType.TRAINING_SESSION: TrainingSession, EntityType.EVENT: Event}.get(entity_type)
    if model is None or not entity_id:
        return None
    return db.session.scalar(select(model.title).where(model.id == entity_id))


def related_videos(user, asset, limit=6):
    """The newest other videos sharing a tag with `asset` that the caller may play (card rows).

    Newest first rather than "most tags shared": the (status, created_at) index then answers it by
    reading a few rows, however many thousand videos share a popular tag.
    """
    tags = asset.tags
    if not tags:
        return []
    shares_a_tag = exists().where(MediaTag.asset_id == MediaAsset.id, MediaTag.tag.in_(tags))
    return db.session.execute(
        select(*CARD_COLUMNS)
        .where(access.playable_assets_clause(user), MediaAsset.id != asset.id, shares_a_tag)
        .order_by(*SORTS["newest"])
        .limit(limit)
    ).all()


def _positive_int(args, name, default, maximum=None):
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    value = whole_number(raw)
    if value is None:
        raise LibraryQueryError(name, f"'{name}' must be a positive whole number.")
    if value < 1:
        raise LibraryQueryError(name, f"'{name}' must be at least 1.")
    if maximum is not None and value > maximum:
        raise LibraryQueryError(name, f"'{name}' must be at most {maximum}.")
    return value


def _choice(args, name, enum_class):
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return enum_class(raw)
    except ValueError:
        allowed = ", ".join(member.value for member in enum_class)
        raise LibraryQueryError(name, f"'{name}' must be one of: {allowed}.") from None


def parse_library_args(args, config, per_page_default):
    """A LibraryQuery from query-string arguments (a mapping of strings); LibraryQueryError if wrong."""
    q = args.get("q") or ""
    if len(q) > config["LIBRARY_SEARCH_MAX_LENGTH"]:
        raise LibraryQueryError(
            "q", f"Search text is limited to {config['LIBRARY_SEARCH_MAX_LENGTH']} characters."
        )
    if "\x00" in q:
        raise LibraryQueryError("q", "Search text must not contain NUL characters.")
    tag = (args.get("tag") or "").strip().lower() or None
    if tag is not None and (len(tag) > 64 or "\x00" in tag):
        raise LibraryQueryError("tag", "'tag' is not a tag.")
    entity_id = (args.get("entity_id") or "").strip() or None
    if entity_id is not None and (len(entity_id) > 36 or "\x00" in entity_id):
        raise LibraryQueryError("entity_id", "'entity_id' is not an id.")
    sort = args.get("sort") or "newest"
    if sort not in SORTS:
        raise LibraryQueryError("sort", "'sort' must be one of: " + ", ".join(SORTS) + ".")
    return LibraryQuery(
        q=q,
        tag=tag,
        entity_type=_choice(args, "entity_type", EntityType),
        entity_id=entity_id,
        status=_choice(args, "status", MediaAssetStatus),
        sort=sort,
        page=_positive_int(args, "page", 1, maximum=100_000),
        per_page=_positive_int(args, "per_page", per_page_default, maximum=config["API_MEDIA_MAX_PER_PAGE"]),
    )


# Built once, as the pages ask for them on every view: SQLAlchemy then neither rebuilds nor re-keys them.
_ASSET_BY_ID = select(MediaAsset).where(MediaAsset.id == bindparam("asset_id"))
_ASSET_WITH_DETAILS = _ASSET_BY_ID.options(joinedload(MediaAsset.tag_rows), joinedload(MediaAsset.captions))


def find_asset(asset_id, with_details=False):
    """The asset with this id, or None (malformed ids included); callers then ask the policy.

    `with_details` loads its tags and caption tracks in the same statement.
    """
    if not isinstance(asset_id, str) or not 1 <= len(asset_id) <= 36:
        return None
    statement = _ASSET_WITH_DETAILS if with_details else _ASSET_BY_ID
    return db.session.execute(statement, {"asset_id": asset_id}).unique().scalar_one_or_none()
