"""Benchmark: segment count + first page at scale (issue 7; the issue's size is 1,000,000 guests / 10,000,000 orders).

Usage:
  .venv/bin/python bench/segments_scale.py [--guests N] [--orders N] [--database-url URL] [--reuse]
      [--runs 20] [--naive-runs 2]

1. Data: the guests benchmark's synthetic writer (bench/guests_synth.py through bench/guests_scale.py), unless
   --reuse keeps what an earlier run (of this script or of guests_scale.py) wrote; the presets are added.
2. For each preset and a 6-condition AND/OR rule: count + first page exactly as the builder's preview computes
   them (``portal.segments.service.members_page``: percentile thresholds, count, page), ``--runs`` times: p50/p95.
3. The same answer the naive way, in the same run: every figure the rule needs aggregated per guest from the raw
   per-check rows (``guest_checks``) at query time, count + first page (``--naive-runs`` times); the counts must
   agree. Figures are printed next to the targets: p95 < 200 ms, and >= 50x faster than the naive way.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import and_, case, event, false, func, or_, select, true  # noqa: E402
from sqlalchemy.exc import OperationalError  # noqa: E402

import guests_scale  # noqa: E402
import guests_synth as synth  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models import Guest, GuestCheck, Location, Organization  # noqa: E402
from portal.segments import service  # noqa: E402
from portal.segments.compile import compare, days_since_clause, window_start  # noqa: E402
from portal.segments.presets import PRESETS  # noqa: E402
from portal.segments.rules import percentile_rank_size, to_cents, validate  # noqa: E402

TARGET_P95_MS = 200.0
TARGET_SPEEDUP = 50.0
log = guests_scale.log


def six_condition_rule(location_ids: list[int]) -> dict:
    """Recently lapsed or delivery regulars, spending or frequent, reachable by email, at two of the locations."""
    return validate({"op": "and", "rules": [
        {"op": "or", "rules": [
            {"field": "days_since_last_order", "operator": "between", "value": [30, 180]},
            {"field": "delivery_orders", "operator": "gte", "value": 2},
        ]},
        {"op": "or", "rules": [
            {"field": "net_spend", "operator": "gte", "value": 150},
            {"field": "order_count", "operator": "gte", "value": 5},
        ]},
        {"field": "has_email", "operator": "is", "value": True},
        {"field": "location", "operator": "any_of", "value": [str(i) for i in location_ids[1:3]]},
    ]})


def ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def stats(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {"p50": statistics.median(ordered), "p95": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
            "max": ordered[-1]}


def time_ours(org_id: int, rules: dict, runs: int) -> tuple[dict, int, float]:
    started = time.perf_counter()
    page = service.members_page(org_id, rules)  # the first (cold) run is reported apart
    cold = ms(started)
    samples = []
    for _ in range(runs):
        db.session.rollback()
        started = time.perf_counter()
        page = service.members_page(org_id, rules)
        samples.append(ms(started))
    return stats(samples), page.total, cold


@contextmanager
def big_sqlite_cache(database: str):
    """A 2 GiB page cache for the bulk load only. With SQLite's default 2 MiB, inserting 10M rows in random key
    order spills dirty index pages to the WAL again and again (tens of GB of WAL). Timings run with the default."""
    if database != "sqlite":
        yield
        return

    def on_connect(dbapi_connection, _record):
        dbapi_connection.execute("PRAGMA cache_size=-2000000")

    db.engine.dispose()
    event.listen(db.engine, "connect", on_connect)
    try:
        yield
    finally:
        event.remove(db.engine, "connect", on_connect)
        db.session.remove()
        db.engine.dispose()
        with db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def fill_recent_orders() -> None:
    """guests.last_order_2_at..5_at, which the synthetic writer leaves empty: one windowed pass over guest_orders
    (the app keeps them in portal.guests.figures.summarize)."""
    started = time.perf_counter()
    ranked = ("SELECT guest_id, opened_at, row_number() OVER (PARTITION BY guest_id ORDER BY opened_at DESC) AS n "
              "FROM guest_orders WHERE counted AND opened_at IS NOT NULL")
    picks = ", ".join(f"max(CASE WHEN n = {n} THEN opened_at END) AS t{n}" for n in range(2, 6))
    sets = ", ".join(f"last_order_{n}_at = r.t{n}" for n in range(2, 6))
    with db.engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE guests SET {sets} FROM (SELECT guest_id, {picks} FROM ({ranked}) AS k "
                             f"WHERE n BETWEEN 2 AND 5 GROUP BY guest_id) AS r WHERE r.guest_id = guests.id")
    if db.engine.dialect.name == "postgresql":
        # Updating every row once left a dead copy of each row and index entry (twice the size): compact them, as
        # a fresh load would be.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM FULL guests")
    log(f"n-th most recent orders filled in {time.perf_counter() - started:,.0f} s")


def settle(database: str) -> None:
    """Statistics and, on PostgreSQL, the visibility map (index-only scans), as autovacuum keeps them."""
    if database == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")


# the naive way: figures aggregated from raw per-check rows at query time ------------------------------------


class Naive:
    """Count + first page of a rule tree with every figure aggregated per guest from ``guest_checks``."""

    def __init__(self, org_id: int, now: datetime):
        self.org_id, self.now = org_id, now
        self.columns: dict = {}

    def _agg(self, name: str, expression):
        self.columns.setdefault(name, expression.label(name))
        return name

    def figure(self, field: str, window: int | None = None) -> str:
        c = GuestCheck
        counted = c.counted == true()
        if window:
            counted = and_(counted, c.opened_at >= window_start(self.now, window))
        suffix = f"_{window}" if window else ""
        if field == "order_count":
            return self._agg(f"orders{suffix}", func.count(func.distinct(case((counted, c.order_id)))))
        if field == "net_spend":
            return self._agg(f"net{suffix}", func.coalesce(func.sum(case((counted, c.net_cents), else_=0)), 0))
        if field in ("last_order_at", "first_order_at"):
            pick = func.max if field == "last_order_at" else func.min
            return self._agg(field, pick(case((counted, c.opened_at))))
        channel, _, what = field.rpartition("_")
        in_channel = and_(counted, c.channel == channel)
        if what == "orders":
            return self._agg(field, func.count(func.distinct(case((in_channel, c.order_id)))))
        return self._agg(field, func.coalesce(func.sum(case((in_channel, c.net_cents), else_=0)), 0))

    def plan(self, node: dict):
        """Walk the tree once: register the aggregates it needs; returns a function(agg) -> WHERE clause."""
        if "op" in node:
            parts = [self.plan(child) for child in node["rules"]]
            combine = and_ if node["op"] == "and" else or_
            return lambda agg: combine(*(part(agg) for part in parts)) if parts else true()
        field, operator, value = node["field"], node["operator"], node["value"]
        if field in ("has_email", "has_phone", "marketing_opt_out"):
            return lambda agg: getattr(Guest, field) == value
        if field in ("days_since_last_order", "days_since_first_order"):
            name = self.figure("last_order_at" if "last" in field else "first_order_at")
            return lambda agg: days_since_clause(agg.c[name], operator, value, self.now)
        if field == "location":
            ids = [int(v) for v in value]
            name = self._agg(f"at_{'_'.join(value)}", func.max(case(
                (and_(GuestCheck.counted == true(), GuestCheck.location_id.in_(ids)), 1), else_=0)))
            return lambda agg: agg.c[name] == 1
        column = "delivery_spend" if field == "delivery_spend" else field
        name = self.figure(column, node.get("window_days"))
        if operator in ("top_percent", "bottom_percent"):
            among = None if node["among"] == "all" else self.figure(f"{node['among']}_orders")
            return lambda agg: self._percentile(agg, name, among, node)
        if field in ("net_spend", "delivery_spend"):
            value = [to_cents(v) for v in value] if operator == "between" else to_cents(value)
        return lambda agg: compare(agg.c[name], operator, value)

    def _percentile(self, agg, name: str, among: str | None, node: dict):
        population = true() if among is None else agg.c[among] >= 1
        size = db.session.scalar(select(func.count()).select_from(agg).where(population))
        if not size:
            return false()
        k = percentile_rank_size(node["value"], size)
        top = node["operator"] == "top_percent"
        figure = agg.c[name]
        threshold = db.session.scalar(select(figure).where(population)
                                      .order_by(figure.desc() if top else figure.asc()).offset(k - 1).limit(1))
        return and_(population, figure >= threshold if top else figure <= threshold)

    def preview(self, rules: dict) -> tuple[int, list]:
        predicate = self.plan(rules)
        self.figure("last_order_at")
        agg = (select(GuestCheck.guest_id, *self.columns.values()).where(GuestCheck.org_id == self.org_id)
               .group_by(GuestCheck.guest_id).subquery("per_guest"))
        where = predicate(agg)
        joined = agg.join(Guest, Guest.id == agg.c.guest_id)
        total = db.session.scalar(select(func.count()).select_from(joined).where(where))
        rows = db.session.execute(select(Guest.id, Guest.email, agg.c.last_order_at).select_from(joined).where(where)
                                  .order_by(agg.c.last_order_at.desc(), Guest.id.desc()).limit(service.PER_PAGE)).all()
        return total, rows


def time_naive(org_id: int, rules: dict, runs: int) -> tuple[dict, int]:
    samples, total = [], None
    for _ in range(runs):
        db.session.rollback()
        started = time.perf_counter()
        total, _ = Naive(org_id, datetime.now(timezone.utc)).preview(rules)
        samples.append(ms(started))
    return stats(samples), total


# --------------------------------------------------------------------------------------------------------------


def sizes(database: str) -> dict:
    """On-disk size (MiB) of the guest tables and indexes segments read."""
    if database == "postgresql":
        query = ("SELECT relname, pg_relation_size(oid) FROM pg_class WHERE relname LIKE '%guest%' "
                 "AND relkind IN ('r', 'i') ORDER BY 2 DESC")
    else:
        query = "SELECT name, sum(pgsize) FROM dbstat WHERE name LIKE '%guest%' GROUP BY name ORDER BY 2 DESC"
    try:
        rows = db.session.execute(db.text(query)).all()
    except OperationalError:  # SQLite built without the dbstat table
        db.session.rollback()
        return {}
    return {name: round(size / 2**20, 1) for name, size in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guests", type=int, default=20_000)
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--database-url", action="append", dest="urls",
                        help="repeatable; default: SQLite under /tmp, plus $BENCH_POSTGRES_URL when set")
    parser.add_argument("--reuse", action="store_true", help="keep the data an earlier run wrote")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--naive-runs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    urls = args.urls or ["sqlite:////tmp/segments_bench.sqlite3",
                         *filter(None, [os.environ.get("BENCH_POSTGRES_URL")])]
    runs = [run(url, args) for url in urls]
    for figures in runs:
        report(figures, args)
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=2))


def run(url: str, args) -> dict:
    """Build (unless --reuse) and time one database; returns its figures."""
    database = "postgresql" if url.startswith("postgresql") else "sqlite"
    log(f"{database}: {args.guests:,} guests, {args.orders:,} orders")
    if not args.reuse:
        guests_scale.fresh_database(url)
    app = guests_scale.build_app(url)
    with app.app_context():
        upgrade()  # with --reuse too: data written under older migrations gets the newer columns
        if not args.reuse:
            setup = guests_scale.setup_org(datetime.now(timezone.utc).replace(microsecond=0))
            started = time.perf_counter()
            with big_sqlite_cache(database):
                synth.write(setup, args.guests, args.orders, args.seed, set(), log)
                fill_recent_orders()
            log(f"synthetic write in {time.perf_counter() - started:,.0f} s")
        settle(database)
        org = db.session.scalar(select(Organization).where(Organization.slug == "bench"))
        service.create_presets(org.id)
        db.session.commit()
        guests = db.session.scalar(select(func.count()).select_from(Guest).where(Guest.org_id == org.id))
        location_ids = db.session.scalars(select(Location.id).where(Location.org_id == org.id)
                                          .order_by(Location.id)).all()
        rules = [(slug, validate(tree)) for slug, _, tree in PRESETS]
        rules.append(("6-condition AND/OR", six_condition_rule(location_ids)))
        results = [measure(org.id, label, tree, args) for label, tree in rules]
        return {"database": database, "guests": guests, "orders": args.orders, "results": results,
                "sizes_mib": sizes(database)}


def measure(org_id: int, label: str, tree: dict, args) -> dict:
    ours, count, cold = time_ours(org_id, tree, args.runs)
    naive, naive_count = time_naive(org_id, tree, args.naive_runs) if args.naive_runs else ({}, None)
    log(f"{label:22s} {count:>9,} members  p50 {ours['p50']:7.1f} ms  p95 {ours['p95']:7.1f} ms  "
        f"(cold {cold:7.1f} ms)  naive {naive.get('p50', float('nan')):9.0f} ms")
    return {"rule": label, "members": count, "cold_ms": cold, **{f"{k}_ms": v for k, v in ours.items()},
            "naive_p50_ms": naive.get("p50"), "naive_members": naive_count}


def report(figures: dict, args) -> None:
    print(f"\n== segments at scale on {figures['database']}: {figures['guests']:,} guests, {figures['orders']:,} "
          f"orders ({args.runs} runs; naive {args.naive_runs}) ==")
    print(f"{'rule':22s} {'members':>10s} {'p50 ms':>8s} {'p95 ms':>8s} {'naive ms':>10s} {'speedup':>8s}  verdict")
    for row in figures["results"]:
        speedup = row["naive_p50_ms"] / row["p50_ms"] if row["naive_p50_ms"] else None
        verdict = [f"p95 < {TARGET_P95_MS:.0f} ms " + ("ok" if row["p95_ms"] < TARGET_P95_MS else "MISSED")]
        if speedup is not None:
            verdict.append(f">= {TARGET_SPEEDUP:.0f}x " + ("ok" if speedup >= TARGET_SPEEDUP else "MISSED"))
        if row["naive_members"] not in (None, row["members"]):
            verdict.append(f"NAIVE COUNT DIFFERS ({row['naive_members']:,})")
        naive = f"{row['naive_p50_ms']:10.0f}" if row["naive_p50_ms"] else f"{'-':>10s}"
        shown = f"{speedup:7.0f}x" if speedup else f"{'-':>8s}"
        print(f"{row['rule']:22s} {row['members']:>10,} {row['p50_ms']:8.1f} {row['p95_ms']:8.1f} {naive} {shown}  "
              + "; ".join(verdict))
    segment_indexes = {name: size for name, size in figures["sizes_mib"].items()
                       if name == "ix_guests_segment_figures" or re.fullmatch(r"ix_guests_org_last_order_\d_at", name)}
    if segment_indexes:
        print("indexes segments added (MiB): " + ", ".join(f"{n} {s}" for n, s in segment_indexes.items())
              + f"; guests table {figures['sizes_mib'].get('guests')}")


if __name__ == "__main__":
    main()
