"""Captions: .vtt/.srt uploads checked and pushed to Stream, listed, deleted, generated from the audio."""

import io
import time

import pytest
import requests
from sqlalchemy import insert
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from portal.extensions import db
from portal.models import Caption, MediaAccessLevel, MediaChange, Tier
from portal.services.media import captions
from portal.services.media.caption_files import CaptionFileError, read_caption_file
from portal.services.stream import get_client
from tests.media_helpers import arm

SRT = "1\n00:00:00,500 --> 00:00:01,500\nRei.\n\n2\n00:00:01,600 --> 00:00:02,000\nHajime!\n"
VTT = "WEBVTT\n\n00:00.500 --> 00:01.500\nRei.\n"


def post_caption(client, asset_id, data, filename="track.srt", language="en", label="English"):
    upload = FileStorage(io.BytesIO(data), filename=filename)
    form = {"caption_file": upload, "language": language, "label": label}
    # Encoded here, in memory: the test client would spool a large body to a file nobody closes.
    boundary, body = encode_multipart(form)
    return client.post(
        f"/api/media/{asset_id}/captions",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
        headers={"X-CSRFToken": client.csrf},
    )


def stream_vtt(app, uid, language):
    stream = get_client(app)
    return requests.get(
        f"{stream.stream_url}/{uid}/captions/{language}/vtt",
        headers={"Authorization": "Bearer emulator-token"},
        timeout=10,
    )


def test_srt_is_converted_and_pushed_then_replaced_listed_and_deleted(stream_app, people, make_video):
    asset = make_video(ready=False)
    owner = people["owner"]
    response = post_caption(owner, asset.id, b"\xef\xbb\xbf" + SRT.encode(), label="English")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["caption"] == {
        **response.get_json()["caption"],
        "language": "en",
        "source_format": "srt",
    }
    vtt = stream_vtt(stream_app, asset.stream_video_id, "en").text
    assert vtt.startswith("WEBVTT") and "00:00:00.500 --> 00:00:01.500" in vtt and "Hajime!" in vtt

    replaced = post_caption(owner, asset.id, VTT.encode(), filename="en.vtt", label="English (club)")
    assert replaced.status_code == 201
    assert "Hajime!" not in stream_vtt(stream_app, asset.stream_video_id, "en").text
    listed = people["basic"].get(f"/api/media/{asset.id}/captions").get_json()["captions"]
    assert [(c["language"], c["label"]) for c in listed] == [("en", "English (club)")]

    deleted = owner.delete(f"/api/media/{asset.id}/captions/en", headers={"X-CSRFToken": owner.csrf})
    assert deleted.status_code == 204
    assert stream_vtt(stream_app, asset.stream_video_id, "en").status_code == 404
    assert db.session.query(Caption).count() == 0
    actions = [c.action for c in db.session.query(MediaChange).order_by(MediaChange.id)]
    assert actions == ["caption_uploaded", "caption_uploaded", "caption_deleted"]


@pytest.mark.parametrize(
    ("data", "filename", "language", "status", "code", "words"),
    [
        (b"", "a.srt", "en", 400, "empty_caption_file", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "a.vtt", "en", 400, "binary_caption_file", "binary"),
        (
            "1\n00:00:01,000 --> 00:00:02,000\nJosé\n".encode("latin-1"),
            "a.srt",
            "en",
            400,
            "unsupported_encoding",
            "Line 3",
        ),
        (
            "WEBVTT\n\n00:01.000 --> 00:02.000\nhi\n".encode("utf-16"),
            "a.vtt",
            "en",
            400,
            "unsupported_encoding",
            "UTF-16",
        ),
        (b"1\n00:00:01,000 -> 00:00:02,000\nhi\n", "a.srt", "en", 400, "invalid_cue_timing", "Line 2"),
        (b"WEBVTT\n\n00:03.000 --> 00:02.000\nhi\n", "a.vtt", "en", 400, "invalid_cue_timing", "Line 3"),
        (
            b"WEBVTT\n\n00:01.000 --> 00:02.000\nok\n\n00:61.000 --> 00:62.000\nx\n",
            "a.vtt",
            "en",
            400,
            "invalid_cue_timing",
            "Line 6",
        ),
        (VTT.encode(), "a.vtt", "xx", 400, "invalid_language", "ISO 639"),
        (VTT.encode(), "a.vtt", "en_US!", 400, "invalid_language", "BCP-47"),
        (VTT.encode(), "a.exe", "en", 400, "unsupported_caption_format", ".exe"),
        (b"WEBVTT\n\n" + b"x" * (11 * 1024 * 1024), "a.vtt", "en", 413, "caption_too_large", "10 MB"),
    ],
    ids=[
        "empty",
        "binary",
        "latin1",
        "utf16",
        "broken-arrow",
        "end-before-start",
        "seconds-61",
        "unknown-lang",
        "malformed-lang",
        "exe",
        "11MB",
    ],
)
def test_bad_captions_are_refused_with_the_reason_and_nothing_changes(
    stream_app, people, make_video, data, filename, language, status, code, words
):
    asset = make_video(ready=False)
    response = post_caption(people["owner"], asset.id, data, filename, language)
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    error = response.get_json()["error"]
    assert error["code"] == code and words in error["message"]
    assert db.session.query(Caption).count() == 0 and db.session.query(MediaChange).count() == 0
    assert get_client(stream_app).list_captions(asset.stream_video_id) == []


def test_members_other_instructors_and_strangers_may_not_change_captions(stream_app, people, make_video):
    asset = make_video(ready=False, access=MediaAccessLevel.TIER_SPECIFIC, tier=Tier.PREMIUM)
    for name, status in (("basic", 403), ("other", 403)):
        assert post_caption(people[name], asset.id, VTT.encode(), "a.vtt").status_code == status
    assert people["basic"].get(f"/api/media/{asset.id}/captions").status_code == 403
    assert post_caption(people["admin"], asset.id, VTT.encode(), "a.vtt").status_code == 201
    assert post_caption(people["admin"], "no-such-id", VTT.encode(), "a.vtt").status_code == 404


def test_stream_outage_refuses_the_upload_and_keeps_nothing(stream_app, emulator, people, make_video):
    asset = make_video(ready=False)
    arm(emulator, kind="status", status=503, count=5, path_prefix="/client/v4", method="PUT")
    response = post_caption(people["owner"], asset.id, VTT.encode(), "a.vtt")
    assert response.status_code == 503 and response.get_json()["error"]["code"] == "stream_unavailable"
    assert db.session.query(Caption).count() == 0


def test_generated_captions_follow_the_audio_and_need_the_uploaded_track_removed(
    stream_app, people, make_video
):
    asset = make_video(ready=True)
    owner = people["owner"]
    headers = {"X-CSRFToken": owner.csrf}
    assert post_caption(owner, asset.id, VTT.encode(), "a.vtt").status_code == 201
    clash = owner.post(f"/api/media/{asset.id}/captions/en/generate", headers=headers)
    assert clash.status_code == 409 and "delete it first" in clash.get_json()["error"]["message"]
    assert owner.post(f"/api/media/{asset.id}/captions/xx/generate", headers=headers).status_code == 400
    assert owner.post(f"/api/media/{asset.id}/captions/sv/generate", headers=headers).status_code == 400
    assert owner.delete(f"/api/media/{asset.id}/captions/en", headers=headers).status_code == 204

    started = owner.post(f"/api/media/{asset.id}/captions/en/generate", headers=headers)
    assert started.status_code == 202, started.get_json()
    caption = started.get_json()["caption"]
    assert caption["generated"] is True and caption["label"] == "English (auto-generated)"
    assert caption["status"] == "inprogress"
    for _ in range(200):
        listed = owner.get(f"/api/media/{asset.id}/captions").get_json()["captions"]
        if listed[0]["status"] != "inprogress":
            break
        time.sleep(0.05)
    assert listed[0]["status"] == "ready"
    vtt = stream_vtt(stream_app, asset.stream_video_id, "en").text
    assert "silencedetect" in vtt and "00:00:00.000 --> 00:00:02.0" in vtt  # the 2 s tone is one cue


def test_caption_file_checks_name_the_first_bad_line():
    with pytest.raises(CaptionFileError) as error:
        read_caption_file(b"WEBVTT\n\nNOTE fine\n\n1\n00:00.000 --> 00:01.000\nok\n\ncue\nno timing here\n")
    assert error.value.line == 10 and "Line 10" in error.value.message
    track = read_caption_file(SRT.encode(), "a.srt")
    assert track.cue_count == 2 and track.vtt.startswith("WEBVTT\n\n1\n00:00:00.500 --> 00:00:01.500")


def test_two_uploads_of_a_new_language_at_once_end_in_one_track_not_a_server_error(
    stream_app, people, make_video
):
    asset = make_video(ready=False)
    assert list(asset.captions) == []  # this request has looked and seen no Polish track
    db.session.execute(  # ... and another request, uploading Polish too, commits its track meanwhile
        insert(Caption).values(asset_id=asset.id, language="pl", label="First", source_format="vtt")
    )
    caption = captions.upload_caption(asset, people["owner"].user, VTT.encode(), "b.vtt", "pl", "Second")
    db.session.commit()
    rows = db.session.query(Caption).filter_by(asset_id=asset.id, language="pl").all()
    assert rows == [caption] and caption.label == "Second"
    change = db.session.query(MediaChange).one()
    assert (change.action, change.old_value) == ("caption_uploaded", "First")
