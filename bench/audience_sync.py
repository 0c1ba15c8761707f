"""Benchmark: audience sync of a 100,000-member segment to each sandbox (issue 19).

Usage:
  .venv/bin/python bench/audience_sync.py [--members 100000] [--kinds mailchimp,klaviyo] [--redis-url URL]
      [--mailchimp-latency 2.0] [--klaviyo-burst 10] [--klaviyo-steady 150]

Each sandbox runs as its own process (``flask audiences sandbox``) with limits set so the floor is a minute or two:
Mailchimp publishes no request rate, only 10 simultaneous connections per key, so its sandbox holds each request
``--mailchimp-latency`` seconds (a large batch takes seconds there) and the floor is ceil(calls / 10) x latency;
Klaviyo's sandbox counts burst N/s and steady N/min per endpoint family, by default its published 10/s and 150/m,
which the client paces itself to (a first sync of 100,000 reads 1,000 pages of profile ids: about 7 minutes). The portal's run executes in this process against a
fresh SQLite database and a real Redis (pacing). Printed next to the targets:

1. First sync: API calls against the minimum the batch sizes allow, and wall time against the floor the sandbox's
   rate limits allow for the calls made (<= 1.2x).
2. 5% of members leave and 5% join: calls <= 2x the minimum for the changed members.
3. A run with no change makes 0 write calls.
4. A guest opted out here is out of the destination list after the next run.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import insert, select, update  # noqa: E402

from _common import reference_loop_ms, report  # noqa: E402
from portal import create_app  # noqa: E402
from portal.audiences import clients, runs, service  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models import AudienceRun, Guest, Organization, Segment  # noqa: E402
from portal.privacy import consent  # noqa: E402
from portal.queues import redis_connection  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RULES = {"op": "and", "rules": [{"field": "order_count", "operator": "gte", "value": 2}]}
FIELDS = ["first_name", "last_name", "last_visit", "visits", "lifetime_spend"]


def start_sandbox(kind: str, port: int, args) -> tuple[subprocess.Popen, dict]:
    limits = (["--latency", str(args.mailchimp_latency)] if kind == "mailchimp"
              else ["--rate", str(args.klaviyo_burst), "--steady", str(args.klaviyo_steady)])
    env = {**os.environ, "FLASK_APP": "wsgi", "FLASK_DEBUG": "1"}
    process = subprocess.Popen([str(ROOT / ".venv/bin/flask"), "audiences", "sandbox", "--kind", kind, "--port",
                                str(port), *limits], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    credentials = json.loads(process.stdout.readline())
    for _ in range(100):
        try:
            httpx.get(credentials["admin_base_url"] + "/requests", timeout=2)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    return process, credentials


def add_guests(org_id: int, first: int, count: int, orders: int) -> None:
    now = datetime.now(timezone.utc)
    rows = [{"org_id": org_id, "key": f"e:g{n}@bench.example", "email": f"g{n}@bench.example",
             "first_name": f"First{n}", "last_name": f"Last{n}", "has_email": True, "order_count": orders,
             "net_spend_cents": 1000 + n, "last_order_at": now - timedelta(days=n % 300), "search_name": "",
             "sort_name": ""} for n in range(first, first + count)]
    for start in range(0, len(rows), 5000):
        db.session.execute(insert(Guest), rows[start:start + 5000])
    db.session.commit()


def run(sync) -> tuple[AudienceRun, float]:
    started = time.monotonic()
    audience_run = service.start_run(sync, "cli", enqueue=False)
    runs.execute(audience_run.id)
    seconds = time.monotonic() - started
    db.session.expire_all()
    return db.session.get(AudienceRun, audience_run.id), seconds


def minimum_calls(kind: str, adds: int, removes: int, updates: int = 0) -> int:
    """Fewest calls the published batch sizes allow for these changes (writes, plus Klaviyo's reads of each job:
    one status poll and the pages of its profile ids)."""
    if kind == "mailchimp":
        upserts = math.ceil((adds + updates) / clients.MAILCHIMP_BATCH)
        tags = math.ceil(max(adds, removes) / clients.MAILCHIMP_BATCH)  # adds and removes share a call
        return upserts + tags
    jobs = math.ceil((adds + updates) / clients.KLAVIYO_IMPORT_MAX)
    pages = math.ceil((adds + updates) / clients.KLAVIYO_PAGE)
    return 2 * jobs + pages + math.ceil(removes / clients.KLAVIYO_REMOVE_MAX)


def floor_seconds(kind: str, calls: int, args) -> float:
    """Shortest time the sandbox's windows allow ``calls`` requests (fixed windows, as the vendors count)."""
    if kind == "mailchimp":
        return math.ceil(calls / clients.MAILCHIMP_LIMITS.concurrency) * args.mailchimp_latency
    per_second = (calls - 1) / args.klaviyo_burst
    per_minute = ((calls - 1) // args.klaviyo_steady) * 60.0
    return max(per_second, per_minute)


def requests_of(credentials) -> list[dict]:
    return httpx.get(credentials["admin_base_url"] + "/requests", timeout=60).json()


def in_list(kind: str, credentials, email: str) -> bool:
    if kind == "mailchimp":
        members = httpx.get(credentials["admin_base_url"] + "/members", timeout=60).json()
        return any(m["email_address"] == email and m["tags"] for m in members)
    profiles = httpx.get(credentials["admin_base_url"] + "/profiles", timeout=60).json()
    return any(p["email"] == email and p["in_list"] for p in profiles)


def bench_kind(kind: str, port: int, args) -> None:
    process, credentials = start_sandbox(kind, port, args)
    try:
        org = Organization(name=f"Bench {kind}", slug=f"bench-{kind}")
        db.session.add(org)
        db.session.flush()
        segment = Segment(org_id=org.id, name="Regulars", slug="regulars", rules_json=json.dumps(RULES))
        db.session.add(segment)
        db.session.commit()
        n = args.members
        add_guests(org.id, 0, n, orders=3)
        destination = service.connect(org.id, kind=kind, base_url=credentials["base_url"],
                                      api_key=credentials["api_key"], list_id=credentials["list_id"])
        sync = service.sync_for(segment, destination, FIELDS)
        db.session.commit()
        before = len(requests_of(credentials))

        first, seconds = run(sync)
        calls = len(requests_of(credentials)) - before
        setup = 0 if kind == "klaviyo" else 1 + len(FIELDS) + 1  # merge fields read and created, the tag
        least = minimum_calls(kind, n, 0) + setup
        floor = floor_seconds(kind, calls, args)
        print(f"[{kind}] first sync of {first.members:,} members: added {first.added:,}, rejected {first.rejected}, "
              f"{first.api_calls} API calls ({first.write_calls} writes) in {seconds:.1f} s")
        report(f"{kind} first sync: API calls vs minimum", f"{calls} vs {least} = {calls / least:.2f}x", "<= 1.2x",
               calls <= 1.2 * least and first.added == n)
        report(f"{kind} first sync: wall time vs rate-limit floor", f"{seconds:.1f} s vs {floor:.1f} s = "
               f"{seconds / floor:.2f}x", "<= 1.2x", seconds <= 1.2 * floor)

        leavers = list(range(0, n, 20))  # 5%
        db.session.execute(update(Guest).where(Guest.org_id == org.id, Guest.email.in_(
            [f"g{i}@bench.example" for i in leavers])).values(order_count=1))
        db.session.commit()
        add_guests(org.id, n, len(leavers), orders=3)  # 5% join
        before = len(requests_of(credentials))
        churn, seconds = run(sync)
        calls = len(requests_of(credentials)) - before
        least = minimum_calls(kind, len(leavers), len(leavers))
        print(f"[{kind}] 5% leave, 5% join: added {churn.added}, removed {churn.removed}, unchanged "
              f"{churn.unchanged:,}, {calls} calls in {seconds:.1f} s")
        report(f"{kind} churn: API calls vs minimum for the changed members", f"{calls} vs {least} = "
               f"{calls / least:.2f}x", "<= 2x",
               calls <= 2 * least and churn.added == len(leavers) and churn.removed == len(leavers))

        before = [r for r in requests_of(credentials) if r["method"] != "GET"]
        quiet, seconds = run(sync)
        writes = len([r for r in requests_of(credentials) if r["method"] != "GET"]) - len(before)
        report(f"{kind} no-change run: write calls", f"{writes} (run says {quiet.write_calls}; {seconds:.1f} s)",
               "0", writes == 0 and quiet.write_calls == 0)

        email = f"g{n + 1}@bench.example"
        guest = db.session.scalar(select(Guest).where(Guest.org_id == org.id, Guest.email == email))
        consent.set_opt_out(guest, True)
        db.session.commit()
        was_in = in_list(kind, credentials, email)
        opt_out, _ = run(sync)
        still_in = in_list(kind, credentials, email)
        report(f"{kind} opt-out reaches the destination in the next run",
               f"in list before {was_in}, after {still_in}, removed {opt_out.removed}", "out after one run",
               was_in and not still_in and opt_out.removed == 1)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--kinds", default="mailchimp,klaviyo")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6390/7"))
    parser.add_argument("--mailchimp-latency", type=float, default=2.0)
    parser.add_argument("--klaviyo-burst", type=int, default=10)
    parser.add_argument("--klaviyo-steady", type=int, default=150)
    parser.add_argument("--port", type=int, default=8931)
    args = parser.parse_args()
    print(f"reference loop: {reference_loop_ms():.0f} ms (this machine's speed now)")
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"TESTING": True, "SECRET_KEY": "bench", "PORTAL_ENCRYPTION_KEY": Fernet.generate_key().decode(),
                          "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.sqlite3", "REDIS_URL": args.redis_url})
        with app.app_context():
            upgrade()
            redis_connection().flushdb()
            for offset, kind in enumerate(args.kinds.split(",")):
                bench_kind(kind, args.port + offset, args)


if __name__ == "__main__":
    main()
