"""Pacer: Toast's fixed-window limits, spacing, server feedback, thread safety (fake clock only)."""
import math
import threading
from collections import Counter

import httpx
import pytest

from portal.toast.pacing import DEFAULT, MENUS, ORDERS_BULK, FixedWindow, Pacer
from tests.toast.conftest import LOC_A, LOC_B, T0, FakeClock


class RecordingPacer(Pacer):
    """Records (kind, location, wall time) at the moment each request is counted, under the lock."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sent: list[tuple[str, str | None, float]] = []

    def _sent(self, kind, location):
        self.sent.append((kind, location, self.clock.time()))


def per_window(times, seconds):
    return Counter(math.floor(t / seconds) for t in times)


def test_fixed_window_counts_per_aligned_slice():
    window = FixedWindow(2, 1.0)
    window.hit(T0 + 0.1)
    window.hit(T0 + 0.2)
    assert window.wait(T0 + 0.5) == pytest.approx(0.5)
    assert window.wait(T0 + 1.0) == 0.0  # a new slice starts at the whole second


def test_global_limit_is_20_per_second(clock):
    pacer = RecordingPacer(clock)
    for _ in range(100):
        pacer.acquire()
    counts = per_window([t for _, _, t in pacer.sent], 1.0)
    assert max(counts.values()) == 20  # at the limit, never over it
    assert clock.time() - T0 == pytest.approx(4.0)  # 5 full windows: as fast as allowed


def test_global_limit_is_10000_per_15_minutes(clock):
    pacer = RecordingPacer(clock)
    for _ in range(10_050):
        pacer.acquire()
    times = [t for _, _, t in pacer.sent]
    assert max(per_window(times, 900.0).values()) == 10_000
    assert max(per_window(times, 1.0).values()) == 20
    assert times[9_999] < T0 + 900 <= times[10_000]  # request 10,001 waits for the next window


def test_20_per_second_is_counted_per_location(clock):
    pacer = RecordingPacer(clock)
    for _ in range(40):
        pacer.acquire(DEFAULT, LOC_A)
        pacer.acquire(DEFAULT, LOC_B)
    for location in (LOC_A, LOC_B):
        assert max(per_window([t for _, loc, t in pacer.sent if loc == location], 1.0).values()) == 20
    assert clock.time() - T0 == pytest.approx(1.0)  # 40 calls a second in all: each location has its own 20


def test_the_account_cap_holds_every_location_and_says_so(clock):
    pacer = Pacer(clock, account_per_15_minutes=30)
    for n in range(30):
        assert pacer.try_acquire(DEFAULT, (LOC_A, LOC_B, None)[n % 3]).delay == 0
        clock.sleep(1.0)
    slot = pacer.try_acquire(DEFAULT, "another-location")
    assert slot.account_wide and slot.delay == pytest.approx(900 - 30)
    spacing = Pacer(clock).try_acquire(ORDERS_BULK, LOC_A, min_spacing=5)
    assert spacing.delay == 0 and not Pacer(clock, account_per_15_minutes=30).try_acquire(DEFAULT, LOC_A).account_wide


def test_try_acquire_never_sleeps_and_counts_only_what_it_lets_go(clock):
    pacer = RecordingPacer(clock)
    assert pacer.try_acquire(ORDERS_BULK, LOC_A, min_spacing=5).delay == 0
    slot = pacer.try_acquire(ORDERS_BULK, LOC_A, min_spacing=5)
    assert slot.delay == pytest.approx(5.0) and not slot.account_wide
    assert clock.time() == T0 and len(pacer.sent) == 1


def test_orders_bulk_is_5_per_second_per_location(clock):
    pacer = RecordingPacer(clock)
    for _ in range(30):
        pacer.acquire(ORDERS_BULK, LOC_A)
        pacer.acquire(ORDERS_BULK, LOC_B)
    for location in (LOC_A, LOC_B):
        counts = per_window([t for _, loc, t in pacer.sent if loc == location], 1.0)
        assert max(counts.values()) == 5 and sum(counts.values()) == 30
    # Both locations share one clock: 10 per second overall, 6 windows.
    assert clock.time() - T0 == pytest.approx(5.0)


def test_menus_is_1_per_second_per_location_and_other_calls_are_not_held_back(clock):
    pacer = RecordingPacer(clock)
    for _ in range(3):
        pacer.acquire(MENUS, LOC_A)
    assert [t for *_, t in pacer.sent] == [T0, T0 + 1, T0 + 2]
    before = clock.time()
    pacer.acquire(DEFAULT, LOC_A)
    pacer.acquire(MENUS, LOC_B)
    assert clock.time() == before  # neither waits for LOC_A's menus window


def test_min_spacing_between_historical_calls(clock):
    pacer = Pacer(clock)
    stamps = []
    for _ in range(3):
        pacer.acquire(ORDERS_BULK, LOC_A, min_spacing=7.0)
        stamps.append(clock.monotonic())
    assert [b - a for a, b in zip(stamps, stamps[1:])] == [pytest.approx(7.0)] * 2
    before = clock.monotonic()
    pacer.acquire(ORDERS_BULK, LOC_B, min_spacing=7.0)
    assert clock.monotonic() == before  # spacing is per location


def test_remaining_zero_blocks_the_location_until_reset(clock):
    pacer = Pacer(clock)
    headers = httpx.Headers({"X-Toast-RateLimit-Remaining": "0", "X-Toast-RateLimit-Reset": str(int(T0 + 12))})
    pacer.observe(LOC_A, 200, headers)
    assert pacer.acquire(DEFAULT, LOC_B) == 0.0
    waited = pacer.acquire(DEFAULT, LOC_A)
    assert waited == pytest.approx(12.0) and clock.time() >= T0 + 12


def test_an_endpoint_limit_spent_holds_only_that_endpoint(clock):
    pacer = Pacer(clock)
    pacer.acquire(MENUS, LOC_A)
    headers = {"X-Toast-RateLimit-Remaining": "0", "X-Toast-RateLimit-Reset": str(int(T0 + 1)),
               "X-Toast-RateLimit-By": "ENDPOINT"}
    pacer.observe(LOC_A, 200, httpx.Headers(headers))
    assert pacer.acquire(DEFAULT, LOC_A) == 0.0  # the location's other calls go on
    assert pacer.acquire(MENUS, LOC_A) == pytest.approx(1.0)  # the menus window itself still holds


def test_remaining_above_zero_does_not_block(clock):
    pacer = Pacer(clock)
    pacer.observe(LOC_A, 200, {"X-Toast-RateLimit-Remaining": "3", "X-Toast-RateLimit-Reset": str(int(T0 + 12))})
    assert pacer.acquire(DEFAULT, LOC_A) == 0.0


def test_429_retry_after_blocks_the_location(clock):
    pacer = Pacer(clock)
    pacer.observe(LOC_A, 429, httpx.Headers({"retry-after": "5"}))
    assert pacer.acquire(DEFAULT, LOC_A) == pytest.approx(5.0)


def test_absurd_reset_is_capped(clock):
    pacer = Pacer(clock, max_server_wait=60)
    pacer.observe(None, 200, {"X-Toast-RateLimit-Remaining": "0", "X-Toast-RateLimit-Reset": str(int(T0 + 86_400))})
    assert pacer.acquire() == pytest.approx(60.0)


def test_threads_never_exceed_the_limit(clock):
    pacer = RecordingPacer(clock)

    def work():
        for _ in range(50):
            pacer.acquire(ORDERS_BULK, LOC_A)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counts = per_window([t for *_, t in pacer.sent], 1.0)
    assert sum(counts.values()) == 200
    assert max(counts.values()) <= 5


def test_default_pacer_uses_the_real_clock_without_sleeping_when_under_the_limit():
    pacer = Pacer()
    assert pacer.acquire() == 0.0


def test_fake_clock_only_moves_forward():
    clock = FakeClock()
    with pytest.raises(AssertionError):
        clock.sleep(-1)
