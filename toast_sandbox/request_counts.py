"""What clients asked of each location, for benchmarks that check their own pacing against the server's view.

Counted after every API response: requests, ``/ordersBulk`` calls and 429 answers per location (the
``Toast-Restaurant-External-ID`` header; ``-`` for calls without one). Served by ``GET /sandbox/stats``.
"""
import threading
from collections import defaultdict

NO_LOCATION = "-"


class RequestCounts:
    """Thread-safe counters per location."""

    def __init__(self):
        self._counts: dict[str, dict[str, int]] = defaultdict(lambda: {"requests": 0, "ordersBulk": 0,
                                                                       "rateLimited": 0})
        self._lock = threading.Lock()

    def record(self, location: str | None, orders_bulk: bool, status: int) -> None:
        """Count one answered request."""
        with self._lock:
            counts = self._counts[location or NO_LOCATION]
            counts["requests"] += 1
            counts["ordersBulk"] += orders_bulk
            counts["rateLimited"] += status == 429

    def snapshot(self) -> dict[str, dict[str, int]]:
        """A copy of the counters: location GUID (or ``-``) -> {requests, ordersBulk, rateLimited}."""
        with self._lock:
            return {location: dict(counts) for location, counts in self._counts.items()}
