"""One guest's page: the profile's link rows, people's tags and notes, possible duplicates, and the order timeline.

The timeline shows only the guest's own checks of each order (a split order may carry other guests' checks).
"""
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.extensions import current_settings, db
from portal.guests import charts, duplicates
from portal.guests.service import merges_of
from portal.localtime import location_zones, organization_zone
from portal.models import Location, Order, OrderCheck, User
from portal.models.guest import Guest, GuestCheck, GuestOrder
from portal.models.guest_links import GuestDuplicate, GuestFact, GuestItem, GuestLocation, GuestNote, GuestTag
from portal.scoring import service as scoring

TIMELINE_PER_PAGE = 20
TOP_ITEMS = 10
CHART_MONTHS = 24


@dataclass
class TimelineEntry:
    order: Order
    location: str
    channel: str | None
    counted: bool
    net_spend_cents: int
    checks: list[OrderCheck]
    zone: ZoneInfo  # the location's: the times of its orders are shown in it


def profile(guest: Guest) -> dict:
    """Everything the detail page shows besides the timeline."""
    return {
        "locations": db.session.execute(
            select(Location, GuestLocation.order_count, GuestLocation.last_order_at)
            .join(GuestLocation, GuestLocation.location_id == Location.id)
            .where(GuestLocation.guest_id == guest.id).order_by(GuestLocation.order_count.desc(), Location.name)
        ).all(),
        "top_items": db.session.scalars(
            select(GuestItem).where(GuestItem.guest_id == guest.id)
            .order_by(GuestItem.quantity.desc(), GuestItem.name).limit(TOP_ITEMS)
        ).all(),
        "facts": _facts(guest),
        "tags": tags(guest),
        "notes": notes(guest),
        "duplicates": duplicates_of(guest),
        "merges": merges_of(guest),
        "chart": spend_chart(guest),
        "value": scoring.guest_value(db.session, guest.org_id, guest.id,
                                     scoring.Settings.of(current_settings()).thresholds),
    }


def _facts(guest: Guest) -> dict[str, list[GuestFact]]:
    found = defaultdict(list)
    for fact in db.session.scalars(
        select(GuestFact).where(GuestFact.guest_id == guest.id)
        .order_by(GuestFact.kind, GuestFact.count.desc(), GuestFact.value)
    ):
        found[fact.kind].append(fact)
    return found


def tags(guest: Guest) -> list[GuestTag]:
    return db.session.scalars(select(GuestTag).where(GuestTag.guest_id == guest.id).order_by(GuestTag.tag)).all()


def notes(guest: Guest) -> list[tuple[GuestNote, str | None]]:
    return db.session.execute(
        select(GuestNote, User.email).outerjoin(User, User.id == GuestNote.author_id)
        .where(GuestNote.guest_id == guest.id).order_by(GuestNote.created_at.desc(), GuestNote.id.desc())
    ).all()


def duplicates_of(guest: Guest) -> list[tuple[GuestDuplicate, Guest]]:
    """Possible duplicates of this guest not marked as different people, each with the other guest."""
    return [(d, second if first.id == guest.id else first)
            for d, first, second in duplicates.open_pairs(guest.org_id, guest.id)]


def timeline(guest: Guest, page: int = 1, per_page: int = TIMELINE_PER_PAGE) -> tuple[list[TimelineEntry], bool]:
    """The guest's orders, newest first: order -> the guest's checks -> items (with modifiers) and payments."""
    parts = db.session.scalars(
        select(GuestOrder).where(GuestOrder.guest_id == guest.id)
        .order_by(GuestOrder.opened_at.desc(), GuestOrder.order_id.desc())
        .offset((page - 1) * per_page).limit(per_page + 1)
    ).all()
    has_next = len(parts) > per_page
    parts = parts[:per_page]
    order_ids = [p.order_id for p in parts]
    if not order_ids:
        return [], False
    mine = defaultdict(set)
    for order_id, check_guid in db.session.execute(
        select(GuestCheck.order_id, GuestCheck.check_guid)
        .where(GuestCheck.guest_id == guest.id, GuestCheck.order_id.in_(order_ids))
    ):
        mine[order_id].add(check_guid)
    orders = {o.id: o for o in db.session.scalars(
        select(Order).where(Order.org_id == guest.org_id, Order.id.in_(order_ids)).options(
            selectinload(Order.checks).selectinload(OrderCheck.selections),
            selectinload(Order.checks).selectinload(OrderCheck.payments),
        )
    )}
    names = dict(db.session.execute(
        select(Location.id, Location.name).where(Location.id.in_({p.location_id for p in parts}))
    ).all())
    zones = location_zones(db.session, guest.org_id)
    entries = [
        TimelineEntry(order=orders[p.order_id], location=names.get(p.location_id, ""), channel=p.channel,
                      counted=p.counted, net_spend_cents=p.net_spend_cents,
                      checks=[c for c in orders[p.order_id].checks if c.guid in mine[p.order_id]],
                      zone=zones[p.location_id])
        for p in parts if p.order_id in orders
    ]
    return entries, has_next


def spend_chart(guest: Guest) -> charts.Chart | None:
    """Net spend per month (the organization's local months) over the guest's counted orders, the last
    ``CHART_MONTHS`` months at most."""
    rows = db.session.execute(
        select(GuestOrder.opened_at, GuestOrder.net_spend_cents)
        .where(GuestOrder.guest_id == guest.id, GuestOrder.counted.is_(True), GuestOrder.opened_at.is_not(None))
    ).all()
    if not rows:
        return None
    zone, months = organization_zone(db.session, guest.org_id), defaultdict(int)
    for opened_at, cents in rows:
        local = opened_at.astimezone(zone)
        months[(local.year, local.month)] += cents
    first, last = min(months), max(months)
    span = []
    year, month = last
    while (year, month) >= first and len(span) < CHART_MONTHS:
        span.append((year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    points = [(f"{date(y, m, 1):%b %Y}", months.get((y, m), 0)) for y, m in reversed(span)]
    return charts.bars([(label, [cents]) for label, cents in points], money=True)
