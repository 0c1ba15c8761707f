"""Client-side pacing for Toast's rate limits: one small object instead of sleeps spread around.

Limits (Toast developer guide, "Rate limiting"), all counted in fixed windows aligned on the clock
(09:00:00-09:00:01, 09:00:00-09:15:00), as Toast counts them:

* 20 requests per second and 10,000 per 15 minutes. Toast applies these per location (per IP without
  a location header); we apply them to the whole client, which is never more than Toast allows and
  also covers the undisclosed per-account limits of large partners.
* ``/ordersBulk``: 5 requests per second per location; ``/menus/v2/menus``: 1 per second per location.
* Historical ``/ordersBulk`` pulls: Toast asks for 5-10 s between calls; the caller passes the spacing.

Server feedback wins over our counters: ``X-Toast-RateLimit-Remaining: 0`` blocks the location until
``X-Toast-RateLimit-Reset`` (epoch seconds), and a 429's ``Retry-After`` blocks it for that long.
"""
from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping
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


class BasePacer:
    """Blocks (through the clock) until a request may be sent. Call ``acquire`` before each request and
    ``observe`` with each response. Subclasses keep the counters: in this process (``Pacer``) or in Redis,
    shared by every process of the deployment (``portal.toast.shared_pacing.RedisPacer``)."""

    def __init__(self, clock: Clock | None = None, *, per_second: int = 20, per_15_minutes: int = 10_000,
                 orders_bulk_per_second: int = 5, menus_per_second: int = 1, max_server_wait: float = 900.0):
        self.clock = clock or SystemClock()
        self.global_limits = ((per_second, 1.0), (per_15_minutes, 900.0))
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
            delay = self._take(kind, location, min_spacing)
            if delay <= 0:
                return waited
            delay = max(delay, _MIN_SLEEP)
            self.clock.sleep(delay)
            waited += delay

    def _take(self, kind: str, location: str | None, min_spacing: float) -> float:
        """Count the request and return 0 if it may go now, else the seconds to wait (nothing counted)."""
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
        if remaining is not None and remaining <= 0 and reset is not None:
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
        self._global = tuple(FixedWindow(limit, seconds) for limit, seconds in self.global_limits)
        self._endpoint_windows: dict[tuple[str, str | None], FixedWindow] = {}
        self._last_call: dict[tuple[str, str | None], float] = {}
        self._blocked_until: dict[str | None, float] = {}

    def _take(self, kind: str, location: str | None, min_spacing: float) -> float:
        with self._lock:
            delay = self._delay(kind, location, min_spacing)
            if delay <= 0:
                self._count(kind, location)
            return delay

    def _windows(self, kind: str, location: str | None) -> tuple[FixedWindow, ...]:
        limit = self.endpoint_limits.get(kind)
        if limit is None:
            return self._global
        window = self._endpoint_windows.get((kind, location))
        if window is None:
            window = self._endpoint_windows[(kind, location)] = FixedWindow(limit, 1.0)
        return (*self._global, window)

    def _delay(self, kind: str, location: str | None, min_spacing: float) -> float:
        now, mono = self.clock.time(), self.clock.monotonic()
        delay = self._blocked_until.get(location, mono) - mono
        last = self._last_call.get((kind, location))
        if min_spacing > 0 and last is not None:
            delay = max(delay, last + min_spacing - mono)
        return max(delay, *(window.wait(now) for window in self._windows(kind, location)))

    def _count(self, kind: str, location: str | None) -> None:
        now = self.clock.time()
        for window in self._windows(kind, location):
            window.hit(now)
        self._last_call[(kind, location)] = self.clock.monotonic()

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
