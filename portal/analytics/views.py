"""Views and minutes watched over a period, as a chart and tables, with Stream's costs for admins.

Stream's figures come from the cache the analytics job fills; the page only enqueues a refresh
when they are missing or old, so a Stream outage shows the last figures with their age.
"""

from datetime import UTC, datetime

from flask import current_app, render_template, request
from flask_login import current_user

from portal.analytics import bp
from portal.auth.access import admin_required, staff_required
from portal.jobs.analytics import enqueue_refresh
from portal.services import analytics
from portal.services.charts import bar_chart
from portal.services.operations import human_age


def render_analytics(owner_id, template_title, show_costs):
    """Parse the period, read the cache (asking for a refresh if due) and render the report."""
    try:
        period = analytics.parse_period(request.args.get("since"), request.args.get("until"))
    except analytics.PeriodError as error:
        default = analytics.default_period()
        return (
            render_template(
                "analytics/index.html",
                title=template_title,
                error=str(error),
                since=(request.args.get("since") or "")[:10],
                until=(request.args.get("until") or "")[:10],
                today=default.until,
            ),
            400,
        )
    connection = current_app.extensions["redis"].connection
    figures = analytics.cached_figures(connection, period)
    age = datetime.now(UTC) - figures["fetched_at"] if figures else None
    if figures is None or age.total_seconds() > current_app.config["ANALYTICS_REFRESH_SECONDS"]:
        enqueue_refresh(period)
    data = analytics.report(current_app.config, period, figures, owner_id=owner_id)
    chart = bar_chart([(day.strftime("%d %b"), minutes) for day, minutes in data["daily"]])
    return render_template(
        "analytics/index.html",
        title=template_title,
        period=period,
        since=period.since.isoformat(),
        until=period.until.isoformat(),
        today=analytics.default_period().until,
        data=data,
        chart=chart if owner_id is None else None,
        age=human_age(age) if age is not None else None,
        failure=analytics.last_failure(connection, period),
        show_costs=show_costs,
    )


@bp.get("/admin/analytics")
@admin_required
def admin_analytics():
    """Every video: views, minutes watched, totals per tier, most watched, and Stream's costs."""
    return render_analytics(None, "Analytics", show_costs=True)


@bp.get("/studio/analytics")
@staff_required
def my_analytics():
    """An instructor's own videos: views and minutes watched."""
    return render_analytics(current_user.id, "My videos' analytics", show_costs=False)
