"""Sending a run's chunks several at a time while this thread stores each answer in order (its checkpoint)."""
from collections import deque
from concurrent.futures import ThreadPoolExecutor


def pipeline(items, send, apply, width: int) -> None:
    """``send(item)`` for each item on up to ``width`` threads (HTTP only: no database there), ``apply(item,
    answer)`` in order on this thread (which owns the session and checkpoints). Items are drawn lazily: planning
    and preparing the next one (its checkpoint) overlaps the requests in flight. ``items`` yields None when its next
    item waits for an answer: the oldest request in flight is then awaited and applied before it is asked again.
    The first error stops the rest and is raised."""
    with ThreadPoolExecutor(max_workers=width, thread_name_prefix="audience-send") as pool:
        in_flight = deque()
        try:
            for item in items:
                if item is None:
                    if in_flight:
                        done, future = in_flight.popleft()
                        apply(done, future.result())
                    continue
                # The item was prepared while ``width`` requests were in flight; it leaves as soon as the oldest
                # is answered, before that answer is applied.
                oldest = in_flight.popleft() if len(in_flight) >= width else None
                if oldest is not None:
                    oldest[1].result()
                in_flight.append((item, pool.submit(send, item)))
                if oldest is not None:
                    apply(oldest[0], oldest[1].result())
            while in_flight:
                done, future = in_flight.popleft()
                apply(done, future.result())
        finally:
            for _, future in in_flight:
                future.cancel()
