"""The portal's Redis: the embedded server (unix socket, AOF), the RQ queues, and `flask worker`."""

import os

import pytest
import redis
from rq import SimpleWorker
from rq.job import JobStatus
from rq.registry import FailedJobRegistry

from portal.redis_runtime import (
    EmbeddedRedis,
    RedisServices,
    get_redis_services,
    limiter_storage_uri,
    socket_url,
)


def add(a, b):
    """A job: importable by dotted path, as RQ needs."""
    return a + b


def fail(message):
    """A job that raises, so RQ records it as failed."""
    raise ValueError(message)


@pytest.fixture
def embedded(tmp_path):
    """An EmbeddedRedis in a temp folder, stopped after the test."""
    server = EmbeddedRedis(tmp_path / "redis")
    yield server
    server.stop()


def test_embedded_redis_listens_only_on_a_unix_socket(embedded):
    url = embedded.start()
    assert url == socket_url(embedded.socket_path) and url.startswith("unix:///")
    assert os.path.exists(embedded.socket_path)
    client = redis.Redis.from_url(url)
    assert client.ping() is True
    assert client.config_get("port") == {"port": "0"}
    assert client.config_get("appendonly") == {"appendonly": "yes"}
    assert client.config_get("unixsocketperm") == {"unixsocketperm": "700"}
    client.close()


def test_embedded_redis_keeps_its_data_across_a_restart(embedded):
    client = redis.Redis.from_url(embedded.start())
    client.set("upload:abc", "chunks 0-3")
    client.rpush("received", 0, 1, 2)
    client.close()
    embedded.stop()
    assert not embedded.is_running()
    assert any(name.startswith("appendonly") for name in os.listdir(embedded.directory))

    client = redis.Redis.from_url(embedded.start())
    assert client.get("upload:abc") == b"chunks 0-3"
    assert client.lrange("received", 0, -1) == [b"0", b"1", b"2"]
    client.close()


def test_starting_twice_reuses_the_running_server(embedded):
    url = embedded.start()
    process = embedded.process
    second = EmbeddedRedis(embedded.directory)
    assert second.start() == url
    assert second.process is None  # nothing new was started
    assert process.poll() is None


def test_a_stale_socket_file_does_not_stop_a_start(embedded):
    os.makedirs(embedded.directory, exist_ok=True)
    open(embedded.socket_path, "w").close()
    assert not embedded.is_running()
    assert redis.Redis.from_url(embedded.start()).ping()


def test_app_without_redis_url_starts_the_embedded_server_on_first_use(tmp_path):
    services = RedisServices(
        {"REDIS_URL": None, "EMBEDDED_REDIS_DIR": str(tmp_path / "embedded"), "RQ_QUEUES": ("default",)}
    )
    assert services.url.startswith("unix://")
    assert limiter_storage_uri(services.url).startswith("redis+unix:///")
    assert not services.embedded.is_running()  # nothing happens until it is needed
    try:
        assert services.connection.ping() is True
        assert services.embedded.is_running()
    finally:
        try:
            services.connection.shutdown(nosave=True)
        except redis.ConnectionError:
            pass  # the server closes the connection as it exits
    assert not services.embedded.is_running()


def test_app_uses_its_redis_url_and_names_its_queues(app, redis_url):
    services = get_redis_services(app)
    assert services.url == redis_url and services.embedded is None
    assert app.config["RATELIMIT_STORAGE_URI"] == limiter_storage_uri(redis_url)
    assert [services.queue(name).name for name in ("default", "uploads", "webhooks")] == [
        "default",
        "uploads",
        "webhooks",
    ]
    with pytest.raises(KeyError):
        services.queue("nope")


def test_a_job_enqueued_on_the_app_queue_is_run_by_a_worker(app):
    services = app.extensions["redis"]
    queue = services.queue("default")
    job = queue.enqueue(add, 2, 3, job_id="add-2-3")
    assert job.get_status() == JobStatus.QUEUED
    assert SimpleWorker([queue], connection=services.connection).work(burst=True) is True
    job.refresh()
    assert job.get_status() == JobStatus.FINISHED
    assert job.return_value() == 5
    assert len(queue) == 0


def test_a_failing_job_lands_in_the_failed_registry(app):
    services = app.extensions["redis"]
    queue = services.queue("webhooks")
    job = queue.enqueue(fail, "cloudflare said no")
    SimpleWorker([queue], connection=services.connection).work(burst=True)
    job.refresh()
    assert job.get_status() == JobStatus.FAILED
    assert job.id in FailedJobRegistry(queue=queue).get_job_ids()
    assert "ValueError: cloudflare said no" in job.latest_result().exc_string


def test_flask_worker_burst_runs_the_queued_jobs_and_exits(app, runner):
    services = app.extensions["redis"]
    default, uploads = services.queue("default"), services.queue("uploads")
    jobs = [default.enqueue(add, 1, 1), uploads.enqueue(add, 20, 22)]
    result = runner.invoke(args=["worker", "--burst"])
    assert result.exit_code == 0, result.output
    for job in jobs:
        job.refresh()
        assert job.get_status() == JobStatus.FINISHED
    assert [job.return_value() for job in jobs] == [2, 42]
    assert len(default) == len(uploads) == 0


def test_flask_worker_listens_only_on_the_queues_it_is_given(app, runner):
    services = app.extensions["redis"]
    upload_job = services.queue("uploads").enqueue(add, 1, 2)
    webhook_job = services.queue("webhooks").enqueue(add, 3, 4)
    result = runner.invoke(args=["worker", "--burst", "--queue", "uploads"])
    assert result.exit_code == 0, result.output
    upload_job.refresh()
    webhook_job.refresh()
    assert upload_job.get_status() == JobStatus.FINISHED
    assert webhook_job.get_status() == JobStatus.QUEUED
