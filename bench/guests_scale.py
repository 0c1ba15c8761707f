"""Benchmark: guest profiles at scale (default 20,000 guests / 200,000 orders; the issue's size is 1M / 10M).

Usage:
  .venv/bin/python bench/guests_scale.py [--guests N] [--orders N] [--database-url URL] [--reuse]
      [--ingest-orders N] [--samples N] [--cold]

1. A fast synthetic writer (bench/guests_synth.py) loads guests, orders and the per-guest tables directly
   (COPY on PostgreSQL, executemany on SQLite), unless --reuse keeps what an earlier run wrote.
2. Timed through the Flask test client (routing, tenancy, SQL and templates; no network): the guest list's first
   page (default sort, three other sorts, a search, a location filter) and guest detail pages.
3. The real incremental path: new orders for existing guests as Toast payloads -> decoder -> sync store, which
   calls ``apply_orders`` (100 orders per page, one commit per page: the ingest rate), then single orders as
   webhooks bring them, one commit each: a refund on an existing order, and a known guest's next order (a guest
   this run has not touched yet, so its rows are outside the database's own cache), timing ``apply_orders``
   where the store calls it.
Before timing, the database's files are read into the OS page cache: the figures are those of a server whose RAM
holds its data, as production is sized (``--cold`` skips this, to see disk reads; this VM reclaims file pages
between runs, so a run without it measures whatever mix of disk and memory the last runs left).
Figures are printed next to the targets: list and detail p95 < 150 ms, one order's incremental update < 5 ms.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cryptography.fernet import Fernet  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import create_engine, select  # noqa: E402

import guests_synth as synth  # noqa: E402
from bench._common import reference_loop_ms  # noqa: E402
from portal import create_app  # noqa: E402
from portal.crypto import encrypt  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models import (DiningOption, Employee, Location, MenuItem, Organization, ToastConnection,  # noqa: E402
                           User)
from portal.passwords import hash_password  # noqa: E402
from portal.sync import store as sync_store  # noqa: E402
from portal.sync.store import store_orders  # noqa: E402
from portal.toast.decoding import decode_orders  # noqa: E402

TARGET_PAGE_MS = 150.0
TARGET_UPDATE_MS = 5.0
LOCATIONS = 10
RUN = int(time.time())  # order GUIDs of this run: a --reuse run writes new orders, not stale copies
TYPICAL_GUESTS = 200
HEAVY_GUESTS = 50


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return f"p50 {statistics.median(ordered):7.1f} ms   p95 {p95:7.1f} ms   max {ordered[-1]:7.1f} ms"


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def fresh_database(url: str) -> None:
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()


def prewarm(url: str) -> None:
    """Read the database's tables and indexes into the OS page cache (see the module's docstring)."""
    started = time.perf_counter()
    if url.startswith("sqlite:///"):
        with open(url.removeprefix("sqlite:///"), "rb") as f:
            while f.read(1 << 24):
                pass
    else:
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
            conn.exec_driver_sql("SELECT sum(pg_prewarm(oid, 'read')) FROM pg_class"
                                 " WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'i')")
        engine.dispose()
    log(f"database read into the page cache in {time.perf_counter() - started:,.0f} s")


def build_app(url: str):
    return create_app({
        "TESTING": True, "SECRET_KEY": "bench", "PORTAL_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_STORAGE_URI": "memory://", "RATELIMIT_ENABLED": False,
        "HTMX_SOURCE": "local", "SESSION_COOKIE_SECURE": False, "WTF_CSRF_ENABLED": False,
    })


def setup_org(now: datetime) -> synth.Setup:
    org = Organization(name="Bench Group", slug="bench")
    db.session.add(org)
    db.session.flush()
    connection = ToastConnection(org_id=org.id, host="http://toast.invalid", client_id="bench",
                                 client_secret_enc=encrypt("x"), webhook_token="bench-" + "x" * 30)
    db.session.add(connection)
    db.session.flush()
    dining, servers, location_ids = {}, {}, []
    behaviors = {"delivery": ("DELIVERY", False), "takeout": ("TAKE_OUT", False), "curbside": ("TAKE_OUT", True),
                 "dine_in": ("DINE_IN", False)}
    for n in range(LOCATIONS):
        location = Location(org_id=org.id, connection_id=connection.id, guid=f"loc-{n:04d}", name=f"Location {n}")
        db.session.add(location)
        db.session.flush()
        location_ids.append(location.id)
        for channel, (behavior, curbside) in behaviors.items():
            guid = f"dining-{n}-{channel}"
            dining[(location.id, channel)] = guid
            db.session.add(DiningOption(org_id=org.id, location_id=location.id, guid=guid, name=channel,
                                        behavior=behavior, curbside=curbside))
        servers[location.id] = [(f"emp-{n}-{k}", f"Server {n}-{k}") for k in range(20)]
        for guid, name in servers[location.id]:
            db.session.add(Employee(org_id=org.id, location_id=location.id, guid=guid, first_name=name))
        for k, name in enumerate(synth.ITEMS):
            db.session.add(MenuItem(org_id=org.id, location_id=location.id, guid=f"item-{n}-{k}", name=name))
    db.session.add(User(email="owner@bench.example", password_hash=hash_password("bench passphrase 1"),
                        org_id=org.id, role="owner"))
    db.session.commit()
    return synth.Setup(org_id=org.id, location_ids=location_ids, dining=dining, servers=servers,
                       now_s=int(now.timestamp()))


def signed_in_client(app):
    user = db.session.scalar(select(User).where(User.email == "owner@bench.example"))
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
    return client


def time_get(client, url: str, runs: int) -> list[float]:
    samples = []
    client.get(url)  # warm the caches this page uses (templates, statements)
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return samples


def measure_pages(app, guests: int, runs: int) -> dict:
    client = signed_in_client(app)
    results = {}
    location = db.session.scalar(select(Location.id).order_by(Location.id))
    for label, url in [("list: last order (default)", "/guests/"), ("list: net spend desc", "/guests/?sort=net_spend"),
                       ("list: name asc", "/guests/?sort=name&dir=asc"),
                       ("list: first order asc", "/guests/?sort=first_order&dir=asc"),
                       ("list: search 'ann sm'", "/guests/?q=ann+sm"),
                       ("list: search 'b' (broad)", "/guests/?q=b"),
                       ("list: search email", "/guests/?q=guest4242%40example.com"),
                       ("list: location filter", f"/guests/?location={location}")]:
        results[label] = time_get(client, url, runs)
        log(f"{label:32s} {percentiles(results[label])}")
    typical, heavy = tree_guests(guests)
    for label, chosen in (("detail: typical guests", typical), ("detail: busiest guests", heavy)):
        samples = []
        for guest_id in chosen[:runs]:
            samples += time_get(client, f"/guests/{guest_id}", 1)
        results[label] = samples
        log(f"{label:32s} {percentiles(samples)}")
    return results


def tree_guests(guests: int) -> tuple[list[int], list[int]]:
    """Guest ids whose order trees are written (their detail pages are timed): random ones and the busiest
    (the synthetic tail puts the most orders on the lowest ids)."""
    heavy = list(range(1, min(HEAVY_GUESTS, guests) + 1))
    rest = range(HEAVY_GUESTS + 1, guests + 1)
    typical = random.Random(7).sample(rest, min(TYPICAL_GUESTS, len(rest)))
    return typical, heavy


def payload(guest: int, location_guid: str, number: int, opened: datetime, dining: str, amount: float) -> dict:
    stamp = opened.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    return {
        "guid": f"bench-{RUN}-{number}", "openedDate": stamp, "createdDate": stamp, "modifiedDate": stamp,
        "diningOption": {"guid": dining}, "server": {"guid": f"emp-0-{number % 20}"},
        "checks": [{
            "guid": f"bench-check-{RUN}-{number}", "amount": amount, "totalAmount": amount,
            "customer": {"guid": None, "email": synth.email(guest).upper(), "phone": None, "firstName": "Bench",
                         "lastName": "Guest"},
            "selections": [{"guid": f"sel-{number}", "displayName": synth.ITEMS[number % 40], "quantity": 1,
                            "price": amount, "item": {"guid": f"item-0-{number % 40}"}}],
            "payments": [{"guid": f"pay-{number}", "type": "CREDIT", "amount": amount, "tipAmount": 2.0,
                          "cardType": "VISA", "last4Digits": "4242", "paymentStatus": "CAPTURED"}],
        }],
    }


def measure_ingest(setup: synth.Setup, guests: int, count: int, updates: int) -> dict:
    location = db.session.get(Location, setup.location_ids[0])
    rng = random.Random(RUN)  # each --reuse run samples other guests: earlier runs' orders do not pile up on them
    now = datetime.fromtimestamp(setup.now_s, timezone.utc)
    pages, number, owners = [], 0, {}
    for _ in range(0, count, 100):
        page = []
        for _ in range(100):
            number += 1
            owners[number] = rng.randrange(guests)
            page.append(payload(owners[number], location.guid, number, now - timedelta(minutes=number),
                                setup.dining[(location.id, "takeout")], round(rng.uniform(8, 80), 2)))
        pages.append(json.dumps(page).encode())
    timer = ApplyTimer()
    total_s, written = 0.0, []
    for body in pages:
        orders = decode_orders(body)
        started = time.perf_counter()
        written += store_orders(location, orders).written  # calls apply_orders itself (the sync engine's hook)
        db.session.commit()
        total_s += time.perf_counter() - started
    apply_s = sum(timer.calls)
    log(f"ingest: {len(written):,} orders, apply_orders {len(written) / apply_s:,.0f}/s, sync store with "
        f"apply_orders and commit {len(written) / total_s:,.0f}/s")
    takeout = setup.dining[(location.id, "takeout")]

    def one_at_a_time(bodies: list[dict]) -> tuple[list[float], list[float]]:
        reference.append(reference_loop_ms())
        timer.calls.clear()
        timer.cpu.clear()
        for data in bodies:  # one webhook: one order stored, applied and committed
            store_orders(location, decode_orders(json.dumps([data]).encode()))
            db.session.commit()
        return [seconds * 1000 for seconds in timer.calls], [seconds * 1000 for seconds in timer.cpu]

    reference = []
    refunded = []
    for n in rng.sample(range(1, number + 1), updates):
        # The same order of the same guest, refunded later (a newer copy replaces the stored one).
        data = payload(owners[n], location.guid, n, now - timedelta(minutes=n), takeout, 30.0)
        data["modifiedDate"] = (now + timedelta(days=1, seconds=n)).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
        data["checks"][0]["payments"][0]["refund"] = {"refundAmount": 5.0, "tipRefundAmount": 1.0}
        refunded.append(data)
    single, single_cpu = one_at_a_time(refunded)
    log(f"{'single-order update (apply_orders)':32s} {percentiles(single)}   CPU {percentiles(single_cpu)}")
    # A known guest's next order (what most webhooks bring), each to a guest this run has not touched yet.
    new = [payload(rng.randrange(guests), location.guid, number + n, now - timedelta(seconds=n), takeout, 24.0)
           for n in range(1, updates + 1)]
    fresh, fresh_cpu = one_at_a_time(new)
    log(f"{'single new order (apply_orders)':32s} {percentiles(fresh)}   CPU {percentiles(fresh_cpu)}")
    reference.append(reference_loop_ms())
    timer.restore()
    return {"reference_ms": reference, "apply_per_s": len(written) / apply_s, "together_per_s": len(written) / total_s, "single": single,
            "single_cpu": single_cpu, "new": fresh, "new_cpu": fresh_cpu}


class ApplyTimer:
    """Times ``apply_orders`` where the sync store calls it."""

    def __init__(self):
        self.calls: list[float] = []
        self.cpu: list[float] = []  # this process's CPU time: what the 2-core box's other load cannot inflate
        self.original = sync_store.apply_orders

        def timed(org_id, order_ids):
            started, cpu = time.perf_counter(), time.process_time()
            self.original(org_id, order_ids)
            self.calls.append(time.perf_counter() - started)
            self.cpu.append(time.process_time() - cpu)

        sync_store.apply_orders = timed

    def restore(self) -> None:
        sync_store.apply_orders = self.original


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guests", type=int, default=20_000)
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", "sqlite:////tmp/guests_bench.sqlite3"))
    parser.add_argument("--reuse", action="store_true", help="keep the data an earlier run wrote")
    parser.add_argument("--ingest-orders", type=int, default=20_000)
    parser.add_argument("--updates", type=int, default=300)
    parser.add_argument("--samples", type=int, default=100, help="requests per timed page")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--cold", action="store_true", help="skip reading the database into the page cache")
    args = parser.parse_args()
    assert args.orders >= args.guests, "every guest needs an order"
    database = "postgresql" if args.database_url.startswith("postgresql") else "sqlite"
    log(f"{database}: {args.guests:,} guests, {args.orders:,} orders")
    if not args.reuse:
        fresh_database(args.database_url)
    app = build_app(args.database_url)
    with app.app_context():
        upgrade()  # also brings a --reuse database up to the current schema
        if not args.reuse:
            setup = setup_org(datetime.now(timezone.utc).replace(microsecond=0))
            started = time.perf_counter()
            typical, heavy = tree_guests(args.guests)
            written = synth.write(setup, args.guests, args.orders, args.seed, set(typical) | set(heavy), log)
            log(f"synthetic write: {json.dumps({k: round(v, 1) if isinstance(v, float) else v for k, v in written.items()})}"
                f" in {time.perf_counter() - started:,.0f} s ({args.orders / (time.perf_counter() - started):,.0f} orders/s)")
        setup = _existing_setup()
        if not args.cold:
            prewarm(args.database_url)
        pages = measure_pages(app, args.guests, args.samples)
        ingest = measure_ingest(setup, args.guests, args.ingest_orders, args.updates) if args.ingest_orders else None
    report(database, args, pages, ingest)


def _existing_setup() -> synth.Setup:
    org = db.session.scalar(select(Organization).where(Organization.slug == "bench"))
    locations = db.session.scalars(select(Location).where(Location.org_id == org.id).order_by(Location.id)).all()
    dining = {(d.location_id, d.name): d.guid for d in db.session.scalars(select(DiningOption))}
    return synth.Setup(org_id=org.id, location_ids=[loc.id for loc in locations], dining=dining, servers={},
                       now_s=int(datetime.now(timezone.utc).timestamp()))


def report(database: str, args, pages: dict, ingest: dict) -> None:
    print(f"\n== guests at scale on {database}: {args.guests:,} guests, {args.orders:,} orders ==")
    for label, samples in pages.items():
        if isinstance(samples, list):
            verdict = "ok" if p95(samples) < TARGET_PAGE_MS else "MISSED"
            print(f"{label:34s} {percentiles(samples)}   target p95 < {TARGET_PAGE_MS:.0f} ms: {verdict}")
    if ingest is None:
        return
    print(f"{'ingest into profiles':34s} {ingest['apply_per_s']:,.0f} orders/s in apply_orders, "
          f"{ingest['together_per_s']:,.0f} orders/s through the sync store (with apply_orders and commit)")
    for label, key in (("one order updated (a refund)", "single"), ("a known guest's new order", "new")):
        verdict = "ok" if p95(ingest[key]) < TARGET_UPDATE_MS else "MISSED"
        print(f"{label:34s} {percentiles(ingest[key])}   target p95 < {TARGET_UPDATE_MS:.0f} ms: {verdict}")
        print(f"{'  same, CPU time of this process':34s} {percentiles(ingest[key + '_cpu'])}")
    print(f"{'reference CPU loop':34s} " + ", ".join(f"{ms:.0f}" for ms in ingest["reference_ms"])
          + " ms around the single-order timings (the same work each time: this machine's speed, to compare runs)")
    print("database files " + ("as the page cache had them (--cold)" if args.cold else "read into the page cache first"))
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
