"""RedisPacer: two processes' clients of one Toast client share the limits (real Redis, real clock)."""
import pytest

from portal.toast.pacing import DEFAULT, ORDERS_BULK, SystemClock
from portal.toast.shared_pacing import RedisPacer

LOC, OTHER = "loc-a", "loc-b"


class SleepRecorder(SystemClock):
    def __init__(self):
        self.slept = 0.0

    def sleep(self, seconds):
        self.slept += seconds
        super().sleep(seconds)


def counters(redis_conn, pattern):
    return {key.decode(): int(redis_conn.get(key)) for key in redis_conn.scan_iter(pattern)}


def test_two_pacers_of_one_client_share_the_per_second_window(redis_conn):
    first, second = (RedisPacer(redis_conn, "host|client", per_second=3) for _ in range(2))
    for n in range(7):
        (first if n % 2 else second).acquire(DEFAULT, LOC)
    per_second = counters(redis_conn, f"toast-pacing:host|client:loc:{LOC}:1:*")
    assert sum(per_second.values()) == 7
    assert max(per_second.values()) == 3 and len(per_second) >= 3  # never 4 in one second: they waited
    assert sum(counters(redis_conn, "toast-pacing:host|client:account:900:*").values()) == 7


def test_the_per_second_limit_is_per_location_and_the_account_cap_is_shared(redis_conn):
    pacer = RedisPacer(redis_conn, "host|client", per_second=1, account_per_15_minutes=2)
    assert pacer.try_acquire(DEFAULT, LOC).delay == 0
    assert pacer.try_acquire(DEFAULT, OTHER).delay == 0  # another location's second is its own
    slot = RedisPacer(redis_conn, "host|client", account_per_15_minutes=2).try_acquire(DEFAULT, "loc-c")
    assert slot.account_wide and slot.delay > 0


def test_another_client_has_its_own_counters(redis_conn):
    RedisPacer(redis_conn, "host|one", per_second=1).acquire()
    clock = SleepRecorder()
    RedisPacer(redis_conn, "host|two", clock, per_second=1).acquire()
    assert clock.slept == 0


def test_a_retry_after_seen_by_one_process_holds_the_location_for_all(redis_conn):
    seen_by, clock = RedisPacer(redis_conn, "host|client"), SleepRecorder()
    other_process = RedisPacer(redis_conn, "host|client", clock)
    seen_by.observe(LOC, 429, {"Retry-After": "1"})
    other_process.acquire(DEFAULT, OTHER)
    assert clock.slept == 0  # another location is not held
    other_process.acquire(DEFAULT, LOC)
    assert clock.slept == pytest.approx(1.0, abs=0.15)


def test_history_spacing_holds_across_processes(redis_conn):
    clock = SleepRecorder()
    RedisPacer(redis_conn, "host|client").acquire(ORDERS_BULK, LOC, min_spacing=0.5)
    RedisPacer(redis_conn, "host|client", clock).acquire(ORDERS_BULK, LOC, min_spacing=0.5)
    assert clock.slept == pytest.approx(0.5, abs=0.1)
