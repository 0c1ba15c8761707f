"""The dashboard's figures for a date range and a location, with the previous period of the same length.

Read from ``dashboard_days`` only (kept by the ingest path, ``portal.guests.daily``): two range scans of the
organization's days, whatever the number of guests or orders.

- revenue: net sales of counted orders (check amounts before tax and tips, less refunds);
- orders: counted orders; capture rate: the share of them carrying an identified guest's counted check;
- guest visits: counted (guest, order) pairs; new guests: first visits; returning visits: the other visits;
- guests: identified guests whose first visit is on or before the period's last day;
- visit frequency: guest visits per guest (known at the period's end), per 30 days.
"""
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from sqlalchemy import case, func, select

from portal.extensions import db
from portal.models import Location, User
from portal.models.rollup import DashboardDay

RANGES = {"7d": ("Last 7 days", 7), "28d": ("Last 28 days", 28), "90d": ("Last 90 days", 90),
          "365d": ("Last 365 days", 365)}
DEFAULT_RANGE = "28d"
MAX_DAYS = 3 * 366
SUMS = ("orders", "revenue_cents", "captured_orders", "guest_visits", "new_guests")


@dataclass(frozen=True)
class Filters:
    """The dashboard's state, as carried in the URL: a named range ending today, or ``start``..``end``
    (``range=custom``), and a location (None: all)."""

    range: str
    start: date
    end: date
    location_id: int | None = None
    error: str | None = None  # why the dates asked for were not used

    @classmethod
    def from_args(cls, args, today: date, location_ids: set[int]) -> "Filters":
        """Unknown values fall back to the last 28 days and all locations; bad dates say why."""
        location = args.get("location", "")
        location_id = int(location) if location.isdigit() and int(location) in location_ids else None
        name = args.get("range", DEFAULT_RANGE)
        if name == "custom":
            start, end, error = _dates(args.get("from", ""), args.get("to", ""), today)
            if error is None:
                return cls("custom", start, end, location_id)
            return replace(cls.named(DEFAULT_RANGE, today, location_id), error=error)
        return cls.named(name if name in RANGES else DEFAULT_RANGE, today, location_id)

    @classmethod
    def named(cls, name: str, today: date, location_id: int | None = None) -> "Filters":
        return cls(name, today - timedelta(days=RANGES[name][1] - 1), today, location_id)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def previous(self) -> tuple[date, date]:
        return self.start - timedelta(days=self.days), self.start - timedelta(days=1)

    def args(self, **changes) -> dict:
        state = replace(self, **changes)
        out = {"range": state.range}
        if state.range == "custom":
            out.update({"from": state.start.isoformat(), "to": state.end.isoformat()})
        if state.location_id:
            out["location"] = state.location_id
        return out


def _dates(start_text: str, end_text: str, today: date) -> tuple[date | None, date | None, str | None]:
    try:
        start, end = date.fromisoformat(start_text), date.fromisoformat(end_text)
    except ValueError:
        return None, None, "Enter both dates of the range (from and to)."
    if start > end:
        return None, None, "The range's first day is after its last day."
    if end > today:
        return None, None, "The range cannot end after today."
    if (end - start).days + 1 > MAX_DAYS:
        return None, None, f"A range can span at most {MAX_DAYS:,} days."
    return start, end, None


@dataclass
class Period:
    start: date
    end: date
    orders: int
    revenue_cents: int
    captured_orders: int
    guest_visits: int
    new_guests: int
    guests: int  # known at the end of the period

    @property
    def returning_visits(self) -> int:
        return self.guest_visits - self.new_guests

    @property
    def capture_pct(self) -> float | None:
        return 100 * self.captured_orders / self.orders if self.orders else None

    @property
    def avg_check_cents(self) -> int | None:
        return round(self.revenue_cents / self.orders) if self.orders else None

    @property
    def visit_frequency(self) -> float | None:
        days = (self.end - self.start).days + 1
        return self.guest_visits * 30 / days / self.guests if self.guests else None


def locations(org_id: int) -> list[Location]:
    return db.session.scalars(select(Location).where(Location.org_id == org_id).order_by(Location.name)).all()


def figures(org_id: int, filters: Filters) -> tuple[Period, Period, list[tuple[date, dict]]]:
    """The period's and the previous period's totals, and the period's figures per day (every day, zeros
    included)."""
    previous_start, previous_end = filters.previous
    scope = [DashboardDay.org_id == org_id]
    if filters.location_id is not None:
        scope.append(DashboardDay.location_id == filters.location_id)
    rows = db.session.execute(
        select(DashboardDay.day, *(func.sum(getattr(DashboardDay, name)) for name in SUMS))
        .where(*scope, DashboardDay.day >= previous_start, DashboardDay.day <= filters.end)
        .group_by(DashboardDay.day)
    ).all()
    by_day = {row[0]: dict(zip(SUMS, (int(value or 0) for value in row[1:]))) for row in rows}
    known_now, known_before = db.session.execute(select(
        func.sum(DashboardDay.new_guests),
        func.sum(case((DashboardDay.day <= previous_end, DashboardDay.new_guests), else_=0)),
    ).where(*scope, DashboardDay.day <= filters.end)).one()
    days = [filters.start + timedelta(days=n) for n in range(filters.days)]
    series = [(day, by_day.get(day) or dict.fromkeys(SUMS, 0)) for day in days]
    current = _period(filters.start, filters.end, [values for _, values in series], known_now)
    previous_days = [by_day[day] for day in by_day if day <= previous_end]
    previous = _period(previous_start, previous_end, previous_days, known_before)
    return current, previous, series


def _period(start: date, end: date, days: list[dict], known) -> Period:
    totals = {name: sum(values[name] for values in days) for name in SUMS}
    return Period(start=start, end=end, guests=int(known or 0), **totals)


def today_in(zone) -> date:
    return datetime.now(zone).date()


def member_count(org_id: int) -> int:
    """Active users of the organization."""
    return db.session.scalar(select(func.count(User.id)).where(User.org_id == org_id, User.disabled_at.is_(None)))
