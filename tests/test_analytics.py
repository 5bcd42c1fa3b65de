"""Analytics with costs: periods checked, Stream's minutes fetched by a job into the cache (the
emulator answers from its play log), the SVG chart, totals per tier, most watched, costs, the
instructor's own view, a Stream outage (last figures with their age), the monthly cost alert."""

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import requests
from rq import SimpleWorker
from sqlalchemy import select

from portal.extensions import db
from portal.jobs.analytics import refresh_default_analytics
from portal.models import DailyView, MediaAccessLevel, MediaAsset, MediaAssetStatus, Notification, Role, Tier
from portal.services import analytics
from portal.services.charts import bar_chart

TODAY = datetime.now(UTC).date()


@pytest.fixture
def app(app_factory, emulator):
    app = app_factory(
        CLOUDFLARE_API_BASE=emulator.api_base,
        CLOUDFLARE_GRAPHQL_URL=f"{emulator.api_base}/graphql",
        STREAM_CUSTOMER_BASE_URL=emulator.url,
        STREAM_MAX_RETRIES=0,
    )
    with app.app_context():
        yield app


@pytest.fixture
def videos(app, make_user, emulator):
    """Three ready 30-minute videos (two by one instructor), with views and minutes watched."""
    ian = make_user(role=Role.INSTRUCTOR, tier=Tier.LIFETIME)
    other = make_user(role=Role.INSTRUCTOR, tier=Tier.LIFETIME)
    specs = [
        ("Kata basics", "a" * 32, ian, MediaAccessLevel.PUBLIC, None, 12, 100),
        ("Premium seminar", "b" * 32, ian, MediaAccessLevel.TIER_SPECIFIC, Tier.PREMIUM, 5, 50),
        ("Members grading", "c" * 32, other, MediaAccessLevel.MEMBERS_ONLY, None, 3, 0),
    ]
    viewers = [make_user(tier=Tier.PREMIUM) for _ in range(12)]
    for title, uid, owner, access, tier, views, minutes in specs:
        asset = MediaAsset(
            title=title,
            stream_video_id=uid,
            created_by=owner.id,
            status=MediaAssetStatus.READY,
            access_level=access,
            required_tier=tier,
            duration_seconds=1800,
            view_count=views + 1,
        )
        db.session.add(asset)
        db.session.flush()
        # Views in the period (one per member and day), and one before it that must not count.
        db.session.add_all(DailyView(asset_id=asset.id, user_id=v.id, day=TODAY) for v in viewers[:views])
        db.session.add(DailyView(asset_id=asset.id, user_id=viewers[0].id, day=TODAY - timedelta(days=60)))
        if minutes:
            emulator.emulator.analytics.record(uid, minutes * 60 / 2, TODAY)
            emulator.emulator.analytics.record(uid, minutes * 60 / 2, TODAY - timedelta(days=1))
    db.session.commit()
    return ian


def run_worker(app):
    queue = app.extensions["redis"].queue("default")
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def page(client, path="/admin/analytics", **params):
    response = client.get(path, query_string=params)
    return response, response.get_data(as_text=True)


# -- periods ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "since, until, message",
    [
        (
            (TODAY - timedelta(days=1)).isoformat(),
            (TODAY - timedelta(days=5)).isoformat(),
            "start date is after",
        ),
        (TODAY.isoformat(), (TODAY + timedelta(days=1)).isoformat(), "ends in the future"),
        ((TODAY + timedelta(days=3)).isoformat(), "", "starts in the future"),
        ((TODAY - timedelta(days=40)).isoformat(), TODAY.isoformat(), "at most 31 days"),
        ((TODAY - timedelta(days=120)).isoformat(), (TODAY - timedelta(days=100)).isoformat(), "90 days"),
        ("yesterday", "", "YYYY-MM-DD"),
        ("2026-02-30", "", "YYYY-MM-DD"),
        ("9" * 500, "", "YYYY-MM-DD"),
    ],
    ids=["reversed", "future", "future-start-only", "too-long", "too-old", "words", "no-such-day", "huge"],
)
def test_a_period_stream_cannot_answer_is_a_clear_400(app, admin_client, since, until, message):
    response, html = page(admin_client, since=since, until=until)
    assert response.status_code == 400 and message in html and 'role="alert"' in html
    assert app.extensions["redis"].queue("default").count == 0  # nothing asked of Stream


def test_the_default_period_is_the_last_30_days():
    period = analytics.parse_period("", "", today=TODAY)
    assert (period.since, period.until, period.days) == (TODAY - timedelta(days=29), TODAY, 30)
    assert analytics.parse_period(TODAY.isoformat(), None, today=TODAY).days == 1


# -- fetched by a job, shown from the cache ---------------------------------------------------------


def test_minutes_are_fetched_by_a_job_then_shown_with_chart_tiers_costs(app, admin_client, videos):
    response, html = page(admin_client)
    assert response.status_code == 200 and "being fetched" in html
    assert "Views in the period</span><strong>20<" in html  # the portal's own counts, at once
    run_worker(app)
    response, html = page(admin_client)
    assert re.search(r"as Stream reported them \d+ s ago", html)
    assert "Minutes watched</span><strong>150<" in html and "Minutes stored</span><strong>90<" in html
    assert len(re.findall(r"<rect ", html)) == 30  # one bar per day of the period
    assert "<title>" + TODAY.strftime("%d %b") + ": 75.0 minutes</title>" in html
    assert '<th scope="row">premium and above</th><td>1</td><td>5</td><td>50.0</td>' in html
    assert '<th scope="row">public</th><td>1</td><td>12</td><td>100.0</td>' in html
    most = re.findall(r'<td><a href="/watch/[^"]+">([^<]+)</a>', html)
    assert most == ["Kata basics", "Premium seminar", "Members grading"]
    # costs: 90 minutes stored at $5/1000 a month; 150 minutes delivered at $1/1000
    period = analytics.default_period()
    expected = analytics.costs(app.config, 90, 150, period)
    assert abs(expected["delivery_period"] - 0.15) < 1e-9 and abs(expected["storage_month"] - 0.45) < 1e-9
    assert f"${expected['total_period']:.2f}" in html and f"${expected['total_month']:.2f}" in html


def test_costs_follow_the_seed_example():
    period = analytics.Period(datetime(2026, 11, 1).date(), datetime(2026, 11, 30).date())  # 30-day month
    result = analytics.costs(
        {"STREAM_PRICE_STORED_PER_1000_MIN": 5, "STREAM_PRICE_DELIVERED_PER_1000_MIN": 1},
        3000,
        300000,
        period,
    )
    assert round(result["storage_month"], 2) == 15 and round(result["delivery_period"], 2) == 300
    assert round(result["total_month"], 2) == 315 and round(result["total_period"], 2) == 315


def test_prices_are_settings(app_factory, emulator):
    app = app_factory(STREAM_PRICE_STORED_PER_1000_MIN=10, STREAM_PRICE_DELIVERED_PER_1000_MIN=2)
    period = analytics.Period(TODAY, TODAY)
    result = analytics.costs(app.config, 1000, 1000, period)
    assert result["storage_month"] == 10 and result["delivery_period"] == 2


def test_a_stream_outage_shows_the_last_figures_with_their_age(app, admin_client, videos, emulator):
    page(admin_client)
    run_worker(app)
    period = analytics.default_period()
    key = analytics.cache_key(period)
    connection = app.extensions["redis"].connection
    stale = analytics.cached_figures(connection, period)
    stale["fetched_at"] = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    connection.set(key, json.dumps(stale))
    spec = {"kind": "status", "status": 503, "count": None, "path_prefix": "/client/v4/graphql"}
    requests.post(f"{emulator.url}/__emulator__/faults", json=spec, timeout=10).raise_for_status()
    response, _ = page(admin_client)  # old figures: a refresh is enqueued
    assert response.status_code == 200
    run_worker(app)  # Stream answers 503: the job fails
    assert app.extensions["redis"].queue("default").failed_job_registry.count == 1
    response, html = page(admin_client)
    assert response.status_code == 200
    assert "as Stream reported them 2 h 0 min ago" in html and "Stream did not answer" in html
    assert "Minutes watched</span><strong>150<" in html


def test_a_stream_outage_with_nothing_cached_is_not_a_500(app, admin_client, videos, emulator):
    spec = {"kind": "status", "status": 503, "count": None, "path_prefix": "/client/v4/graphql"}
    requests.post(f"{emulator.url}/__emulator__/faults", json=spec, timeout=10).raise_for_status()
    page(admin_client)
    run_worker(app)
    response, html = page(admin_client)
    assert response.status_code == 200 and "Stream did not answer" in html and "not known yet" in html


def test_without_stream_figures_minutes_and_costs_are_not_shown_as_zero(app, admin_client, videos, emulator):
    """Minutes Stream has not reported are unknown, not 0: no zero figures, bars or delivery costs,
    and after a failed fetch the page says Stream is not answering rather than 'reload in a minute'."""
    spec = {"kind": "status", "status": 503, "count": None, "path_prefix": "/client/v4/graphql"}
    requests.post(f"{emulator.url}/__emulator__/faults", json=spec, timeout=10).raise_for_status()
    response, html = page(admin_client)
    assert response.status_code == 200
    assert "Minutes watched</span><strong>0<" not in html and "<rect " not in html
    assert "Minutes watched</span><strong>—" in html and "Minutes stored</span><strong>90<" in html
    assert "$0.00" not in html  # delivery (and so the totals) are unknown; storage is not
    storage = analytics.costs(app.config, 90, 0, analytics.default_period())["storage_month"]
    assert f"${storage:.2f}" in html
    run_worker(app)
    response, html = page(admin_client)
    assert response.status_code == 200 and "Stream did not answer" in html
    assert "reload in a minute" not in html and "not known" in html


# -- who sees what ----------------------------------------------------------------------------------


def test_an_instructor_sees_only_their_own_videos_and_no_costs(app, login_as, videos, make_user):
    from tests.conftest import AuthActions

    client = app.test_client()
    assert AuthActions(client).login(videos.email).status_code == 302
    page(client, "/studio/analytics")
    run_worker(app)
    response, html = page(client, "/studio/analytics")
    assert response.status_code == 200
    assert "Kata basics" in html and "Premium seminar" in html and "Members grading" not in html
    assert "Stream cost" not in html and "Minutes watched</span><strong>150<" in html
    assert login_as(Role.INSTRUCTOR, Tier.LIFETIME).get("/admin/analytics").status_code == 403
    assert login_as(Role.MEMBER, Tier.LIFETIME).get("/studio/analytics").status_code == 403


# -- the monthly cost alert -------------------------------------------------------------------------


def test_admins_hear_once_when_the_monthly_projection_crosses_the_threshold(app, videos, make_user):
    admin = make_user(role=Role.ADMIN, tier=Tier.LIFETIME)
    app.config["COST_ALERT_MONTHLY_USD"] = 0.10
    refresh_default_analytics()
    refresh_default_analytics()
    alerts = db.session.scalars(select(Notification).where(Notification.kind == "cost_alert")).all()
    assert [n.user_id for n in alerts] == [admin.id]
    assert "projected at $" in alerts[0].title and alerts[0].link == "/admin/analytics"


def test_no_alert_below_the_threshold(app, videos, make_user):
    make_user(role=Role.ADMIN, tier=Tier.LIFETIME)
    app.config["COST_ALERT_MONTHLY_USD"] = 1000.0
    refresh_default_analytics()
    assert db.session.scalar(select(Notification.id)) is None


# -- the chart ---------------------------------------------------------------------------------------


def test_bar_chart_geometry():
    chart = bar_chart([("a", 0), ("b", 5), ("c", 10)])
    heights = [bar["h"] for bar in chart["bars"]]
    assert heights[0] == 0 and heights[2] == chart["baseline"] - 12 and heights[1] == heights[2] / 2
    assert [t["value"] for t in chart["ticks"]] == [0, 5, 10]
    assert bar_chart([])["bars"] == []
