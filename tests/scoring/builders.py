"""Guests and their orders for scoring tests, written in bulk (Core executemany), straight into the profile tables.

A guest is a list of ``Visit``s; each becomes an ``orders`` row and the guest's ``guest_orders`` contribution.
``simulated`` draws guests from the BG/NBD and Gamma-Gamma stories (portal.predict.simulate) on a day grid.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

import numpy as np

from portal.models import Guest, GuestOrder, Order
from portal.predict.bgnbd import BGNBDParams
from portal.predict.gamma_gamma import GammaGammaParams
from portal.predict.simulate import simulate_visits

VISITS = BGNBDParams(r=0.8, alpha=6.0, a=0.6, b=3.5)
SPEND = GammaGammaParams(p=6.0, q=3.5, v=20.0)  # dollars


@dataclass(frozen=True)
class Visit:
    opened_at: datetime | None
    cents: int = 2000
    counted: bool = True


def at(day: date, hour: int = 18, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=timezone.utc)


def insert_guests(session, org, location, guests: list[list[Visit]]) -> list[int]:
    """Write the guests (figures derived from their counted visits) and their orders; returns the guest ids."""
    tag = uuid.uuid4().hex[:8]
    rows = []
    for n, visits in enumerate(guests):
        counted = [v for v in visits if v.counted and v.opened_at is not None]
        opened = [v.opened_at for v in counted]
        rows.append({
            "org_id": org.id, "key": f"e:s{n}-{tag}@example.com", "email": f"s{n}-{tag}@example.com",
            "has_email": True, "first_name": "Sim", "last_name": f"Guest {n}", "search_name": f"sim guest {n}",
            "sort_name": f"guest {n} sim", "order_count": len(counted), "check_count": len(counted),
            "net_spend_cents": sum(v.cents for v in counted), "first_order_at": min(opened, default=None),
            "last_order_at": max(opened, default=None),
        })
    table = Guest.__table__
    ids = session.execute(table.insert().returning(table.c.id, sort_by_parameter_order=True), rows).scalars().all()
    orders = [(guest_id, visit) for guest_id, visits in zip(ids, guests) for visit in visits]
    if not orders:
        return list(ids)
    order_table = Order.__table__
    order_ids = session.execute(
        order_table.insert().returning(order_table.c.id, sort_by_parameter_order=True),
        [{"org_id": org.id, "location_id": location.id, "guid": f"o-{tag}-{i}", "opened_at": visit.opened_at}
         for i, (_, visit) in enumerate(orders)],
    ).scalars().all()
    session.execute(GuestOrder.__table__.insert(), [
        {"guest_id": guest_id, "order_id": order_id, "org_id": org.id, "location_id": location.id,
         "opened_at": visit.opened_at, "channel": "takeout", "counted": visit.counted,
         "check_count": 1 if visit.counted else 0, "net_spend_cents": visit.cents if visit.counted else 0}
        for order_id, (guest_id, visit) in zip(order_ids, orders)
    ])
    session.flush()
    return list(ids)


def simulated(n: int, as_of: date, history_days: int, rng: np.random.Generator,
              visits: BGNBDParams = VISITS, spend: GammaGammaParams = SPEND) -> list[list[Visit]]:
    """``n`` guests born uniformly over the ``history_days`` before ``as_of``, one order per visit day."""
    age_days = rng.integers(0, history_days + 1, size=n)
    frequency, recency = simulate_visits(visits, age_days / 7.0, rng)
    recency_days = np.round(recency * 7.0).astype(np.int64)
    spend_rate = rng.gamma(spend.q, 1.0 / spend.v, size=n)
    guests = []
    for index in range(n):
        first = as_of - timedelta(days=int(age_days[index]))
        repeat = int(min(frequency[index], recency_days[index]))
        days = [first]
        if repeat:
            span = int(recency_days[index])
            middle = rng.choice(np.arange(1, span), size=repeat - 1, replace=False) if repeat > 1 else []
            days += [first + timedelta(days=int(d)) for d in sorted(middle)] + [first + timedelta(days=span)]
        cents = np.maximum(rng.gamma(spend.p, 1.0 / spend_rate[index], size=len(days)) * 100, 1).astype(int)
        guests.append([Visit(at(day), int(c)) for day, c in zip(days, cents)])
    return guests
