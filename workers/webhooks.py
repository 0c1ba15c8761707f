"""Processing stored Toast webhook events: the same newest-wins order upsert as the pollers.

Toast strips names, phones and addresses from webhook orders, so an order that carries a customer or a
delivery address is fetched again from ``GET /orders/v2/orders/{guid}`` before it is stored.
"""
import logging
from datetime import timedelta

from rq import Queue, Retry
from rq.exceptions import DuplicateJobError
from flask import current_app
from sqlalchemy import delete, select

from portal.extensions import db
from portal.models import Location, WebhookEvent
from portal.models.base import utcnow
from portal.queues import redis_connection
from portal.sync.clients import client_for
from portal.sync.store import store_orders
from portal.toast.decoding import decode_order_webhook

log = logging.getLogger("tablecloth.webhooks")


def enqueue_processing(event_id: int, org_id: int) -> None:
    try:
        Queue("sync", connection=redis_connection()).enqueue(
            process_webhook_job, event_id, job_id=f"webhook-{event_id}", unique=True, result_ttl=0,
            retry=Retry(max=3, interval=[10, 60, 300]), meta={"org_id": org_id},
        )
    except DuplicateJobError:
        pass  # already queued: nothing to add


def requeue_pending_events(older_than_seconds: int = 120) -> int:
    """Periodic: events stored but never processed (Redis was down at receipt, or all retries failed)
    are handed to a job again, so none is lost. Unique job ids keep a queued one from doubling."""
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    pending = db.session.execute(
        select(WebhookEvent.id, WebhookEvent.org_id)
        .where(WebhookEvent.status.in_(("received", "failed")), WebhookEvent.created_at < cutoff)
        .order_by(WebhookEvent.id).limit(5000)
    ).all()
    for event_id, org_id in pending:
        enqueue_processing(event_id, org_id)
    return len(pending)


def prune_finished_events(batch: int = 5000) -> int:
    """Periodic: delete events processed or ignored more than WEBHOOK_RETENTION_DAYS ago (Toast's retries
    of an event come within hours, so its GUID no longer needs to be remembered), a batch per transaction.
    Events that never finished are kept for the sweep and for support. Returns how many were deleted."""
    cutoff = utcnow() - timedelta(days=current_app.config["WEBHOOK_RETENTION_DAYS"])
    deleted = 0
    while True:
        ids = db.session.scalars(
            select(WebhookEvent.id)
            .where(WebhookEvent.status.in_(("processed", "ignored")), WebhookEvent.processed_at < cutoff)
            .order_by(WebhookEvent.id).limit(batch)
        ).all()
        if not ids:
            return deleted
        db.session.execute(delete(WebhookEvent).where(WebhookEvent.id.in_(ids)))
        db.session.commit()
        deleted += len(ids)


def process_webhook_job(event_id: int) -> None:
    event = db.session.get(WebhookEvent, event_id)
    if event is None or event.status == "processed":
        return
    try:
        _process(event)
    except Exception as exc:
        db.session.rollback()
        event.status, event.error = "failed", type(exc).__name__
        db.session.commit()
        raise
    finally:
        db.session.remove()


def _process(event: WebhookEvent) -> None:
    location = db.session.scalar(
        select(Location).where(Location.org_id == event.org_id, Location.guid == event.restaurant_guid)
    )
    order = decode_order_webhook(event.body.encode("utf-8")).details.order if location else None
    if location is None or order is None:
        event.status, event.processed_at = "ignored", utcnow()
        db.session.commit()
        return
    if _stripped(order):
        with client_for(location.connection) as client:
            order = client.order(location.guid, order.guid)
    result = store_orders(location, [order])
    event.status, event.processed_at, event.error = "processed", utcnow(), None
    location.last_synced_at = utcnow()
    db.session.commit()
    log.info("webhook event %s: %s order(s) written, %s stale", event.id, len(result.written), result.stale)


def _stripped(order) -> bool:
    return order.delivery_info is not None or any(check.customer is not None for check in order.checks)
