"""The sandbox world: restaurant groups, their locations, menus, staff, guests and (lazily) their orders.

``build_world`` is cheap (configuration, menus, guests and their visit schedule); orders are produced per
(location, business day) by ``World.plan_day`` only when something asks for that day. Everything is
deterministic for (seed, restaurants, days, now, group sizes, orders per day). One group by default; a fleet
(``group_sizes``) gives every group its own GUID, brand and guests.
"""
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from toast_sandbox.generator_events import LATE_DAYS, PlannedOrder
from toast_sandbox.generator_menus import MenuBundle, build_menu
from toast_sandbox.generator_orders import plan_day
from toast_sandbox.generator_people import Guest, build_guests
from toast_sandbox.generator_venues import Group, Restaurant, build_groups, build_restaurants
from toast_sandbox.randomness import DAY_MS, business_date, to_ms

# Guests keep arriving after "now": live traffic (advancing the sandbox clock) reveals their visits.
FUTURE_DAYS = 30
# Orders a location serves on an average day at the default volume (walk-ins plus guests' visits, measured).
BASELINE_ORDERS_PER_DAY = 53


@dataclass
class World:
    """Everything generated up front; ``plan_day`` derives orders on demand."""
    seed: int
    now_ms: int
    days: int
    first_day: date
    groups: list[Group]
    restaurants: list[Restaurant]
    menus: list[MenuBundle]
    guests: list[Guest]
    visits: dict[tuple[int, int], list[Guest]] = field(repr=False, default_factory=dict)
    # Scales walk-ins and guests alike: 1.0 is BASELINE_ORDERS_PER_DAY orders per location and day.
    volume: float = 1.0
    group_guests: list[list[Guest]] = field(repr=False, default_factory=list)
    _by_guid: dict[str, Restaurant] = field(init=False, repr=False)

    def __post_init__(self):
        self._by_guid = {restaurant.guid: restaurant for restaurant in self.restaurants}

    @property
    def group_guid(self) -> str:
        """The first management group's GUID (the only one outside a fleet)."""
        return self.groups[0].guid

    def group_by_guid(self, guid: str) -> Group | None:
        """The management group with this GUID, if any."""
        return next((group for group in self.groups if group.guid == guid), None)

    def guests_of(self, index: int) -> list[Guest]:
        """The guests of location ``index``'s group."""
        return self.group_guests[self.restaurants[index].group]

    def visits_on(self, index: int, day: date) -> list[Guest]:
        """Guests who visit location ``index`` on business day ``day``."""
        return self.visits.get((index, (day - self.first_day).days), [])

    def restaurant_by_guid(self, guid: str) -> Restaurant | None:
        """The location with this GUID, if any."""
        return self._by_guid.get(guid)

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


def build_world(seed: int = 1, restaurants: int = 3, days: int = 120, now: datetime | None = None, *,
                group_sizes: list[int] | None = None, orders_per_day: float | None = None) -> World:
    """Generate the world: one group of ``restaurants`` locations, or groups of ``group_sizes`` locations (which
    must add up to ``restaurants``); ``orders_per_day`` per location on an average day (default about
    BASELINE_ORDERS_PER_DAY). Raises ValueError for non-positive sizes, mismatched group sizes or a naive ``now``."""
    if restaurants < 1 or days < 1:
        raise ValueError("restaurants and days must be positive")
    sizes = list(group_sizes) if group_sizes else [restaurants]
    if sum(sizes) != restaurants:
        raise ValueError(f"group sizes add up to {sum(sizes)} locations, not {restaurants}")
    if orders_per_day is not None and orders_per_day <= 0:
        raise ValueError("orders per day must be positive")
    volume = 1.0 if orders_per_day is None else orders_per_day / BASELINE_ORDERS_PER_DAY
    now = now or default_now()
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now_ms = to_ms(now)
    first_day = now.astimezone(timezone.utc).date() - timedelta(days=days - 1)
    start_ms = to_ms(datetime(first_day.year, first_day.month, first_day.day, tzinfo=timezone.utc))
    groups = build_groups(seed, sizes)
    venues = build_restaurants(seed, groups, start_ms, now_ms)
    menus = [build_menu(seed, venue, max(start_ms, now_ms - (7 + venue.index) * DAY_MS) + 4321) for venue in venues]
    group_guests: list[list[Guest]] = []
    for group in groups:
        cities = [venues[index].city for index in group.restaurant_indexes]
        group_guests.append(build_guests(seed, cities, days, FUTURE_DAYS, group=group.index,
                                         first_restaurant=group.first,
                                         first_index=sum(len(guests) for guests in group_guests), volume=volume))
    guests = [guest for members in group_guests for guest in members]
    visits: dict[tuple[int, int], list[Guest]] = defaultdict(list)
    for guest in guests:
        for offset, index in guest.visits:
            visits[(index, offset)].append(guest)
    return World(seed=seed, now_ms=now_ms, days=days, first_day=first_day, groups=groups, restaurants=venues,
                 menus=menus, guests=guests, visits=dict(visits), volume=volume, group_guests=group_guests)
