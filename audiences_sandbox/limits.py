"""Rate limits the sandboxes enforce, configurable so a benchmark's floor is meaningful and short.

Fixed windows per (key, bucket) as both vendors count them, a cap on simultaneous requests per key (Mailchimp: 10),
and injected 429s for tests. A refused request gets ``Retry-After`` (seconds until its window frees).
"""
import math
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from flask import jsonify, request


@dataclass
class Limits:
    windows: tuple[tuple[int, float], ...] = ()  # (requests, seconds) per key and bucket
    concurrent: int | None = None  # simultaneous requests per key
    latency: float = 0.0  # seconds each request takes (a slow network)
    inject_429: int = 0  # the next n requests are refused (tests)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _counts: dict = field(default_factory=dict, repr=False)
    _in_flight: dict = field(default_factory=dict, repr=False)

    def admit(self, key: str, bucket: str = "default") -> float | None:
        """Count a request; None when it may go, else the seconds to wait (nothing counted)."""
        now = time.time()
        with self._lock:
            if self.inject_429 > 0:
                self.inject_429 -= 1
                return 1.0
            waits = []
            for limit, seconds in self.windows:
                index = math.floor(now / seconds)
                if self._counts.get((key, bucket, seconds, index), 0) >= limit:
                    waits.append((index + 1) * seconds - now)
            if waits:
                return max(waits)
            for limit, seconds in self.windows:
                slot = (key, bucket, seconds, math.floor(now / seconds))
                self._counts[slot] = self._counts.get(slot, 0) + 1
            if len(self._counts) > 10_000:  # old windows
                self._counts = {k: v for k, v in self._counts.items() if k[3] >= math.floor(now / k[2]) - 1}
            return None

    def remaining(self, key: str, bucket: str = "default") -> tuple[int, int, float] | None:
        """(limit, remaining, seconds to reset) of the tightest window, for RateLimit-* headers."""
        if not self.windows:
            return None
        now = time.time()
        with self._lock:
            limit, seconds = self.windows[0]
            index = math.floor(now / seconds)
            used = self._counts.get((key, bucket, seconds, index), 0)
            return limit, max(0, limit - used), (index + 1) * seconds - now

    @contextmanager
    def connection(self, key: str):
        """Hold one of the key's simultaneous connections; yields False when all are taken."""
        with self._lock:
            busy = self._in_flight.get(key, 0)
            admitted = self.concurrent is None or busy < self.concurrent
            if admitted:
                self._in_flight[key] = busy + 1
        try:
            if admitted and self.latency:
                time.sleep(self.latency)
            yield admitted
        finally:
            if admitted:
                with self._lock:
                    self._in_flight[key] -= 1


def add_sandbox_routes(app, state, limits: Limits) -> None:
    """The routes tests and benches use on either sandbox: the requests it answered, and 429s on demand."""

    @app.get("/sandbox/requests")
    def sandbox_requests():
        with state.lock:
            return jsonify([{"method": m, "path": p, "status": s} for m, p, s in state.requests])

    @app.post("/sandbox/faults")
    def sandbox_faults():
        limits.inject_429 = int((request.get_json(silent=True) or {}).get("too_many_requests", 0))
        return jsonify({"too_many_requests": limits.inject_429})
