"""/admin/operations: queue depths, failed jobs and requeueing (page and API), webhook deliveries
with their results and refused counts, stuck assets with their age, uploads in flight, the backend."""

import os
import time
from datetime import UTC, datetime, timedelta

import pytest
from rq import SimpleWorker

from portal.extensions import db
from portal.models import MediaAsset, MediaAssetStatus, Role, Tier, WebhookDelivery
from portal.services.stream.webhooks import signature_header
from portal.webhooks.refusals import refused_counts
from tests.conftest import csrf_token_from

SECRET = "test-webhook-secret-0123456789abcdef"
URL = "/api/webhooks/cloudflare/stream"


def broken_job(number):
    """A job that fails (a module-level function, so RQ can import it)."""
    raise RuntimeError(f"Stream said no ({number})")


@pytest.fixture
def app(app_factory):
    app = app_factory(CLOUDFLARE_STREAM_WEBHOOK_SECRET=SECRET)
    with app.app_context():
        yield app


def fail_a_job(app, job_id="broken-1"):
    queue = app.extensions["redis"].queue("uploads")
    queue.enqueue(broken_job, 1, job_id=job_id)
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    return queue


def test_admins_only(app, client, login_as):
    assert client.get("/admin/operations").status_code == 302
    assert login_as(Role.INSTRUCTOR, Tier.LIFETIME).get("/admin/operations").status_code == 403
    assert login_as(Role.MEMBER, Tier.LIFETIME).get("/admin/operations").status_code == 403


def test_the_page_shows_queues_and_failed_jobs_with_their_error(app, admin_client):
    fail_a_job(app)
    html = admin_client.get("/admin/operations").get_data(as_text=True)
    assert '<th scope="row">uploads</th><td>0</td><td>0</td><td>0</td><td>1</td>' in html
    assert "broken-1" in html and "RuntimeError: Stream said no (1)" in html
    assert "Stream backend: <strong>emulator</strong>" in html


def test_requeue_puts_the_failed_job_back(app, admin_client):
    queue = fail_a_job(app)
    token = csrf_token_from(admin_client.get("/admin/operations").get_data(as_text=True))
    response = admin_client.post(
        "/admin/operations/jobs/uploads/broken-1/requeue", data={"csrf_token": token}, follow_redirects=True
    )
    assert "Job broken-1 is back on the uploads queue." in response.get_data(as_text=True)
    assert queue.job_ids == ["broken-1"] and queue.failed_job_registry.count == 0


def test_requeue_needs_csrf(app, admin_client):
    queue = fail_a_job(app)
    assert admin_client.post("/admin/operations/jobs/uploads/broken-1/requeue").status_code == 400
    assert queue.failed_job_registry.count == 1


@pytest.mark.parametrize(
    "path",
    [
        "/admin/operations/jobs/uploads/no-such-job/requeue",
        "/admin/operations/jobs/nope/broken-1/requeue",
        "/admin/operations/jobs/uploads/bad%20id%3Cx%3E/requeue",
    ],
)
def test_requeueing_a_job_that_no_longer_exists_is_a_clear_error(app, admin_client, path):
    fail_a_job(app)
    token = csrf_token_from(admin_client.get("/admin/operations").get_data(as_text=True))
    response = admin_client.post(path, data={"csrf_token": token}, follow_redirects=True)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'class="flash flash-error" role="alert"' in html
    assert "no longer in the failed jobs" in html or "There is no failed job with that id" in html


def test_requeueing_twice_the_second_time_says_it_is_gone(app, admin_client):
    fail_a_job(app)
    token = csrf_token_from(admin_client.get("/admin/operations").get_data(as_text=True))
    admin_client.post("/admin/operations/jobs/uploads/broken-1/requeue", data={"csrf_token": token})
    again = admin_client.post(
        "/admin/operations/jobs/uploads/broken-1/requeue", data={"csrf_token": token}, follow_redirects=True
    )
    assert "no longer in the failed jobs" in again.get_data(as_text=True)


def test_the_api_form_requeues_and_answers_404_for_a_missing_job(app, client, make_user, api_token):
    queue = fail_a_job(app)
    admin = make_user(role=Role.ADMIN, tier=Tier.LIFETIME)
    headers = {"Authorization": f"Bearer {api_token(admin)}"}
    ok = client.post("/api/admin/jobs/uploads/broken-1/requeue", headers=headers)
    assert ok.status_code == 200 and ok.get_json() == {
        "job_id": "broken-1",
        "queue": "uploads",
        "status": "queued",
    }
    gone = client.post("/api/admin/jobs/uploads/broken-1/requeue", headers=headers)
    assert gone.status_code == 404 and gone.get_json()["error"]["code"] == "job_not_found"
    assert client.post("/api/admin/jobs/nope/x/requeue", headers=headers).status_code == 404
    assert queue.job_ids == ["broken-1"]
    member = make_user()
    forbidden = client.post(
        "/api/admin/jobs/uploads/broken-1/requeue", headers={"Authorization": f"Bearer {api_token(member)}"}
    )
    assert forbidden.status_code == 403


def test_deliveries_show_their_result_and_refused_ones_are_counted(app, client, admin_client):
    now = datetime.now(UTC)
    for n, outcome in enumerate(["applied", "unchanged", "unknown_video", None]):
        db.session.add(
            WebhookDelivery(
                dedupe_key=str(n) * 64,
                video_uid=f"uid-{n}",
                state="ready",
                body="{}",
                received_at=now - timedelta(minutes=n),
                processed_at=now if outcome else None,
                outcome=outcome,
            )
        )
    db.session.commit()
    body = b'{"uid": "abc"}'
    client.post(URL, data=body, headers={"Webhook-Signature": signature_header(body, "wrong")})
    client.post(
        URL, data=body, headers={"Webhook-Signature": signature_header(body, SECRET, time.time() - 600)}
    )
    client.post(URL, data=body, headers={"Webhook-Signature": "garbage"})
    client.post(URL, data=b"nope", headers={"Webhook-Signature": signature_header(b"nope", SECRET)})
    client.post(URL, data=body, headers={"Webhook-Signature": signature_header(body, SECRET)})  # accepted
    counts = refused_counts(app.extensions["redis"].connection)
    assert (
        counts["bad_signature"],
        counts["stale"],
        counts["malformed_header"],
        counts["invalid_payload"],
    ) == (
        1,
        1,
        1,
        1,
    )
    html = admin_client.get("/admin/operations").get_data(as_text=True)
    for shown in ("applied", "unchanged", "unknown video", "waiting", "1 bad signature", "1 stale timestamp"):
        assert shown in html
    assert "waiting to be stored by the worker: 1." in html


def test_stuck_assets_are_listed_with_their_age(app, admin_client):
    old = datetime.now(UTC) - timedelta(hours=3, minutes=20)
    db.session.add_all(
        [
            MediaAsset(
                title="Stuck kata", status=MediaAssetStatus.PROCESSING, stream_video_id="s1", updated_at=old
            ),
            MediaAsset(title="Stuck upload", status=MediaAssetStatus.UPLOADING, updated_at=old),
            MediaAsset(title="Fresh one", status=MediaAssetStatus.PROCESSING, stream_video_id="s2"),
            MediaAsset(title="Old but ready", status=MediaAssetStatus.READY, updated_at=old),
        ]
    )
    db.session.commit()
    html = admin_client.get("/admin/operations").get_data(as_text=True)
    assert (
        "Stuck kata — processing for 3 h 20 min" in html and "Stuck upload — uploading for 3 h 20 min" in html
    )
    assert "Fresh one" not in html and "Old but ready" not in html


def test_uploads_in_flight_and_their_disk(app, admin_client):
    root = app.config["UPLOAD_DIR"]
    os.makedirs(os.path.join(root, "up-1"))
    with open(os.path.join(root, "up-1", "0.part"), "wb") as handle:
        handle.write(b"x" * 3 * 1024 * 1024)
    with open(os.path.join(root, "up-1", "1.part"), "wb") as handle:
        handle.write(b"x" * 1024 * 1024)
    os.makedirs(os.path.join(root, "up-2"))
    for upload in ("up-1", "up-2"):
        with open(os.path.join(root, upload, "manifest.json"), "w") as handle:
            handle.write("{}")
    # Folders without a manifest are not uploads: the demo seed's samples, where direct uploads arrive.
    os.makedirs(os.path.join(root, "demo"))
    with open(os.path.join(root, "demo", "sample.mp4"), "wb") as handle:
        handle.write(b"x" * 1024 * 1024)
    os.makedirs(os.path.join(root, ".incoming"))
    html = admin_client.get("/admin/operations").get_data(as_text=True)
    assert "2 upload folders holding 4.0 MB" in html
    assert "up-1: 3 files, 4.0 MB" in html and "up-2: 1 file, 2 B" in html
    assert "demo:" not in html and ".incoming" not in html


def test_the_page_works_with_no_upload_dir_and_nothing_to_show(app, admin_client):
    html = admin_client.get("/admin/operations").get_data(as_text=True)
    assert "No failed jobs." in html and "Nothing is stuck." in html and "0 upload folders" in html


def test_the_page_still_shows_the_database_side_when_redis_is_down(app, admin_client):
    from portal.redis_runtime import RedisServices

    db.session.add(WebhookDelivery(dedupe_key="k" * 64, video_uid="abc", body="{}", signature_time=1))
    db.session.commit()
    app.extensions["redis"] = RedisServices(
        {"REDIS_URL": "redis://127.0.0.1:1/0", "RQ_QUEUES": app.config["RQ_QUEUES"]}
    )
    response = admin_client.get("/admin/operations")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Redis is unreachable" in html
    assert "abc" in html  # the deliveries recorded in the database are still listed
