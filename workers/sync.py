"""Sync jobs. Each takes ids, reloads its rows, checks the organization, and records the outcome on its SyncRun.

Retries (declared at enqueue) are only for transient Toast errors; a fatal or auth error also cancels the
remaining retries, and an auth error puts the connection in the "reconnect" state shown to the owner.
"""
import logging
from collections.abc import Callable

from flask import current_app
from rq import get_current_job
from sqlalchemy import select

from portal.errors import ConflictError
from portal.extensions import db
from portal.models import CONNECTION_RECONNECT, Location, SyncRun
from portal.models.base import utcnow
from portal.models.sync import RUN_FAILED, RUN_QUEUED, RUN_RUNNING, RUN_SUCCEEDED
from portal.sync import config as config_sync
from portal.sync import orders as order_sync
from portal.sync import runs
from portal.sync.clients import client_for
from portal.toast.errors import AuthError, RetryableAPIError, TokenBudgetExceeded
from workers.models import fit_after_backfill

log = logging.getLogger("tablecloth.sync")


class ConnectionNeedsReconnect(RuntimeError):
    """The location's credentials were refused earlier; nothing is sent to Toast until the owner reconnects."""


def refresh_config_job(location_id: int, run_id: int) -> None:
    _run(location_id, run_id, lambda client, location, run: config_sync.refresh_config(client, location))


def backfill_job(location_id: int, run_id: int, days: int | None = None) -> None:
    depth = days or current_app.config.get("TOAST_BACKFILL_DAYS", 84)
    spacing = current_app.config.get("TOAST_HISTORY_SPACING_S", 5.0)
    _run(location_id, run_id, lambda client, location, run: order_sync.backfill(
        client, location, days=depth, spacing=spacing, progress=_progress(run)))
    # The history is in: fit the guest-value models (once every location of the organization has its history).
    fit_after_backfill(location_id)


def poll_job(location_id: int, run_id: int) -> None:
    fallback = current_app.config.get("TOAST_BACKFILL_DAYS", 84)
    _run(location_id, run_id, lambda client, location, run: order_sync.poll(
        client, location, progress=_progress(run), fallback_days=fallback))


def _progress(run: SyncRun) -> Callable[[str, int, int], None]:
    def report(message: str, pages: int, orders: int) -> None:
        run.progress, run.pages, run.orders = message[:255], pages, orders  # committed with the page's checkpoint
        log.info("sync %s run %s: %s (%s pages, %s orders)", run.kind, run.id, message, pages, orders)

    return report


def _run(location_id: int, run_id: int, work) -> None:
    run = db.session.get(SyncRun, run_id)
    location = db.session.get(Location, location_id)
    if run is None or location is None or run.org_id != location.org_id:
        log.warning("sync job for location %s / run %s: rows gone or mismatched; skipped", location_id, run_id)
        return
    log.info("sync %s started: org %s location %s run %s", run.kind, run.org_id, location.id, run.id)
    run.status, run.started_at, run.error = RUN_RUNNING, run.started_at or utcnow(), None
    db.session.commit()
    try:
        if location.connection.needs_reconnect:
            raise ConnectionNeedsReconnect("the Toast connection needs to be reconnected by an owner")
        with client_for(location.connection) as client:
            work(client, location, run)
    except Exception as exc:
        _record_failure(location, run, exc)
        raise
    else:
        run.status, run.finished_at = RUN_SUCCEEDED, utcnow()
        location.last_synced_at = utcnow()
        db.session.commit()
        log.info("sync %s done: org %s location %s run %s", run.kind, run.org_id, location.id, run.id)
    finally:
        db.session.remove()


def _record_failure(location: Location, run: SyncRun, exc: Exception) -> None:
    db.session.rollback()
    transient = isinstance(exc, (RetryableAPIError, TokenBudgetExceeded))
    job = get_current_job()
    retrying = transient and job is not None and (job.retries_left or 0) > 0
    if not transient and job is not None:
        job.retries_left = 0  # fatal: retrying the same request cannot help
    if isinstance(exc, AuthError):
        connection = location.connection
        connection.status, connection.status_reason, connection.status_changed_at = (
            CONNECTION_RECONNECT, exc.reason, utcnow())
    run.status = RUN_QUEUED if retrying else RUN_FAILED
    run.error = ("will retry: " if retrying else "") + _describe(exc)
    run.finished_at = None if retrying else utcnow()
    db.session.commit()
    log.warning("sync %s failed: org %s location %s run %s: %s", run.kind, run.org_id, location.id, run.id,
                type(exc).__name__)


def _describe(exc: Exception) -> str:
    if isinstance(exc, AuthError):
        return f"Toast refused access: {exc.reason}"
    return str(exc)[:1000] or type(exc).__name__


def schedule_order_syncs() -> int:
    """Periodic (every 15 min): a poll per active location, or the resumed backfill where it never finished."""
    started = 0
    for location in _active_locations():
        runs.fail_orphans(location)
        kind = runs.POLL if location.backfill_completed_at else runs.BACKFILL
        started += _try_start(location, kind)
    return started


def schedule_config_refresh() -> int:
    """Periodic (daily): configuration refresh of every active location."""
    return sum(_try_start(location, runs.CONFIG) for location in _active_locations())


def _active_locations() -> list[Location]:
    rows = db.session.scalars(select(Location).where(Location.active.is_(True)).order_by(Location.id)).all()
    return [location for location in rows if not location.connection.needs_reconnect]


def _try_start(location: Location, kind: str) -> int:
    try:
        runs.start(location, kind)
    except ConflictError:
        db.session.rollback()
        return 0
    return 1
