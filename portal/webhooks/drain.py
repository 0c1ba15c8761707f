"""One run over a connection's pending webhook events: batches read, fetched and stored as a pipeline.

Each batch's stripped orders are fetched in threads (``submit``), one task per location (Toast's rate limits apply per
location, so locations are fetched side by side while the client paces each), and the previous batch is stored
meanwhile, so the database work hides behind the fetches. A run stops reading batches once ``budget_s`` is spent.
It ends early only after a read from the first pending event found nothing due: an event whose id was taken
before others already read can commit after them, and must not be left behind.
"""
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, as_completed
from dataclasses import dataclass

from portal.extensions import db
from portal.models import CONNECTION_RECONNECT, ToastConnection
from portal.models.base import utcnow
from portal.toast.client import ToastClient
from portal.toast.errors import AuthError, FatalAPIError, PayloadError, ToastError
from portal.webhooks.batches import Batch, Fetched, LocationEvents, failure_reason, finish_unprocessable, read_batch, \
    store_location

log = logging.getLogger("tablecloth.webhooks")

RECONNECT_DELAY_S = 15 * 60.0  # events that need Toast wait this long while the connection needs reconnecting


@dataclass
class DrainResult:
    finished: int = 0  # events processed or ignored
    more: bool = False  # the budget ran out before a read found nothing: events may remain


def drain(connection: ToastConnection, client: ToastClient, submit: Callable[..., Future], *,
          before_read: Callable[[], None], budget_s: float, clock: Callable[[], float] = time.monotonic) -> DrainResult:
    """Process the connection's due pending events until none is left or the budget is spent.

    ``submit(function, *args)`` runs a fetch in a thread; ``before_read`` runs before every read (the lane clears
    its "pending" flag there). Raises OperationalError when the database is busy or gone (what was stored stays
    stored; the rest stays pending).
    """
    run = _Run(connection, client, submit)
    deadline = clock() + budget_s
    in_flight: tuple[Batch, dict] | None = None
    cursor = 0
    while True:
        batch = None
        if clock() < deadline:
            before_read()
            batch = read_batch(run.connection_id, run.org_id, after_id=cursor)
        fetches = run.start_fetches(batch) if batch else None
        if in_flight:
            run.finish(*in_flight)
        in_flight = (batch, fetches) if batch else None
        if batch:
            cursor = batch.last_id
        elif clock() >= deadline:
            return DrainResult(run.finished, more=True)
        elif cursor == 0:
            return DrainResult(run.finished)
        else:
            cursor = 0  # once more from the first pending event (see the module's docstring)


class _Run:
    def __init__(self, connection: ToastConnection, client: ToastClient, submit: Callable[..., Future]):
        self.client, self.submit = client, submit
        self.connection_id, self.org_id = connection.id, connection.org_id
        self.can_fetch = not connection.needs_reconnect
        self.finished = 0

    def start_fetches(self, batch: Batch) -> dict[int, Future | Fetched]:
        fetches: dict[int, Future | Fetched] = {}
        for index, group in enumerate(batch.locations):
            guids = group.to_fetch()
            if not guids:
                fetches[index] = Fetched()
            elif self.can_fetch:
                fetches[index] = self.submit(fetch_orders, self.client, group.location_guid, guids)
            else:
                fetches[index] = Fetched(deferred=guids, retry_after=RECONNECT_DELAY_S)
        return fetches

    def finish(self, batch: Batch, fetches: dict[int, Future | Fetched]) -> None:
        finish_unprocessable(batch)
        self.finished += len(batch.ignored)
        futures = {fetch: index for index, fetch in fetches.items() if isinstance(fetch, Future)}
        for index, fetch in fetches.items():
            if not isinstance(fetch, Future):
                self._store(batch.locations[index], fetch)
        for future in as_completed(futures):
            self._store(batch.locations[futures[future]], future.result())

    def _store(self, group: LocationEvents, fetched: Fetched) -> None:
        if fetched.refused and self.can_fetch:
            self.can_fetch = False
            connection = db.session.get(ToastConnection, self.connection_id)
            connection.status, connection.status_reason, connection.status_changed_at = (
                CONNECTION_RECONNECT, fetched.refused, utcnow())
            db.session.commit()
            log.warning("webhooks: Toast refused connection %s; events that need Toast wait for a reconnect",
                        self.connection_id)
        self.finished += store_location(group, fetched)


def fetch_orders(client: ToastClient, location_guid: str, order_guids: list[str]) -> Fetched:
    """``GET /orders/v2/orders/{guid}`` for each order of one location, in turn (the client paces them).

    A failure of one order (404, a body that does not decode) is that order's; transient trouble (429, 5xx,
    timeouts after the client's own retries) or refused access leaves this order and the rest for later.
    """
    fetched = Fetched()
    for index, guid in enumerate(order_guids):
        try:
            fetched.orders[guid] = client.order(location_guid, guid)
        except (FatalAPIError, PayloadError) as exc:
            fetched.failures[guid] = failure_reason(exc, "Toast's order")
        except AuthError as exc:
            fetched.deferred, fetched.retry_after, fetched.refused = order_guids[index:], RECONNECT_DELAY_S, exc.reason
            break
        except ToastError as exc:
            fetched.deferred, fetched.retry_after = order_guids[index:], getattr(exc, "retry_after", None)
            break
    return fetched
