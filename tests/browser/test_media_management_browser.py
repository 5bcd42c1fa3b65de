"""In Chromium: an instructor captions a video on its Studio page and re-gates it; members see the result."""

import pytest

from portal.models import MediaAccessLevel, Role, Tier

pytestmark = pytest.mark.browser

SRT = "1\n00:00:00,000 --> 00:00:01,500\nBow to the instructor\n"


def sign_in(page, base_url, email):
    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def test_srt_added_on_the_studio_page_shows_in_the_members_player(
    stream_app, people, make_video, make_user, live_server, browser, tmp_path
):
    asset = make_video(access=MediaAccessLevel.MEMBERS_ONLY, ready=True)
    srt = tmp_path / "class.srt"
    srt.write_text(SRT, encoding="utf-8")

    instructor = browser.new_context()
    page = instructor.new_page()
    sign_in(page, live_server.url, people["owner"].user.email)
    page.goto(f"{live_server.url}/studio/media/{asset.id}")
    page.get_by_label("Caption file").set_input_files(str(srt))
    page.get_by_label("Language (BCP-47").fill("en")
    page.get_by_label("Label shown in the player").fill("English")
    page.get_by_role("button", name="Add captions").click()
    page.get_by_text("Captions added: English (en)").wait_for()
    instructor.close()

    member = browser.new_context()
    page = member.new_page()
    sign_in(page, live_server.url, make_user(role=Role.MEMBER, tier=Tier.BASIC).email)
    page.goto(f"{live_server.url}/watch/{asset.id}")
    player = page.frame_locator("#stream-player")
    track = player.locator("video track[srclang='en']")
    track.wait_for(state="attached")
    assert track.get_attribute("label") == "English"
    member.close()


def test_a_video_moved_to_premium_is_locked_on_a_basic_members_next_visit(
    stream_app, people, make_video, make_user, live_server, browser
):
    asset = make_video(access=MediaAccessLevel.MEMBERS_ONLY, ready=True, title="Bo staff drills")
    basic = make_user(role=Role.MEMBER, tier=Tier.BASIC)
    member = browser.new_context()
    member_page = member.new_page()
    sign_in(member_page, live_server.url, basic.email)
    member_page.goto(f"{live_server.url}/watch/{asset.id}")
    member_page.locator("#stream-player").wait_for()

    instructor = browser.new_context()
    page = instructor.new_page()
    sign_in(page, live_server.url, people["owner"].user.email)
    page.goto(f"{live_server.url}/studio/media/{asset.id}")
    page.get_by_label("Who may watch").select_option("tier_specific")
    page.get_by_label("Required tier").select_option("premium")
    page.get_by_role("button", name="Save changes").click()
    page.get_by_text("Changes saved").wait_for()
    instructor.close()

    member_page.goto(f"{live_server.url}/watch/{asset.id}")
    member_page.get_by_text("Premium: upgrade to watch").wait_for()
    assert member_page.locator("#stream-player").count() == 0
    member.close()


def test_media_management_pages_have_no_accessibility_violations(
    stream_app, people, make_video, live_server, browser
):
    from portal.extensions import db
    from portal.models import EntityType, Event, TrainingSession
    from tests.browser.test_accessibility_browser import violations

    training_session, event = (
        TrainingSession(title="Monday kata"),
        Event(title="Spring grading", location="Dojo"),
    )
    db.session.add_all([training_session, event])
    db.session.commit()
    asset = make_video(access=MediaAccessLevel.MEMBERS_ONLY, ready=True)
    asset.entity_type, asset.entity_id, asset.duration_seconds = (
        EntityType.TRAINING_SESSION,
        training_session.id,
        2,
    )
    db.session.commit()
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, live_server.url, people["owner"].user.email)
    found = {}
    for name, path in [
        ("manage video", f"/studio/media/{asset.id}"),
        ("delete confirmation", f"/studio/media/{asset.id}/delete"),
        ("sessions and events", "/studio/activities"),
        ("new session", "/studio/session/new"),
        ("new event", "/studio/event/new"),
        ("add a file", "/studio/files/new"),
        ("session page", f"/sessions/{training_session.id}"),
        ("event page", f"/events/{event.id}"),
        ("instructor page", f"/instructors/{people['owner'].user.id}"),
    ]:
        page.goto(live_server.url + path)
        found[name] = violations(page)
    page.goto(f"{live_server.url}/studio/media/{asset.id}")
    page.get_by_role("button", name="Save changes").click()  # saved unchanged: the page with its flash
    found["manage video, saved"] = violations(page)
    context.close()
    assert {name: problems for name, problems in found.items() if problems} == {}
