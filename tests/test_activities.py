"""Training sessions and events: staff create and edit them; their pages and instructor profiles list media by policy."""

from portal.extensions import db
from portal.models import (
    EntityType,
    Event,
    MediaAccessLevel,
    MediaAsset,
    MediaAssetStatus,
    Role,
    Tier,
    TrainingSession,
)
from tests.conftest import csrf_token_from


def save(client, path, data):
    token = csrf_token_from(client.get(path).get_data(as_text=True))
    return client.post(path, data={**data, "csrf_token": token})


def test_staff_create_and_edit_a_session_and_an_event(admin_client, make_user):
    teacher = make_user(role=Role.INSTRUCTOR, name="Sensei Ito")
    response = save(
        admin_client,
        "/studio/session/new",
        {
            "title": "Monday kata",
            "starts_at": "2026-12-07T18:30",
            "instructor": str(teacher.id),
            "description": "Heian shodan",
        },
    )
    assert response.status_code == 302
    training_session = db.session.query(TrainingSession).one()
    assert training_session.instructor_id == teacher.id and training_session.starts_at.hour == 18
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Monday kata" in page and "Sensei Ito" in page and "Not recorded yet" in page
    edit = f"/studio/session/{training_session.id}/edit"
    assert save(admin_client, edit, {"title": "Monday kata (moved)", "instructor": ""}).status_code == 302
    db.session.expire_all()
    assert db.session.get(TrainingSession, training_session.id).instructor_id is None
    response = save(admin_client, "/studio/event/new", {"title": "Spring grading", "location": "Dojo hall"})
    assert response.status_code == 302
    assert "Dojo hall" in admin_client.get(response.headers["Location"]).get_data(as_text=True)


def test_bad_session_input_is_refused_and_nothing_saved(instructor_client, make_user):
    member = make_user()
    for data in (
        {"title": ""},
        {"title": "x" * 10_000},
        {"title": "ok", "instructor": str(member.id)},
        {"title": "ok", "instructor": "999999"},
        {"title": "ok", "starts_at": "yesterday"},
    ):
        assert save(instructor_client, "/studio/session/new", data).status_code == 400, data
    assert db.session.query(TrainingSession).count() == 0
    assert instructor_client.get("/studio/session/nope/edit").status_code == 404


def test_members_cannot_manage_sessions(login_as):
    member = login_as(Role.MEMBER, Tier.LIFETIME)
    assert member.get("/studio/session/new").status_code == 403
    assert member.get("/studio/activities").status_code == 403


def _asset(title, access, tier=None, status=MediaAssetStatus.READY, **fields):
    asset = MediaAsset(title=title, access_level=access, required_tier=tier, status=status, **fields)
    db.session.add(asset)
    return asset


def test_session_event_and_profile_pages_list_media_through_the_policy(app, login_as, make_user, client):
    teacher = make_user(role=Role.INSTRUCTOR, name="Sensei Ito")
    session_row, event_row = (
        TrainingSession(title="Monday kata", instructor_id=teacher.id),
        Event(title="Grading"),
    )
    db.session.add_all([session_row, event_row])
    db.session.flush()
    link = {"entity_type": EntityType.TRAINING_SESSION, "entity_id": session_row.id}
    _asset("Open class", MediaAccessLevel.PUBLIC, stream_video_id="a" * 32, created_by=teacher.id, **link)
    _asset("Premium drill", MediaAccessLevel.TIER_SPECIFIC, Tier.PREMIUM, stream_video_id="b" * 32, **link)
    _asset("Still processing", MediaAccessLevel.PUBLIC, status=MediaAssetStatus.PROCESSING, **link)
    _asset(
        "Grading handout", MediaAccessLevel.MEMBERS_ONLY, entity_type=EntityType.EVENT, entity_id=event_row.id
    )
    _asset(
        "Profile reel",
        MediaAccessLevel.MEMBERS_ONLY,
        entity_type=EntityType.PROFILE,
        entity_id=str(teacher.id),
    )
    db.session.commit()

    basic = login_as(Role.MEMBER, Tier.BASIC).get(f"/sessions/{session_row.id}").get_data(as_text=True)
    assert "Open class" in basic and "Premium drill" in basic and "Premium: upgrade to watch" in basic
    assert "Still processing" not in basic and "b" * 32 not in basic
    anonymous = client.get(f"/sessions/{session_row.id}").get_data(as_text=True)
    assert "Open class" in anonymous and "Premium drill" in anonymous and "Still processing" not in anonymous
    staff = login_as(Role.ADMIN, Tier.LIFETIME).get(f"/sessions/{session_row.id}").get_data(as_text=True)
    assert "Still processing" in staff
    assert "Grading handout" in client.get(f"/events/{event_row.id}").get_data(as_text=True)
    profile = client.get(f"/instructors/{teacher.id}").get_data(as_text=True)
    assert "Open class" in profile and "Profile reel" in profile and "Premium drill" not in profile
    assert client.get("/sessions/nope").status_code == 404
    assert client.get(f"/instructors/{make_user().id}").status_code == 404
    assert client.get("/instructors/99999999999").status_code == 404
