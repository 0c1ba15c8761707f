"""Fast synthetic writer for the guest benchmark: orders and guest tables, written directly (no Toast payloads).

Every guest has an email ("guest<n>@example.com", the guest's key), half have a phone; orders follow a heavy
tail (each guest has at least one; the busiest have about a thousand). Figures in ``guests`` are aggregated
from the written rows with numpy exactly as ``portal.guests.figures`` defines them, so the real incremental path
can continue from this state. Full order trees (checks, selections, payments) are written only for the
guests whose detail page is timed (``tree_guests``): the timeline reads them through the same indexes.

Bulk load: COPY on PostgreSQL, executemany on SQLite, secondary indexes dropped during the load and rebuilt.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Index, select

from portal.extensions import db
from portal.models import (CheckPayment, CheckSelection, Guest, GuestCheck, GuestFact, GuestItem, GuestLocation,
                           GuestOrder, Location, Order, OrderCheck)

CHANNELS = ("delivery", "takeout", "curbside", "dine_in")
CHANNEL_P = (0.15, 0.35, 0.05, 0.45)
FIRST = ("Ann", "Bob", "Cara", "Dan", "Eve", "Finn", "Gus", "Hana", "Ivo", "Jo", "Kim", "Liz", "Max", "Ned", "Ola")
LAST = ("Smith", "Jones", "Brown", "Lee", "Garcia", "Miller", "Davis", "Wilson", "Moore", "Clark", "Hall", "Young")
ITEMS = tuple(f"Dish {n:02d}" for n in range(40))
ITEM_JSON = tuple(json.dumps([[name, None, 1.0]]) for name in ITEMS)
HISTORY_S = 730 * 86400
BIG = (Order, GuestCheck, GuestOrder, Guest, GuestLocation, GuestItem, GuestFact)


@dataclass
class Setup:
    org_id: int
    location_ids: list[int]
    dining: dict[tuple[int, str], str]  # (location id, channel) -> dining option guid
    servers: dict[int, list[tuple[str, str]]]  # location id -> [(guid, name)]
    now_s: int


def email(n: int) -> str:
    return f"guest{n}@example.com"


def phone(n: int) -> str | None:
    return f"+1617{n:07d}" if n % 2 == 0 else None


def _ts(seconds: np.ndarray, postgres: bool) -> list[str]:
    text_ = np.datetime_as_string(seconds.astype("datetime64[s]").astype("datetime64[us]"), unit="us")
    if postgres:
        return [t + "+00" for t in text_.tolist()]
    return [t.replace("T", " ") for t in text_.tolist()]


def _indexes(models) -> list[Index]:
    return [index for model in models for index in model.__table__.indexes if not index.unique]


def write(setup: Setup, guests: int, orders: int, seed: int, tree_guests: set[int], log) -> dict:
    """Write ``guests`` guests and ``orders`` orders; returns row counts and seconds per phase."""
    engine = db.engine
    postgres = engine.dialect.name == "postgresql"
    timings = {}
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    owner = np.concatenate([np.arange(guests), (guests * rng.random(orders - guests) ** 1.5).astype(np.int64)])
    rng.shuffle(owner)
    opened = setup.now_s - rng.integers(0, HISTORY_S, size=orders)
    home = owner % len(setup.location_ids)
    loc_index = np.where(rng.random(orders) < 0.8, home, rng.integers(0, len(setup.location_ids), size=orders))
    channel = rng.choice(len(CHANNELS), size=orders, p=CHANNEL_P)
    amount = np.maximum((rng.lognormal(3.3, 0.6, size=orders) * 100).astype(np.int64), 100)
    tip = np.where(channel == 3, amount * 18 // 100, amount * 10 // 100)
    state = rng.random(orders)
    counted = state >= 0.03
    voided, deleted = state < 0.02, (state >= 0.02) & (state < 0.03)
    server_pick = rng.integers(0, 20, size=orders)
    timings["generate_s"] = time.perf_counter() - started

    dropped = _indexes(BIG)
    with engine.begin() as conn:
        for index in dropped:
            index.drop(conn)
    log(f"dropped {len(dropped)} secondary indexes for the load")
    arrays = (owner, opened, loc_index, channel, amount, tip, counted, voided, deleted, server_pick)
    started = time.perf_counter()
    _write_orders(setup, *arrays, postgres=postgres, log=log, part="orders")
    timings["orders_s"] = time.perf_counter() - started
    started = time.perf_counter()
    counts = _write_guests(setup, guests, owner, opened, loc_index, channel, amount, tip, counted, server_pick,
                           postgres)
    timings["guests_s"] = time.perf_counter() - started
    started = time.perf_counter()
    _write_orders(setup, *arrays, postgres=postgres, log=log, part="contributions")
    timings["contributions_s"] = time.perf_counter() - started
    started = time.perf_counter()
    with engine.begin() as conn:
        for index in dropped:
            index.create(conn)
        if postgres:  # ids were written explicitly: move the sequences past them
            for table in ("orders", "guest_checks", "guests"):
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT max(id) FROM {table}))")
        conn.exec_driver_sql("ANALYZE")
    timings["indexes_s"] = time.perf_counter() - started
    log("indexes rebuilt")
    started = time.perf_counter()
    trees = _write_trees(setup, tree_guests, owner) if tree_guests else 0
    timings["trees_s"] = time.perf_counter() - started
    if postgres:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    return {"orders": orders, "guests": guests, "tree_orders": trees, **counts, **timings}


def _columns(postgres: bool):
    def load(table: str, columns: list[str], rows) -> None:
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            if postgres:
                # Skip per-row foreign-key triggers during the bulk load (superuser only; the data is consistent).
                try:
                    cursor.execute("SET session_replication_role = replica")
                except Exception:  # noqa: BLE001 - not a superuser: load with the triggers
                    raw.rollback()
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                # Bulk-load settings for this connection only (the app's connections keep theirs).
                cursor.execute("PRAGMA synchronous=OFF")
                cursor.execute("PRAGMA cache_size=-1000000")
                marks = ", ".join("?" * len(columns))
                cursor.execute("BEGIN")  # the driver is in autocommit mode (portal.sqlite): one transaction, not one per row
                cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
                cursor.execute("COMMIT")
                cursor.execute("PRAGMA synchronous=NORMAL")  # back to portal.sqlite's settings for the app
                cursor.execute("PRAGMA cache_size=-2000")
            raw.commit()
            if postgres:
                cursor.execute("RESET session_replication_role")  # the pooled connection goes back to the app
                raw.commit()
        finally:
            raw.close()
    return load


def _write_orders(setup, owner, opened, loc_index, channel, amount, tip, counted, voided, deleted, server_pick, *,
                  postgres, log, part) -> None:
    """``part`` "orders": the orders table; "contributions": guest_checks and guest_orders (after the guests)."""
    load = _columns(postgres)
    locations = np.array(setup.location_ids)
    step = 500_000
    true, false = (True, False) if postgres else (1, 0)
    for start in range(0, len(owner), step):
        end = min(start + step, len(owner))
        ids = list(range(start + 1, end + 1))
        stamps = _ts(opened[start:end], postgres)
        locs = locations[loc_index[start:end]].tolist()
        chans = channel[start:end].tolist()
        dining = [setup.dining[(loc, CHANNELS[c])] for loc, c in zip(locs, chans)]
        servers = [setup.servers[loc][s] for loc, s in zip(locs, server_pick[start:end].tolist())]
        if part == "orders":
            void = [true if v else false for v in voided[start:end].tolist()]
            dele = [true if v else false for v in deleted[start:end].tolist()]
            load("orders", ["id", "org_id", "location_id", "guid", "opened_at", "modified_at", "dining_option_guid",
                            "server_guid", "voided", "deleted"],
                 zip(ids, [setup.org_id] * len(ids), locs, [f"o{i}" for i in ids], stamps, stamps, dining,
                     [s[0] for s in servers], void, dele))
            log(f"orders {end:,}/{len(owner):,}")
            continue
        guests = (owner[start:end] + 1).tolist()
        count = [true if c else false for c in counted[start:end].tolist()]
        nets = amount[start:end].tolist()
        tips = tip[start:end].tolist()
        names = owner[start:end].tolist()
        items = [ITEM_JSON[(g + i) % len(ITEMS)] for g, i in zip(names, ids)]
        load("guest_checks", ["id", "org_id", "guest_id", "order_id", "location_id", "check_guid", "email", "phone",
                              "first_name", "last_name", "opened_at", "channel", "counted", "net_cents", "tip_cents",
                              "server_guid", "server_name", "items", "card_types"],
             zip(ids, [setup.org_id] * len(ids), guests, ids, locs, [f"c{i}" for i in ids],
                 [f"guest{g}@example.com" for g in names], [phone(g) for g in names],
                 [FIRST[g % len(FIRST)] for g in names], [LAST[g // len(FIRST) % len(LAST)] for g in names], stamps,
                 [CHANNELS[c] for c in chans], count, nets, tips, [s[0] for s in servers], [s[1] for s in servers],
                 items, ['["VISA"]'] * len(ids)))
        checks = [1 if c else 0 for c in counted[start:end].tolist()]
        load("guest_orders", ["guest_id", "order_id", "org_id", "location_id", "opened_at", "channel", "counted",
                              "check_count", "net_spend_cents", "tip_cents"],
             zip(guests, ids, [setup.org_id] * len(ids), locs, stamps, [CHANNELS[c] for c in chans], count, checks,
                 [n if c else 0 for n, c in zip(nets, checks)], [t if c else 0 for t, c in zip(tips, checks)]))
        log(f"guest checks and orders {end:,}/{len(owner):,}")


def _write_guests(setup, guests, owner, opened, loc_index, channel, amount, tip, counted, server_pick,
                  postgres) -> dict:
    load = _columns(postgres)
    c = counted.astype(np.int64)
    order_count = np.bincount(owner, weights=c, minlength=guests).astype(np.int64)
    net = np.bincount(owner, weights=amount * c, minlength=guests).astype(np.int64)
    tips = np.bincount(owner, weights=tip * c, minlength=guests).astype(np.int64)
    first = np.full(guests, np.iinfo(np.int64).max)
    last = np.full(guests, -1, dtype=np.int64)
    np.minimum.at(first, owner[counted], opened[counted])
    np.maximum.at(last, owner[counted], opened[counted])
    per_channel = [np.bincount(owner, weights=((channel == k) & counted), minlength=guests).astype(np.int64)
                   for k in range(len(CHANNELS))]
    delivery_spend = np.bincount(owner, weights=amount * ((channel == 0) & counted), minlength=guests).astype(np.int64)
    pairs = owner[counted] * len(setup.location_ids) + loc_index[counted]
    unique_pairs, pair_counts = np.unique(pairs, return_counts=True)
    pair_last = np.full(len(unique_pairs), -1, dtype=np.int64)
    np.maximum.at(pair_last, np.searchsorted(unique_pairs, pairs), opened[counted])
    location_count = np.bincount(unique_pairs // len(setup.location_ids), minlength=guests)
    slot_of = dict(db.session.execute(select(Location.id, Location.slot)
                                      .where(Location.id.in_(setup.location_ids))).all())
    bits = np.array([0 if slot_of[i] is None else 1 << slot_of[i] for i in setup.location_ids], dtype=np.int64)
    location_mask = np.zeros(guests, dtype=np.int64)
    count = len(setup.location_ids)
    np.bitwise_or.at(location_mask, unique_pairs // count, bits[unique_pairs % count])
    has = order_count > 0
    first_s = _ts(np.where(has, first, 0), postgres)
    last_s = _ts(np.where(has, last, 0), postgres)
    true, false = (True, False) if postgres else (1, 0)
    avg = np.where(order_count > 0, (2 * net + order_count) // np.maximum(2 * order_count, 1), 0)
    def guest_rows():
        for g in range(guests):
            f, l_ = FIRST[g % len(FIRST)], LAST[g // len(FIRST) % len(LAST)]
            yield (g + 1, setup.org_id, f"e:{email(g)}", f, l_, email(g), phone(g), f"{f} {l_}".lower(),
                   f"{l_} {f}".lower(), true, true if g % 2 == 0 else false, false, int(order_count[g]),
                   int(order_count[g]), int(net[g]), int(avg[g]), int(tips[g]),
                   first_s[g] if has[g] else None, last_s[g] if has[g] else None,
                   *(int(per_channel[k][g]) for k in range(4)), int(delivery_spend[g]), int(location_count[g]),
                   int(location_mask[g]), ITEMS[g % len(ITEMS)] if has[g] else None, first_s[g] if has[g] else last_s[g])

    load("guests", ["id", "org_id", "key", "first_name", "last_name", "email", "phone", "search_name", "sort_name",
                    "has_email", "has_phone", "marketing_opt_out", "order_count", "check_count", "net_spend_cents",
                    "avg_check_cents", "total_tips_cents", "first_order_at", "last_order_at", "delivery_orders",
                    "takeout_orders", "curbside_orders", "dine_in_orders", "delivery_spend_cents", "location_count",
                    "location_mask", "favorite_item", "created_at"], guest_rows())
    locations = np.array(setup.location_ids)
    pair_guest = (unique_pairs // len(setup.location_ids) + 1).tolist()
    pair_loc = locations[unique_pairs % len(setup.location_ids)].tolist()
    load("guest_locations", ["guest_id", "location_id", "org_id", "order_count", "last_order_at"],
         zip(pair_guest, pair_loc, [setup.org_id] * len(pair_guest), pair_counts.tolist(), _ts(pair_last, postgres)))
    with_orders = np.nonzero(has)[0]
    load("guest_items", ["guest_id", "name", "org_id", "quantity", "order_count", "last_ordered_at"],
         ((int(g) + 1, ITEMS[g % len(ITEMS)], setup.org_id, float(order_count[g]), int(order_count[g]), last_s[g])
          for g in with_orders.tolist()))
    first_location = setup.location_ids[0]
    load("guest_facts", ["guest_id", "kind", "value", "org_id", "label", "count", "last_seen_at"],
         ((int(g) + 1, kind, value, setup.org_id, label, int(order_count[g]), last_s[g])
          for g in with_orders.tolist()
          for kind, value, label in (("card_type", "VISA", None),
                                     ("server", *setup.servers[first_location][g % 20]))))
    return {"guest_locations": len(pair_guest), "guest_items": len(with_orders), "guest_facts": 2 * len(with_orders)}


def _write_trees(setup, tree_guests: set[int], owner: np.ndarray) -> int:
    """Checks, selections and payments of the orders of ``tree_guests`` (1-based guest ids), via the ORM."""
    order_ids = (np.nonzero(np.isin(owner + 1, list(tree_guests)))[0] + 1).tolist()
    session = db.session
    for start in range(0, len(order_ids), 2000):
        chunk = order_ids[start:start + 2000]
        rows = session.execute(
            select(GuestCheck.order_id, GuestCheck.check_guid, GuestCheck.net_cents, GuestCheck.tip_cents,
                   GuestCheck.email).where(GuestCheck.order_id.in_(chunk))
        ).all()
        for order_id, check_guid, net, tip_, mail in rows:
            check = OrderCheck(org_id=setup.org_id, order_id=order_id, guid=check_guid, amount_cents=net,
                               total_cents=net, customer_email=mail)
            check.selections = [
                CheckSelection(org_id=setup.org_id, display_name=ITEMS[order_id % len(ITEMS)], quantity=1.0,
                               price_cents=net - 250, modifiers=[{"name": "No onions", "quantity": 1, "price_cents": 0}]),
                CheckSelection(org_id=setup.org_id, display_name="Soda", quantity=1.0, price_cents=250),
            ]
            check.payments = [CheckPayment(org_id=setup.org_id, type="CREDIT", card_type="VISA", last4="4242",
                                           amount_cents=net, tip_cents=tip_, payment_status="CAPTURED")]
            session.add(check)
        session.commit()
    return len(order_ids)
