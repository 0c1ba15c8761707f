"""Benchmark: the guest-value job on N guests in the database (default 1,000,000), on SQLite and PostgreSQL.

Usage: .venv/bin/python bench/predict_db.py [--guests N] [--database-url URL ...] [--seed S] [--reuse]

For each database: a fresh schema (migrations), then guests drawn from known BG/NBD and Gamma-Gamma parameters
over two years (one order per visit day, written straight into ``guests``, ``orders`` and ``guest_orders`` with
COPY / executemany; not timed). Then, in a fresh process so its peak memory is the job's own, the real
``portal.scoring.service.fit_and_score`` runs twice and commits: a first fit (empty ``guest_scores``) and a
refit that replaces every score (the nightly steady state). Timed per step: the SQL read of per-guest summaries,
fit and scoring (numpy/scipy), the bulk write-back; peak memory is the fit process's maximum resident set size.
Targets (issue 9): < 60 s and < 2 GiB for 1M guests.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.fernet import Fernet  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import create_engine, select, text  # noqa: E402

from portal import create_app  # noqa: E402
from portal.crypto import encrypt  # noqa: E402
from portal.extensions import current_settings, db  # noqa: E402
from portal.models import Guest, GuestOrder, Location, Order, Organization, ToastConnection  # noqa: E402
from portal.predict.bgnbd import BGNBDParams  # noqa: E402
from portal.predict.gamma_gamma import GammaGammaParams  # noqa: E402
from portal.predict.simulate import simulate_visits  # noqa: E402

TRUE_VISITS = BGNBDParams(r=0.8, alpha=6.0, a=0.6, b=3.5)
TRUE_SPEND = GammaGammaParams(p=6.0, q=3.5, v=20.0)  # dollars
HISTORY_DAYS = 730
TARGET_SECONDS = 60.0
TARGET_MIB = 2048.0
CHUNK = 200_000


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def build_app(url: str):
    return create_app({"TESTING": True, "SECRET_KEY": "bench", "PORTAL_ENCRYPTION_KEY": Fernet.generate_key().decode(),
                       "SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_STORAGE_URI": "memory://"})


def fresh_database(url: str) -> None:
    if url.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
        return
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()


def generate(n: int, seed: int, as_of_day: int):
    """Orders of n guests: (owner index, day number, cents) arrays, at most one order per guest per day."""
    rng = np.random.default_rng(seed)
    age = rng.integers(0, HISTORY_DAYS + 1, size=n)
    frequency, recency = simulate_visits(TRUE_VISITS, age / 7.0, rng)
    span = np.round(recency * 7.0).astype(np.int64)
    repeat = np.minimum(frequency.astype(np.int64), span)
    counts = repeat + 1
    owner = np.repeat(np.arange(n), counts)
    position = np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)
    last = position == repeat[owner]
    middle = rng.integers(1, np.maximum(span[owner], 2))
    offset = np.where(position == 0, 0, np.where(last, span[owner], middle))
    day = as_of_day - age[owner] + offset
    spend_rate = rng.gamma(TRUE_SPEND.q, 1.0 / TRUE_SPEND.v, size=n)
    cents = np.maximum(rng.gamma(TRUE_SPEND.p, 1.0 / spend_rate[owner]) * 100, 1).astype(np.int64)
    return owner, day, cents


def stamps(days: np.ndarray, postgres: bool) -> list[str]:
    moments = days.astype("datetime64[D]").astype("datetime64[s]") + np.timedelta64(18 * 3600, "s")
    texts = np.datetime_as_string(moments, unit="s").tolist()
    return [t + "+00" for t in texts] if postgres else [t.replace("T", " ") + ".000000" for t in texts]


def loader(postgres: bool):
    def load(table: str, columns: list[str], rows) -> None:
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            if postgres:
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                cursor.execute("BEGIN")
                marks = ", ".join("?" * len(columns))
                cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
                cursor.execute("COMMIT")
            raw.commit()
        finally:
            raw.close()
    return load


def load(url: str, n: int, seed: int) -> int:
    """Write the organization and its guests and orders; returns the organization id."""
    postgres = url.startswith("postgresql")
    as_of = datetime.now(timezone.utc).date()
    owner, day, cents = generate(n, seed, (as_of - datetime(1970, 1, 1).date()).days)
    log(f"generated {n:,} guests, {len(owner):,} orders")
    org = Organization(name="Bench Group", slug="bench")
    db.session.add(org)
    db.session.flush()
    connection = ToastConnection(org_id=org.id, host="http://toast.invalid", client_id="bench",
                                 client_secret_enc=encrypt("x"), webhook_token="bench-" + "x" * 30)
    db.session.add(connection)
    db.session.flush()
    location = Location(org_id=org.id, connection_id=connection.id, guid="loc-0", name="Harbor")
    db.session.add(location)
    db.session.commit()
    org_id, location_id = org.id, location.id
    big = [Guest, Order, GuestOrder]
    dropped = [index for model in big for index in model.__table__.indexes if not index.unique]
    with db.engine.begin() as conn:
        for index in dropped:
            index.drop(conn)
    put = loader(postgres)
    true, false = (True, False) if postgres else (1, 0)
    order_count = np.bincount(owner, minlength=n)
    net = np.bincount(owner, weights=cents, minlength=n).astype(np.int64)
    first = np.full(n, np.iinfo(np.int64).max)
    latest = np.zeros(n, dtype=np.int64)
    np.minimum.at(first, owner, day)
    np.maximum.at(latest, owner, day)
    now = stamps(np.array([(as_of - datetime(1970, 1, 1).date()).days]), postgres)[0]
    for start in range(0, n, CHUNK):
        part = range(start, min(start + CHUNK, n))
        firsts, lasts = stamps(first[part.start:part.stop], postgres), stamps(latest[part.start:part.stop], postgres)
        put("guests", ["id", "org_id", "key", "email", "search_name", "sort_name", "has_email", "has_phone",
                       "marketing_opt_out", "order_count", "check_count", "net_spend_cents", "avg_check_cents",
                       "total_tips_cents", "first_order_at", "last_order_at", "delivery_orders", "takeout_orders",
                       "curbside_orders", "dine_in_orders", "delivery_spend_cents", "location_count", "created_at"],
            ((g + 1, org_id, f"e:g{g}@example.com", f"g{g}@example.com", f"guest {g}", f"{g} guest", true, false,
              false, int(order_count[g]), int(order_count[g]), int(net[g]), int(net[g] // order_count[g]), 0,
              firsts[i], lasts[i], 0, int(order_count[g]), 0, 0, 0, 1, now) for i, g in enumerate(part)))
    log("guests written")
    for start in range(0, len(owner), CHUNK):
        stop = min(start + CHUNK, len(owner))
        ids = range(start + 1, stop + 1)
        opened = stamps(day[start:stop], postgres)
        guests = (owner[start:stop] + 1).tolist()
        spend = cents[start:stop].tolist()
        put("orders", ["id", "org_id", "location_id", "guid", "opened_at", "voided", "deleted"],
            zip(ids, [org_id] * len(ids), [location_id] * len(ids), [f"o{i}" for i in ids], opened,
                [false] * len(ids), [false] * len(ids)))
        put("guest_orders", ["guest_id", "order_id", "org_id", "location_id", "opened_at", "channel", "counted",
                             "check_count", "net_spend_cents", "tip_cents"],
            zip(guests, ids, [org_id] * len(ids), [location_id] * len(ids), opened, ["takeout"] * len(ids),
                [true] * len(ids), [1] * len(ids), spend, [0] * len(ids)))
    log("orders and guest_orders written")
    with db.engine.begin() as conn:
        for index in dropped:
            index.create(conn)
        conn.exec_driver_sql("ANALYZE")
    if postgres:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    log("indexes rebuilt")
    return org_id


def fit(url: str, org_id: int) -> dict:
    """In this (fresh) process: fit_and_score twice with commits; wall times, steps and peak memory."""
    from portal.scoring import service

    runs = []
    for label in ("first fit", "refit (replaces every score)"):
        timings = {}
        started = time.perf_counter()
        record = service.fit_and_score(db.session, org_id, options=service.Settings.of(current_settings()),
                                       timings=timings)
        db.session.commit()
        total = time.perf_counter() - started
        runs.append({"label": label, "total": total, "steps": {**timings, "commit": total - record.seconds},
                     "backed": record.backed, "guests": record.guests, "repeat": record.repeat_guests,
                     "params": record.params})
        db.session.remove()
    count = db.session.execute(text("SELECT count(*) FROM guest_scores")).scalar()
    return {"runs": runs, "scores": count, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}


def report(url: str, n: int, result: dict) -> None:
    name = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    for run in result["runs"]:
        steps = ", ".join(f"{step} {seconds:.1f} s" for step, seconds in run["steps"].items())
        ok = run["total"] < TARGET_SECONDS
        print(f"{name} {run['label']}: {run['total']:.1f} s for {n:,} guests ({steps}) "
              f"(target < {TARGET_SECONDS:.0f} s) {'OK' if ok else 'OVER'}")
    ok = result["peak_mib"] < TARGET_MIB
    print(f"{name} peak memory of the fit process: {result['peak_mib']:,.0f} MiB (target < {TARGET_MIB:.0f} MiB) "
          f"{'OK' if ok else 'OVER'}; {result['scores']:,} scores stored")
    run = result["runs"][0]
    shown = ", ".join(f"{k}={v:.3f}" for k, v in run["params"].items()) if run["params"] else "not backed"
    print(f"{name} fit: {run['guests']:,} guests, {run['repeat']:,} repeat, {shown} "
          f"(true r=0.8 alpha=6 a=0.6 b=3.5; p=6 q=3.5 v=2000 cents)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guests", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20240501)
    parser.add_argument("--database-url", action="append", dest="urls",
                        help="repeatable; default: a SQLite file under /tmp and $BENCH_POSTGRES_URL if set")
    parser.add_argument("--reuse", action="store_true", help="keep what an earlier run wrote (same --guests)")
    parser.add_argument("--fit-only", type=int, metavar="ORG_ID", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args(argv)
    if args.fit_only:
        app = build_app(args.urls[0])
        with app.app_context():
            print(json.dumps(fit(args.urls[0], args.fit_only)))
        return 0
    urls = args.urls or [f"sqlite:////tmp/tablecloth-predict-bench.sqlite3"] + (
        [os.environ["BENCH_POSTGRES_URL"]] if os.environ.get("BENCH_POSTGRES_URL") else [])
    for url in urls:
        log(f"== {url.split('@')[-1]}")
        if not args.reuse:
            fresh_database(url)
        app = build_app(url)
        with app.app_context():
            upgrade()
            org_id = db.session.scalar(select(Organization.id).where(Organization.slug == "bench"))
            if org_id is None:
                org_id = load(url, args.guests, args.seed)
            db.session.remove()
            db.engine.dispose()
        child = subprocess.run([sys.executable, __file__, "--fit-only", str(org_id), "--database-url", url],
                               check=True, capture_output=True, text=True)
        report(url, args.guests, json.loads(child.stdout.strip().splitlines()[-1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
