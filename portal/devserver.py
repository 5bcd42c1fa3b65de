"""`make run`: the embedded Redis, the Stream emulator, an RQ worker and the web server, together.

Ctrl-C (or SIGTERM) stops every process this started; if one of them dies, the rest are stopped too.
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


class DevStack:
    """The development processes, started in order and stopped in reverse."""

    def __init__(self, port, emulator_port):
        self.port = port
        self.emulator_port = emulator_port
        self.redis = EmbeddedRedis(DevelopmentConfig.EMBEDDED_REDIS_DIR)
        self.children = []
        self.env = dict(os.environ, FLASK_APP="wsgi", PORTAL_ENV=os.environ.get("PORTAL_ENV", "development"))

    def spawn(self, name, *args):
        """Start one child process in its own process group."""
        process = subprocess.Popen([sys.executable, *args], env=self.env, start_new_session=True)
        self.children.append((name, process))
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
        self.spawn("worker", "-m", "flask", "worker")
        self.spawn(
            "web",
            "-m",
            "flask",
            "run",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--no-reload",
            "--no-debugger",
        )
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

    def watch(self):
        """Block until a child exits or we are told to stop."""
        while True:
            for name, process in self.children:
                if process.poll() is not None:
                    print(f"{name} exited with {process.returncode}; stopping.", file=sys.stderr)
                    return process.returncode or 1
            time.sleep(0.5)

    def stop(self):
        """Stop every child (SIGTERM, then SIGKILL after 10 s), then Redis."""
        for _name, process in reversed(self.children):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for _name, process in reversed(self.children):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.children.clear()
        self.redis.stop()


def main():
    """Run the stack until Ctrl-C."""
    port = int(os.environ.get("PORT", 5000))
    emulator_port = DevelopmentConfig.STREAM_EMULATOR_PORT
    stack = DevStack(port, emulator_port)

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
    except Exception as exc:  # noqa: BLE001 - report any start-up failure and clean up
        print(f"make run failed: {exc}", file=sys.stderr)
        code = 1
    finally:
        stack.stop()
    return code


if __name__ == "__main__":
    sys.exit(main())
