"""Benchmark: the guest list's search at scale (target p95 < 150 ms at 1,000,000 guests on PostgreSQL).

Usage:
  .venv/bin/python bench/guest_search.py [--guests 1000000] [--sqlite-guests 200000] [--database-url URL]
      [--samples 40] [--reuse]

Guests are written directly in SQL (generate_series on PostgreSQL, a recursive CTE on SQLite) into a database
built by the migrations, then ``portal.guests.queries.list_page`` (the list's first page, as the page asks for
it) is timed for each kind of search: the last 4 digits of a phone, part of a last name, part of an email, a
whole name and two letters, with the table and its indexes read into the page cache first. The reference, measured in the same run on the same rows: the same "ends with"
phone search written as a plain ``LIKE '%0101'`` (what an unindexed search costs), and a fixed Python loop
(the machine's speed at the time). Without --database-url only SQLite runs; --reuse keeps the PostgreSQL guests
an earlier run wrote (writing a million takes minutes here).
"""
from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.fernet import Fernet  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402

from bench._common import percentile, reference_loop_ms, report  # noqa: E402
from portal import create_app  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.guests.queries import ListQuery, list_page  # noqa: E402
from portal.models import Guest, Organization  # noqa: E402

TARGET_MS = 150.0
FIRST = ["ann", "bob", "cat", "dan", "eve", "finn", "gia", "hal", "ivy", "jon", "kai", "lea", "max", "nia", "oto",
         "pia", "quin", "rosa", "sam", "tess", "uma", "vic", "wes", "xena", "yara", "zed", "maria", "jose", "li",
         "noor"]
LAST = ["archer", "baker", "cole", "dunn", "ess", "fisher", "garcia", "hughes", "ito", "johnson", "kowalski",
        "lopez", "murphy", "nguyen", "okafor", "patel", "quinn", "rossi", "smith", "tanaka", "underwood", "vargas",
        "williams", "xu", "young", "zimmerman", "oconnor", "schmidt", "dubois", "andersen", "brennan", "castillo",
        "delgado", "eriksen", "fontaine", "gallagher", "haddad", "ibrahim", "jensen", "kim"]
# Names are drawn from the lists by a multiplicative hash of n, independent of the guest's recency (n % 400 days):
# real names and visits are unrelated, and a correlation would make every broad search look at the oldest guests.
HASH, PRIMES = 2654435761, (1_000_003, 999_983)  # n * HASH modulo a prime: spread over names whatever n % 400 is
# One guest per n: name from the lists, "<first>.<last><n>@<one of 40 domains>", a phone for 4 in 5 guests.
COLUMNS = ("org_id, key, first_name, last_name, email, phone, phone_reversed, search_name, sort_name, has_email, "
           "has_phone, order_count, net_spend_cents, avg_check_cents, last_order_at, created_at, marketing_opt_out, "
           "check_count, total_tips_cents, delivery_orders, takeout_orders, curbside_orders, dine_in_orders, "
           "delivery_spend_cents, location_count")
ZEROS = "false, 0, 0, 0, 0, 0, 0, 0, 0"


def first_of(n: int) -> str:
    return FIRST[n * HASH % PRIMES[0] % len(FIRST)]


def last_of(n: int) -> str:
    return LAST[n * HASH % PRIMES[1] % len(LAST)]


def phone_of(n: int) -> str | None:
    return None if n % 5 == 0 else f"+1{617 + n % 300}{(n * 7919) % 10_000_000:07d}"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def app_for(url: str):
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": True,
                      "PORTAL_ENCRYPTION_KEY": Fernet.generate_key().decode(), "HTMX_SOURCE": "local"})
    with app.app_context():
        upgrade()
    return app


def fill_postgres(url: str, guests: int) -> None:
    engine = create_engine(url)
    names = ", ".join(f"'{n}'" for n in FIRST), ", ".join(f"'{n}'" for n in LAST)
    phone = "'+1' || (617 + n % 300)::text || lpad(((n::bigint * 7919) % 10000000)::text, 7, '0')"
    with engine.begin() as conn:
        conn.execute(text(f"""
            INSERT INTO guests ({COLUMNS})
            SELECT 1, 'e:' || n, f, l, f || '.' || l || n || '@mail' || (n % 40) || '.example',
                   CASE WHEN n % 5 = 0 THEN NULL ELSE {phone} END,
                   CASE WHEN n % 5 = 0 THEN NULL ELSE reverse(substr({phone}, 2)) END,
                   f || ' ' || l, l || ' ' || f, true, n % 5 <> 0, 1 + n % 9, 1000 + n % 50000, 1000 + n % 5000,
                   now() - (n % 400) * interval '1 day', now(), {ZEROS}
            FROM (SELECT n, (ARRAY[{names[0]}])[1 + (n::bigint * {HASH}) % {PRIMES[0]} % {len(FIRST)}] AS f,
                         (ARRAY[{names[1]}])[1 + (n::bigint * {HASH}) % {PRIMES[1]} % {len(LAST)}] AS l
                  FROM generate_series(1, {guests}) AS n) AS s"""))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE guests"))
    engine.dispose()


def fill_sqlite(path: str, guests: int) -> None:
    conn = sqlite3.connect(path)
    conn.create_function("phone_of", 1, phone_of, deterministic=True)
    conn.create_function("reversed_digits", 1, lambda p: p[1:][::-1] if p else None, deterministic=True)
    conn.create_function("first_of", 1, first_of, deterministic=True)
    conn.create_function("last_of", 1, last_of, deterministic=True)
    conn.execute(f"""
        INSERT INTO guests ({COLUMNS})
        WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {guests})
        SELECT 1, 'e:' || n, first_of(n), last_of(n), first_of(n) || '.' || last_of(n) || n || '@mail' || (n % 40)
               || '.example', phone_of(n), reversed_digits(phone_of(n)), first_of(n) || ' ' || last_of(n),
               last_of(n) || ' ' || first_of(n), 1, phone_of(n) IS NOT NULL, 1 + n % 9, 1000 + n % 50000,
               1000 + n % 5000, datetime('now', '-' || (n % 400) || ' days'), datetime('now'), {ZEROS}
        FROM s""")
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()


def searches(guests: int, samples: int, rng: random.Random) -> dict[str, list[str]]:
    picks = [rng.randrange(1, guests + 1) for _ in range(samples * 3)]
    phones = [phone_of(n) for n in picks if phone_of(n)][:samples]
    return {
        "last 4 digits of a phone": [p[-4:] for p in phones],
        "part of a last name": [(lambda w: w[1:5])(LAST[rng.randrange(len(LAST))]) for _ in range(samples)],
        "part of an email": [f"{last_of(n)}{n}@" for n in picks[:samples]],
        "whole name": [f"{first_of(n)} {last_of(n)}" for n in picks[:samples]],
        "two letters": [rng.choice(FIRST)[:2] for _ in range(samples)],
    }


def time_ms(run) -> float:
    started = time.perf_counter()
    run()
    return (time.perf_counter() - started) * 1000


def read_into_cache(app) -> None:
    """Read the guests table and its indexes into the OS page cache first: the figures are those of a server whose
    RAM holds its data, as production is sized (and as bench/guests_scale.py measures)."""
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("CREATE EXTENSION IF NOT EXISTS pg_prewarm"))
            db.session.execute(text(
                "SELECT pg_prewarm(c.oid, 'read') FROM pg_class c WHERE c.oid = 'guests'::regclass "
                "OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = 'guests'::regclass)"))
            db.session.commit()
        else:
            with open(db.engine.url.database, "rb") as file:
                while file.read(1 << 24):
                    pass


def measure(label: str, app, guests: int, samples: int) -> bool:
    rng = random.Random(7)
    ok = True
    read_into_cache(app)
    with app.app_context():
        org_id = db.session.scalar(select(Organization.id))
        assert db.session.scalar(select(func.count()).select_from(Guest)) == guests
        for kind, queries in searches(guests, samples, rng).items():
            list_page(org_id, ListQuery(q=queries[0]))  # warm the cache for this kind
            timings, found = [], 0
            for q in queries:
                timings.append(time_ms(lambda: list_page(org_id, ListQuery(q=q))))
                found += bool(list_page(org_id, ListQuery(q=q)).guests)
                db.session.rollback()
            p95 = percentile(timings, 0.95)
            ok &= p95 < TARGET_MS
            report(f"{label} {guests:,} guests, search by {kind} ({found}/{len(queries)} found a guest)",
                   f"p95 {p95:.1f} ms, median {percentile(timings, 0.5):.1f} ms", f"p95 < {TARGET_MS:.0f} ms",
                   p95 < TARGET_MS)
        tails = [q for q in searches(guests, 10, rng)["last 4 digits of a phone"]]
        naive = [time_ms(lambda: db.session.execute(
            select(Guest.id).where(Guest.org_id == org_id, Guest.phone.like("%" + q)).limit(51)).all())
            for q in tails]
        print(f"{label} reference: the same 'ends with' as a plain LIKE scan: p95 "
              f"{percentile(naive, 0.95):.1f} ms (no target; what the index saves); reference loop now "
              f"{reference_loop_ms():.0f} ms")
    return ok


def run_sqlite(guests: int, samples: int) -> bool:
    with tempfile.TemporaryDirectory() as scratch:
        path = f"{scratch}/search.sqlite3"
        app = app_for(f"sqlite:///{path}")
        with app.app_context():
            db.session.add(Organization(name="Bench", slug="bench"))
            db.session.commit()
        log(f"writing {guests:,} guests to SQLite...")
        fill_sqlite(path, guests)
        return measure("SQLite", app, guests, samples)


def run_postgres(url: str, guests: int, samples: int, reuse: bool) -> bool:
    if reuse:
        return measure("PostgreSQL", app_for(url), guests, samples)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    app = app_for(url)
    with app.app_context():
        db.session.add(Organization(name="Bench", slug="bench"))
        db.session.commit()
    log(f"writing {guests:,} guests to PostgreSQL...")
    started = time.perf_counter()
    fill_postgres(url, guests)
    log(f"written in {time.perf_counter() - started:.0f} s")
    return measure("PostgreSQL", app, guests, samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guests", type=int, default=1_000_000, help="PostgreSQL guests")
    parser.add_argument("--sqlite-guests", type=int, default=200_000, help="0 runs PostgreSQL only")
    parser.add_argument("--database-url", help="an empty PostgreSQL database (its public schema is replaced)")
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--reuse", action="store_true", help="keep the PostgreSQL guests of an earlier run")
    args = parser.parse_args()
    print(f"reference loop: {reference_loop_ms():.0f} ms (this machine's speed now)")
    ok = True
    if args.sqlite_guests:
        ok &= run_sqlite(args.sqlite_guests, args.samples)
    if args.database_url:
        ok &= run_postgres(args.database_url, args.guests, args.samples, args.reuse)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
