"""Toast-style fixed-window rate limits (DG:apiRateLimiting) with an injectable clock.

As Toast applies them: the global 20/s and 10,000/15 min per restaurant location when the request names one in
``Toast-Restaurant-External-ID``, per IP address otherwise; ``/ordersBulk`` 5/s per client per location and
``/menus`` 1/s per location. Toast may also give a large client an undisclosed account limit over all its
locations: ``account_per_15_minutes`` (off by default) plays it. Limits are checked global first, then account,
then endpoint; windows are fixed slices (09:00:00-09:00:01, 09:00:00-09:15:00). Every decision reports the most
constraining window so responses can carry ``X-Toast-RateLimit-By/-Remaining/-Reset``; a refusal also carries
``Retry-After``. Refused requests do not use up quota.
"""
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass

ENDPOINT_ORDERS_BULK = "ordersBulk"
ENDPOINT_MENUS = "menus"


@dataclass(frozen=True, slots=True)
class RateLimitConfig:
    """Limit values; ``enabled=False`` still counts and reports but never refuses."""
    enabled: bool = True
    global_per_second: int = 20
    global_per_15_minutes: int = 10_000
    orders_bulk_per_second: int = 5
    menus_per_second: int = 1
    account_per_15_minutes: int | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """Outcome of one request: allowed or not, and the header values."""
    allowed: bool
    limited_by: str
    remaining: int
    reset_epoch: int
    retry_after: int

    def headers(self) -> dict[str, str]:
        """The ``X-Toast-RateLimit-*`` headers (plus ``Retry-After`` when refused)."""
        headers = {"X-Toast-RateLimit-By": self.limited_by, "X-Toast-RateLimit-Remaining": str(self.remaining),
                   "X-Toast-RateLimit-Reset": str(self.reset_epoch)}
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


@dataclass(frozen=True, slots=True)
class _Window:
    label: str
    key: tuple
    limit: int
    seconds: int


class RateLimiter:
    """Counts requests per location (or IP address), per client over all its locations, and per endpoint."""

    def __init__(self, config: RateLimitConfig, clock: Callable[[], float]):
        self.config = config
        self.clock = clock
        self._counts: dict[tuple, int] = {}
        self._lock = threading.Lock()

    def hit(self, client: str | None, address: str, location: str | None, endpoint: str | None) -> Decision:
        """Count one request of ``client`` (None when unauthenticated) from ``address`` for ``location`` (the
        restaurant header, None without one) to ``endpoint``."""
        now = self.clock()
        windows = self._windows(client, address, location, endpoint)
        with self._lock:
            slots = [(window, self._slot(window, now)) for window in windows]
            blocked = next(((window, slot) for window, slot in slots
                            if self.config.enabled and self._counts.get(slot, 0) >= window.limit), None)
            if blocked is not None:
                window, slot = blocked
                reset = (slot[-1] + 1) * window.seconds
                return Decision(False, window.label, 0, math.ceil(reset), max(1, math.ceil(reset - now)))
            for _, slot in slots:
                self._counts[slot] = self._counts.get(slot, 0) + 1
            self._prune(now)
            window, slot = min(slots, key=lambda pair: pair[0].limit - self._counts[pair[1]])
            remaining = max(0, window.limit - self._counts[slot])
            return Decision(True, window.label, remaining, math.ceil((slot[-1] + 1) * window.seconds), 0)

    def _windows(self, client: str | None, address: str, location: str | None, endpoint: str | None) -> list[_Window]:
        config = self.config
        scope = ("location", location) if location else ("ip", address)
        windows = [_Window("GLOBAL", ("global", *scope), config.global_per_second, 1),
                   _Window("GLOBAL", ("global", *scope), config.global_per_15_minutes, 900)]
        if config.account_per_15_minutes and client:
            windows.append(_Window("GLOBAL,ACCOUNT", ("account", client), config.account_per_15_minutes, 900))
        if endpoint == ENDPOINT_ORDERS_BULK:
            windows.append(_Window("ENDPOINT", (endpoint, client or address, *scope), config.orders_bulk_per_second, 1))
        elif endpoint == ENDPOINT_MENUS:
            windows.append(_Window("ENDPOINT", (endpoint, *scope), config.menus_per_second, 1))
        return windows

    @staticmethod
    def _slot(window: _Window, now: float) -> tuple:
        return (*window.key, window.seconds, math.floor(now / window.seconds))

    def _prune(self, now: float) -> None:
        if len(self._counts) < 5000:
            return
        self._counts = {slot: count for slot, count in self._counts.items()
                        if slot[-1] >= math.floor(now / slot[-2]) - 1}
