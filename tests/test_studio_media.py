"""A video's Studio page: edit and re-gate, captions, thumbnail strip, history, delete with confirmation."""

import io

import requests

from portal.extensions import db
from portal.models import Caption, MediaAccessLevel, MediaAsset, MediaChange
from portal.services.stream import get_client
from tests.conftest import csrf_token_from

SRT = b"1\n00:00:00,000 --> 00:00:01,000\nOnegaishimasu\n"


def page(client, asset_id):
    response = client.get(f"/studio/media/{asset_id}")
    return response, response.get_data(as_text=True)


def form_post(client, path, data, **kwargs):
    html = client.get(path.split("/captions")[0].split("/thumbnail")[0]).get_data(as_text=True)
    return client.post(path, data={**data, "csrf_token": csrf_token_from(html)}, **kwargs)


def test_only_the_owner_and_admins_see_the_page(stream_app, people, make_video, client):
    asset = make_video()
    assert page(people["owner"], asset.id)[0].status_code == 200
    assert page(people["admin"], asset.id)[0].status_code == 200
    assert page(people["other"], asset.id)[0].status_code == 403
    assert page(people["basic"], asset.id)[0].status_code == 403
    assert client.get(f"/studio/media/{asset.id}").status_code == 302
    assert page(people["admin"], "nope")[0].status_code == 404


def test_edit_form_regates_on_stream_and_the_history_shows_it(stream_app, people, make_video):
    asset = make_video(access=MediaAccessLevel.PUBLIC, ready=True)
    owner = people["owner"]
    data = {
        "title": "Kata, revised",
        "description": "",
        "tags": "kata, basics",
        "access_level": "tier_specific",
        "required_tier": "premium",
        "link": "",
    }
    response = form_post(owner, f"/studio/media/{asset.id}", data, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Stream now matches who may watch" in html
    assert (
        requests.get(get_client(stream_app).iframe_url(asset.stream_video_id), timeout=10).status_code == 401
    )
    assert "access changed" in html and "public" in html and owner.user.email in html
    db.session.expire_all()
    stored = db.session.get(MediaAsset, asset.id)
    assert stored.title == "Kata, revised" and stored.tags == ["basics", "kata"]


def test_edit_form_refuses_bad_input_with_the_reason(stream_app, people, make_video):
    asset = make_video()
    data = {"title": "x" * 10_000, "access_level": "public", "required_tier": "", "link": "event:nope"}
    response = form_post(people["owner"], f"/studio/media/{asset.id}", data)
    assert response.status_code == 400 and "Field cannot be longer than 200 characters" in response.get_data(
        as_text=True
    )
    data = {"title": "Fine", "access_level": "public", "required_tier": "", "link": "event:nope"}
    response = form_post(people["owner"], f"/studio/media/{asset.id}", data)
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(MediaAsset, asset.id).title == "Kata basics"


def test_caption_upload_on_the_page_and_its_refusals(stream_app, people, make_video):
    asset = make_video()
    owner = people["owner"]
    good = {"caption_file": (io.BytesIO(SRT), "class.srt"), "language": "ja", "label": "日本語"}
    response = form_post(owner, f"/studio/media/{asset.id}/captions", good, follow_redirects=True)
    assert "Captions added: 日本語 (ja)" in response.get_data(as_text=True)
    assert [t["language"] for t in get_client(stream_app).list_captions(asset.stream_video_id)] == ["ja"]
    bad = {
        "caption_file": (io.BytesIO("1\n00:00:01,000 --> 00:00:00,500\nJosé\n".encode()), "a.srt"),
        "language": "en",
    }
    response = form_post(owner, f"/studio/media/{asset.id}/captions", bad)
    assert response.status_code == 400 and "Line 2: the cue ends before" in response.get_data(as_text=True)
    response = form_post(owner, f"/studio/media/{asset.id}/captions/ja/delete", {}, follow_redirects=True)
    assert "The ja captions are removed" in response.get_data(as_text=True)
    assert db.session.query(Caption).count() == 0


def test_thumbnail_strip_is_signed_for_protected_videos_and_saves_the_pick(stream_app, people, make_video):
    asset = make_video(access=MediaAccessLevel.MEMBERS_ONLY, ready=True)
    asset.duration_seconds = 2
    db.session.commit()
    _, html = page(people["owner"], asset.id)
    assert html.count('name="pct"') == 10 and asset.stream_video_id + "/thumbnails" not in html
    frame_url = html.split('<img src="')[1].split('"')[0].replace("&amp;", "&")
    assert requests.get(frame_url, timeout=10).status_code == 200  # a token, not the bare uid
    response = form_post(
        people["owner"], f"/studio/media/{asset.id}/thumbnail", {"pct": "0.5"}, follow_redirects=True
    )
    assert "Thumbnail saved" in response.get_data(as_text=True)
    assert get_client(stream_app).get_video(asset.stream_video_id)["thumbnailTimestampPct"] == 0.5
    assert (
        form_post(
            people["owner"], f"/studio/media/{asset.id}/thumbnail", {"pct": "7"}, follow_redirects=True
        ).status_code
        == 200
    )
    db.session.expire_all()
    assert db.session.get(MediaAsset, asset.id).thumbnail_timestamp_pct == 0.5
    assert "Embed code" in html and "<iframe" in html


def test_delete_asks_first_then_removes_everything(stream_app, people, make_video):
    asset = make_video()
    asset_id, uid = asset.id, asset.stream_video_id
    owner = people["owner"]
    confirm = owner.get(f"/studio/media/{asset_id}/delete")
    assert confirm.status_code == 200 and "cannot be undone" in confirm.get_data(as_text=True)
    assert db.session.get(MediaAsset, asset_id) is not None
    response = owner.post(
        f"/studio/media/{asset_id}/delete",
        data={"csrf_token": csrf_token_from(confirm.get_data(as_text=True))},
        follow_redirects=True,
    )
    assert "is deleted" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(MediaAsset, asset_id) is None
    assert db.session.query(MediaChange).one().action == "deleted"
    assert requests.get(get_client(stream_app).iframe_url(uid), timeout=10).status_code == 404
