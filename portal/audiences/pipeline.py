"""Sending a run's chunks several at a time while this thread stores each answer in order (its checkpoint)."""
from collections import deque
from concurrent.futures import ThreadPoolExecutor


def pipeline(items, send, apply, width: int) -> None:
    """``send(item)`` for each item on up to ``width`` threads (HTTP only: no database there), ``apply(item,
    answer)`` in order on this thread (which owns the session and checkpoints). Items are drawn lazily, so preparing
    the next one (its checkpoint) overlaps the requests in flight; the first error stops the rest and is raised."""
    with ThreadPoolExecutor(max_workers=width, thread_name_prefix="audience-send") as pool:
        in_flight = deque()
        try:
            for item in items:
                in_flight.append((item, pool.submit(send, item)))
                if len(in_flight) >= width:
                    done, future = in_flight.popleft()
                    apply(done, future.result())
            while in_flight:
                done, future = in_flight.popleft()
                apply(done, future.result())
        finally:
            for _, future in in_flight:
                future.cancel()
