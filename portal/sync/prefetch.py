"""Run an iterator one step ahead in a thread, so Toast's paced network waits overlap the database writes."""
import queue
import threading
from collections.abc import Iterator

from flask import current_app

_DONE = object()


def prefetched(source: Iterator, depth: int = 1) -> Iterator:
    """Yield what ``source`` yields, producing up to ``depth`` items ahead in a thread with the app context.

    An exception raised by ``source`` is re-raised to the consumer at the point it was reached. When the
    consumer stops early, the producer stops at its next step.
    """
    app = current_app._get_current_object()
    items: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        with app.app_context():
            try:
                for item in source:
                    if not _put(items, ("item", item), stop):
                        return
                _put(items, ("done", _DONE), stop)
            except BaseException as exc:  # handed to the consumer, which decides
                _put(items, ("error", exc), stop)

    thread = threading.Thread(target=produce, name="toast-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = items.get()
            if kind == "done":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()


def _put(items: queue.Queue, entry, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            items.put(entry, timeout=0.2)
            return True
        except queue.Full:
            continue
    return False
