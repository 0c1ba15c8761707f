"""Webhook lane jobs (queue "webhooks"): one drain per Toast connection at a time (``portal.webhooks.lane``), and
the periodic sweep and retention."""
from rq import get_current_job

from portal.webhooks import lane


def drain_webhooks_job(connection_id: int, org_id: int) -> None:
    """Drain the connection's pending events (``portal.webhooks.lane.drain_connection``)."""
    lane.drain_connection(connection_id, org_id, get_current_job().id)


def requeue_pending_events() -> int:
    """Periodic (5 min): signal every connection whose due events were forgotten; returns how many."""
    return lane.requeue_pending_events()


def prune_finished_events() -> int:
    """Periodic (daily): delete events finished longer ago than WEBHOOK_RETENTION_DAYS; returns how many."""
    return lane.prune_finished_events()
