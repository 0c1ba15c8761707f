"""The sandbox world: one restaurant group, its locations, menus, staff, guests and (lazily) their orders.

``build_world`` is cheap (configuration, menus, guests and their visit schedule); orders are produced per
(location, business day) by ``World.plan_day`` only when something asks for that day. Everything is
deterministic for (seed, restaurants, days, now).
"""
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from portal.toast.sandbox.generator_events import LATE_DAYS, PlannedOrder
from portal.toast.sandbox.generator_menus import MenuBundle, build_menu
from portal.toast.sandbox.generator_orders import plan_day
from portal.toast.sandbox.generator_people import Guest, build_guests
from portal.toast.sandbox.generator_venues import Restaurant, build_group_guid, build_restaurants
from portal.toast.sandbox.randomness import DAY_MS, business_date, to_ms

# Guests keep arriving after "now": live traffic (advancing the sandbox clock) reveals their visits.
FUTURE_DAYS = 30


@dataclass
class World:
    """Everything generated up front; ``plan_day`` derives orders on demand."""
    seed: int
    now_ms: int
    days: int
    first_day: date
    group_guid: str
    restaurants: list[Restaurant]
    menus: list[MenuBundle]
    guests: list[Guest]
    visits: dict[tuple[int, int], list[Guest]] = field(repr=False, default_factory=dict)

    def visits_on(self, index: int, day: date) -> list[Guest]:
        """Guests who visit location ``index`` on business day ``day``."""
        return self.visits.get((index, (day - self.first_day).days), [])

    def restaurant_by_guid(self, guid: str) -> Restaurant | None:
        """The location with this GUID, if any."""
        return next((restaurant for restaurant in self.restaurants if restaurant.guid == guid), None)

    def business_day(self, index: int, moment_ms: int) -> date:
        """Business date of an instant at location ``index``."""
        restaurant = self.restaurants[index]
        return business_date(moment_ms, restaurant.tz, restaurant.closeout_hour)

    def days_touching(self, index: int, start_ms: int, end_ms: int, now_ms: int) -> list[date]:
        """Business days whose orders may have been modified within [start_ms, end_ms), up to ``now_ms``.

        An order of day D is modified between D's opening and ``LATE_DAYS`` after D's closeout.
        """
        first = max(self.first_day, self.business_day(index, start_ms) - timedelta(days=LATE_DAYS + 1))
        last = self.business_day(index, min(end_ms, now_ms))
        return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]

    def history_days(self, index: int, now_ms: int) -> list[date]:
        """Every business day of location ``index`` from the first day of history up to ``now_ms``."""
        last = self.business_day(index, now_ms)
        return [self.first_day + timedelta(days=offset) for offset in range((last - self.first_day).days + 1)]

    def plan_day(self, index: int, day: date) -> list[PlannedOrder]:
        """All orders of location ``index`` on ``day`` (opened or not yet), with their event timelines."""
        return plan_day(self, index, day)


def default_now() -> datetime:
    """The current time truncated to the hour (UTC)."""
    return datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)


def build_world(seed: int = 1, restaurants: int = 3, days: int = 120, now: datetime | None = None) -> World:
    """Generate the group. Raises ValueError for non-positive sizes or a naive ``now``."""
    if restaurants < 1 or days < 1:
        raise ValueError("restaurants and days must be positive")
    now = now or default_now()
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now_ms = to_ms(now)
    first_day = now.astimezone(timezone.utc).date() - timedelta(days=days - 1)
    start_ms = to_ms(datetime(first_day.year, first_day.month, first_day.day, tzinfo=timezone.utc))
    venues = build_restaurants(seed, restaurants, start_ms, now_ms)
    menus = [build_menu(seed, venue, max(start_ms, now_ms - (7 + venue.index) * DAY_MS) + 4321) for venue in venues]
    guests = build_guests(seed, [venue.city for venue in venues], days, FUTURE_DAYS)
    visits: dict[tuple[int, int], list[Guest]] = defaultdict(list)
    for guest in guests:
        for offset, index in guest.visits:
            visits[(index, offset)].append(guest)
    return World(seed=seed, now_ms=now_ms, days=days, first_day=first_day, group_guid=build_group_guid(seed),
                 restaurants=venues, menus=menus, guests=guests, visits=dict(visits))
