"""Per-guest figures and link rows, recomputed from the guest's own ``guest_checks`` rows (never from all orders).

``DEFINITIONS`` is the product: the UI shows these texts next to the figures.
"""
import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from portal.dbutil import expanding, expire_loaded, pipelined, upsert
from portal.guests.check_writes import CheckWrites
from portal.guests.identity import LATEST
from portal.models.base import utcnow
from portal.models.guest import Guest, GuestCheck, GuestOrder
from portal.models.guest_links import GuestFact, GuestItem, GuestLocation
from portal.models.integration import Location

COUNTED = ("A counted check is a check that is neither voided nor deleted, on an order that is neither voided "
           "nor deleted.")
DEFINITIONS = {
    "order_count": ("Orders", "Distinct orders with at least one counted check of the guest."),
    "net_spend": ("Net spend", "Sum of the counted checks' amounts (after discounts, before tax and tip) minus the "
                  "refunds of their payments; a check never goes below zero."),
    "avg_check": ("Average check", "Net spend divided by the number of counted checks (rounded to the cent)."),
    "total_tips": ("Tips", "Sum of tips on the counted checks' payments minus tip refunds. Payments that were "
                   "voided, declined or failed add neither tips nor refunds."),
    "first_order_at": ("First order", "Earliest opening time (UTC) of an order with a counted check."),
    "last_order_at": ("Last order", "Latest opening time (UTC) of an order with a counted check."),
    "days_since_last_order": ("Days since last order", "Whole days from the last order's UTC date to today "
                              "(or to the export's as-of date)."),
    "delivery_orders": ("Delivery", "Counted orders whose dining option behaves as DELIVERY."),
    "takeout_orders": ("Takeout", "Counted orders whose dining option behaves as TAKE_OUT, not curbside."),
    "curbside_orders": ("Curbside", "Counted orders whose dining option is TAKE_OUT with curbside on."),
    "dine_in_orders": ("Dine-in", "Counted orders whose dining option behaves as DINE_IN."),
    "delivery_spend": ("Delivery spend", "Net spend on counted checks of DELIVERY orders."),
    "locations": ("Locations", "Locations where the guest has a counted order."),
    "favorite_item": ("Favorite item", "The menu item with the highest total quantity over non-voided selections "
                      "of counted checks (menu name, else the item's name on the check; ties by name)."),
}


@dataclass
class Summary:
    values: dict = field(default_factory=dict)  # Guest column -> value
    orders: list[dict] = field(default_factory=list)
    locations: list[dict] = field(default_factory=list)
    items: list[dict] = field(default_factory=list)
    facts: list[dict] = field(default_factory=list)

    def digest(self) -> str:
        """Hashes of what is derived, one per stored part (``DIGEST_PARTS``), concatenated: a change rewrites only
        the parts whose hash moved. The values are built in a fixed order, so their repr is stable."""
        parts = ((self.values, self.orders), self.locations, self.items, self.facts)
        return "".join(hashlib.blake2b(repr(part).encode(), digest_size=8).hexdigest() for part in parts)


LINKS = (GuestLocation, GuestItem, GuestFact)
PART = 16  # hex characters of one part's hash in ``Guest.profile_digest``: figures and orders, then each link


def _changed_parts(old: str | None, new: str) -> list[bool]:
    """Per part (figures and orders, then each of ``LINKS``): does it differ from the stored digest?"""
    old = old or ""
    return [old[i:i + PART] != new[i:i + PART] for i in range(0, len(new), PART)]


# Prebuilt Core statements: recompute runs for every order the sync engine writes (see portal.guests.loading).
_gc, _guest = GuestCheck.__table__.c, Guest.__table__
ROWS = select(
    _gc.guest_id, _gc.order_id, _gc.location_id, _gc.check_guid, _gc.email, _gc.phone, _gc.customer_guid,
    _gc.first_name, _gc.last_name, _gc.opened_at, _gc.channel, _gc.counted, _gc.net_cents, _gc.tip_cents,
    _gc.server_guid, _gc.server_name, _gc.address, _gc.vehicle, _gc["items"], _gc.card_types,
    _guest.c.profile_digest, _guest.c.first_order_at.label("guest_first_order_at"),
    Location.__table__.c.slot.label("location_slot"),
).join_from(GuestCheck.__table__, _guest, _guest.c.id == _gc.guest_id).outerjoin(
    Location.__table__, Location.__table__.c.id == _gc.location_id,
).where(_gc.org_id == bindparam("org"), _gc.guest_id.in_(expanding("ids")))
UPDATE_GUEST = _guest.update().where(_guest.c.id == bindparam("b_id"), _guest.c.org_id == bindparam("b_org"))
DELETE_ORDERS = GuestOrder.__table__.delete().where(GuestOrder.__table__.c.guest_id.in_(expanding("ids")),
                                                    GuestOrder.__table__.c.order_id.in_(expanding("orders")))
DELETE_LINKS = {model: model.__table__.delete().where(model.__table__.c.guest_id.in_(expanding("ids"))) for model in LINKS}


def recompute(session: Session, org_id: int, guest_ids: set[int], order_ids: set[int], force: bool = False,
              grown: dict[int, set[int]] | None = None, writes: CheckWrites | None = None) -> set[datetime]:
    """Rewrite the figures and link rows of ``guest_ids``, and their ``guest_orders`` rows of ``order_ids``
    (the orders whose checks changed or moved between guests). Guests that no longer exist are skipped.

    A guest whose derived data hashes to its stored ``profile_digest`` is left alone (most order updates, such
    as payments and closeouts of orders that do not change what the profile shows), and of a changed guest only
    the parts that changed are rewritten (a refund moves the figures, not the guest's locations, items or
    facts); ``force`` rewrites everything. ``grown`` maps guests that only gained checks (a new order of a known
    guest) to the orders of those checks: none of their rows can go, and only the rows those checks contribute
    to can change, so only these are upserted.

    ``writes``: the batch's ``guest_checks`` writes, made here in the same round trip as the figures' writes and
    counted before they are in the table.

    Returns the first visits that moved (old and new ``first_order_at``): the dashboard's days to recompute.
    """
    ids = sorted(g for g in guest_ids if g is not None)
    writes = writes or CheckWrites()
    if not ids and not writes:
        return set()
    session.flush()
    conn = session.connection()
    rows, stored, first_visits = defaultdict(list), {}, {}
    for row in conn.execute(ROWS, {"org": org_id, "ids": ids}) if ids else ():
        rows[row.guest_id].append(row)
        stored[row.guest_id] = row.profile_digest
        first_visits[row.guest_id] = row.guest_first_order_at
    writes.overlay(rows)
    now = utcnow()
    figures = []
    # Per part: the guests whose rows to delete, and the new rows (the figures part's rows are guest_orders).
    rewrite = {part: ([], []) for part in (GuestOrder, *LINKS)}
    for guest_id in ids:
        summary = summarize(rows[guest_id])
        digest = summary.digest()
        if not force and stored.get(guest_id) == digest:
            continue
        figures.append({"b_id": guest_id, "b_org": org_id, "updated_at": now, "profile_digest": digest,
                        **summary.values})
        parts = (
            [part for part in summary.orders if part["order_id"] in order_ids],
            summary.locations, summary.items, summary.facts,
        )
        gained = None if force or not grown else grown.get(guest_id)  # force repairs every row
        if gained is not None:
            parts = _contributed(parts, rows[guest_id], gained)
        changed = _changed_parts(None if force else stored.get(guest_id), digest)
        for model, new_rows, differs in zip(rewrite, parts, changed):
            if differs:
                if gained is None:
                    rewrite[model][0].append(guest_id)
                rewrite[model][1].extend({"guest_id": guest_id, "org_id": org_id, **row} for row in new_rows)
    # First visits that moved (the stored one and the new one): days the dashboard recomputes.
    moved = {moment for row in figures if first_visits.get(row["b_id"]) != row["first_order_at"]
             for moment in (first_visits.get(row["b_id"]), row["first_order_at"]) if moment is not None}
    if figures or writes:
        with pipelined(conn):
            writes.execute(session)  # on conn: the session's connection
            if figures:
                conn.execute(UPDATE_GUEST, figures)
                _rewrite(conn, rewrite, order_ids)
        expire_loaded(session, Guest, [row["b_id"] for row in figures])
    return moved



def _contributed(parts: tuple, rows: list, orders: set[int]) -> tuple:
    """Of a guest's parts, the rows that its checks of ``orders`` contribute to: when the guest only gained those
    checks, the other rows stay as they are."""
    gained = [r for r in rows if r.order_id in orders and r.counted]
    locations = {r.location_id for r in gained}
    items = {name for r in gained for name, _, _ in r.items or ()}
    facts = {(e["kind"], e["value"]) for e in _facts(gained)}
    guest_orders, guest_locations, guest_items, guest_facts = parts
    return (
        guest_orders,
        [e for e in guest_locations if e["location_id"] in locations],
        [e for e in guest_items if e["name"] in items],
        [e for e in guest_facts if (e["kind"], e["value"]) in facts],
    )


def _rewrite(conn, rewrite: dict, order_ids: set[int]) -> None:
    """Per part that changed: delete the rows of its guests (guest_orders only of ``order_ids``), then upsert the
    new rows."""
    for model, (guest_ids, new_rows) in rewrite.items():
        if guest_ids and model is GuestOrder:
            conn.execute(DELETE_ORDERS, {"ids": guest_ids, "orders": sorted(order_ids)})
        elif guest_ids:
            conn.execute(DELETE_LINKS[model], {"ids": guest_ids})
        if new_rows:
            conn.execute(upsert(conn, model), new_rows)


def summarize(rows: list) -> Summary:
    """Figures of one guest from its check rows (any objects with ``GuestCheck``'s attributes)."""
    rows = sorted(rows, key=lambda r: (r.opened_at or LATEST, r.check_guid))
    counted = [r for r in rows if r.counted]
    orders = _orders(rows)
    counted_orders = [o for o in orders if o["counted"]]
    net = sum(r.net_cents for r in counted)
    opened = [o["opened_at"] for o in counted_orders if o["opened_at"] is not None]
    channels = Counter(o["channel"] for o in counted_orders)
    items = _items(counted)
    first, last = _latest(rows, "first_name"), _latest(rows, "last_name")
    email, phone = _latest(rows, "email"), _latest(rows, "phone")
    locations = _locations(counted_orders)
    values = {
        "first_name": first, "last_name": last, "email": email, "phone": phone,
        "phone_reversed": phone.lstrip("+")[::-1] if phone else None,
        "customer_guid": _latest(rows, "customer_guid"),
        "search_name": f"{first or ''} {last or ''}".strip().lower()[:512],
        "sort_name": f"{last or ''} {first or ''}".strip().lower()[:512],
        "has_email": email is not None, "has_phone": phone is not None,
        "order_count": len(counted_orders), "check_count": len(counted), "net_spend_cents": net,
        "avg_check_cents": (2 * net + len(counted)) // (2 * len(counted)) if counted else 0,
        "total_tips_cents": sum(r.tip_cents for r in counted),
        "first_order_at": min(opened) if opened else None, "last_order_at": max(opened) if opened else None,
        **recent_orders(opened),
        "delivery_orders": channels["delivery"], "takeout_orders": channels["takeout"],
        "curbside_orders": channels["curbside"], "dine_in_orders": channels["dine_in"],
        "delivery_spend_cents": sum(o["net_spend_cents"] for o in counted_orders if o["channel"] == "delivery"),
        "location_count": len(locations),
        "location_mask": _mask(counted),
        "favorite_item": items[0]["name"] if items else None,
    }
    return Summary(values=values, orders=orders, locations=locations, items=items, facts=_facts(counted))


def _mask(counted: list) -> int:
    """Bits of the locations (``Location.slot``) of counted checks: ``guests.location_mask``."""
    mask = 0
    for r in counted:
        if r.location_slot is not None:
            mask |= 1 << r.location_slot
    return mask


def recent_orders(opened: list) -> dict:
    """``last_order_2_at`` .. ``last_order_5_at``: the 2nd to 5th most recent of these opening times (segments)."""
    recent = sorted(opened, reverse=True)
    return {f"last_order_{n}_at": recent[n - 1] if len(recent) >= n else None for n in range(2, 6)}


def _latest(rows: list, attr: str):
    """The most recent non-empty value (rows are in canonical order, oldest first)."""
    return next((getattr(r, attr) for r in reversed(rows) if getattr(r, attr)), None)


def _orders(rows: list) -> list[dict]:
    orders: dict[int, dict] = {}
    for r in rows:
        part = orders.setdefault(r.order_id, {
            "order_id": r.order_id, "location_id": r.location_id, "opened_at": r.opened_at, "channel": r.channel,
            "counted": False, "check_count": 0, "net_spend_cents": 0, "tip_cents": 0,
        })
        if r.counted:
            part["counted"] = True
            part["check_count"] += 1
            part["net_spend_cents"] += r.net_cents
            part["tip_cents"] += r.tip_cents
    return list(orders.values())


def _locations(counted_orders: list[dict]) -> list[dict]:
    found: dict[int, dict] = {}
    for o in counted_orders:
        entry = found.setdefault(o["location_id"], {"location_id": o["location_id"], "order_count": 0,
                                                    "last_order_at": None})
        entry["order_count"] += 1
        entry["last_order_at"] = _max(entry["last_order_at"], o["opened_at"])
    return list(found.values())


def _items(counted: list) -> list[dict]:
    """Items by total quantity (highest first, ties by name)."""
    found: dict[str, dict] = {}
    for r in counted:
        for name, item_guid, quantity in r.items or ():
            entry = found.setdefault(name, {"name": name, "item_guid": item_guid, "quantity": 0.0, "orders": set(),
                                            "last_ordered_at": None})
            entry["quantity"] += quantity
            entry["item_guid"] = entry["item_guid"] or item_guid
            entry["orders"].add(r.order_id)
            entry["last_ordered_at"] = _max(entry["last_ordered_at"], r.opened_at)
    items = [
        {"name": e["name"], "item_guid": e["item_guid"], "quantity": round(e["quantity"], 4),
         "order_count": len(e["orders"]), "last_ordered_at": e["last_ordered_at"]}
        for e in found.values()
    ]
    return sorted(items, key=lambda e: (-e["quantity"], e["name"]))


def _facts(counted: list) -> list[dict]:
    """Servers, card types, delivery addresses and curbside vehicles seen on counted checks."""
    found: dict[tuple[str, str], dict] = {}

    def see(kind, value, label, row):
        entry = found.setdefault((kind, value), {"kind": kind, "value": value, "label": label, "orders": set(),
                                                 "last_seen_at": None})
        entry["label"] = label or entry["label"]
        entry["orders"].add(row.order_id)
        entry["last_seen_at"] = _max(entry["last_seen_at"], row.opened_at)

    for r in counted:
        if r.server_guid:
            see("server", r.server_guid, r.server_name, r)
        for card in r.card_types or ():
            see("card_type", card, None, r)
        if r.address:
            see("address", r.address, None, r)
        if r.vehicle:
            see("vehicle", r.vehicle, None, r)
    return [
        {"kind": e["kind"], "value": e["value"], "label": e["label"], "count": len(e["orders"]),
         "last_seen_at": e["last_seen_at"]}
        for e in found.values()
    ]


def _max(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    return a if b is None or a >= b else b
