"""Client-side pacing for Toast's rate limits: one small object instead of sleeps spread around.

Limits (Toast developer guide, "Rate limiting"), all counted in fixed windows aligned on the clock
(09:00:00-09:00:01, 09:00:00-09:15:00), as Toast counts them:

* 20 requests per second and 10,000 per 15 minutes, counted per location (the
  ``Toast-Restaurant-External-ID`` header; calls without it share one bucket, as Toast counts them per IP).
* An account cap over all locations of the client (default 10,000 per 15 minutes): Toast may apply
  undisclosed account limits to large partners, and this keeps a 1,000-location onboarding polite.
* ``/ordersBulk``: 5 requests per second per location; ``/menus/v2/menus``: 1 per second per location.
* Historical ``/ordersBulk`` pulls: Toast asks for 5-10 s between calls; the caller passes the spacing.

``acquire`` waits (for a job making a handful of calls); ``try_acquire`` never waits: it counts the call
and returns 0, or returns how long to wait and whether the whole client is held (the account cap), so
the sync scheduler can serve another location meanwhile.

Server feedback wins over our counters: ``X-Toast-RateLimit-Remaining: 0`` blocks the location until
``X-Toast-RateLimit-Reset`` (epoch seconds), and a 429's ``Retry-After`` blocks it for that long.
"""
from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from portal.toast.errors import parse_retry_after

DEFAULT = "default"
ORDERS_BULK = "ordersBulk"
MENUS = "menus"

# Never sleep less than this: a shorter fake-clock step can vanish in float rounding of epoch
# seconds (~2e-7 at today's values) and the wait loop would spin.
_MIN_SLEEP = 0.001


class Clock(Protocol):
    """Time source and sleeper; tests inject a fake one so nothing really sleeps."""

    def monotonic(self) -> float: ...

    def time(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class FixedWindow:
    """At most ``limit`` hits per ``seconds``-long slice of wall-clock time aligned on the epoch."""

    __slots__ = ("limit", "seconds", "_index", "_count")

    def __init__(self, limit: int, seconds: float):
        self.limit = limit
        self.seconds = seconds
        self._index = -1
        self._count = 0

    def wait(self, now: float) -> float:
        """Seconds until one more hit fits (0 when it fits now)."""
        index = math.floor(now / self.seconds)
        if index != self._index or self._count < self.limit:
            return 0.0
        return (index + 1) * self.seconds - now

    def hit(self, now: float) -> None:
        index = math.floor(now / self.seconds)
        if index != self._index:
            self._index, self._count = index, 0
        self._count += 1


@dataclass(frozen=True)
class Slot:
    delay: float = 0.0
    account_wide: bool = False


class BasePacer:
    """Blocks (through the clock) until a request may be sent. Call ``acquire`` before each request and
    ``observe`` with each response. Subclasses keep the counters: in this process (``Pacer``) or in Redis,
    shared by every process of the deployment (``portal.toast.shared_pacing.RedisPacer``)."""

    def __init__(self, clock: Clock | None = None, *, per_second: int = 20, per_15_minutes: int = 10_000,
                 account_per_15_minutes: int = 10_000, orders_bulk_per_second: int = 5, menus_per_second: int = 1,
                 max_server_wait: float = 900.0):
        self.clock = clock or SystemClock()
        self.location_limits = ((per_second, 1.0), (per_15_minutes, 900.0))
        self.account_limit = (account_per_15_minutes, 900.0)
        self.endpoint_limits = {ORDERS_BULK: orders_bulk_per_second, MENUS: menus_per_second}
        # A garbage Reset header must not park a worker for days.
        self.max_server_wait = max_server_wait

    def acquire(self, kind: str = DEFAULT, location: str | None = None, *, min_spacing: float = 0.0) -> float:
        """Wait until a ``kind`` request for ``location`` may go, count it, return the seconds waited.

        ``min_spacing`` is the minimum time since the previous ``kind`` call for that location
        (historical ordersBulk pulls pass 5-10 s).
        """
        waited = 0.0
        while True:
            delay = self.try_acquire(kind, location, min_spacing=min_spacing).delay
            if delay <= 0:
                return waited
            delay = max(delay, _MIN_SLEEP)
            self.clock.sleep(delay)
            waited += delay

    def try_acquire(self, kind: str = DEFAULT, location: str | None = None, *, min_spacing: float = 0.0) -> Slot:
        """Count the request and return a slot with ``delay`` 0 if it may go now; else (nothing counted) the
        seconds to wait, with ``account_wide`` when the client's account cap holds every location."""
        raise NotImplementedError

    def defer(self, location: str | None, seconds: float) -> None:
        """Send nothing for ``location`` (None: calls without a location header) for ``seconds``."""
        raise NotImplementedError

    def observe(self, location: str | None, status: int, headers: Mapping[str, str]) -> None:
        """Honour Toast's rate-limit headers from one response for ``location``.

        ``headers`` should be case-insensitive (``httpx.Headers``) or use Toast's spelling.
        """
        now = self.clock.time()
        wait = 0.0
        remaining = _number(headers.get("X-Toast-RateLimit-Remaining"))
        reset = _number(headers.get("X-Toast-RateLimit-Reset"))
        # An endpoint's own limit spent (menus: 1/s) holds that endpoint, which its window here counts already,
        # not the location's other calls.
        endpoint_only = (headers.get("X-Toast-RateLimit-By") or "").strip().upper() == "ENDPOINT"
        if remaining is not None and remaining <= 0 and reset is not None and not endpoint_only:
            if reset > 1e11:  # milliseconds, though the docs say seconds
                reset /= 1000.0
            wait = reset - now
        if status == 429:
            wait = max(wait, parse_retry_after(headers.get("Retry-After"), now) or 0.0)
        if wait > 0:
            self.defer(location, wait)


class Pacer(BasePacer):
    """Counters in this process (thread-safe): one client, or tests with a fake clock."""

    def __init__(self, clock: Clock | None = None, **limits):
        super().__init__(clock, **limits)
        self._lock = threading.Lock()
        self._account = FixedWindow(*self.account_limit)
        self._location_windows: dict[str | None, tuple[FixedWindow, ...]] = {}
        self._endpoint_windows: dict[tuple[str, str | None], FixedWindow] = {}
        self._last_call: dict[tuple[str, str | None], float] = {}
        self._blocked_until: dict[str | None, float] = {}

    def try_acquire(self, kind: str = DEFAULT, location: str | None = None, *, min_spacing: float = 0.0) -> Slot:
        with self._lock:
            now, mono = self.clock.time(), self.clock.monotonic()
            account = self._account.wait(now)
            delay = max(account, self._blocked_until.get(location, mono) - mono)
            last = self._last_call.get((kind, location))
            if min_spacing > 0 and last is not None:
                delay = max(delay, last + min_spacing - mono)
            windows = self._windows(kind, location)
            delay = max(delay, *(window.wait(now) for window in windows))
            if delay > 0:
                return Slot(delay, account_wide=account > 0 and account >= delay)
            for window in (self._account, *windows):
                window.hit(now)
            self._last_call[(kind, location)] = mono
            self._sent(kind, location)
            return Slot()

    def _sent(self, kind: str, location: str | None) -> None:
        """Hook called under the lock for every counted request (tests record them)."""

    def _windows(self, kind: str, location: str | None) -> tuple[FixedWindow, ...]:
        windows = self._location_windows.get(location)
        if windows is None:
            windows = self._location_windows[location] = tuple(FixedWindow(*limit) for limit in self.location_limits)
        limit = self.endpoint_limits.get(kind)
        if limit is None:
            return windows
        window = self._endpoint_windows.get((kind, location))
        if window is None:
            window = self._endpoint_windows[(kind, location)] = FixedWindow(limit, 1.0)
        return (*windows, window)

    def defer(self, location: str | None, seconds: float) -> None:
        seconds = min(seconds, self.max_server_wait)
        with self._lock:
            until = self.clock.monotonic() + seconds
            self._blocked_until[location] = max(self._blocked_until.get(location, until), until)


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
