"""What the portal did and stored, read from its tables: its sync runs, its orders against what Toast (the
sandbox) holds (lost, doubled, stale, unknown), and the webhook events still waiting."""
from dataclasses import dataclass

from sqlalchemy import func, select

from portal.models import GuestOrder, Order, OrderCheck, SyncRun, WebhookEvent
from portal.models.sync import RUN_FINISHED

PENDING = "received"  # a stored webhook event's status until it is processed


@dataclass
class Comparison:
    """Orders Toast holds that the portal lacks (``lost``), holds in an older version than Toast's (``stale``),
    holds twice (``doubled``: rows of one order or of one check), or holds but Toast does not (``unknown``)."""
    expected: int
    stored: int
    lost: int
    stale: int
    doubled: int
    unknown: int

    @property
    def clean(self) -> bool:
        return not (self.lost or self.stale or self.doubled or self.unknown)


def stored_orders(conn, location_ids: list[int]) -> dict[int, dict[str, int]]:
    """location id -> {order GUID: modifiedDate in epoch ms} as the portal stored them."""
    stored: dict[int, dict[str, int]] = {location_id: {} for location_id in location_ids}
    rows = conn.execute(select(Order.location_id, Order.guid, Order.modified_at)
                        .where(Order.location_id.in_(location_ids)))
    for location_id, guid, modified in rows:
        stored[location_id][guid] = round(modified.timestamp() * 1000) if modified else 0
    return stored


def doubled_rows(conn) -> int:
    """Rows beyond the first of one order at one location, and of one check in one order."""
    doubled = 0
    for columns in ((Order.location_id, Order.guid), (OrderCheck.order_id, OrderCheck.guid)):
        counts = (select(func.count().label("n")).select_from(columns[0].class_).group_by(*columns)
                  .having(func.count() > 1).subquery())
        doubled += conn.execute(select(func.coalesce(func.sum(counts.c.n - 1), 0))).scalar()
    return doubled


def compare(conn, toast: dict[int, dict[str, int]], expected_from_ms: int, settled_before_ms: int) -> Comparison:
    """``toast``: location id -> {order GUID: modifiedDate ms} of every order Toast holds there. The portal must
    hold each one modified since ``expected_from_ms``, in Toast's version where that version is older than
    ``settled_before_ms`` (newer ones may still be on their way)."""
    stored = stored_orders(conn, list(toast))
    lost = stale = unknown = expected = 0
    for location_id, orders in toast.items():
        mine = stored[location_id]
        unknown += len(set(mine) - set(orders))
        for guid, modified in orders.items():
            if modified < expected_from_ms:
                continue
            expected += 1
            if guid not in mine:
                lost += 1
            elif mine[guid] < modified < settled_before_ms:
                stale += 1
    return Comparison(expected, sum(len(orders) for orders in stored.values()), lost, stale, doubled_rows(conn),
                      unknown)


def pending_events(conn) -> int:
    """Webhook events stored and not yet processed."""
    return conn.execute(select(func.count()).select_from(WebhookEvent)
                        .where(WebhookEvent.status == PENDING)).scalar()


def with_figures(conn, location_ids: list[int], order_guids: list[str]) -> set[str]:
    """Which of these orders already count in a guest's figures (a ``guest_orders`` row)."""
    if not order_guids:
        return set()
    rows = conn.execute(select(Order.guid).join(GuestOrder, GuestOrder.order_id == Order.id)
                        .where(Order.location_id.in_(location_ids), Order.guid.in_(order_guids)))
    return {guid for (guid,) in rows}


def receipts(conn, order_guids: list[str]) -> dict[str, float]:
    """Order GUID -> when the portal stored the first webhook event about it (epoch seconds)."""
    if not order_guids:
        return {}
    rows = conn.execute(select(WebhookEvent.order_guid, func.min(WebhookEvent.created_at))
                        .where(WebhookEvent.order_guid.in_(order_guids)).group_by(WebhookEvent.order_guid))
    return {guid: created.timestamp() for guid, created in rows if created is not None}


def sync_runs(engine) -> list[dict]:
    """Every sync run, times in epoch seconds (``finished`` None while it runs)."""
    with engine.connect() as conn:
        rows = conn.execute(select(SyncRun.location_id, SyncRun.kind, SyncRun.status, SyncRun.pages, SyncRun.orders,
                                   SyncRun.created_at, SyncRun.started_at, SyncRun.finished_at)).all()
    return [{"location_id": location_id, "kind": kind, "status": status, "pages": pages, "orders": orders,
             "created": created.timestamp(), "started": started.timestamp() if started else None,
             "finished": finished.timestamp() if finished and status in RUN_FINISHED else None}
            for location_id, kind, status, pages, orders, created, started, finished in rows]
