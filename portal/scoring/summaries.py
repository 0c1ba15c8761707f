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

Only guests with at least one order on or before ``as_of`` appear. One grouped query per organization, read
straight into numpy arrays (never one Python object per order, nor per value on PostgreSQL).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

import numpy as np
from sqlalchemy import func, select, true
from sqlalchemy.engine import Connection

from portal.dialects import dialect_of
from portal.models.guest import GuestOrder

EPOCH = date(1970, 1, 1)


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
    dialect = dialect_of(connection)
    sql = _SUMMARY.format(day=dialect.day_number_sql, hint=dialect.full_scan_hint, modulo=dialect.modulo,
                          **{name: dialect.parameter(name) for name in ("org", "end", "cal")})
    params = {"org": int(org_id), "end": dialect.timestamp_parameter(midnight_after(as_of)),
              "cal": day_number(calibration_end)}
    table = dialect.read_integers(connection, sql, params, width=9)
    guest_id, first, last, visits, spend, first_spend, cal_last, cal_visits, holdout = table.T.copy()
    # A guest born after calibration_end has no calibration day: give it its first day (never read: 0 visits).
    cal_last = np.where(cal_last < 0, first, cal_last)
    return VisitSummaries(guest_id, first, last, visits, spend, spend - first_spend, cal_last, cal_visits, holdout)


# The whole read is one statement, filled in for each database (portal.dialects): it runs on the driver's own
# cursor (COPY on PostgreSQL) because building a million SQLAlchemy rows would cost more than the query. Two levels:
# order days per guest, then per guest. The first day's spend comes without a window function: MIN(day * 2^40 + spend)
# is the first day's key, and its low 40 bits are that day's spend (net spend is never negative, and no guest
# spends 2^40 cents, $11 billion, in a day).
_SUMMARY = """
SELECT guest_id, MIN(day), MAX(day), COUNT(*), SUM(spend), MIN(day * 1099511627776 + spend) {modulo} 1099511627776,
       COALESCE(MAX(CASE WHEN day <= {cal} THEN day END), -1),
       SUM(CASE WHEN day <= {cal} THEN 1 ELSE 0 END), SUM(CASE WHEN day <= {cal} THEN 0 ELSE 1 END)
FROM (SELECT guest_id, {day} AS day, SUM(net_spend_cents) AS spend
      FROM guest_orders{hint}
      WHERE org_id = {org} AND counted AND opened_at IS NOT NULL AND opened_at < {end}
      GROUP BY guest_id, {day}) AS days
GROUP BY guest_id ORDER BY guest_id
"""
