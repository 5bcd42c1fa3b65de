"""Analytics: the period asked for, Stream's minutes (cached in Redis by a job), the portal's views,
totals per tier, the most watched videos and what Stream costs (minutes stored and delivered)."""

import calendar
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import DailyView, MediaAccessLevel, MediaAsset, MediaAssetStatus

MAX_DAYS = 31  # Cloudflare answers at most 31 days per query
RETENTION_DAYS = 90  # and keeps analytics for 90 days
CACHE_PREFIX = "portal:analytics:"


class PeriodError(ValueError):
    """A period the portal cannot show, with a message for the person who asked."""


@dataclass(frozen=True)
class Period:
    """A range of UTC dates, both ends included."""

    since: date
    until: date

    @property
    def days(self):
        return (self.until - self.since).days + 1

    @property
    def key(self):
        return f"{self.since.isoformat()}:{self.until.isoformat()}"

    def dates(self):
        return [self.since + timedelta(days=n) for n in range(self.days)]


def default_period(today=None):
    """The last 30 days, today included."""
    today = today or datetime.now(UTC).date()
    return Period(today - timedelta(days=29), today)


def parse_period(since_text, until_text, today=None):
    """The period named by two YYYY-MM-DD strings (either empty: the default); PeriodError if it
    is not a date, reversed, in the future, longer than Stream answers or older than it keeps."""
    today = today or datetime.now(UTC).date()
    fallback = default_period(today)
    try:
        since = date.fromisoformat(since_text.strip()) if since_text and since_text.strip() else None
        until = date.fromisoformat(until_text.strip()) if until_text and until_text.strip() else None
    except ValueError:
        raise PeriodError("Dates must be written as YYYY-MM-DD, for example 2026-11-30.") from None
    if since and since > today:
        raise PeriodError(
            f"The period starts in the future; the latest day with figures is {today.isoformat()}."
        )
    until = until or (min(since + timedelta(days=29), today) if since else fallback.until)
    since = since or until - timedelta(days=29)
    if since > until:
        raise PeriodError("The start date is after the end date.")
    if until > today:
        raise PeriodError(
            f"The period ends in the future; the latest day with figures is {today.isoformat()}."
        )
    if (until - since).days + 1 > MAX_DAYS:
        raise PeriodError(f"Stream reports at most {MAX_DAYS} days at a time; choose a shorter period.")
    if since < today - timedelta(days=RETENTION_DAYS - 1):
        raise PeriodError(f"Stream keeps analytics for {RETENTION_DAYS} days; choose a later start date.")
    return Period(since, until)


# -- the cached Stream figures ---------------------------------------------------------------------


def cache_key(period):
    return CACHE_PREFIX + period.key


def store_figures(connection, period, by_video, by_date, ttl_seconds):
    """Keep Stream's figures for a period, with the time they were fetched."""
    value = {"fetched_at": datetime.now(UTC).isoformat(), "by_video": by_video, "by_date": by_date}
    connection.set(cache_key(period), json.dumps(value), ex=ttl_seconds)


def cached_figures(connection, period):
    """The stored figures of a period ({"fetched_at": datetime, "by_video", "by_date"}) or None."""
    raw = connection.get(cache_key(period))
    if raw is None:
        return None
    value = json.loads(raw)
    value["fetched_at"] = datetime.fromisoformat(value["fetched_at"])
    return value


def note_failure(connection, period, message):
    """Remember that Stream did not answer for a period (shown beside the last figures)."""
    connection.set(
        cache_key(period) + ":error", json.dumps([datetime.now(UTC).isoformat(), message[:300]]), ex=86400
    )


def last_failure(connection, period):
    """(when, message) of the last failed fetch of a period, or None."""
    raw = connection.get(cache_key(period) + ":error")
    if raw is None:
        return None
    when, message = json.loads(raw)
    return datetime.fromisoformat(when), message


def clear_failure(connection, period):
    connection.delete(cache_key(period) + ":error")


# -- the report -------------------------------------------------------------------------------------


def tier_label(asset):
    """Which audience a video is for: public, members, or members of a tier and above."""
    if asset.access_level == MediaAccessLevel.PUBLIC:
        return "public"
    if asset.access_level == MediaAccessLevel.TIER_SPECIFIC and asset.required_tier:
        return f"{asset.required_tier.value} and above"
    return "members"


def videos_for(owner_id=None):
    """The videos on Stream (ready ones), all of them or one person's."""
    query = select(MediaAsset).where(MediaAsset.status == MediaAssetStatus.READY)
    if owner_id is not None:
        query = query.where(MediaAsset.created_by == owner_id)
    return db.session.scalars(query.order_by(MediaAsset.title)).all()


def stored_minutes(owner_id=None):
    """Minutes of video kept on Stream (every ready video's duration)."""
    return sum((asset.duration_seconds or 0) for asset in videos_for(owner_id)) / 60


def costs(config, stored, delivered, period):
    """What Stream costs: storage and delivery for the period, and projected for the month.

    Storage is billed per month for what is kept ($5 per 1,000 minutes by default), so the period
    carries its share of days; delivery ($1 per 1,000 minutes) is what was watched in the period.
    The month's projection is the storage plus delivery at the period's daily rate.
    """
    storage_price, delivery_price = (
        config["STREAM_PRICE_STORED_PER_1000_MIN"],
        config["STREAM_PRICE_DELIVERED_PER_1000_MIN"],
    )
    month_days = calendar.monthrange(period.until.year, period.until.month)[1]
    storage_month = stored / 1000 * storage_price
    period_storage = storage_month * period.days / month_days
    period_delivery = delivered / 1000 * delivery_price
    projected_delivery = delivered / period.days * month_days / 1000 * delivery_price
    return {
        "storage_period": period_storage,
        "delivery_period": period_delivery,
        "total_period": period_storage + period_delivery,
        "storage_month": storage_month,
        "delivery_month": projected_delivery,
        "total_month": storage_month + projected_delivery,
    }


def views_in(period, owner_id=None):
    """Views counted in the period per asset id (one per member, video and UTC day), in one query."""
    query = (
        select(DailyView.asset_id, func.count())
        .where(DailyView.day >= period.since, DailyView.day <= period.until)
        .group_by(DailyView.asset_id)
    )
    if owner_id is not None:
        query = query.join(MediaAsset, MediaAsset.id == DailyView.asset_id).where(
            MediaAsset.created_by == owner_id
        )
    return dict(db.session.execute(query).all())


def report(config, period, figures, owner_id=None, top=10):
    """Everything the analytics page shows for a period (Stream's figures may be None)."""
    assets = videos_for(owner_id)
    by_video = (figures or {}).get("by_video") or {}
    views = views_in(period, owner_id)
    rows = [
        {
            "asset": a,
            "views": views.get(a.id, 0),
            "minutes": float(by_video.get(a.stream_video_id or "", 0.0)),
            "tier": tier_label(a),
        }
        for a in assets
    ]
    tiers = {}
    for row in rows:
        bucket = tiers.setdefault(row["tier"], {"tier": row["tier"], "videos": 0, "views": 0, "minutes": 0.0})
        bucket["videos"] += 1
        bucket["views"] += row["views"]
        bucket["minutes"] += row["minutes"]
    delivered = sum(row["minutes"] for row in rows)
    stored = sum((a.duration_seconds or 0) for a in assets) / 60
    by_date = (figures or {}).get("by_date") or {}
    if owner_id is not None:
        by_date = {}  # Stream's per-day figures are account-wide; an instructor sees per video only
    daily = [(day, float(by_date.get(day.isoformat(), 0.0))) for day in period.dates()]
    return {
        "rows": rows,
        "most_watched": sorted(rows, key=lambda r: (r["minutes"], r["views"]), reverse=True)[:top],
        "tiers": sorted(tiers.values(), key=lambda t: t["tier"]),
        "views": sum(row["views"] for row in rows),
        "delivered": delivered,
        "stored": stored,
        "daily": daily,
        "costs": costs(config, stored, delivered, period),
        "has_stream_figures": figures is not None,
    }
