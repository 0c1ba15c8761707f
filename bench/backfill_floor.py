"""Issue 5: a full 12-week backfill of one sandbox location, wall time against the floor the limits impose.

The sandbox runs in its own process (``flask toast sandbox``) with Toast's rate limits on. The floor for N
ordersBulk calls is (N - 1) x max(spacing, 1/5 s): Toast asks for spacing between history calls and allows
5 ordersBulk calls per second per location. The pages go through the workers' scheduler and step (here in
this process, as ``flask toast sync --inline`` runs them), paced through Redis ($BENCH_REDIS_URL;
scripts/bench.sh starts it). Run: .venv/bin/python bench/backfill_floor.py [--spacing 0.25]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._common import report  # noqa: E402


def start_sandbox(port: int, days: int) -> tuple[subprocess.Popen, dict]:
    env = {**os.environ, "FLASK_APP": "wsgi", "PORTAL_REQUIRE_SECRETS": "0"}
    process = subprocess.Popen(
        [str(ROOT / ".venv/bin/flask"), "toast", "sandbox", "--port", str(port), "--restaurants", "1",
         "--days", str(days), "--seed", "21"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    return process, json.loads(process.stdout.readline())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spacing", type=float, default=0.25, help="seconds between history calls")
    parser.add_argument("--days", type=int, default=84)
    parser.add_argument("--port", type=int, default=8897)
    args = parser.parse_args()
    sandbox, info = start_sandbox(args.port, args.days + 7)
    try:
        run(args, info)
    finally:
        sandbox.terminate()


def run(args, info: dict) -> None:
    from cryptography.fernet import Fernet
    from flask_migrate import upgrade

    from portal import create_app
    from portal.connections import service
    from portal.extensions import db
    from portal.models import Organization, SyncRun
    from portal.queues import redis_connection
    from portal.sync import runs
    from portal.sync.scheduler import Scheduler
    from workers.sync import serve_until_done

    database = Path(tempfile.mkdtemp()) / "bench.sqlite3"
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
                      "PORTAL_ENCRYPTION_KEY": Fernet.generate_key().decode(), "TOAST_HISTORY_SPACING_S": args.spacing,
                      "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6390/7")})
    statuses, calls = [], []

    class ObservedClient(httpx.Client):  # every Toast client of this process reports its responses here
        def __init__(self, *args, **kwargs):
            super().__init__(*args, event_hooks={"response": [observe]}, **kwargs)

    def observe(response):
        statuses.append(response.status_code)
        if "ordersBulk" in str(response.request.url):
            calls.append(time.perf_counter())

    httpx.Client = ObservedClient
    with app.app_context():
        upgrade()
        org = Organization(name="Bench", slug="bench")
        db.session.add(org)
        db.session.commit()
        connection = service.create_connection(org, host=info["base_url"], client_id=info["client_id"],
                                               client_secret=info["client_secret"], webhook_secret=None)
        db.session.commit()
        location = service.connect_locations(connection, info["restaurant_guids"][:1], {})[0]
        db.session.commit()
        order_scheduler = Scheduler(redis_connection(), namespace="bench-backfill-floor")
        order_scheduler.clear()
        started = time.perf_counter()
        run_id = runs.start(location, runs.BACKFILL, days=args.days, order_scheduler=order_scheduler).id
        serve_until_done(order_scheduler)
        wall = time.perf_counter() - started
        run = db.session.get(SyncRun, run_id)
        stored, status = run.orders, run.status
    floor = (len(calls) - 1) * max(args.spacing, 0.2)
    print(f"backfill of {args.days} days: {len(calls)} ordersBulk calls, {stored} orders stored, run {status}")
    report("wall time / floor", f"{wall:.1f} s / {floor:.1f} s = {wall / floor:.3f}x", "<= 1.15x", wall / floor <= 1.15)
    report("429 responses received", str(statuses.count(429)), "0", statuses.count(429) == 0)


if __name__ == "__main__":
    main()
