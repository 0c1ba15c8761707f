"""Guests for segment tests, written straight into the figure tables (fast; no orders go through the engine).

A ``GuestSpec`` lists a guest's orders; ``insert`` derives the figure row and the link rows from them the way
portal.guests.figures does (counted orders only, last order = latest opening time...), and the reference
evaluator (tests/segments/reference.py) reads the same specs.
"""
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone

from portal.guests.figures import recent_orders
from portal.models import (
    Guest, GuestFact, GuestItem, GuestLocation, GuestOrder, GuestScore, GuestTag, Location, Order, Organization,
)
from portal.predict.rfm import churn_band
from tests import factories

NOW = datetime(2026, 6, 15, 15, 30, tzinfo=timezone.utc)


@dataclass
class OrderSpec:
    opened_at: datetime | None
    net_cents: int = 1000
    channel: str | None = "takeout"
    counted: bool = True
    location: int = 0  # index into the population's locations
    items: tuple[str, ...] = ()
    server: str | None = None
    tip_cents: int = 0


@dataclass
class ScoreSpec:
    """A guest's guest_scores row (portal.scoring); the model figures are None when the model is not backed."""

    rfm_group: str = "Champions"
    p_alive: float | None = None
    expected_visits_90d: float | None = None
    predicted_value_12m_cents: int | None = None


@dataclass
class GuestSpec:
    orders: list[OrderSpec] = field(default_factory=list)
    email: bool = True
    phone: bool = False
    opt_out: bool = False
    tags: frozenset[str] = frozenset()
    name: str = ""
    score: ScoreSpec | None = None

    @property
    def counted(self) -> list[OrderSpec]:
        return [o for o in self.orders if o.counted]

    def figures(self) -> dict:
        """The guests row's figures, as portal.guests.figures.summarize computes them (one check per order)."""
        counted = self.counted
        opened = [o.opened_at for o in counted if o.opened_at is not None]
        channels = Counter(o.channel for o in counted)
        net = sum(o.net_cents for o in counted)
        return {
            "order_count": len(counted), "check_count": len(counted), "net_spend_cents": net,
            "avg_check_cents": (2 * net + len(counted)) // (2 * len(counted)) if counted else 0,
            "total_tips_cents": sum(o.tip_cents for o in counted),
            "first_order_at": min(opened) if opened else None, "last_order_at": max(opened) if opened else None,
            **recent_orders(opened),
            "delivery_orders": channels["delivery"], "takeout_orders": channels["takeout"],
            "curbside_orders": channels["curbside"], "dine_in_orders": channels["dine_in"],
            "delivery_spend_cents": sum(o.net_cents for o in counted if o.channel == "delivery"),
            "location_count": len({o.location for o in counted}),
        }


@dataclass
class Population:
    org: Organization
    locations: list[Location]
    guests: dict[int, GuestSpec]  # guest id -> spec


def make_locations(org: Organization, count: int = 3) -> list[Location]:
    first = factories.LocationFactory(connection__organization=org, name="Harbor")
    more = [factories.LocationFactory(connection=first.connection, name=f"Site {n}") for n in range(1, count)]
    return [first, *more]


def insert(session, org: Organization, locations: list[Location], specs: list[GuestSpec]) -> Population:
    """Write guests, their guest_orders and link rows; returns the population keyed by the new guest ids."""
    guests = []
    for index, spec in enumerate(specs):
        name = spec.name or f"Guest {index:03d}"
        first, _, last = name.partition(" ")
        guest = Guest(
            org_id=org.id, key=f"e:{uuid.uuid4().hex}@example.com", first_name=first, last_name=last,
            email=f"g{index}.{uuid.uuid4().hex[:8]}@example.com" if spec.email else None,
            phone=f"+1555{index:07d}" if spec.phone else None, has_email=spec.email, has_phone=spec.phone,
            marketing_opt_out=spec.opt_out, search_name=name.lower(), sort_name=f"{last} {first}".strip().lower(),
            location_mask=sum(1 << locations[i].slot for i in {o.location for o in spec.counted}
                              if locations[i].slot is not None),
            **spec.figures(),
        )
        guests.append(guest)
    session.add_all(guests)
    session.flush()
    for guest, spec in zip(guests, specs):
        _insert_links(session, org, locations, guest, spec)
    session.flush()
    return Population(org=org, locations=locations, guests={g.id: s for g, s in zip(guests, specs)})


def _insert_links(session, org, locations, guest: Guest, spec: GuestSpec) -> None:
    seen_locations: dict[int, list] = {}
    items: dict[str, datetime | None] = {}
    servers: dict[str, datetime | None] = {}
    for order_spec in spec.orders:
        location = locations[order_spec.location]
        order = Order(org_id=org.id, location_id=location.id, guid=uuid.uuid4().hex, opened_at=order_spec.opened_at)
        session.add(order)
        session.flush()
        session.add(GuestOrder(
            guest_id=guest.id, order_id=order.id, org_id=org.id, location_id=location.id,
            opened_at=order_spec.opened_at, channel=order_spec.channel, counted=order_spec.counted,
            check_count=1 if order_spec.counted else 0,
            net_spend_cents=order_spec.net_cents if order_spec.counted else 0,
            tip_cents=order_spec.tip_cents if order_spec.counted else 0,
        ))
        if not order_spec.counted:
            continue
        entry = seen_locations.setdefault(location.id, [0, None])
        entry[0] += 1
        entry[1] = _latest(entry[1], order_spec.opened_at)
        for item in order_spec.items:
            items[item] = _latest(items.get(item), order_spec.opened_at)
        if order_spec.server:
            servers[order_spec.server] = _latest(servers.get(order_spec.server), order_spec.opened_at)
    for location_id, (count, last) in seen_locations.items():
        session.add(GuestLocation(guest_id=guest.id, location_id=location_id, org_id=org.id, order_count=count,
                                  last_order_at=last))
    for name, last in items.items():
        session.add(GuestItem(guest_id=guest.id, name=name, org_id=org.id, quantity=1.0, order_count=1,
                              last_ordered_at=last))
    for server, last in servers.items():
        session.add(GuestFact(guest_id=guest.id, kind="server", value=server, org_id=org.id, label=server.upper(),
                              count=1, last_seen_at=last))
    for tag in spec.tags:
        session.add(GuestTag(org_id=org.id, guest_id=guest.id, tag=tag))
    if spec.score is not None:
        score = spec.score
        band = None if score.p_alive is None else str(churn_band([score.p_alive])[0])
        session.add(GuestScore(guest_id=guest.id, org_id=org.id, recency_score=3, frequency_score=3,
                               monetary_score=3, rfm_group=score.rfm_group, p_alive=score.p_alive,
                               expected_visits_90d=score.expected_visits_90d,
                               predicted_value_12m_cents=score.predicted_value_12m_cents, churn_band=band))


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    return a if b is None or a >= b else b
