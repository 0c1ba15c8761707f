"""Stored Toast webhook events processed in batches: the same newest-wins order upsert as the pollers.

A batch is up to BATCH_SIZE pending events of one connection, in id order, grouped by location and by order.
The events of one order are coalesced: the newest ``modifiedDate`` they carry is stored, or, when Toast stripped
its guest details (names, phones, addresses), the order is fetched once. Each location's orders are stored in one
transaction, together with marking their events processed.

An order that fails on its own (undecodable body, Toast 404 on the fetch, a store error) fails only its events:
they stay pending until ``retry_at`` and are given up ("failed", with a reason safe to show) after
MAX_EVENT_FAILURES attempts. Transient trouble (Toast 429/5xx and timeouts, a busy database) leaves events
pending without counting against them. Nothing here logs or stores guest data in a reason.
"""
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import case, literal, or_, select, update
from sqlalchemy.exc import OperationalError

from portal.extensions import db
from portal.models import Location, WebhookEvent
from portal.models.base import UTCDateTime, utcnow
from portal.models.sync import EVENT_FAILED, EVENT_IGNORED, EVENT_PENDING, EVENT_PROCESSED, MAX_EVENT_FAILURES
from portal.sync.store import store_orders
from portal.toast import models as toast
from portal.toast.decoding import decode_order_webhook
from portal.toast.errors import FatalAPIError, PayloadError

BATCH_SIZE = 500
RETRY_DELAY_S = 60.0  # before an event that failed (or met transient trouble) is tried again
# Orders per store transaction: a short hold of SQLite's write lock keeps webhook receipts (which wait for it) fast.
STORE_CHUNK = 50


@dataclass
class OrderEvents:
    """The events of one order in a batch and the newest version of the order they carry."""

    event_ids: list[int]
    newest: toast.Order

    @property
    def needs_fetch(self) -> bool:
        return stripped(self.newest)


@dataclass
class LocationEvents:
    location_id: int
    location_guid: str
    orders: dict[str, OrderEvents] = field(default_factory=dict)

    def to_fetch(self) -> list[str]:
        return [guid for guid, order in self.orders.items() if order.needs_fetch]


@dataclass
class Batch:
    last_id: int
    locations: list[LocationEvents]
    ignored: list[int]  # no order in the event, or a location the organization does not have
    undecodable: dict[int, str]  # event id -> reason


@dataclass
class Fetched:
    """What fetching a location's stripped orders gave: orders, per-order failures, and orders left for later
    (transient trouble, for ``retry_after`` seconds when known, or access refused: Toast's reason in ``refused``)."""

    orders: dict[str, toast.Order] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    deferred: list[str] = field(default_factory=list)
    retry_after: float | None = None
    refused: str | None = None


def stripped(order: toast.Order) -> bool:
    """Toast leaves names, phones and addresses out of webhooks: an order with a customer or a delivery address
    must be fetched again for them."""
    return order.delivery_info is not None or any(check.customer is not None for check in order.checks)


def read_batch(connection_id: int, org_id: int, after_id: int, limit: int = BATCH_SIZE) -> Batch | None:
    """The next due pending events after ``after_id``, decoded and coalesced; None when there are none.

    Ends its read transaction: nothing is held while the orders are fetched from Toast.
    """
    statement = (
        select(WebhookEvent.id, WebhookEvent.restaurant_guid, WebhookEvent.order_guid, WebhookEvent.body)
        .where(WebhookEvent.connection_id == connection_id, WebhookEvent.org_id == org_id,
               WebhookEvent.status == EVENT_PENDING, WebhookEvent.id > after_id,
               or_(WebhookEvent.retry_at.is_(None), WebhookEvent.retry_at <= utcnow()))
        .order_by(WebhookEvent.id).limit(limit)
        .execution_options(yield_per=100)  # bodies can be large: decode them a few at a time
    )
    last_id, ignored, undecodable = 0, [], {}
    by_restaurant: dict[str, dict[str, OrderEvents]] = {}
    for event_id, restaurant_guid, order_guid, body in db.session.execute(statement):
        last_id = event_id
        if not order_guid or not restaurant_guid:
            ignored.append(event_id)
            continue
        try:
            details = decode_order_webhook(body.encode("utf-8")).details
        except PayloadError as exc:
            undecodable[event_id] = failure_reason(exc, "the webhook body")
            continue
        if details is None or details.order is None:
            ignored.append(event_id)
            continue
        _coalesce(by_restaurant.setdefault(restaurant_guid, {}), order_guid, event_id, details.order)
    if not last_id:
        db.session.commit()
        return None
    locations = dict(db.session.execute(
        select(Location.guid, Location.id).where(Location.org_id == org_id, Location.guid.in_(list(by_restaurant)))
    ).all())
    db.session.commit()
    groups = []
    for restaurant_guid, orders in by_restaurant.items():
        if restaurant_guid in locations:
            groups.append(LocationEvents(locations[restaurant_guid], restaurant_guid, orders))
        else:
            ignored += [event_id for order in orders.values() for event_id in order.event_ids]
    return Batch(last_id, groups, ignored, undecodable)


def _coalesce(orders: dict[str, OrderEvents], guid: str, event_id: int, order: toast.Order) -> None:
    known = orders.get(guid)
    if known is None:
        orders[guid] = OrderEvents([event_id], order)
        return
    known.event_ids.append(event_id)
    if order.modified_date is not None and (known.newest.modified_date is None
                                            or order.modified_date >= known.newest.modified_date):
        known.newest = order


def finish_unprocessable(batch: Batch) -> None:
    """Mark the batch's events without an order of ours ignored, and count a failure on undecodable ones."""
    _mark(batch.ignored, EVENT_IGNORED)
    for event_id, reason in batch.undecodable.items():
        record_failures([event_id], reason)
    db.session.commit()


def store_location(group: LocationEvents, fetched: Fetched) -> int:
    """Store the group's orders (fetched ones in their fetched version) and mark their events processed, in
    transactions of STORE_CHUNK orders; returns how many events finished. If a transaction fails, its orders are
    stored one by one, so that only a failing order's events count a failure. Raises OperationalError (a busy or
    unreachable database: transient, nothing is counted) after rolling back.
    """
    ready = {guid: order.newest for guid, order in group.orders.items() if not order.needs_fetch}
    ready.update(fetched.orders)
    failures = dict(fetched.failures)
    guids = list(ready)
    for start in range(0, len(guids), STORE_CHUNK):
        chunk = {guid: ready[guid] for guid in guids[start:start + STORE_CHUNK]}
        try:
            _store(group, chunk)
        except OperationalError:
            db.session.rollback()
            raise
        except Exception:
            db.session.rollback()
            failures.update(_store_one_by_one(group, chunk))
    for guid, reason in failures.items():
        record_failures(group.orders[guid].event_ids, reason)
    later = utcnow() + timedelta(seconds=fetched.retry_after or RETRY_DELAY_S)
    defer([event_id for guid in fetched.deferred for event_id in group.orders[guid].event_ids], later)
    db.session.commit()
    return sum(len(group.orders[guid].event_ids) for guid in ready if guid not in failures)


def _store_one_by_one(group: LocationEvents, ready: dict[str, toast.Order]) -> dict[str, str]:
    failures = {}
    for guid, order in ready.items():
        try:
            _store(group, {guid: order})
        except OperationalError:
            db.session.rollback()
            raise
        except Exception as exc:
            db.session.rollback()
            failures[guid] = failure_reason(exc, "the order")
    return failures


def _store(group: LocationEvents, orders: dict[str, toast.Order]) -> None:
    if not orders:
        return
    location = db.session.get(Location, group.location_id)
    store_orders(location, list(orders.values()))
    _mark([event_id for guid in orders for event_id in group.orders[guid].event_ids], EVENT_PROCESSED)
    location.last_synced_at = utcnow()
    db.session.commit()


def _mark(event_ids: list[int], status: str) -> None:
    if event_ids:
        db.session.execute(update(WebhookEvent).where(WebhookEvent.id.in_(event_ids))
                           .values(status=status, processed_at=utcnow(), retry_at=None, error=None))


def record_failures(event_ids: list[int], reason: str) -> None:
    """Count a failed attempt on these events: pending again after RETRY_DELAY_S, or given up at the limit."""
    if not event_ids:
        return
    now, attempts = utcnow(), WebhookEvent.failed_attempts + 1
    gave_up = attempts >= MAX_EVENT_FAILURES
    db.session.execute(update(WebhookEvent).where(WebhookEvent.id.in_(event_ids)).values(
        failed_attempts=attempts, error=reason[:255],
        status=case((gave_up, EVENT_FAILED), else_=EVENT_PENDING),
        processed_at=case((gave_up, literal(now, UTCDateTime)), else_=None),
        retry_at=case((gave_up, None), else_=literal(now + timedelta(seconds=RETRY_DELAY_S), UTCDateTime)),
    ))


def defer(event_ids: list[int], until: datetime) -> None:
    """Leave these events pending until ``until`` without counting a failure (transient trouble)."""
    if event_ids:
        db.session.execute(update(WebhookEvent).where(WebhookEvent.id.in_(event_ids)).values(retry_at=until))


def next_retry_at(connection_id: int) -> datetime | None:
    """When the connection's earliest event left for later becomes due (None: none is waiting)."""
    moment = db.session.scalar(select(WebhookEvent.retry_at).where(
        WebhookEvent.connection_id == connection_id, WebhookEvent.status == EVENT_PENDING,
        WebhookEvent.retry_at.is_not(None)).order_by(WebhookEvent.retry_at).limit(1))
    db.session.commit()
    return moment


def failure_reason(exc: Exception, what: str) -> str:
    """A short reason support can read: the error's type and a message that carries no guest data (never the
    exception's own text, which for a database error can quote the row's values)."""
    if isinstance(exc, PayloadError):
        detail = f"{what} does not decode at {exc.path or 'its top level'}"
    elif isinstance(exc, FatalAPIError):
        detail = f"Toast answered HTTP {exc.status} to the order fetch"
    else:
        detail = f"{what} could not be stored"
    return f"{type(exc).__name__}: {detail}"
