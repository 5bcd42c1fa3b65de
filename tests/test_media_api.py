"""The media API: filters and pages, bad input answered with clear 4xx JSON and nothing changed,
progress and continue watching, views counted once per member per video per UTC day."""

import uuid
from datetime import date

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import DailyView, MediaAccessLevel, MediaAsset, MediaAssetStatus, Role, Tier, WatchProgress
from portal.services.media import watching
from tests.conftest import csrf_token_from
from tests.library_fixtures import make_asset, module_app


@pytest.fixture
def app(redis_url, tmp_path):
    """The portal with a local signing key (login_as and the client fixtures use it)."""
    with module_app(redis_url, tmp_path) as app:
        with app.app_context():
            yield app


@pytest.fixture
def videos(app):
    assets = {
        "public": make_asset("Open class", tags=["kata"], duration_seconds=100),
        "premium": make_asset("Seminar", MediaAccessLevel.TIER_SPECIFIC, Tier.PREMIUM, tags=["seminar"]),
        "processing": make_asset("Fresh upload", status=MediaAssetStatus.PROCESSING),
    }
    db.session.commit()
    return {name: asset.id for name, asset in assets.items()}


def csrf(client):
    return {"X-CSRFToken": csrf_token_from(client.get("/").get_data(as_text=True))}


def error_code(response):
    return response.get_json()["error"]["code"]


def test_list_filters_and_pages(client, videos, login_as):
    body = client.get("/api/media?per_page=1&page=2").get_json()
    assert body["total"] == 2 and body["page"] == 2 and body["per_page"] == 1 and len(body["items"]) == 1
    assert [i["title"] for i in client.get("/api/media?tag=kata").get_json()["items"]] == ["Open class"]
    assert client.get("/api/media?q=semi").get_json()["items"][0]["locked"] is True
    assert client.get("/api/media?status=processing").get_json() == {
        "items": [],
        "page": 1,
        "per_page": 24,
        "total": 0,
    }
    admin = login_as(Role.ADMIN, Tier.LIFETIME)
    staff = admin.get("/api/media?status=processing").get_json()["items"]
    assert [i["title"] for i in staff] == ["Fresh upload"] and staff[0]["stream_video_id"]
    assert client.get("/api/media?page=50").get_json()["items"] == []


@pytest.mark.parametrize(
    "query,parameter",
    [
        ("page=0", "page"),
        ("page=-3", "page"),
        ("page=x", "page"),
        ("per_page=101", "per_page"),
        ("per_page=0", "per_page"),
        ("status=deleted", "status"),
        ("entity_type=planet", "entity_type"),
        ("sort=random", "sort"),
        ("q=" + "a" * 10_000, "q"),
        ("page=%C2%B2", "page"),  # "²": str.isdigit() says yes, int() says no
        ("per_page=%C2%B2", "per_page"),
        ("page=%D9%A1", "page"),  # Arabic-Indic one: only ASCII digits are numbers here
        ("q=a%00b", "q"),  # PostgreSQL refuses NUL in text: never sent to it
        ("tag=a%00b", "tag"),
        ("entity_id=a%00b", "entity_id"),
    ],
)
def test_list_bad_input_is_400_json(client, videos, query, parameter):
    response = client.get(f"/api/media?{query}")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_parameter"
    assert response.get_json()["error"]["parameter"] == parameter


def test_wildcards_are_literal_in_api_search(client, app):
    make_asset("50% off")
    make_asset("Fifty")
    db.session.commit()
    assert [i["title"] for i in client.get("/api/media?q=%25").get_json()["items"]] == ["50% off"]
    assert client.get("/api/media?q=_").get_json()["items"] == []


@pytest.mark.parametrize("asset_id", ["nope", "x" * 300, str(uuid.uuid4()), "%00"])
def test_unknown_and_malformed_ids_are_404(client, videos, asset_id):
    for path in ("", "/access-url"):
        response = client.get(f"/api/media/{asset_id}{path}")
        assert response.status_code == 404 and error_code(response) == "not_found"


@pytest.mark.parametrize(
    "expiry",
    [
        "59",
        "86401",
        "0",
        "-60",
        "abc",
        "3600.5",
        "1e3",
        "",
        "9" * 40,
        "%C2%B2",
        "%D9%A3%D9%A0%D9%A0",
        "%EF%BC%99%EF%BC%90",
    ],
)
def test_access_url_expiry_out_of_range_or_not_a_number_is_400(client, videos, expiry):
    response = client.get(f"/api/media/{videos['public']}/access-url?expiry_seconds={expiry}")
    assert response.status_code == 400 and error_code(response) == "invalid_parameter"


def test_access_url_statuses(client, videos, login_as):
    assert client.get(f"/api/media/{videos['public']}/access-url?expiry_seconds=60").status_code == 200
    assert client.get(f"/api/media/{videos['premium']}/access-url").status_code == 401
    basic = login_as(Role.MEMBER, Tier.BASIC)
    refused = basic.get(f"/api/media/{videos['premium']}/access-url")
    assert refused.status_code == 403 and refused.get_json()["error"]["required_tier"] == "premium"
    assert "access_url" not in refused.get_json()
    assert basic.get(f"/api/media/{videos['processing']}/access-url").status_code == 404
    instructor = login_as(Role.INSTRUCTOR, Tier.FREE)
    assert instructor.get(f"/api/media/{videos['processing']}/access-url").status_code == 409


def test_downgraded_member_is_refused_at_once(client, videos, login_as, api_token):
    member = login_as(Role.MEMBER, Tier.PREMIUM)
    assert member.get(f"/api/media/{videos['premium']}/access-url").status_code == 200
    member.user.tier = Tier.BASIC
    db.session.commit()
    assert member.get(f"/api/media/{videos['premium']}/access-url").status_code == 403


def test_bearer_token_callers_use_the_same_policy(client, videos, make_user, api_token):
    user = make_user(role=Role.MEMBER, tier=Tier.LIFETIME)
    headers = {"Authorization": f"Bearer {api_token(user)}"}
    assert client.get(f"/api/media/{videos['premium']}/access-url", headers=headers).status_code == 200
    saved = client.put(
        f"/api/media/{videos['premium']}/progress", json={"position_seconds": 5}, headers=headers
    )
    assert saved.status_code == 204
    items = client.get("/api/me/continue-watching", headers=headers).get_json()["items"]
    assert [i["title"] for i in items] == ["Seminar"] and items[0]["position_seconds"] == 5


@pytest.mark.parametrize(
    "body,status",
    [
        ({"position_seconds": -1}, 400),
        ({"position_seconds": "10"}, 400),
        ({"position_seconds": True}, 400),
        ({"position_seconds": 1e309}, 400),
        ({"position_seconds": 10**400}, 400),  # a JSON integer too large for a float
        ({"position_seconds": 5, "duration_seconds": -(10**400)}, 400),
        ({}, 400),
        ({"position_seconds": 500, "duration_seconds": 100}, 400),
        ({"position_seconds": 5, "duration_seconds": -2}, 400),
        ([1, 2], 400),
    ],
)
def test_bad_progress_is_400_and_stores_nothing(videos, login_as, body, status):
    member = login_as(Role.MEMBER, Tier.FREE)
    response = member.put(f"/api/media/{videos['public']}/progress", json=body, headers=csrf(member))
    assert response.status_code == status
    assert db.session.scalar(select(func.count()).select_from(WatchProgress)) == 0


def test_progress_needs_json_csrf_and_sign_in(client, videos, login_as):
    path = f"/api/media/{videos['public']}/progress"
    assert client.put(path, json={"position_seconds": 3}, headers=csrf(client)).status_code == 401
    member = login_as(Role.MEMBER, Tier.FREE)
    assert member.put(path, json={"position_seconds": 3}).status_code == 400  # no CSRF token
    assert member.put(path, data="position_seconds=3", headers=csrf(member)).status_code == 415


def test_progress_past_ninety_percent_counts_as_finished(videos, login_as):
    member = login_as(Role.MEMBER, Tier.FREE)
    path = f"/api/media/{videos['public']}/progress"
    assert (
        member.put(
            path, json={"position_seconds": 20, "duration_seconds": 100}, headers=csrf(member)
        ).status_code
        == 204
    )
    listed = member.get("/api/me/continue-watching").get_json()["items"]
    assert [(i["title"], i["position_seconds"]) for i in listed] == [("Open class", 20)]
    assert (
        member.put(
            path, json={"position_seconds": 91, "duration_seconds": 100}, headers=csrf(member)
        ).status_code
        == 204
    )
    assert member.get("/api/me/continue-watching").get_json()["items"] == []
    assert 'data-start-time="0"' in member.get(f"/watch/{videos['public']}").get_data(as_text=True)


def test_views_count_once_per_member_per_video_per_day(videos, login_as, client):
    member = login_as(Role.MEMBER, Tier.FREE)
    other = login_as(Role.MEMBER, Tier.FREE)
    path = f"/api/media/{videos['public']}/views"
    for _ in range(3):
        assert member.post(path, headers=csrf(member)).status_code == 204
    assert other.post(path, headers=csrf(other)).status_code == 204
    assert client.post(path, headers=csrf(client)).status_code == 204  # anonymous: not counted
    assert member.get(f"/watch/{videos['public']}").status_code == 200  # loading the page counts nothing
    assert db.session.get(MediaAsset, videos["public"]).view_count == 2
    assert watching.record_view(member.user, db.session.get(MediaAsset, videos["public"]), date(2030, 1, 2))
    db.session.commit()
    assert db.session.get(MediaAsset, videos["public"]).view_count == 3
    assert db.session.scalar(select(func.count()).select_from(DailyView)) == 3


def test_views_need_csrf_for_session_callers(videos, login_as):
    member = login_as(Role.MEMBER, Tier.FREE)
    assert member.post(f"/api/media/{videos['public']}/views").status_code == 400
    assert db.session.get(MediaAsset, videos["public"]).view_count == 0


def test_continue_watching_needs_sign_in(client):
    response = client.get("/api/me/continue-watching")
    assert response.status_code == 401 and error_code(response) == "authentication_required"


def test_markup_is_returned_as_data_not_html(client, app):
    make_asset("<script>x</script>", tags=["<b>"])
    db.session.commit()
    response = client.get("/api/media")
    assert response.mimetype == "application/json"
    assert response.get_json()["items"][0]["title"] == "<script>x</script>"
