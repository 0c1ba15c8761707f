"""Running the background work of a test in this process: real RQ jobs from a real Redis, and the order-page
scheduler's tasks dispatched as the workers' dispatcher thread does, until nothing is left."""
import time

from rq import Queue, SimpleWorker

from portal.extensions import db
from portal.jobs import QUEUES
from portal.sync.runs import scheduler
from portal.sync.steps import dispatch_due


def work(redis_conn, queues=QUEUES, timeout: float = 120.0) -> None:
    """Run every queued job and every scheduled order page, in this process, until all are done.

    Jobs start from a fresh session, as they do in a worker (not from the test's snapshot).
    """
    deadline = time.monotonic() + timeout
    order_scheduler = scheduler()
    while True:
        db.session.remove()
        dispatch_due()
        SimpleWorker([Queue(name, connection=redis_conn) for name in queues], connection=redis_conn).work(burst=True)
        wait = order_scheduler.seconds_until_due()
        if wait is None and not any(Queue(name, connection=redis_conn).count for name in queues):
            return
        assert time.monotonic() < deadline, "background work did not finish in time"
        time.sleep(min(wait or 0.0, 0.5))
