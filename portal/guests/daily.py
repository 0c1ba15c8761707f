"""The dashboard's daily figures (``dashboard_days``), kept in the ingest transaction.

A row holds one organization's figures of one location on one local day: counted orders, their net sales, the
orders carrying a guest's counted check, guest visits and first visits. What changes a row is an order of that day
(stored, re-versioned, voided, moved between guests) or a guest's first visit moving to or from that day (an
older order arriving, a merge). Callers name the moments that changed; each of those days is recomputed whole
from ``orders`` and ``guest_orders`` (delete then insert), so the table always equals a recomputation and applying
the same change twice is harmless. Days are local to the organization's time zone (``portal.localtime``): an
evening in Boston belongs to that evening's date.

Nothing here commits or locks: the caller holds the organization's lock (``apply_orders``, merges, rebuilds).
"""
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, delete, distinct, func, insert, literal, select, union_all
from sqlalchemy.types import Date
from sqlalchemy.orm import Session

from portal.guests.checks import NOT_COLLECTED
from portal.localtime import organization_zone
from portal.models import CheckPayment, Order, OrderCheck
from portal.models.guest import Guest, GuestOrder
from portal.models.rollup import DashboardDay

BATCH = 500
FIGURES = ("orders", "revenue_cents", "captured_orders", "guest_visits", "new_guests")
def local_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants a local day starts and ends (23 or 25 hours on daylight-saving changes)."""
    start = datetime.combine(day, time(), tzinfo=zone).astimezone(timezone.utc)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone).astimezone(timezone.utc)
    return start, end


def order_moments(session: Session, org_id: int, order_ids: Iterable[int]) -> set[datetime]:
    """Opening times of these orders (for ``refresh``)."""
    ids = sorted(set(order_ids))
    moments = set()
    for start in range(0, len(ids), BATCH):
        moments.update(session.scalars(select(Order.opened_at).where(
            Order.org_id == org_id, Order.id.in_(ids[start:start + BATCH]), Order.opened_at.is_not(None))))
    return moments


def refresh(session: Session, org_id: int, moments: Iterable[datetime | None], zone: ZoneInfo | None = None) -> None:
    """Recompute the rows of the local days holding these moments (``zone``: the organization's, when known)."""
    zone = zone or organization_zone(session, org_id)
    days = sorted({local_day(moment, zone) for moment in moments if moment is not None})
    if days:
        session.flush()
        for day in days:
            _recompute_day(session, org_id, day, zone)


def rebuild(session: Session, org_id: int) -> int:
    """Recompute every day of the organization (after a time zone change, or to fill the table). Returns days."""
    zone = organization_zone(session, org_id)
    session.flush()
    session.execute(delete(DashboardDay).where(DashboardDay.org_id == org_id))
    first, last = session.execute(select(func.min(Order.opened_at), func.max(Order.opened_at)).where(
        Order.org_id == org_id)).one()
    if first is None:
        return 0
    day, last_day, count = local_day(first, zone), local_day(last, zone), 0
    while day <= last_day:
        _recompute_day(session, org_id, day, zone, clear=False)
        day, count = day + timedelta(days=1), count + 1
    return count


def computed(session: Session, org_id: int, day: date, zone: ZoneInfo) -> dict[int, dict]:
    """One day's figures per location, computed from orders and guest_orders (what its rows must hold)."""
    return {row.location_id: {name: int(row._mapping[name]) for name in FIGURES}
            for row in session.execute(_day_figures(org_id, day, zone))}


def _recompute_day(session: Session, org_id: int, day: date, zone: ZoneInfo, clear: bool = True) -> None:
    # Two writes and no read: the day's rows are replaced by what an INSERT ... SELECT computes.
    if clear:
        session.execute(delete(DashboardDay).where(DashboardDay.org_id == org_id, DashboardDay.day == day))
    columns = ("org_id", "day", "location_id", *FIGURES)
    session.execute(insert(DashboardDay).from_select(columns, _day_figures(org_id, day, zone)))


def _day_figures(org_id: int, day: date, zone: ZoneInfo):
    """SELECT org_id, day, location_id and the figures of the locations with counted orders that day."""
    start, end = day_bounds(day, zone)
    in_day = (GuestOrder.org_id == org_id, GuestOrder.opened_at >= start, GuestOrder.opened_at < end,
              GuestOrder.counted.is_(True))
    parts = union_all(
        _sales(org_id, start, end),
        select(GuestOrder.location_id, *_zeros(2), func.count(distinct(GuestOrder.order_id)), func.count(), *_zeros(1))
        .where(*in_day).group_by(GuestOrder.location_id),
        # A first visit: the guest's first counted order is this one.
        select(GuestOrder.location_id, *_zeros(4), func.count(distinct(GuestOrder.guest_id)))
        .join(Guest, Guest.id == GuestOrder.guest_id)
        .where(*in_day, Guest.first_order_at == GuestOrder.opened_at).group_by(GuestOrder.location_id),
    ).subquery()
    location_id, *figures = parts.c
    return (select(literal(org_id).label("org_id"), literal(day, Date).label("day"), location_id.label("location_id"),
                   *(func.sum(column).label(name) for column, name in zip(figures, FIGURES)))
            .group_by(location_id))


def _sales(org_id: int, start: datetime, end: datetime):
    """Counted orders per location and their net sales: checks' amounts (before tax and tips) less collected
    refunds, as a guest's net spend counts them (``portal.guests.checks``)."""
    refunds = select(func.coalesce(func.sum(CheckPayment.refund_cents), 0)).where(
        CheckPayment.check_id == OrderCheck.id,
        func.upper(func.coalesce(CheckPayment.payment_status, "")).not_in(sorted(NOT_COLLECTED)),
    ).scalar_subquery()
    net = OrderCheck.amount_cents - refunds
    return (
        select(Order.location_id, func.count(distinct(Order.id)),
               func.coalesce(func.sum(case((net > 0, net), else_=0)), 0), *_zeros(3))
        .select_from(Order)
        .outerjoin(OrderCheck, and_(OrderCheck.order_id == Order.id, OrderCheck.voided.is_(False),
                                    OrderCheck.deleted.is_(False)))
        .where(Order.org_id == org_id, Order.opened_at >= start, Order.opened_at < end,
               Order.voided.is_(False), Order.deleted.is_(False))
        .group_by(Order.location_id)
    )


def _zeros(count: int) -> list:
    # Distinct literal objects: a select keeps one of several identical column objects.
    return [literal(0) for _ in range(count)]
