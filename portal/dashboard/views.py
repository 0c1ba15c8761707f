"""What the dashboard shows: cards (figure, previous period, change, where to look next) and charts."""
from dataclasses import dataclass
from datetime import timedelta

from flask import url_for
from sqlalchemy import select

from portal.dashboard import charts, service
from portal.dashboard.service import Filters, Period
from portal.extensions import db
from portal.models import Segment
from portal.templating import money, number


@dataclass
class Card:
    key: str
    label: str
    value: str
    previous: str
    change: str  # "+12%", "-3 pts", "new", "—"
    trend: str  # up | down | flat: the change's direction (a class)
    href: str
    help: str
    unit: str = ""


def page(org_id: int, filters: Filters) -> dict:
    current, previous, series = service.figures(org_id, filters)
    return {"cards": cards(org_id, filters, current, previous), "charts": chart_set(series), "previous": previous}


def cards(org_id: int, filters: Filters, now: Period, before: Period) -> list[Card]:
    location = {"location": filters.location_id} if filters.location_id else {}
    guests = lambda sort: url_for("guests.index", sort=sort, dir="desc", **location)  # noqa: E731
    segments = _preset_links(org_id)
    frequency = lambda period: None if period.visit_frequency is None else round(period.visit_frequency, 2)  # noqa: E731
    return [
        _card("revenue", "Revenue", now.revenue_cents, before.revenue_cents, _headline_money, guests("net_spend"),
              "Net sales of counted orders: check amounts before tax and tips, less refunds."),
        _card("orders", "Orders", now.orders, before.orders, number, guests("orders"),
              "Counted orders (not voided or deleted)."),
        _card("guests", "Guests", now.guests, before.guests, number, guests("first_order"),
              "Identified guests whose first visit is on or before the period's last day."),
        _card("new", "New guests", now.new_guests, before.new_guests, number,
              segments.get("new", guests("first_order")), "Guests whose first counted visit is in the period."),
        _card("returning", "Returning visits", now.returning_visits, before.returning_visits, number,
              segments.get("regulars", guests("orders")), "Visits of guests who had visited before."),
        _card("frequency", "Visit frequency", frequency(now), frequency(before), _per_month,
              segments.get("regulars", guests("orders")),
              "Guest visits per guest known at the period's end, per 30 days.", unit="visits per guest a month"),
        _points_card(now.capture_pct, before.capture_pct, guests("last_order")),
    ]


def _headline_money(cents: int | None) -> str:
    """Cents where they matter; whole dollars from $10,000 on (a card is narrow: "$309,713.50" does not fit)."""
    return money(cents) if cents is None or abs(cents) < 1_000_000 else charts.dollars(cents)


def chart_set(series: list) -> list[charts.Chart]:
    unit, groups = charts.buckets([day for day, _ in series])
    figures = dict(series)
    totals = [{name: sum(figures[day][name] for day in days) for name in service.SUMS} for _, days in groups]
    labels = [label for label, _ in groups]
    notes = [_partial(label, unit, days) for label, days in groups]

    def chart(title, values, fmt, **options):
        return charts.bar_chart(f"{title} per {unit}", list(zip(labels, values)), fmt, notes=notes, **options)

    return [
        chart("Revenue", [[t["revenue_cents"]] for t in totals], charts.dollars, unit=100),
        chart("Orders", [[t["captured_orders"], t["orders"] - t["captured_orders"]] for t in totals], charts.count,
              series=["with a guest", "anonymous"]),
        chart("Guest visits", [[t["new_guests"], t["guest_visits"] - t["new_guests"]] for t in totals], charts.count,
              series=["new", "returning"]),
        chart("Capture rate", [[100 * t["captured_orders"] / t["orders"] if t["orders"] else 0] for t in totals],
              charts.percent, peak=100),
    ]


def _card(key, label, now, before, fmt, href, help_text, unit="") -> Card:
    if now is None or not before:
        change, trend = "—", "flat"  # nothing to compare with
    else:
        delta = round(100 * (now - before) / before)
        change, trend = f"{delta:+d}%", "up" if delta > 0 else "down" if delta < 0 else "flat"
    return Card(key, label, fmt(now), fmt(before), change, trend, href, help_text, unit)


def _points_card(now: float | None, before: float | None, href: str) -> Card:
    fmt = lambda pct: "—" if pct is None else f"{round(pct)}%"  # noqa: E731
    if now is None or before is None:
        change, trend = "—", "flat"
    else:
        delta = round(now) - round(before)
        change, trend = f"{delta:+d} pts", "up" if delta > 0 else "down" if delta < 0 else "flat"
    return Card("capture", "Capture rate", fmt(now), fmt(before), change, trend, href,
                "Share of counted orders that carry an identified guest's counted check.")


def _partial(label: str, unit: str, days: list) -> str:
    """A week or month the period cuts says so (its bar is lower for that reason only)."""
    if unit == "week" and len(days) < 7:
        return f"{label} ({len(days)} of 7 days)"
    if unit == "month" and (days[0].day != 1 or (days[-1] + timedelta(days=1)).day != 1):
        return f"{label} ({len(days)} days)"
    return label


def _per_month(value: float | None) -> str:
    return "—" if value is None else f"{value:,.2f}"


def _preset_links(org_id: int) -> dict[str, str]:
    rows = db.session.execute(select(Segment.slug, Segment.id).where(
        Segment.org_id == org_id, Segment.slug.in_(("new", "regulars")))).all()
    return {slug: url_for("segments.show", segment_id=segment_id) for slug, segment_id in rows}
