"""Sync jobs: the configuration refresh (one job per location), and order pages (one short step job per page).

Order runs are tasks of the paced scheduler (``portal.sync.scheduler``): ``dispatch_due`` hands the due ones to
``order_step_job``s on the ``sync`` queue; each fetches and stores one page and tells the scheduler when the
location's next page may go. No job ever sleeps on Toast's pacing: while one location waits for its history
spacing, the workers serve other locations, webhooks and everything else.

Configuration retries (declared at enqueue) are only for transient Toast errors; an auth error puts the
connection in the "reconnect" state shown to the owner and fails every later run of it fast.
"""
import logging
import time
import uuid

from flask import current_app
from redis.exceptions import LockError
from rq import Queue, get_current_job
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from portal.errors import ConflictError
from portal.extensions import db
from portal.models import Location, SyncRun
from portal.models.base import utcnow
from portal.models.sync import RUN_FAILED, RUN_QUEUED, RUN_RUNNING, RUN_SUCCEEDED
from portal.queues import redis_connection
from portal.sync import config as config_sync
from portal.sync import orders, runs
from portal.sync.clients import client_for
from portal.sync.scheduler import Scheduler, Task
from portal.toast.errors import AuthError, RetryableAPIError, TokenBudgetExceeded
from workers import SYNC
from workers.models import fit_after_backfill

log = logging.getLogger("tablecloth.sync")

STEP_TIMEOUT = 120  # one page: a request (30 s timeout) and its store
DATABASE_BUSY_RETRY_S = 2.0


class ConnectionNeedsReconnect(RuntimeError):
    """The location's credentials were refused earlier; nothing is sent to Toast until the owner reconnects."""


# --- order pages ---------------------------------------------------------------------------------------------


def dispatch_due() -> int:
    """Queue a step job for every order task due now (fairly, up to the in-flight limit); returns how many."""
    tasks = runs.scheduler().dispatch()
    if tasks:
        queue = Queue(SYNC, connection=redis_connection())
        for task in tasks:
            queue.enqueue(order_step_job, task.org_id, task.location_id, job_id=f"sync-step-{uuid.uuid4().hex}",
                          job_timeout=STEP_TIMEOUT, result_ttl=0, failure_ttl=24 * 3600,
                          meta={"org_id": task.org_id, "location_id": task.location_id})
    return len(tasks)


def order_step_job(org_id: int, location_id: int) -> None:
    """Fetch and store the next order page of the location, then schedule its next one (or end its task)."""
    order_scheduler = runs.scheduler()
    serve(order_scheduler, Task(org_id, location_id))
    dispatch_due()  # the next pages go now, not at the dispatcher's next tick


def serve(order_scheduler: Scheduler, task: Task) -> orders.Step | None:
    """One step of a handed-out task, then its next due time; None when another step of it is running."""
    lock = redis_connection().lock(f"{order_scheduler.namespace}step:{task.location_id}",
                                   timeout=order_scheduler.lease_ms / 1000.0, blocking=False)
    if not lock.acquire():
        return None  # handed out twice (its lease ran out while it ran): the running step re-arms it
    try:
        step = run_order_step(task.location_id)
    finally:
        db.session.remove()
        try:
            lock.release()
        except LockError:
            pass  # it expired meanwhile: nothing left to release
    order_scheduler.finish(task, None if step.done else step.delay)
    if step.account_wide:
        order_scheduler.hold(task.org_id, step.delay)
    if step.completed == orders.BACKFILL:
        fit_after_backfill(task.location_id)  # once every location of the organization has its history
    return step


def serve_until_done(order_scheduler: Scheduler, report=None) -> None:
    """Serve every task of ``order_scheduler`` in this process until none is left (``flask toast sync
    --inline``): the same fair, paced order as the workers; this process has nothing else to do, so it waits
    for the next due page when none is due."""
    while True:
        tasks = order_scheduler.dispatch()
        for task in tasks:
            step = serve(order_scheduler, task)
            if report is not None and step is not None:
                report(task, step)
        if not tasks:
            wait = order_scheduler.seconds_until_due()
            if wait is None:
                return
            time.sleep(min(max(wait, 0.005), 1.0))


def run_order_step(location_id: int) -> orders.Step:
    """One page of the location's active order run; never raises (a failure ends or reschedules the run)."""
    location = db.session.get(Location, location_id)
    run = runs.active_order_run(location) if location is not None else None
    if run is None:
        return orders.Step(True)
    if not location.active:
        return orders.fail(location, run, RuntimeError("the location was disconnected"))
    config = current_app.config
    try:
        if location.connection.needs_reconnect:
            raise ConnectionNeedsReconnect("the Toast connection needs to be reconnected by an owner")
        with client_for(location.connection) as client:
            step = orders.step(client, location, run, spacing=config["TOAST_HISTORY_SPACING_S"],
                               fallback_days=config["TOAST_BACKFILL_DAYS"])
    except OperationalError as exc:  # the database was busy or dropped the connection: this page again shortly
        db.session.rollback()
        log.warning("order page of location %s: database error %s; retrying", location_id, type(exc).__name__)
        return orders.Step(False, DATABASE_BUSY_RETRY_S)
    except Exception as exc:  # fatal for this run: Toast refused, a bad payload, a paging error
        step = orders.fail(location, run, exc)
        log.warning("sync %s failed: org %s location %s run %s: %s", run.kind, run.org_id, location_id, run.id,
                    type(exc).__name__)
        return step
    if step.completed:
        log.info("sync %s done: org %s location %s run %s (%s pages)", run.kind, run.org_id, location_id, run.id,
                 run.pages)
    return step


# --- configuration -------------------------------------------------------------------------------------------


def refresh_config_job(location_id: int, run_id: int) -> None:
    run = db.session.get(SyncRun, run_id)
    location = db.session.get(Location, location_id)
    if run is None or location is None or run.org_id != location.org_id:
        log.warning("config job for location %s / run %s: rows gone or mismatched; skipped", location_id, run_id)
        return
    run.status, run.started_at, run.error = RUN_RUNNING, run.started_at or utcnow(), None
    db.session.commit()
    try:
        if location.connection.needs_reconnect:
            raise ConnectionNeedsReconnect("the Toast connection needs to be reconnected by an owner")
        guid, menus_last_updated = location.guid, location.menus_last_updated
        with client_for(location.connection) as client:
            db.session.commit()  # no transaction (on SQLite: the write lock) stays open while Toast is called
            fetched = config_sync.fetch_config(client, guid, menus_last_updated)
        config_sync.apply_config(location, fetched)
    except Exception as exc:
        _record_config_failure(location, run, exc)
        raise
    else:
        run.status, run.finished_at, run.progress = RUN_SUCCEEDED, utcnow(), "done"
        location.last_synced_at = utcnow()
        db.session.commit()
    finally:
        db.session.remove()


def _record_config_failure(location: Location, run: SyncRun, exc: Exception) -> None:
    db.session.rollback()
    transient = isinstance(exc, (RetryableAPIError, TokenBudgetExceeded, OperationalError))
    job = get_current_job()
    retrying = transient and job is not None and (job.retries_left or 0) > 0
    if not transient and job is not None:
        job.retries_left = 0  # fatal: retrying the same request cannot help
    if isinstance(exc, AuthError):
        location.connection.mark_reconnect(exc.reason)
    run.status = RUN_QUEUED if retrying else RUN_FAILED
    run.error = ("will retry: " if retrying else "") + orders.describe_error(exc)
    run.finished_at = None if retrying else utcnow()
    db.session.commit()
    log.warning("sync config failed: org %s location %s run %s: %s", run.org_id, location.id, run.id,
                type(exc).__name__)


# --- periodic ------------------------------------------------------------------------------------------------


def schedule_order_syncs() -> int:
    """Periodic (every 15 min): a poll per active location, or the resumed backfill where it never finished;
    order runs whose scheduler task was lost (Redis restarted empty) are scheduled again."""
    started = 0
    locations = _active_locations()
    runs.rearm_lost(locations)
    for location in locations:
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
