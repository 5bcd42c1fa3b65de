"""Benchmark: library page, watch page and access-url throughput, each ÷ a bare route of the same app.

Setup: a SQLite database (migrated with `flask db upgrade`) holding 10,000 videos (two tags each,
mixed access levels, 10 % still processing, some linked to training sessions) and 1,000 members
with five saved positions each; an embedded Redis; a local RSA signing key, so tokens are minted
as in production (no Stream call per view). The portal runs under gunicorn (WORKERS of its default
sync workers) from bench/library_app.py, which adds one bare route to the real app.

Load: CLIENTS client processes, each signed in as its own premium member, each sending requests
back to back for SECONDS per measurement (a sync worker closes the connection after each answer,
so every request opens a new one, as browsers do against such a server). Rounds rotate the order of
the four measurements; the best round of each counts (background load on a shared machine only
ever slows a run down). Ratio = page requests/s ÷ bare requests/s, from the same run. The workers'
CPU time per request (from /proc) is reported too, and its ratio: on a machine shared with other
work it says what the app costs, where requests/s also say how much CPU the neighbours left.
"""

import http.client
import json
import multiprocessing
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench.proc import cpu_seconds  # noqa: E402

ASSETS, MEMBERS = 10_000, 1_000
WORKERS, CLIENTS = 4, 4
SECONDS, ROUNDS = 4.0, 3
TARGET = 0.5
PASSWORD = "bench-password-1"


def free_port():
    """A port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed(env):
    """Migrate and fill the database; returns (member emails, a members-only video id)."""
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    os.environ.update(env)
    from sqlalchemy import insert
    from werkzeug.security import generate_password_hash

    from portal import create_app
    from portal.extensions import db
    from portal.models import MediaAsset, MediaTag, TrainingSession, User, WatchProgress

    app = create_app()
    levels = [
        ("public", None),
        ("members_only", None),
        ("tier_specific", "basic"),
        ("tier_specific", "premium"),
    ]
    base = datetime(2026, 1, 1, tzinfo=UTC)
    with app.app_context():
        sessions = [str(uuid.uuid4()) for _ in range(50)]
        db.session.execute(
            insert(TrainingSession), [{"id": s, "title": f"Session {n}"} for n, s in enumerate(sessions)]
        )
        assets, tags = [], []
        for n in range(ASSETS):
            level, tier = levels[n % 4]
            asset_id = str(uuid.uuid4())
            assets.append(
                {
                    "id": asset_id,
                    "title": f"Technique {n:05d}",
                    "description": f"Drill number {n} in detail",
                    "stream_video_id": uuid.uuid4().hex,
                    "status": "processing" if n % 10 == 0 else "ready",
                    "access_level": level,
                    "required_tier": tier,
                    "duration_seconds": 60 + n % 900,
                    "view_count": n % 211,
                    "created_at": base + timedelta(minutes=n),
                    "updated_at": base,
                    "media_type": "video",
                    "storage_provider": "cloudflare_stream",
                    "extra_metadata": {},
                    "download_count": 0,
                    "entity_type": "training_session" if n % 7 == 0 else None,
                    "entity_id": sessions[n % 50] if n % 7 == 0 else None,
                }
            )
            tags += [
                {"asset_id": asset_id, "tag": ("kata", "sparring", "drills")[n % 3]},
                {"asset_id": asset_id, "tag": f"topic-{n % 60}"},
            ]
        db.session.execute(insert(MediaAsset), assets)
        db.session.execute(insert(MediaTag), tags)
        digest = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
        users = [
            {
                "email": f"member{n:04d}@bench.example.org",
                "name": "",
                "password_hash": digest,
                "role": "member",
                "tier": ("free", "basic", "premium", "lifetime")[n % 4],
                "active": True,
                "session_version": 1,
                "created_at": base,
                "updated_at": base,
            }
            for n in range(MEMBERS)
        ]
        db.session.execute(insert(User), users)
        db.session.flush()
        ids = [row[0] for row in db.session.execute(db.select(User.id))]
        ready = [a["id"] for a in assets if a["status"] == "ready"]
        progress = [
            {
                "user_id": uid,
                "asset_id": ready[(uid * 5 + k) % len(ready)],
                "position_seconds": 30.0,
                "duration_seconds": 600.0,
                "finished": False,
                "updated_at": base + timedelta(seconds=k),
            }
            for uid in ids
            for k in range(5)
        ]
        db.session.execute(insert(WatchProgress), progress)
        db.session.commit()
        watch_id = next(
            a["id"] for a in assets if a["status"] == "ready" and a["access_level"] == "members_only"
        )
    premium = [u["email"] for u in users if u["tier"] == "premium"]
    return premium, watch_id


def sign_in(port, email):
    """Sign in through the real form; returns the session cookie header."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", "/login")
    response = conn.getresponse()
    page = response.read().decode()
    cookie = response.getheader("Set-Cookie").split(";", 1)[0]
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    body = f"email={email}&password={PASSWORD}&csrf_token={token}"
    conn.request(
        "POST",
        "/login",
        body=body,
        headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
    )
    response = conn.getresponse()
    response.read()
    assert response.status == 302, response.status
    cookies = [value.split(";", 1)[0] for value in response.msg.get_all("Set-Cookie")]
    return "; ".join(c for c in cookies if c.startswith("session="))


def hammer(port, cookie, path, seconds, out):
    """Send GETs back to back on one keep-alive connection; put the count of 200s on `out`."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    done, deadline = 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        conn.request("GET", path, headers={"Cookie": cookie})
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{path} answered {response.status}")
        done += 1
    out.put(done)


def warm_up(port, cookies, path, count=20):
    """A few requests per client, untimed."""
    for cookie in cookies:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for _ in range(count):
            conn.request("GET", path, headers={"Cookie": cookie})
            conn.getresponse().read()
        conn.close()


def measure(port, cookies, path, master_pid):
    """(requests per second, server CPU milliseconds per request) over SECONDS, one client per cookie."""
    out = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=hammer, args=(port, c, path, SECONDS, out)) for c in cookies]
    cpu_before = cpu_seconds(parents={master_pid})
    for p in procs:
        p.start()
    total = sum(out.get(timeout=SECONDS + 60) for _ in procs)
    for p in procs:
        p.join()
    cpu = cpu_seconds(parents={master_pid}) - cpu_before
    return total / SECONDS, 1000 * cpu / max(total, 1)


def main():
    """Seed, serve under gunicorn, measure, print the figures and the BENCH_RESULT line."""
    workdir = tempfile.mkdtemp(prefix="bench-library-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    os.environ["PORTAL_INSTANCE_DIR"] = workdir  # before config.py is imported: it reads it once
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from portal.redis_runtime import EmbeddedRedis

    redis = EmbeddedRedis(os.path.join(workdir, "redis"))
    gunicorn = None
    try:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ).decode()
        env = {
            **os.environ,
            "PORTAL_ENV": "development",
            "PORTAL_INSTANCE_DIR": workdir,
            "REDIS_URL": redis.start(),
            "CLOUDFLARE_STREAM_SIGNING_KEY_ID": uuid.uuid4().hex,
            "CLOUDFLARE_STREAM_SIGNING_KEY": pem,
            "LOG_LEVEL": "WARNING",
            "LOGIN_LIMIT_PER_IP": "1000 per minute",
        }
        started = time.perf_counter()
        emails, watch_id = seed(env)
        print(
            f"seeded {ASSETS} videos and {MEMBERS} members in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        port = free_port()
        gunicorn = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-w",
                str(WORKERS),
                "-b",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
                "--chdir",
                ROOT,
                "bench.library_app:app",
            ],
            env=env,
            cwd=ROOT,
            start_new_session=True,
        )
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        cookies = [sign_in(port, email) for email in emails[:CLIENTS]]
        paths = {
            "bare": "/__bench__/bare",
            "library": "/library",
            "watch": f"/watch/{watch_id}",
            "access_url": f"/api/media/{watch_id}/access-url",
        }
        for path in paths.values():  # warm up every worker and thread (imports, template compiles)
            warm_up(port, cookies, path)
        best = {name: 0.0 for name in paths}
        cpu = {name: float("inf") for name in paths}
        for r in range(ROUNDS):
            names = list(paths)[r % len(paths) :] + list(paths)[: r % len(paths)]
            figures = {name: measure(port, cookies, paths[name], gunicorn.pid) for name in names}
            print(
                "round",
                r + 1,
                " ".join(f"{n}={figures[n][0]:.0f}/s ({figures[n][1]:.1f} ms CPU)" for n in paths),
                flush=True,
            )
            for name, (rate, cpu_ms) in figures.items():
                best[name] = max(best[name], rate)
                cpu[name] = min(cpu[name], cpu_ms)
        rows = [{"name": f"{name} requests/s", "value": round(best[name]), "unit": "req/s"} for name in paths]
        rows += [
            {"name": f"{name} server CPU", "value": round(cpu[name], 2), "unit": "ms/req"} for name in paths
        ]
        for name in ("library", "watch", "access_url"):
            ratio = best[name] / best["bare"]
            capacity = cpu["bare"] / cpu[name]
            rows.append(
                {
                    "name": f"{name} ÷ bare",
                    "value": round(ratio, 2),
                    "unit": "",
                    "target": f"≥ {TARGET}",
                    "ok": ratio >= TARGET,
                }
            )
            rows.append({"name": f"{name} ÷ bare, by server CPU", "value": round(capacity, 2), "unit": ""})
            print(f"{name} / bare = {ratio:.2f} (by server CPU per request: {capacity:.2f})", flush=True)
        print("BENCH_RESULT " + json.dumps(rows), flush=True)
    finally:
        if gunicorn is not None:
            os.killpg(gunicorn.pid, signal.SIGTERM)
            gunicorn.wait(timeout=30)
        redis.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
