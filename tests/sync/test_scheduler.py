"""The order-page scheduler with a fake clock (real Redis): locations interleave within Toast's pacing, each
location keeps its history spacing, the account cap holds a whole organization, Retry-After holds one location,
organizations take turns, and a dead worker's page is handed out again."""
from collections import Counter, defaultdict

import pytest

from portal.sync.scheduler import Scheduler, Task
from portal.toast.pacing import ORDERS_BULK, Pacer
from tests.toast.conftest import FakeClock

SPACING = 5.0


@pytest.fixture
def clock():
    return FakeClock()


def make_scheduler(redis_conn, clock, **options) -> Scheduler:
    return Scheduler(redis_conn, namespace="test-sync", clock=clock, **options)


class RecordingPacer(Pacer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sent: list[tuple[str, float]] = []

    def _sent(self, kind, location):
        self.sent.append((location, self.clock.time()))


def simulate(scheduler: Scheduler, pacer: RecordingPacer, pages: dict[Task, int], clock: FakeClock,
             step_seconds: float = 0.0) -> dict[Task, float]:
    """Workers as the scheduler drives them: each handed-out task tries Toast's pacing; a page goes, or the task
    comes back when the pacing allows. Time only moves when nothing is due (workers never sleep otherwise).
    Returns when each task's last page was fetched."""
    left, finished = dict(pages), {}
    for task in pages:
        scheduler.arm(task)
    while left:
        tasks = scheduler.dispatch()
        if not tasks:
            wait = scheduler.seconds_until_due()
            assert wait is not None, "tasks were lost"
            clock.advance(max(wait, 0.001))
            continue
        for task in tasks:
            slot = pacer.try_acquire(ORDERS_BULK, str(task.location_id), min_spacing=SPACING)
            if slot.delay > 0:
                scheduler.finish(task, slot.delay)
                if slot.account_wide:
                    scheduler.hold(task.org_id, slot.delay)
                continue
            clock.advance(step_seconds)  # storing the page
            left[task] -= 1
            if left[task] == 0:
                finished[task] = clock.time()
                del left[task]
                scheduler.finish(task, None)
            else:
                scheduler.finish(task, SPACING - step_seconds)
    return finished


def test_locations_progress_side_by_side_each_at_its_history_spacing(redis_conn, clock):
    scheduler, pacer = make_scheduler(redis_conn, clock), RecordingPacer(clock)
    tasks = {Task(1, location): 6 for location in range(1, 21)}
    start = clock.time()
    finished = simulate(scheduler, pacer, tasks, clock)
    assert max(finished.values()) - start == pytest.approx(5 * SPACING, abs=0.05)  # the floor: 6 pages, 5 gaps
    by_location = defaultdict(list)
    for location, moment in pacer.sent:
        by_location[location].append(moment)
    assert all(len(times) == 6 for times in by_location.values())
    gaps = [b - a for times in by_location.values() for a, b in zip(times, times[1:])]
    assert min(gaps) >= SPACING - 1e-6  # never closer than the spacing
    assert scheduler.seconds_until_due() is None and scheduler.in_flight_count() == 0


def test_the_account_cap_holds_the_organization_and_nothing_is_sent_over_it(redis_conn, clock):
    scheduler = make_scheduler(redis_conn, clock)
    pacer = RecordingPacer(clock, account_per_15_minutes=30)
    tasks = {Task(1, location): 4 for location in range(1, 11)}  # 40 pages, 30 allowed per 15 minutes
    start = clock.time()
    finished = simulate(scheduler, pacer, tasks, clock)
    per_window = Counter(int(moment // 900) for _, moment in pacer.sent)
    assert max(per_window.values()) == 30 and sum(per_window.values()) == 40
    next_window = (start // 900 + 1) * 900
    assert next_window <= max(finished.values()) < next_window + 4 * SPACING


def test_a_small_organization_is_not_held_behind_a_large_one(redis_conn, clock):
    scheduler = make_scheduler(redis_conn, clock, in_flight=4)
    pacer = RecordingPacer(clock)
    large = {Task(1, location): 3 for location in range(1, 201)}
    small = {Task(2, location): 3 for location in range(1001, 1004)}
    first_round = []
    for task in {**large, **small}:
        scheduler.arm(task)
    first_round = scheduler.dispatch()
    assert [task.org_id for task in first_round].count(2) == 2  # turns: large, small, large, small
    scheduler.clear()
    finished = simulate(scheduler, pacer, {**large, **small}, clock, step_seconds=0.01)
    start = min(moment for _, moment in pacer.sent)
    small_done = max(finished[task] for task in small) - start
    # Its own floor is 2 x spacing; the 600 pages of the large group would make it wait several seconds in line.
    assert small_done < 2 * SPACING * 1.1


def test_retry_after_holds_only_that_location(redis_conn, clock):
    scheduler, pacer = make_scheduler(redis_conn, clock), RecordingPacer(clock)
    pacer.observe("1", 429, {"Retry-After": "30"})
    start = clock.time()
    finished = simulate(scheduler, pacer, {Task(1, 1): 2, Task(1, 2): 2}, clock)
    assert finished[Task(1, 1)] - start == pytest.approx(30 + SPACING, abs=0.05)  # waited out Retry-After
    assert finished[Task(1, 2)] - start == pytest.approx(SPACING, abs=0.05)  # not held by it


def test_a_handed_out_page_whose_worker_died_is_handed_out_again_after_its_lease(redis_conn, clock):
    scheduler = make_scheduler(redis_conn, clock, lease_seconds=60)
    task = Task(3, 7)
    scheduler.arm(task)
    assert scheduler.dispatch() == [task]
    assert scheduler.dispatch() == [] and scheduler.scheduled(task)  # leased: not handed out twice
    clock.advance(59)
    assert scheduler.dispatch() == []
    clock.advance(2)
    assert scheduler.dispatch() == [task]
    scheduler.finish(task, None)
    assert not scheduler.scheduled(task) and scheduler.seconds_until_due() is None


def test_in_flight_limit_and_hold(redis_conn, clock):
    scheduler = make_scheduler(redis_conn, clock, in_flight=2)
    for location in range(1, 6):
        scheduler.arm(Task(1, location))
    scheduler.arm(Task(2, 50))
    scheduler.hold(2, 10)
    handed = scheduler.dispatch()
    assert len(handed) == 2 and {task.org_id for task in handed} == {1}  # organization 2 is held
    assert scheduler.dispatch() == []  # two in flight already
    for task in handed:
        scheduler.finish(task, 100)
    clock.advance(10)
    assert Task(2, 50) in scheduler.dispatch()
