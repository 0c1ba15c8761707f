"""The RQ worker class: ``rq worker-pool -w workers.worker.AppWorker webhooks sync default models`` (Procfile).

It builds the app once and runs every job in this process (no fork per job: order pages and webhook batches are
short, and a fork cost more than the work), inside the app context, so jobs use the same settings, database
and logging as the web process. Queues: ``webhooks`` is always looked at first; the others take turns, so a
large onboarding's order pages never hold back polls, configuration refreshes or model fits.

Each worker also runs the order-page dispatcher in a thread: it hands out scheduler tasks as they come due
(``portal.sync.steps.dispatch_due``), so a location's next page goes when Toast's pacing allows it, with no job
sleeping until then.
"""
import logging
import threading

from rq import SimpleWorker

from portal import create_app
from portal.extensions import db
from portal.jobs import WEBHOOKS
from portal.sync.runs import scheduler
from portal.sync.steps import dispatch_due

log = logging.getLogger("tablecloth.worker")

DISPATCH_TICK_S = (0.02, 0.25)  # the dispatcher wakes at the next due time, within these bounds


class AppWorker(SimpleWorker):
    def work(self, *args, **kwargs):
        self.app = create_app()
        stop = threading.Event()
        dispatcher = threading.Thread(target=self._dispatch_forever, args=(stop,), name="sync-dispatcher",
                                      daemon=True)
        with self.app.app_context():
            dispatcher.start()
            try:
                return super().work(*args, **kwargs)
            finally:
                stop.set()

    def _dispatch_forever(self, stop: threading.Event) -> None:
        low, high = DISPATCH_TICK_S
        with self.app.app_context():
            order_scheduler = scheduler()
            while not stop.is_set():
                try:
                    dispatch_due()
                    wait = order_scheduler.seconds_until_due()
                except Exception:  # noqa: BLE001 - Redis away for a moment: keep the thread, try again
                    log.warning("order dispatcher: Redis unavailable; retrying", exc_info=False)
                    wait = 1.0
                stop.wait(min(max(wait if wait is not None else high, low), high))

    def perform_job(self, job, queue):
        try:
            return super().perform_job(job, queue)
        finally:
            db.session.remove()  # no job leaves a transaction or stale rows to the next one in this process

    def reorder_queues(self, reference_queue):
        """``webhooks`` first, always; the other queues round-robin after each job."""
        first = [queue for queue in self._ordered_queues if queue.name == WEBHOOKS]
        rest = [queue for queue in self._ordered_queues if queue.name != WEBHOOKS]
        if reference_queue in rest:
            position = rest.index(reference_queue)
            rest = rest[position + 1:] + rest[:position + 1]
        self._ordered_queues = first + rest
