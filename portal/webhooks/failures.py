"""Webhook events given up on (poison events), for support and owners: read-only counts and latest reasons.

Reasons carry no guest data (``portal.webhooks.batches.failure_reason``), so they can be shown as they are.
"""
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import ToastConnection, WebhookEvent
from portal.models.sync import EVENT_FAILED

LATEST = 5


@dataclass
class FailedEvent:
    given_up_at: datetime | None
    order_guid: str | None
    attempts: int
    reason: str | None


@dataclass
class ConnectionFailures:
    count: int = 0
    latest: list[FailedEvent] = field(default_factory=list)  # newest first, at most LATEST


def failed_counts():
    """A subquery of (org_id, failed) for the organizations with failed events (outer-join it, coalesce to 0)."""
    return (
        select(WebhookEvent.org_id, func.count(WebhookEvent.id).label("failed"))
        .where(WebhookEvent.status == EVENT_FAILED)
        .group_by(WebhookEvent.org_id)
        .subquery()
    )


def connection_failures(connection: ToastConnection) -> ConnectionFailures:
    """How many of the connection's events were given up, and the latest of them with their reasons."""
    mine = (WebhookEvent.org_id == connection.org_id, WebhookEvent.connection_id == connection.id,
            WebhookEvent.status == EVENT_FAILED)
    count = db.session.scalar(select(func.count(WebhookEvent.id)).where(*mine))
    if not count:
        return ConnectionFailures()
    rows = db.session.execute(
        select(WebhookEvent.processed_at, WebhookEvent.order_guid, WebhookEvent.failed_attempts, WebhookEvent.error)
        .where(*mine).order_by(WebhookEvent.id.desc()).limit(LATEST)
    ).all()
    return ConnectionFailures(count, [FailedEvent(*row) for row in rows])
