"""The uploader page in Chromium: a real multi-chunk video reaches ready; the network dropping and the
page reloading mid-upload lose nothing, and no chunk the server has is sent again."""

import time
from collections import Counter
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect
from rq import SimpleWorker
from sqlalchemy import select

from portal.extensions import db
from portal.models import MediaAccessLevel, MediaAsset, MediaAssetStatus, Role, Tier
from portal.services.stream import get_client
from portal.services.stream_events import apply_video
from portal.services.studio import human_size
from tests.conftest import shareable_database
from tests.media_samples import make_sample_video

pytestmark = pytest.mark.browser

CHUNK_SIZE = 16 * 1024  # small chunks, so a 6-second test video takes a dozen of them
CHUNK_PATH = "/api/media/upload-chunked/chunk"
SCREENSHOTS = "/tmp"


@pytest.fixture
def app(app_factory, tmp_path, emulator):
    """The portal on a database the server thread shares, pushing to the test's Stream emulator."""
    app = app_factory(
        **shareable_database(tmp_path),
        UPLOAD_CHUNK_SIZE=CHUNK_SIZE,
        CLOUDFLARE_API_BASE=emulator.api_base,
        STREAM_CUSTOMER_BASE_URL=emulator.url,
    )
    with app.app_context():
        yield app


@pytest.fixture(scope="session")
def seminar_video(tmp_path_factory):
    """A 6-second 640x360 H.264/AAC MP4 (about 190 kB: a dozen chunks)."""
    return make_sample_video(tmp_path_factory.mktemp("seminar") / "seminar.mp4", seconds=6, size="640x360")


@pytest.fixture
def instructor(make_user):
    return make_user(role=Role.INSTRUCTOR, tier=Tier.LIFETIME, email="sensei@example.org", name="Sensei")


def sign_in(page, base, email):
    page.goto(base + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/")


def chunk_index(url):
    """The chunk_index of a chunk request's URL, or None for any other request."""
    parts = urlsplit(url)
    if parts.path != CHUNK_PATH:
        return None
    return int(parse_qs(parts.query)["chunk_index"][0])


def total_chunks(path):
    return -(-path.stat().st_size // CHUNK_SIZE)


def open_uploader(page, base, video):
    """The upload page with `video` chosen: returns its card."""
    page.goto(base + "/studio/upload")
    expect(page.locator("#uploader[data-ready=true]")).to_have_count(1)
    page.get_by_label("Video files").set_input_files(str(video))
    return page.locator(".upload-card").last


def fill_and_upload(card, title):
    card.get_by_label("Title").fill(title)
    card.get_by_label("Tags").fill("kata, seminar")
    card.get_by_label("Who may watch").select_option(MediaAccessLevel.TIER_SPECIFIC.value)
    card.get_by_label("Required tier").select_option(Tier.PREMIUM.value)
    card.get_by_role("button", name="Upload").click()


def the_asset():
    db.session.rollback()
    return db.session.scalars(select(MediaAsset)).one()


def push_to_stream_and_settle(app):
    """Run the queued upload job through a real worker, then let Stream finish and apply its answer
    (what the webhook job does when Stream calls back)."""
    queue = app.extensions["redis"].queue("uploads")
    assert len(queue) == 1
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    asset = the_asset()
    assert asset.status == MediaAssetStatus.PROCESSING, asset.processing_error
    stream = get_client()
    for _ in range(300):
        video = stream.get_video(asset.stream_video_id)
        if video["status"]["state"] in ("ready", "error"):
            break
        time.sleep(0.1)
    apply_video(asset, video)
    db.session.commit()
    return asset


def wait_until(page, condition, timeout=20.0):
    """Let the page run until `condition()` holds (Playwright events are delivered while waiting)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        page.wait_for_timeout(50)


def test_instructor_uploads_a_multi_chunk_video_and_sees_it_ready(
    live_server, page, instructor, seminar_video, app
):
    sent = Counter()
    page.on(
        "request",
        lambda request: chunk_index(request.url) is not None and sent.update([chunk_index(request.url)]),
    )
    initiated = []
    page.on(
        "request", lambda request: request.url.endswith("/initiate") and initiated.append(request.headers)
    )
    sign_in(page, live_server.url, instructor.email)
    card = open_uploader(page, live_server.url, seminar_video)
    fill_and_upload(card, "Kata seminar")
    expect(card.get_by_role("status")).to_have_text("Sending to Stream", timeout=30_000)
    expect(card.get_by_role("progressbar", name="Upload progress of seminar.mp4")).to_have_attribute(
        "value", "100"
    )

    asset = push_to_stream_and_settle(app)
    expect(card.get_by_role("status")).to_have_text("Ready", timeout=30_000)
    page.screenshot(path=f"{SCREENSHOTS}/studio-upload-ready.png", full_page=True)

    n = total_chunks(seminar_video)
    assert n >= 10
    assert sent == Counter(range(n))  # every chunk, each exactly once
    assert (
        len(initiated) == 1 and len(initiated[0]["idempotency-key"]) == 36
    )  # a retry would get the same upload
    assert (asset.title, asset.tags, asset.required_tier) == (
        "Kata seminar",
        ["kata", "seminar"],
        Tier.PREMIUM,
    )
    assert asset.file_size_bytes == seminar_video.stat().st_size
    assert asset.status == MediaAssetStatus.READY
    assert get_client().get_video(asset.stream_video_id)["size"] == seminar_video.stat().st_size

    page.get_by_role("link", name="Studio").click()
    row = page.get_by_role("row", name="Kata seminar")
    expect(row).to_contain_text("Ready")
    expect(row).to_contain_text(human_size(seminar_video.stat().st_size))
    page.screenshot(path=f"{SCREENSHOTS}/studio-list.png", full_page=True)


def test_upload_survives_the_network_going_offline(live_server, page, instructor, seminar_video, app):
    ok = Counter()
    cut = []

    def chunks(route):
        if len(ok) >= 4 and not cut or cut and cut[-1] == "cutting":
            cut.append("cutting")
            route.abort("internetdisconnected")
        else:
            route.continue_()

    page.on(
        "response",
        lambda response: (
            chunk_index(response.url) is not None and response.ok and ok.update([chunk_index(response.url)])
        ),
    )
    page.route("**" + CHUNK_PATH + "*", chunks)
    sign_in(page, live_server.url, instructor.email)
    card = open_uploader(page, live_server.url, seminar_video)
    fill_and_upload(card, "Offline seminar")

    wait_until(page, lambda: cut)
    page.context.set_offline(True)
    expect(card.get_by_role("status")).to_contain_text("Offline", timeout=20_000)
    page.wait_for_timeout(500)  # requests already on the wire when the network went may still land
    received_while_offline = sum(ok.values())
    page.screenshot(path=f"{SCREENSHOTS}/studio-upload-offline.png", full_page=True)
    page.wait_for_timeout(1000)
    assert sum(ok.values()) == received_while_offline  # then nothing moves while offline
    assert received_while_offline < total_chunks(seminar_video)
    cut.append("restored")
    page.context.set_offline(False)

    expect(card.get_by_role("status")).to_have_text("Sending to Stream", timeout=30_000)
    asset = push_to_stream_and_settle(app)
    expect(card.get_by_role("status")).to_have_text("Ready", timeout=30_000)
    assert ok == Counter(range(total_chunks(seminar_video)))  # each chunk stored exactly once
    assert asset.status == MediaAssetStatus.READY
    assert get_client().get_video(asset.stream_video_id)["size"] == seminar_video.stat().st_size


def test_reload_mid_upload_then_the_same_file_sends_only_the_missing_chunks(
    live_server, page, instructor, seminar_video, app
):
    before, after, held, dialogs = Counter(), Counter(), [], []
    phase = {"now": "before"}
    page.on(
        "request",
        lambda request: (
            chunk_index(request.url) is not None
            and (before if phase["now"] == "before" else after).update([chunk_index(request.url)])
        ),
    )
    page.on("dialog", lambda dialog: (dialogs.append(dialog.type), dialog.accept()))

    def hold_after_four(route):
        if chunk_index(route.request.url) < 4:
            route.continue_()
        else:
            held.append(route)  # never answered: the reload cuts these requests off

    page.route("**" + CHUNK_PATH + "*", hold_after_four)
    sign_in(page, live_server.url, instructor.email)
    card = open_uploader(page, live_server.url, seminar_video)
    fill_and_upload(card, "Reloaded seminar")
    expect(card.get_by_role("progressbar")).not_to_have_attribute("value", "0", timeout=20_000)
    wait_until(page, lambda: len(held) == 3)
    wait_until(page, lambda: page.evaluate("document.querySelector('.upload-bar').value") > 0)

    asset = the_asset()
    upload_id = asset.extra_metadata["upload_id"]
    progress_url = f"{live_server.url}/api/media/upload-chunked/{upload_id}/progress"
    on_server = page.request.get(progress_url).json()
    assert on_server["received_chunks"] == 4

    phase["now"] = "after"
    page.reload()
    assert dialogs == ["beforeunload"]  # the page warned before leaving mid-upload
    page.unroute("**" + CHUNK_PATH + "*")
    unfinished = page.get_by_role("region", name="Unfinished uploads")
    expect(unfinished).to_contain_text("seminar.mp4")
    page.screenshot(path=f"{SCREENSHOTS}/studio-upload-unfinished.png", full_page=True)

    page.get_by_label("Video files").set_input_files(str(seminar_video))
    card = page.locator(".upload-card").last
    expect(card.get_by_role("status")).to_have_text("Sending to Stream", timeout=30_000)
    asset = push_to_stream_and_settle(app)
    expect(card.get_by_role("status")).to_have_text("Ready", timeout=30_000)

    n = total_chunks(seminar_video)
    assert set(before) == set(range(7))  # 0-3 stored, 4-6 cut off by the reload
    assert after == Counter(on_server["missing_chunks"])  # after the reload: only the missing ones, once
    assert not set(after) & {0, 1, 2, 3}
    assert sorted(on_server["missing_chunks"]) == list(range(4, n))
    assert asset.status == MediaAssetStatus.READY
    assert get_client().get_video(asset.stream_video_id)["size"] == seminar_video.stat().st_size


def test_busy_answers_are_retried_and_pause_resume_cancel_work(
    live_server, page, instructor, seminar_video, app
):
    sent, held, answered_busy, cancels = Counter(), [], [], []
    hold = {"from": 6}
    page.on(
        "request",
        lambda request: chunk_index(request.url) is not None and sent.update([chunk_index(request.url)]),
    )
    page.on(
        "response",
        lambda response: (
            response.request.method == "DELETE" and cancels.append((response.url, response.status))
        ),
    )

    def busy_then_hold(route):
        index = chunk_index(route.request.url)
        if index in (1, 3) and index not in answered_busy:
            answered_busy.append(index)
            status, headers = (429, {"Retry-After": "1"}) if index == 1 else (503, {})
            route.fulfill(status=status, headers=headers, json={"error": {"code": "busy", "message": "Busy"}})
        elif index >= hold["from"]:
            held.append(route)
        else:
            route.continue_()

    page.route("**" + CHUNK_PATH + "*", busy_then_hold)
    sign_in(page, live_server.url, instructor.email)
    card = open_uploader(page, live_server.url, seminar_video)
    fill_and_upload(card, "Paused seminar")
    wait_until(page, lambda: sent[1] == 2 and sent[3] == 2 and len(held) == 3)  # 1 and 3 sent again

    card.get_by_role("button", name="Pause").click()
    expect(card.get_by_role("status")).to_have_text("Paused")
    paused_at = sum(sent.values())
    hold["from"] = 9
    for route in held:  # the chunks in flight finish; no new one starts
        route.continue_()
    held.clear()
    page.wait_for_timeout(1000)
    assert sum(sent.values()) == paused_at
    assert page.request.get(progress_url(live_server.url)).json()["received_chunks"] == 9

    card.get_by_role("button", name="Resume").click()
    wait_until(page, lambda: len(held) == 3)  # 9, 10, 11: exactly the next chunks
    assert sorted(i for i in sent if i >= 9) == [9, 10, 11]
    upload_id, progress = the_upload_id(), progress_url(live_server.url)
    card.get_by_role("button", name="Cancel").click()
    expect(card.get_by_role("status")).to_have_text("Cancelled")
    wait_until(page, lambda: len(cancels) == 1)
    assert cancels == [(f"{live_server.url}/api/media/upload-chunked/{upload_id}", 204)]
    assert page.request.get(progress).status == 410  # the server let go of it
    db.session.rollback()
    assert db.session.scalars(select(MediaAsset)).all() == []
    assert page.evaluate("Object.keys(localStorage).filter((k) => k.startsWith('portal.upload:'))") == []
    assert {i for i, n in sent.items() if n > 1} == {1, 3} and max(sent.values()) == 2


def the_upload_id():
    return the_asset().extra_metadata["upload_id"]


def progress_url(base):
    return f"{base}/api/media/upload-chunked/{the_upload_id()}/progress"


def test_copy_from_an_address_shows_streams_failure_in_plain_words(live_server, page, instructor, app):
    sign_in(page, live_server.url, instructor.email)
    page.goto(live_server.url + "/studio/upload")
    form = page.locator("#url-form")
    form.get_by_label("Video address (https)").fill("http://example.invalid/seminar.mp4")
    form.get_by_label("Title").fill("Seminar from the club's server")
    form.get_by_role("button", name="Copy from address").click()
    expect(form.get_by_text("Give an https:// address.")).to_be_visible()

    form.get_by_label("Video address (https)").fill("https://example.invalid/seminar.mp4")
    form.get_by_role("button", name="Copy from address").click()
    result = page.locator("#url-results").get_by_role("status")
    expect(result).to_contain_text("Seminar from the club's server: Uploading")
    queue = app.extensions["redis"].queue("uploads")
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    asset = the_asset()
    assert asset.extra_metadata["source_url"] == "https://example.invalid/seminar.mp4"
    stream = get_client()
    for _ in range(300):
        video = stream.get_video(asset.stream_video_id)
        if video["status"]["state"] in ("ready", "error"):
            break
        time.sleep(0.1)
    apply_video(asset, video)
    db.session.commit()
    expect(result).to_contain_text("Failed: Stream could not fetch the video", timeout=20_000)
    page.screenshot(path=f"{SCREENSHOTS}/studio-upload-from-url.png", full_page=True)


def test_dropped_files_queue_one_card_each_with_its_own_details(live_server, page, instructor):
    sign_in(page, live_server.url, instructor.email)
    page.goto(live_server.url + "/studio/upload")
    expect(page.locator("#uploader[data-ready=true]")).to_have_count(1)
    page.evaluate(
        """() => {
          const drop = new DataTransfer();
          drop.items.add(new File([new Uint8Array(2048)], "kata_basics-1.mp4", { type: "video/mp4" }));
          drop.items.add(new File([new Uint8Array(2048)], "grading.mov", { type: "video/quicktime" }));
          drop.items.add(new File(["not a video"], "notes.txt", { type: "text/plain" }));
          document.getElementById("dropzone").dispatchEvent(new DragEvent("drop", { dataTransfer: drop, bubbles: true }));
        }"""
    )
    cards = page.locator(".upload-card")
    expect(cards).to_have_count(3)
    expect(cards.nth(0).get_by_label("Title")).to_have_value("kata basics 1")
    expect(cards.nth(1).get_by_label("Title")).to_have_value("grading")
    expect(cards.nth(2).get_by_role("alert")).to_have_text(
        "The portal takes MP4, MOV, MKV, AVI, FLV or WebM videos only."
    )
    ids = page.evaluate("Array.from(document.querySelectorAll('.upload-card [id]'), (el) => el.id)")
    assert len(ids) == len(set(ids))  # each card's labels point at its own fields
    cards.nth(1).get_by_label("Title").fill("")
    cards.nth(1).get_by_role("button", name="Upload").click()
    expect(cards.nth(1).get_by_text("Give the video a title.")).to_be_visible()
    expect(cards.nth(1).get_by_label("Title")).to_be_focused()
