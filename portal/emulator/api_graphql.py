"""``POST /client/v4/graphql``: just enough of Cloudflare's GraphQL Analytics API for minutes viewed.

This is not a GraphQL engine. The one query shape understood is::

    viewer { accounts(filter: {accountTag: ...}) {
      streamMinutesViewedAdaptiveGroups(filter: {...}, limit: N, orderBy: [...]) {
        sum { minutesViewed }  dimensions { uid date }
    } } }

Argument values may be literals or ``$variables`` (taken from the body's ``variables``); ``filter`` may
also be one ``$variable`` holding the whole object. Filter keys: ``uid``, ``uid_in``, ``uid_gt`` and
``date``, ``date_geq``, ``date_gt``, ``date_leq``, ``date_lt`` (UTC dates); ``orderBy`` takes
``date_``/``uid_``/``sum_minutesViewed_`` + ``ASC``/``DESC``; ``limit`` defaults to 100 (at most 10000).
A range over 31 days is refused, as Cloudflare does. Dimensions are ``uid`` and ``date``; groups with no
views are absent. Minutes come from ``analytics.ViewLog`` (see analytics.py for how they are counted).

Errors as Cloudflare sends them: a bad bearer token is the 401 envelope with code 10000 (the gateway
answers before GraphQL does); a body that is not a JSON object is a 400 envelope (code 10004); anything
the query asks that this emulator does not understand is HTTP 200 with
``{"data": null, "errors": [{"message": ...}]}``.
"""

import json
import re
from datetime import date

from flask import Blueprint, current_app, jsonify, request

from .auth import require_api_auth
from .envelope import DECODING_ERROR, ApiError

graphql_api = Blueprint("graphql_api", __name__, url_prefix="/client/v4")
graphql_api.before_request(require_api_auth)

NODE = "streamMinutesViewedAdaptiveGroups"
MAX_LIMIT = 10000
DEFAULT_LIMIT = 100
MAX_RANGE_DAYS = 31
DIMENSIONS = ("uid", "date")
FILTER_KEYS = ("uid", "uid_in", "uid_gt", "date", "date_geq", "date_gt", "date_leq", "date_lt")
ORDER = re.compile(r"^(date|uid|sum_minutesViewed)_(ASC|DESC)$")
VALUE = r'\$\w+|"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?|\w+|\[[^\]]*\]'
PAIR = re.compile(rf"\s*(\w+)\s*:\s*({VALUE})\s*,?")
COMMENT = re.compile(r"#[^\n]*")


class QueryError(Exception):
    """A query this emulator answers with a GraphQL error."""


@graphql_api.post("/graphql")
def graphql():
    """Answer the minutes-viewed query, or a GraphQL error with HTTP 200."""
    body = request.get_json(silent=True, force=True)
    if not isinstance(body, dict):
        raise ApiError(400, DECODING_ERROR, "Decoding Error: the body must be a JSON object")
    try:
        groups = answer(body.get("query"), body.get("variables"))
    except QueryError as error:
        return jsonify({"data": None, "errors": [{"message": str(error)}]})
    return jsonify({"data": {"viewer": {"accounts": [{NODE: groups}]}}, "errors": None})


def answer(query, variables):
    """The groups for a query text and its variables; raises QueryError."""
    if not isinstance(query, str) or not query.strip():
        raise QueryError("the request has no query")
    if variables is None:
        variables = {}
    if not isinstance(variables, dict):
        raise QueryError("variables must be an object")
    text = COMMENT.sub("", query)
    if re.match(r"\s*(mutation|subscription)\b", text):
        raise QueryError("only queries are supported")
    if NODE not in text:
        raise QueryError(f"the stream emulator answers only {NODE} queries")
    others = set(re.findall(r"\b\w+(?:AdaptiveGroups|Adaptive)\b", text)) - {NODE}
    if others:
        raise QueryError(f"the stream emulator does not know {', '.join(sorted(others))}")
    check_account(text, variables)
    arguments, selection = node_parts(text)
    filters = filter_values(arguments, variables)
    limit = argument(arguments, "limit", variables, DEFAULT_LIMIT)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 0 < limit <= MAX_LIMIT:
        raise QueryError(f"limit must be an integer between 1 and {MAX_LIMIT}")
    order = argument(arguments, "orderBy", variables, [])
    order = order if isinstance(order, list) else [order]
    with_sum, dimensions = selected_fields(selection)
    rows = current_app.extensions["stream_emulator"].analytics.rows()
    groups = group_rows([r for r in rows if matches(r, filters)], dimensions)
    sort_groups(groups, order, dimensions)
    return [render(group, with_sum, dimensions) for group in groups[:limit]]


def check_account(text, variables):
    """The accounts filter must name the emulator's account."""
    match = re.search(r"\baccounts\s*\(\s*filter\s*:\s*(\{[^}]*\}|\$\w+)\s*\)", text)
    if not match:
        raise QueryError("viewer.accounts needs filter: {accountTag}")
    account_filter = object_value(match.group(1), variables)
    tag = account_filter.get("accountTag")
    if tag != current_app.extensions["stream_emulator"].account_id:
        raise QueryError("not authorized for that account")


def node_parts(text):
    """The argument text and the selection text of the streamMinutesViewedAdaptiveGroups node."""
    start = text.index(NODE) + len(NODE)
    rest = text[start:].lstrip()
    arguments = ""
    if rest.startswith("("):
        arguments, rest = balanced(rest, "(", ")")
        rest = rest.lstrip()
    if not rest.startswith("{"):
        raise QueryError(f"{NODE} needs a selection of fields")
    selection, _ = balanced(rest, "{", "}")
    return arguments, selection


def balanced(text, opening, closing):
    """The inside of the bracket `text` opens with, and what follows it."""
    depth = 0
    for index, char in enumerate(text):
        depth += char == opening
        depth -= char == closing
        if depth == 0:
            return text[1:index], text[index + 1 :]
    raise QueryError(f"unbalanced '{opening}' in the query")


def literal(token, variables):
    """The value of one argument token: a $variable, string, number, enum name or list of them."""
    if token.startswith("$"):
        if token[1:] not in variables:
            raise QueryError(f"variable {token} is not provided")
        return variables[token[1:]]
    if token.startswith('"'):
        return json.loads(token)
    if token.startswith("["):
        return [literal(item.strip(), variables) for item in token[1:-1].split(",") if item.strip()]
    if re.fullmatch(r"-?\d+", token):
        return int(token)
    if re.fullmatch(r"-?\d+\.\d+", token):
        return float(token)
    return {"true": True, "false": False, "null": None}.get(token, token)


def object_value(token, variables):
    """An input object written inline (`{a: $x, b: "y"}`) or passed whole as a $variable."""
    if token.startswith("$"):
        value = literal(token, variables)
        if not isinstance(value, dict):
            raise QueryError(f"{token} must be an object")
        return value
    inside = token.strip()[1:-1]
    pairs = PAIR.findall(inside)
    if PAIR.sub("", inside).strip():
        raise QueryError("the stream emulator cannot parse this filter (only flat key: value pairs)")
    return {key: literal(value, variables) for key, value in pairs}


def argument(arguments, name, variables, default):
    """One argument of the node, or `default` when it is absent."""
    match = re.search(rf"\b{name}\s*:\s*({VALUE})", arguments)
    return literal(match.group(1), variables) if match else default


def filter_values(arguments, variables):
    """The node's filter as a checked dict (dates as date objects)."""
    match = re.search(r"\bfilter\s*:\s*(\{[^{}]*\}|\$\w+)", arguments)
    filters = object_value(match.group(1), variables) if match else {}
    unknown = sorted(set(filters) - set(FILTER_KEYS))
    if unknown:
        raise QueryError(f"unknown filter field {unknown[0]!r} (the emulator knows {', '.join(FILTER_KEYS)})")
    checked = {}
    for key, value in filters.items():
        if key.startswith("date"):
            try:
                checked[key] = date.fromisoformat(value)
            except (TypeError, ValueError):
                raise QueryError(f"{key} must be a date (YYYY-MM-DD), not {value!r}") from None
        elif key == "uid_in":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise QueryError("uid_in must be a list of strings")
            checked[key] = value
        elif not isinstance(value, str):
            raise QueryError(f"{key} must be a string")
        else:
            checked[key] = value
    low = checked.get("date_geq") or checked.get("date_gt") or checked.get("date")
    high = checked.get("date_leq") or checked.get("date_lt") or checked.get("date")
    if low and high and (high - low).days > MAX_RANGE_DAYS:
        raise QueryError(f"cannot request a time range wider than {MAX_RANGE_DAYS} days")
    return checked


def matches(row, filters):
    """Whether a (uid, date, seconds) row passes the filter."""
    uid, day = row[0], date.fromisoformat(row[1])
    tests = {
        "uid": lambda v: uid == v,
        "uid_in": lambda v: uid in v,
        "uid_gt": lambda v: uid > v,
        "date": lambda v: day == v,
        "date_geq": lambda v: day >= v,
        "date_gt": lambda v: day > v,
        "date_leq": lambda v: day <= v,
        "date_lt": lambda v: day < v,
    }
    return all(tests[key](value) for key, value in filters.items())


def selected_fields(selection):
    """Whether sum { minutesViewed } is selected, and the dimensions asked for."""
    with_sum, dimensions = False, []
    sum_match = re.search(r"\bsum\s*\{([^}]*)\}", selection)
    if sum_match:
        fields = sum_match.group(1).split()
        if fields != ["minutesViewed"]:
            raise QueryError("sum selects only minutesViewed in the stream emulator")
        with_sum = True
    dim_match = re.search(r"\bdimensions\s*\{([^}]*)\}", selection)
    if dim_match:
        dimensions = dim_match.group(1).replace(",", " ").split()
        unknown = [d for d in dimensions if d not in DIMENSIONS]
        if unknown:
            raise QueryError(f"unknown dimension {unknown[0]!r} (the emulator knows uid and date)")
    rest = re.sub(r"\b(sum|dimensions)\s*\{[^}]*\}", "", selection).replace("__typename", "").strip()
    if rest or not (with_sum or dimensions):
        raise QueryError(f"the stream emulator selects only sum {{ minutesViewed }} and dimensions on {NODE}")
    return with_sum, dimensions


def group_rows(rows, dimensions):
    """Sum seconds per combination of the requested dimensions."""
    totals = {}
    for uid, day, seconds in rows:
        values = {"uid": uid, "date": day}
        key = tuple(values[d] for d in dimensions)
        totals[key] = totals.get(key, 0.0) + seconds
    return [
        {"dimensions": dict(zip(dimensions, key, strict=False)), "seconds": seconds}
        for key, seconds in totals.items()
    ]


def sort_groups(groups, order, dimensions):
    """Sort in place by the orderBy list (last key applied first, so the first one wins)."""
    for item in reversed(order):
        match = ORDER.match(str(item))
        if not match:
            raise QueryError(f"unknown orderBy value {item!r}")
        field, direction = match.groups()
        if field != "sum_minutesViewed" and field not in dimensions:
            raise QueryError(f"cannot order by {field}: it is not a selected dimension")
        key = (
            (lambda g: g["seconds"])
            if field == "sum_minutesViewed"
            else (lambda g, f=field: g["dimensions"][f])
        )
        groups.sort(key=key, reverse=direction == "DESC")


def render(group, with_sum, dimensions):
    """One group as Cloudflare answers it (fractional minutes: see analytics.py)."""
    result = {}
    if with_sum:
        result["sum"] = {"minutesViewed": round(group["seconds"] / 60, 6)}
    if dimensions:
        result["dimensions"] = group["dimensions"]
    return result
