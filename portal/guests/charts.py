"""Small server-rendered SVG bar charts (no JavaScript: the CSP allows none inline) and the dashboard's figures.

Dashboard, per UTC week (Monday to Monday), over the last ``WEEKS`` weeks:
- guests: guests whose first counted order is before the week's end (cumulative);
- new / returning: guests with a counted order in the week whose first counted order is in that week / before it;
- capture rate: counted orders with at least one guest's counted check / all counted orders of the week.
Each is a handful of index range counts; nothing is recomputed per guest.
"""
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import distinct, func, select

from portal.extensions import db
from portal.models import Order
from portal.models.guest import Guest, GuestOrder

WEEKS = 12
WIDTH, HEIGHT, GAP, MAX_BAR = 600, 140, 4, 48


@dataclass
class Bar:
    label: str
    values: list[int]  # stacked series, bottom first
    x: float
    width: float
    segments: list[tuple[float, float]]  # (y, height) per series

    @property
    def total(self) -> int:
        return sum(self.values)


@dataclass
class Chart:
    bars: list[Bar]
    width: int
    height: int
    peak: int
    money: bool


def bars(points: list[tuple[str, list[int]]], money: bool = False, peak: int | None = None, width: int = WIDTH,
         height: int = HEIGHT) -> Chart:
    """Lay out stacked bars: ``points`` are (label, [value per series]); ``peak`` is the top of the scale."""
    peak = peak or max((sum(values) for _, values in points), default=0) or 1
    slot = width / max(len(points), 1)
    laid = []
    for index, (label, values) in enumerate(points):
        y, segments = float(height), []
        for value in values:
            h = height * max(value, 0) / peak
            y -= h
            segments.append((round(y, 1), round(h, 1)))
        laid.append(Bar(label=label, values=values, x=round(index * slot + GAP / 2, 1),
                        width=round(min(max(slot - GAP, 1), MAX_BAR), 1), segments=segments))
    return Chart(bars=laid, width=width, height=height, peak=peak, money=money)


def week_starts(today: date, weeks: int = WEEKS) -> list[datetime]:
    monday = today - timedelta(days=today.weekday())
    first = monday - timedelta(weeks=weeks - 1)
    return [datetime.combine(first + timedelta(weeks=i), time(), tzinfo=timezone.utc) for i in range(weeks + 1)]


def overview(org_id: int, today: date | None = None) -> dict:
    """The dashboard's guest figures per week (see the module docstring)."""
    today = today or datetime.now(timezone.utc).date()
    edges = week_starts(today)
    total = db.session.scalar(select(func.count()).select_from(Guest).where(
        Guest.org_id == org_id, Guest.first_order_at.is_not(None), Guest.first_order_at < edges[0]))
    weeks = []
    for start, end in zip(edges, edges[1:]):
        new = _count(select(func.count()).select_from(Guest).where(
            Guest.org_id == org_id, Guest.first_order_at >= start, Guest.first_order_at < end))
        in_week = (GuestOrder.org_id == org_id, GuestOrder.counted.is_(True), GuestOrder.opened_at >= start,
                   GuestOrder.opened_at < end)
        active, captured = db.session.execute(
            select(func.count(distinct(GuestOrder.guest_id)), func.count(distinct(GuestOrder.order_id))).where(*in_week)
        ).one()
        orders = _count(select(func.count()).select_from(Order).where(
            Order.org_id == org_id, Order.opened_at >= start, Order.opened_at < end,
            Order.voided.is_(False), Order.deleted.is_(False)))
        total += new
        weeks.append({"start": start.date(), "guests": total, "new": new, "returning": max(active - new, 0),
                      "orders": orders, "captured": captured,
                      "capture_pct": round(100 * captured / orders) if orders else None})
    label = lambda w: w["start"].strftime("%b %d")  # noqa: E731
    return {
        "weeks": weeks,
        "guests_chart": bars([(label(w), [w["guests"]]) for w in weeks]),
        "visits_chart": bars([(label(w), [w["new"], w["returning"]]) for w in weeks]),
        "capture_chart": bars([(label(w), [w["capture_pct"] or 0]) for w in weeks], peak=100),
        "guest_total": total,
    }


def _count(stmt) -> int:
    return db.session.scalar(stmt) or 0
