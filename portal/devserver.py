"""`make run`: the embedded Redis, the Stream emulator, an RQ worker and the web server (gunicorn, as
production serves it; `make dev`: Flask's reloader instead), together.

Ctrl-C (or SIGTERM) stops every process this started; if one of them dies, the rest are stopped too.
Redis is supervised: when it dies it is restarted on the same socket with its data (it persists to
instance/redis with an append-only file), and the worker is restarted so its schedulers come back;
if it keeps dying, everything stops with a message saying where its log is.
"""

import os
import signal
import subprocess
import sys
import time

import requests

from config import DevelopmentConfig
from portal.commands.accounts import DEMO_ACCOUNTS, DEMO_PASSWORD
from portal.redis_runtime import EmbeddedRedis


def _wait_for(url, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.2)
    return False


# More Redis restarts than this within REDIS_RESTART_WINDOW seconds: something is wrong; stop.
MAX_REDIS_RESTARTS = 3
REDIS_RESTART_WINDOW = 60
WORKER_ARGS = ("-m", "flask", "worker")


class RedisKeepsDying(RuntimeError):
    """The embedded Redis died again and again: `make run` stops rather than limp on."""


class DevStack:
    """The development processes, started in order and stopped in reverse."""

    def __init__(self, port, emulator_port, reload=False, redis_dir=None):
        self.port = port
        self.emulator_port = emulator_port
        self.reload = reload
        self.redis = EmbeddedRedis(redis_dir or DevelopmentConfig.EMBEDDED_REDIS_DIR)
        self.redis_restarts = []
        self.children = []
        self.env = dict(os.environ, FLASK_APP="wsgi", PORTAL_ENV=os.environ.get("PORTAL_ENV", "development"))

    def web_args(self):
        """The web server: gunicorn with threaded workers, as in production (or Flask's reloader)."""
        if self.reload:
            return [
                "-m",
                "flask",
                "run",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--reload",
                "--debug",
            ]
        return [
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--worker-class",
            "gthread",
            "--workers",
            "2",
            "--threads",
            "4",
            "--access-logfile",
            "-",
            "wsgi:app",
        ]

    def spawn(self, name, *args):
        """Start one child process in its own process group."""
        process = subprocess.Popen([sys.executable, *args], env=self.env, start_new_session=True)
        self.children.append((name, process, args))
        return process

    def flask(self, *args, **env):
        """Run one `flask` command to completion (with extra environment variables, if given)."""
        return subprocess.run([sys.executable, "-m", "flask", *args], env={**self.env, **env}, check=True)

    def start(self):
        """Redis, then the emulator (and its signing key + webhook), then the worker and the web server."""
        self.env["REDIS_URL"] = self.redis.start()
        if self.env.get("STREAM_BACKEND", "emulator") == "emulator":
            self.spawn(
                "stream emulator",
                "-m",
                "portal.emulator",
                "--port",
                str(self.emulator_port),
                "--state-dir",
                DevelopmentConfig.STREAM_EMULATOR_DIR,
            )
            if not _wait_for(f"http://127.0.0.1:{self.emulator_port}/__emulator__/health"):
                raise RuntimeError("the Stream emulator did not start")
            # The emulator posts to this server; the command builds the webhook URL with url_for.
            self.flask(
                "stream",
                "setup",
                "--save",
                DevelopmentConfig.STREAM_SETTINGS_FILE,
                PORTAL_BASE_URL=f"http://127.0.0.1:{self.port}",
            )
            self.flask("seed-demo-videos")
        self.spawn("worker", *WORKER_ARGS)
        self.spawn("web", *self.web_args())
        if not _wait_for(f"http://127.0.0.1:{self.port}/login"):
            raise RuntimeError("the web server did not start")

    def banner(self):
        lines = [
            "",
            f"  The member video portal is running at http://127.0.0.1:{self.port}",
            f"  Stream emulator: http://127.0.0.1:{self.emulator_port}   Redis: {self.redis.socket_path}",
            f"  Demo logins (password {DEMO_PASSWORD}):",
            *[f"    {email:<26} {role.value}, {tier.value}" for email, _, role, tier in DEMO_ACCOUNTS],
            "  Press Ctrl-C to stop everything.",
            "",
        ]
        print("\n".join(lines), flush=True)

    def check_redis(self):
        """Restart the embedded Redis if it died (and the worker with it); RedisKeepsDying if it
        died more than MAX_REDIS_RESTARTS times in REDIS_RESTART_WINDOW seconds."""
        process = self.redis.process
        if process is None or process.poll() is None:
            return False
        now = time.monotonic()
        self.redis_restarts = [at for at in self.redis_restarts if now - at < REDIS_RESTART_WINDOW]
        log_path = os.path.join(self.redis.directory, "redis.log")
        if len(self.redis_restarts) >= MAX_REDIS_RESTARTS:
            raise RedisKeepsDying(
                f"the embedded Redis died {len(self.redis_restarts) + 1} times in {REDIS_RESTART_WINDOW} s "
                f"(exit code {process.returncode}); see {log_path}"
            )
        self.redis_restarts.append(now)
        print(
            f"Embedded Redis exited with {process.returncode}; restarting it (see {log_path}).",
            file=sys.stderr,
        )
        self.redis.process = None
        self.redis.start()
        self.restart("worker")
        return True

    def restart(self, name):
        """Stop the named child (if running) and start it again with the same arguments."""
        for index, (child_name, process, args) in enumerate(self.children):
            if child_name == name:
                self._terminate(process)
                del self.children[index]
                self.spawn(name, *args)
                return

    @staticmethod
    def _terminate(process):
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def watch(self):
        """Block until a child exits, Redis keeps dying, or we are told to stop."""
        while True:
            self.check_redis()
            for name, process, _args in self.children:
                if process.poll() is not None:
                    print(f"{name} exited with {process.returncode}; stopping.", file=sys.stderr)
                    return process.returncode or 1
            time.sleep(0.5)

    def stop(self):
        """Stop every child (SIGTERM, then SIGKILL after 10 s), then Redis."""
        for _name, process, _args in reversed(self.children):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for _name, process, _args in reversed(self.children):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.children.clear()
        self.redis.stop()


def main(argv=None):
    """Run the stack until Ctrl-C (`--reload`: Flask's reloading server instead of gunicorn)."""
    argv = sys.argv[1:] if argv is None else argv
    port = int(os.environ.get("PORT", 5000))
    emulator_port = DevelopmentConfig.STREAM_EMULATOR_PORT
    stack = DevStack(port, emulator_port, reload="--reload" in argv)

    def on_signal(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    code = 0
    try:
        stack.start()
        stack.banner()
        code = stack.watch()
    except KeyboardInterrupt:
        print("\nStopping…", flush=True)
    except RedisKeepsDying as exc:
        print(f"make run is stopping everything: {exc}", file=sys.stderr)
        code = 1
    except Exception as exc:  # noqa: BLE001 - report any start-up failure and clean up
        print(f"make run failed: {exc}", file=sys.stderr)
        code = 1
    finally:
        stack.stop()
    return code


if __name__ == "__main__":
    sys.exit(main())
