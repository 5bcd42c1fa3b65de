"""`make run`'s supervisor: the web app under gunicorn; the embedded Redis restarted (with its data)
when it dies, the worker with it; everything stopped with a message when Redis keeps dying."""

import signal

import pytest
import redis
import requests
from rq import Queue

from portal import devserver
from portal.devserver import DevStack, RedisKeepsDying
from tests.conftest import free_port


@pytest.fixture
def stack(tmp_path):
    stack = DevStack(free_port(), free_port(), redis_dir=str(tmp_path / "redis"))
    yield stack
    stack.stop()


def kill_redis(stack):
    stack.redis.process.send_signal(signal.SIGKILL)
    stack.redis.process.wait(timeout=10)


def test_make_run_serves_the_app_with_gunicorn(stack, tmp_path, redis_url):
    args = stack.web_args()
    assert args[:2] == ["-m", "gunicorn"] and args[-1] == "wsgi:app"
    assert args[args.index("--worker-class") + 1] == "gthread"
    stack.env.update(
        PORTAL_ENV="test",
        TEST_REDIS_URL=redis_url,
        TEST_DATABASE_URL=f"sqlite:///{tmp_path / 'web.db'}",
        PORTAL_INSTANCE_DIR=str(tmp_path),
    )
    stack.spawn("web", *args)
    assert devserver._wait_for(f"http://127.0.0.1:{stack.port}/login", seconds=30)
    response = requests.get(f"http://127.0.0.1:{stack.port}/login", timeout=5)
    assert response.status_code == 200
    assert response.headers["Server"].startswith("gunicorn")


def test_make_dev_uses_the_reloader(tmp_path):
    args = DevStack(5102, 8702, reload=True, redis_dir=str(tmp_path)).web_args()
    assert args[:3] == ["-m", "flask", "run"] and "--reload" in args


def test_a_killed_redis_is_restarted_with_its_queued_jobs_and_the_worker_too(stack):
    url = stack.redis.start()
    worker = stack.spawn("worker", "-c", "import time; time.sleep(120)")
    connection = redis.Redis.from_url(url)
    job = Queue("webhooks", connection=connection).enqueue("portal.jobs.webhooks.reconcile_stream")
    connection.close()

    kill_redis(stack)
    assert stack.check_redis() is True
    connection = redis.Redis.from_url(stack.redis.url)
    assert Queue("webhooks", connection=connection).job_ids == [job.id]
    connection.close()
    assert worker.wait(timeout=15) is not None  # the old worker was stopped...
    names = [(name, process.poll()) for name, process, _ in stack.children]
    assert names == [("worker", None)]  # ...and a new one runs
    assert stack.check_redis() is False  # nothing to do while it runs


def test_redis_that_keeps_dying_stops_everything_with_a_message(stack, monkeypatch):
    monkeypatch.setattr(devserver, "MAX_REDIS_RESTARTS", 1)
    stack.redis.start()
    kill_redis(stack)
    assert stack.check_redis() is True
    kill_redis(stack)
    with pytest.raises(RedisKeepsDying, match="redis.log"):
        stack.check_redis()
