"""Per-guest visit summaries for the guest-value models, aggregated by SQL (raw orders never reach Python).

Definitions (the models' conventions, ``portal.predict.summary``, applied to the guest profiles):

- an *order* is a counted ``guest_orders`` row (at least one counted check of the guest) with an opening time;
- an *order day* is the UTC calendar date of the order's opening time, the day convention of every other guest
  figure (``days_since_last_order``, segments): several orders on one day are one visit ("transaction");
- a guest's *first day* / *last day* are their first and last order days on or before ``as_of``; *visits* is the
  number of distinct order days; *spend* sums the orders' net spend (cents); *repeat spend* is the spend of every
  order day after the first (the first visit is the guest's "birth", as in the models);
- the calibration split used by the quality check counts, for the same guests, the order days on or before
  ``calibration_end`` and those after it (the holdout).

Only guests with at least one order on or before ``as_of`` appear. One grouped query per organization, streamed
in chunks into numpy arrays (a million guests take a few hundred MB at most, never one Python object per order).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

import numpy as np
from sqlalchemy import BigInteger, Date, Integer, case, cast, func, literal_column, select, true, type_coerce
from sqlalchemy.engine import Connection

from portal.models.guest import GuestOrder

EPOCH = date(1970, 1, 1)
CHUNK = 50_000
# julianday('1970-01-01'): SQLite's day numbers of midnights are exact halves, so the difference is a whole number.
_JULIAN_EPOCH = 2440587.5


@dataclass(frozen=True, slots=True)
class VisitSummaries:
    """One entry per guest, sorted by guest id. Days are whole days since 1970-01-01 (UTC)."""

    guest_id: np.ndarray
    first_day: np.ndarray
    last_day: np.ndarray
    visits: np.ndarray  # distinct order days, >= 1
    spend: np.ndarray  # cents, all order days
    repeat_spend: np.ndarray  # cents, order days after the first
    calibration_last_day: np.ndarray  # last order day <= calibration_end (first_day when none after it)
    calibration_visits: np.ndarray  # order days <= calibration_end (0 for guests born after it)
    holdout_visits: np.ndarray  # order days in (calibration_end, as_of]

    def __len__(self) -> int:
        return len(self.guest_id)


def day_number(value: date) -> int:
    return (value - EPOCH).days


def midnight_after(value: date) -> datetime:
    return datetime.combine(value + timedelta(days=1), time(), tzinfo=timezone.utc)


def order_day(connection: Connection, column):
    """SQL: whole days from 1970-01-01 to the UTC date of a timestamp column, on either database."""
    if connection.dialect.name == "sqlite":
        # SQLite keeps UTC timestamps as 'YYYY-MM-DD HH:MM:SS...' text; date() drops the time of day.
        return cast(func.julianday(func.date(column)) - _JULIAN_EPOCH, Integer)
    return type_coerce(cast(func.timezone("UTC", column), Date) - literal_column("DATE '1970-01-01'"), Integer)


def first_order_day(connection: Connection, org_id: int, as_of: date) -> date | None:
    """The organization's first order day (UTC) on or before ``as_of``, read from the opened_at index."""
    orders = GuestOrder.__table__.c
    first = connection.execute(
        select(func.min(orders.opened_at)).where(
            orders.org_id == org_id, orders.counted == true(), orders.opened_at < midnight_after(as_of))
    ).scalar()
    if first is None:
        return None
    if isinstance(first, str):  # SQLite aggregates return the stored text, not a datetime
        first = datetime.fromisoformat(first)
    return first.date()


def visit_summaries(connection: Connection, org_id: int, as_of: date, calibration_end: date) -> VisitSummaries:
    """Summaries of every guest of the organization with an order on or before ``as_of`` (see the module text).

    ``calibration_end`` (<= as_of) splits each guest's days for the quality check. Raises ValueError when
    calibration_end is after as_of.
    """
    if calibration_end > as_of:
        raise ValueError(f"calibration_end {calibration_end} is after as_of {as_of}")
    orders = GuestOrder.__table__.c
    day = order_day(connection, orders.opened_at)
    days = (
        select(orders.guest_id.label("guest_id"), day.label("day"),
               func.sum(orders.net_spend_cents).label("spend"))
        .where(orders.org_id == org_id, orders.counted == true(), orders.opened_at.is_not(None),
               orders.opened_at < midnight_after(as_of))
        .group_by(orders.guest_id, day)
        .subquery("days")
    )
    born = (
        select(days.c.guest_id, days.c.day, days.c.spend,
               func.min(days.c.day).over(partition_by=days.c.guest_id).label("first_day"))
        .subquery("born")
    )
    end = day_number(calibration_end)
    in_calibration = born.c.day <= end
    statement = (
        select(
            born.c.guest_id,
            func.min(born.c.day),
            func.max(born.c.day),
            func.count(),
            cast(func.sum(born.c.spend), BigInteger),
            cast(func.sum(case((born.c.day > born.c.first_day, born.c.spend), else_=0)), BigInteger),
            func.coalesce(func.max(case((in_calibration, born.c.day), else_=None)), -1),
            func.sum(case((in_calibration, 1), else_=0)),
            func.sum(case((in_calibration, 0), else_=1)),
        )
        .group_by(born.c.guest_id)
        .order_by(born.c.guest_id)
    )
    # Per statement: Connection.execution_options() would switch the whole connection to server-side cursors.
    return _collect(connection.execute(statement, execution_options={"stream_results": True, "yield_per": CHUNK}))


def _collect(result) -> VisitSummaries:
    """Rows into int64 arrays, one chunk at a time (a guest born after calibration_end gets its first day as
    calibration last day, which the quality check never reads: it has no calibration visit)."""
    parts = [np.array(rows, dtype=np.int64).reshape(-1, 9) for rows in result.partitions(CHUNK)]
    table = np.concatenate(parts) if parts else np.zeros((0, 9), dtype=np.int64)
    columns = [table[:, index].copy() for index in range(9)]
    guest_id, first, last, visits, spend, repeat_spend, cal_last, cal_visits, holdout = columns
    cal_last = np.where(cal_last < 0, first, cal_last)
    return VisitSummaries(guest_id, first, last, visits, spend, repeat_spend, cal_last, cal_visits, holdout)
