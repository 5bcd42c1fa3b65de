"""Benchmark: how fast the Stream webhook is acknowledged under load, served by gunicorn on loopback.

Set-up: an embedded Redis and, as production has, a PostgreSQL server (its own cluster in a temp dir,
fsync on; SQLite when no PostgreSQL is installed, which serialises every write), migrated with
`flask db upgrade`, and gunicorn (2 gthread workers × 4 threads, as many workers as cores) serving the portal with a
webhook secret and one extra bare POST route (bench/webhook_app.py). Every request carries its own
correctly signed video object, so each one is verified, parsed and put in the webhook's inbox (one
Lua call to Redis; the first one also enqueues the drain job), the whole work of an
acknowledgement (no worker runs: storing in the database and applying are not part of it).

1. Latency at a steady 100 requests/s: an open-loop generator sends REQUESTS requests on a fixed
   schedule from a pool of keep-alive connections; each latency is measured from the request's
   scheduled start (so a stall delays every request queued behind it, and counts). p50 and p99.
2. Throughput: THREADS closed-loop clients send as fast as answers come, for a bounded count,
   against the webhook and against the bare route, alternating, ROUNDS times; the best of each
   (background load on a shared machine only ever slows a run down). Ratio = webhook ÷ bare.
3. Server CPU per request in those rounds (from /proc: the gunicorn workers, the PostgreSQL server
   and its backends, Redis), the lowest of the rounds, and bare ÷ webhook. On a machine shared with
   other work this says what an acknowledgement costs, where requests/s also say how much CPU the
   neighbours left. The client's own CPU is left out, so this ratio is stricter than throughput's.
"""

import glob
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench.proc import cpu_seconds  # noqa: E402
from portal.redis_runtime import EmbeddedRedis  # noqa: E402
from portal.services.stream.webhooks import signature_header  # noqa: E402

SECRET = "bench-webhook-secret-0123456789abcdef"
RATE = 100
REQUESTS = 1500
CONNECTIONS = 16
THROUGHPUT_REQUESTS = 1500
THREADS = 8
ROUNDS = 3
P99_TARGET_MS = 50
RATIO_TARGET = 0.5


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def signed_delivery():
    """A fresh video object with its signature header (a new uid each time: nothing is a replay)."""
    uid = uuid.uuid4().hex
    body = json.dumps(
        {
            "uid": uid,
            "readyToStream": True,
            "status": {
                "state": "ready",
                "pctComplete": "100.000000",
                "errorReasonCode": "",
                "errorReasonText": "",
            },
            "modified": "2026-12-01T10:00:00.000000Z",
            "duration": 42.5,
            "input": {"width": 1280, "height": 720},
            "meta": {"name": "bench.mp4"},
        },
        separators=(",", ":"),
    ).encode()
    return body, {"Content-Type": "application/json", "Webhook-Signature": signature_header(body, SECRET)}


class PostgreSQL:
    """A throwaway PostgreSQL cluster (Debian's binaries), run as the postgres user, as .ci/run does."""

    def __init__(self, directory):
        versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
        self.bin = versions[-1] if versions else None
        self.dir = os.path.join(directory, "pg")
        self.port = free_port()

    def run(self, *args):
        command = ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)
        subprocess.run(command, check=True, capture_output=True, cwd="/")

    def start(self):
        """Start it; returns its URL, or None when PostgreSQL is not installed."""
        if self.bin is None:
            return None
        os.makedirs(self.dir)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self.run(
            f"{self.bin}/initdb", "-D", f"{self.dir}/data", "-U", "postgres", "-A", "trust", "-E", "UTF8"
        )
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=50"
        if os.environ.get("BENCH_PG_FSYNC", "on") == "off":
            options += " -c fsync=off"
        self.run(
            f"{self.bin}/pg_ctl",
            "-D",
            f"{self.dir}/data",
            "-l",
            f"{self.dir}/log",
            "-w",
            "-o",
            options,
            "start",
        )
        self.run(
            f"{self.bin}/createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "portal_bench"
        )
        return f"postgresql://postgres@127.0.0.1:{self.port}/portal_bench"

    def stop(self):
        if self.bin and os.path.isdir(f"{self.dir}/data"):
            self.run(f"{self.bin}/pg_ctl", "-D", f"{self.dir}/data", "-m", "fast", "-w", "stop")


class Server:
    """Redis, a migrated database and gunicorn, in a temp dir; stopped in reverse."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="bench-webhooks-")
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.redis = EmbeddedRedis(os.path.join(self.dir, "redis"))
        self.postgres = PostgreSQL(self.dir)
        self.database = None
        self.process = None

    def start(self):
        self.database = self.postgres.start()
        env = dict(
            os.environ,
            PORTAL_ENV="development",
            PORTAL_INSTANCE_DIR=self.dir,
            REDIS_URL=self.redis.start(),
            CLOUDFLARE_STREAM_WEBHOOK_SECRET=SECRET,
            LOG_LEVEL="WARNING",
            FLASK_APP="wsgi",
        )
        if self.database:
            env["DATABASE_URL"] = self.database
        subprocess.run(
            [sys.executable, "-m", "flask", "db", "upgrade"],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--chdir",
                os.path.join(ROOT, "bench"),
                "-k",
                "gthread",
                "-w",
                "2",
                "--threads",
                "4",
                "--keep-alive",
                "30",
                "-b",
                f"127.0.0.1:{self.port}",
                "--log-level",
                "warning",
                "webhook_app:app",
            ],
            env=env,
            cwd=ROOT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                status, _ = post(
                    http.client.HTTPConnection("127.0.0.1", self.port, timeout=5), "/__bench__/bare", b"", {}
                )
                if status == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not start")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)
        self.redis.stop()
        self.postgres.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def server_pids(server):
    """The gunicorn master, the postmaster and redis-server."""
    pids = {server.process.pid}
    if server.database:
        with open(f"{server.postgres.dir}/data/postmaster.pid") as fh:
            pids.add(int(fh.readline()))
    if server.redis.process is not None:
        pids.add(server.redis.process.pid)
    return pids


def post(connection, path, body, headers):
    connection.request("POST", path, body=body, headers=headers)
    response = connection.getresponse()
    response.read()
    return response.status, response


def steady_load(port, rate=RATE, count=REQUESTS):
    """Latencies (ms, from each request's scheduled start) at a fixed rate; and the non-200 count."""
    deliveries = [signed_delivery() for _ in range(count)]
    start = time.perf_counter() + 0.5
    latencies, failures, lock, next_index = [], [0], threading.Lock(), [0]

    def client():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while True:
            with lock:
                index = next_index[0]
                next_index[0] += 1
            if index >= count:
                return
            scheduled = start + index / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            body, headers = deliveries[index]
            try:
                status, _ = post(connection, "/api/webhooks/cloudflare/stream", body, headers)
            except (OSError, http.client.HTTPException):
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                status = 0
            elapsed = (time.perf_counter() - scheduled) * 1000
            with lock:
                latencies.append(elapsed)
                failures[0] += status != 200

    threads = [threading.Thread(target=client) for _ in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, failures[0]


def closed_loop(port, path, make_request, count=THROUGHPUT_REQUESTS, threads=THREADS):
    """Requests per second with `threads` clients sending back to back, `count` requests in all."""
    requests_ = [make_request() for _ in range(count)]
    index, lock, failures = [0], threading.Lock(), [0]

    def client():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while True:
            with lock:
                if index[0] >= count:
                    return
                body, headers = requests_[index[0]]
                index[0] += 1
            status, _ = post(connection, path, body, headers)
            if status != 200:
                with lock:
                    failures[0] += 1

    workers = [threading.Thread(target=client) for _ in range(threads)]
    began = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return count / (time.perf_counter() - began), failures[0]


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def main():
    server = Server()
    try:
        server.start()
        steady_load(server.port, count=200)  # warm up: connections, imports, SQLite pages
        print(f"database: {'PostgreSQL' if server.database else 'SQLite (no PostgreSQL installed)'}")
        latencies, failures = steady_load(server.port)
        p50, p99 = statistics.median(latencies), percentile(latencies, 0.99)
        print(
            f"steady {RATE} req/s, {len(latencies)} requests: p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
            f"max {max(latencies):.1f} ms, non-200: {failures}"
        )
        webhook_best = bare_best = 0.0
        bare_cpu = webhook_cpu = float("inf")
        pids = server_pids(server)
        for round_ in range(ROUNDS):
            before = cpu_seconds(pids, parents=pids)
            bare, bare_failures = closed_loop(server.port, "/__bench__/bare", lambda: (b"", {}))
            middle = cpu_seconds(pids, parents=pids)
            webhook, webhook_failures = closed_loop(
                server.port, "/api/webhooks/cloudflare/stream", signed_delivery
            )
            after = cpu_seconds(pids, parents=pids)
            bare_ms = 1000 * (middle - before) / THROUGHPUT_REQUESTS
            webhook_ms = 1000 * (after - middle) / THROUGHPUT_REQUESTS
            print(
                f"round {round_ + 1}: bare {bare:.0f} req/s ({bare_ms:.2f} ms server CPU), "
                f"webhook {webhook:.0f} req/s ({webhook_ms:.2f} ms) "
                f"(non-200: {bare_failures}, {webhook_failures})"
            )
            bare_best, webhook_best = max(bare_best, bare), max(webhook_best, webhook)
            bare_cpu, webhook_cpu = min(bare_cpu, bare_ms), min(webhook_cpu, webhook_ms)
        ratio = webhook_best / bare_best
        capacity = bare_cpu / webhook_cpu if webhook_cpu else 0.0
        rows = [
            {"name": f"webhook p50 at {RATE} req/s", "value": round(p50, 1), "unit": "ms"},
            {
                "name": f"webhook p99 at {RATE} req/s",
                "value": round(p99, 1),
                "unit": "ms",
                "target": f"< {P99_TARGET_MS} ms",
                "ok": p99 < P99_TARGET_MS and failures == 0,
            },
            {"name": "webhook throughput", "value": round(webhook_best), "unit": "req/s"},
            {"name": "bare route throughput", "value": round(bare_best), "unit": "req/s"},
            {
                "name": "webhook / bare throughput",
                "value": round(ratio, 2),
                "unit": "",
                "target": f">= {RATIO_TARGET}",
                "ok": ratio >= RATIO_TARGET,
            },
            {"name": "bare route server CPU", "value": round(bare_cpu, 2), "unit": "ms/req"},
            {"name": "webhook server CPU", "value": round(webhook_cpu, 2), "unit": "ms/req"},
            {"name": "webhook ÷ bare, by server CPU", "value": round(capacity, 2), "unit": ""},
        ]
        print("BENCH_RESULT " + json.dumps(rows))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
