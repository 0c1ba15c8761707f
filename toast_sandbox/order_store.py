"""Orders the sandbox has materialized, and the clock that moves them along their timelines.

A (location, business day) is generated the first time a query needs it, as of the store's current time:
orders opened by then are stored with their past events applied; later openings and events wait in one heap.
``advance`` moves time forward, opening orders and applying events in time order, and records each change in a
log (what the webhook sender reads). Mutations made through the API land in the same log.
"""
import heapq
import itertools
from dataclasses import dataclass
from datetime import date, timedelta

from toast_sandbox.generator import World
from toast_sandbox.generator_events import LATE_DAYS, Event, PlannedOrder
from toast_sandbox.order_events import apply_event
from toast_sandbox.randomness import HOUR_MS


@dataclass(slots=True)
class OrderMeta:
    """Bookkeeping for one stored order."""
    restaurant: int
    day: date
    modified_ms: int


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of the change log: order ``guid`` of location ``restaurant`` changed at ``at_ms``."""
    seq: int
    restaurant: int
    guid: str
    at_ms: int


class OrderStore:
    """Materialized orders of a ``World``; not thread-safe (``SandboxState`` holds the lock)."""

    def __init__(self, world: World, now_ms: int):
        self.world = world
        self.now_ms = now_ms
        self.orders: dict[str, dict] = {}
        self.meta: dict[str, OrderMeta] = {}
        self.days: dict[tuple[int, date], list[str]] = {}
        self.touched: set[str] = set()
        self.changes: list[Change] = []
        self._queue: list[tuple] = []
        self._seq = itertools.count()
        self._recent_hours: tuple[int, int] | None = None

    # -- materialization ---------------------------------------------------------------------------------------

    def ensure_day(self, index: int, day: date) -> None:
        """Generate (index, day) once, as of the current time."""
        key = (index, day)
        if key in self.days:
            return
        self.days[key] = []
        for planned in self.world.plan_day(index, day):
            self.schedule(index, day, planned)

    def schedule(self, index: int, day: date, planned: PlannedOrder, log: bool = False) -> None:
        """Store ``planned`` now if it is already visible, else queue its opening."""
        if planned.visible_ms <= self.now_ms:
            self._open(index, day, planned, log)
        else:
            heapq.heappush(self._queue, (planned.visible_ms, next(self._seq), "open", (index, day, planned)))

    def _open(self, index: int, day: date, planned: PlannedOrder, log: bool) -> None:
        self.orders[planned.guid] = planned.order
        self.meta[planned.guid] = OrderMeta(index, day, planned.visible_ms)
        self.days.setdefault((index, day), []).append(planned.guid)
        for event in planned.events:
            if event.at_ms <= self.now_ms:
                self._apply(planned.guid, event, log=False)
            else:
                heapq.heappush(self._queue, (event.at_ms, next(self._seq), "event", (planned.guid, event)))
        if log:
            self._log(planned.guid, planned.visible_ms)

    def ensure_recent(self, until_ms: int) -> None:
        """Materialize, as of now, every day that can change between now and ``until_ms``.

        Doing it before time moves means the changes in between are logged (and sent as webhooks). Business days
        turn at whole local hours, so within the same two UTC hours as the last call there is nothing new (a
        fleet's live sandbox calls this on every request).
        """
        hours = (self.now_ms // HOUR_MS, until_ms // HOUR_MS)
        if hours == self._recent_hours:
            return
        self._recent_hours = hours
        for index in range(len(self.world.restaurants)):
            today = self.world.business_day(index, self.now_ms)
            first = max(self.world.first_day, today - timedelta(days=LATE_DAYS + 1))
            last = self.world.business_day(index, until_ms)
            for offset in range((last - first).days + 1):
                self.ensure_day(index, first + timedelta(days=offset))

    def ensure_all(self, index: int) -> None:
        """Materialize the whole history of one location (for lookups by GUID)."""
        for day in self.world.history_days(index, self.now_ms):
            self.ensure_day(index, day)

    # -- time --------------------------------------------------------------------------------------------------

    def advance(self, new_now_ms: int) -> list[Change]:
        """Move time to ``new_now_ms``: open orders and apply events due by then, in time order."""
        if new_now_ms <= self.now_ms:
            return []
        self.ensure_recent(new_now_ms)
        start = len(self.changes)
        while self._queue and self._queue[0][0] <= new_now_ms:
            at_ms, _, kind, item = heapq.heappop(self._queue)
            self.now_ms = at_ms
            if kind == "open":
                self._open(*item, log=True)
            else:
                self._apply(*item, log=True)
        self.now_ms = new_now_ms
        return self.changes[start:]

    def mutate(self, guid: str, event: Event) -> bool:
        """Apply an API-requested change at ``event.at_ms``; True when the order changed."""
        changed = self._apply(guid, event, log=True)
        if changed:
            self.touched.add(guid)
        return changed

    def _apply(self, guid: str, event: Event, log: bool) -> bool:
        changed = apply_event(self.orders[guid], event)
        if changed:
            self.meta[guid].modified_ms = max(self.meta[guid].modified_ms, event.at_ms)
            if log:
                self._log(guid, event.at_ms)
        return changed

    def _log(self, guid: str, at_ms: int) -> None:
        self.changes.append(Change(len(self.changes), self.meta[guid].restaurant, guid, at_ms))

    # -- queries -----------------------------------------------------------------------------------------------

    def modified_between(self, index: int, start_ms: int, end_ms: int) -> list[dict]:
        """Orders of a location whose ``modifiedDate`` is in [start_ms, end_ms), oldest change first."""
        if start_ms > self.now_ms:
            return []
        guids = set(self.touched)
        for day in self.world.days_touching(index, start_ms, end_ms, self.now_ms):
            self.ensure_day(index, day)
            guids.update(self.days[(index, day)])
        hits = [guid for guid in guids
                if self.meta[guid].restaurant == index and start_ms <= self.meta[guid].modified_ms < end_ms]
        hits.sort(key=lambda guid: (self.meta[guid].modified_ms, guid))
        return [self.orders[guid] for guid in hits]

    def on_business_date(self, index: int, day: date) -> list[dict]:
        """Orders opened on business day ``day`` (Toast's ``businessDate`` mode)."""
        if day < self.world.first_day or day > self.world.business_day(index, self.now_ms):
            return []
        self.ensure_day(index, day)
        guids = sorted(self.days[(index, day)], key=lambda guid: (self.meta[guid].modified_ms, guid))
        return [self.orders[guid] for guid in guids]

    def find(self, index: int, guid: str) -> dict | None:
        """The order ``guid`` of location ``index``, materializing its history if needed."""
        if guid not in self.orders:
            self.ensure_all(index)
        if guid in self.orders and self.meta[guid].restaurant == index:
            return self.orders[guid]
        return None

    def next_activity_ms(self) -> int | None:
        """When the next queued opening or event happens (None if nothing is queued)."""
        return self._queue[0][0] if self._queue else None
