"""Minutes viewed per video from Cloudflare's GraphQL Analytics API (streamMinutesViewedAdaptiveGroups)."""

from datetime import date, datetime, timedelta

from .errors import StreamError

MAX_RANGE_DAYS = 31  # Cloudflare answers at most 31 days per query

MINUTES_VIEWED_QUERY = """
query StreamMinutesViewed($accountTag: string!, $uid: string!, $start: Date!, $end: Date!) {
  viewer {
    accounts(filter: {accountTag: $accountTag}) {
      streamMinutesViewedAdaptiveGroups(
        filter: {uid: $uid, date_geq: $start, date_leq: $end}
        orderBy: [date_ASC]
        limit: 1000
      ) {
        sum { minutesViewed }
        dimensions { date }
      }
    }
  }
}
""".strip()


def as_date(value):
    """A date from a date, a datetime or an ISO `YYYY-MM-DD[...]` string."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    raise TypeError("since/until must be a date, datetime or ISO string")


def minutes_viewed_request(account_id, video_id, since, until):
    """The GraphQL request body for one video's minutes viewed between two dates (inclusive)."""
    start, end = as_date(since), as_date(until)
    if end < start:
        raise ValueError("until is before since")
    if end - start >= timedelta(days=MAX_RANGE_DAYS):
        raise ValueError(f"Cloudflare analytics cover at most {MAX_RANGE_DAYS} days per query")
    return {
        "query": MINUTES_VIEWED_QUERY,
        "variables": {
            "accountTag": account_id,
            "uid": video_id,
            "start": start.isoformat(),
            "end": end.isoformat(),
        },
    }


def parse_minutes_viewed(payload, video_id, since, until):
    """Sum the groups of a GraphQL answer; GraphQL errors (sent with HTTP 200) raise StreamError."""
    if not isinstance(payload, dict):
        raise StreamError("Cloudflare GraphQL answered with something other than JSON")
    if payload.get("errors"):
        messages = "; ".join(
            str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in payload["errors"]
        )
        raise StreamError(f"Cloudflare GraphQL analytics query failed: {messages}", errors=payload["errors"])
    accounts = ((payload.get("data") or {}).get("viewer") or {}).get("accounts") or []
    by_date = {}
    for account in accounts:
        for group in account.get("streamMinutesViewedAdaptiveGroups") or []:
            day = (group.get("dimensions") or {}).get("date")
            minutes = float((group.get("sum") or {}).get("minutesViewed") or 0)
            by_date[day] = by_date.get(day, 0.0) + minutes
    return {
        "video_id": video_id,
        "since": as_date(since).isoformat(),
        "until": as_date(until).isoformat(),
        "minutes_viewed": sum(by_date.values()),
        "by_date": [{"date": d, "minutes_viewed": m} for d, m in sorted(by_date.items(), key=str)],
    }


ACCOUNT_MINUTES_QUERY = """
query StreamAccountMinutesViewed($accountTag: string!, $start: Date!, $end: Date!) {
  viewer {
    accounts(filter: {accountTag: $accountTag}) {
      streamMinutesViewedAdaptiveGroups(
        filter: {date_geq: $start, date_leq: $end}
        orderBy: [ORDER]
        limit: 10000
      ) {
        sum { minutesViewed }
        dimensions { DIMENSION }
      }
    }
  }
}
""".strip()


def account_minutes_request(account_id, since, until, dimension):
    """The GraphQL body for the account's minutes viewed between two dates, grouped by `dimension`
    ("uid" or "date"); one query per dimension keeps each answer within Cloudflare's row limit."""
    start, end = as_date(since), as_date(until)
    if end < start:
        raise ValueError("until is before since")
    if end - start >= timedelta(days=MAX_RANGE_DAYS):
        raise ValueError(f"Cloudflare analytics cover at most {MAX_RANGE_DAYS} days per query")
    if dimension not in ("uid", "date"):
        raise ValueError("dimension must be uid or date")
    order = "sum_minutesViewed_DESC" if dimension == "uid" else "date_ASC"
    query = ACCOUNT_MINUTES_QUERY.replace("ORDER", order).replace("DIMENSION", dimension)
    return {
        "query": query,
        "variables": {"accountTag": account_id, "start": start.isoformat(), "end": end.isoformat()},
    }


def parse_account_minutes(payload, dimension):
    """{uid or date: minutes} from an account-wide answer; GraphQL errors raise StreamError."""
    if not isinstance(payload, dict):
        raise StreamError("Cloudflare GraphQL answered with something other than JSON")
    if payload.get("errors"):
        messages = "; ".join(
            str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in payload["errors"]
        )
        raise StreamError(f"Cloudflare GraphQL analytics query failed: {messages}", errors=payload["errors"])
    totals = {}
    for account in ((payload.get("data") or {}).get("viewer") or {}).get("accounts") or []:
        for group in account.get("streamMinutesViewedAdaptiveGroups") or []:
            key = (group.get("dimensions") or {}).get(dimension)
            if isinstance(key, str):
                minutes = float((group.get("sum") or {}).get("minutesViewed") or 0)
                totals[key] = totals.get(key, 0.0) + minutes
    return totals
