"""Order pages, one step at a time: the engine behind the paced scheduler (``portal.sync.scheduler``).

``dispatch_due`` hands the due tasks to step jobs (``portal.jobs.enqueue_order_step``); each job ``serve``s one:
it fetches and stores one page and tells the scheduler when the location's next page may go. No job ever sleeps
on Toast's pacing: while one location waits for its history spacing, the workers serve other locations, webhooks
and everything else. ``flask toast sync --inline`` serves the same tasks in its own process
(``serve_until_done``).
"""
import logging
import time

from flask import current_app
from redis.exceptions import LockError
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from portal import jobs
from portal.extensions import db
from portal.models import Location
from portal.queues import redis_connection
from portal.sync import orders, runs
from portal.sync.clients import client_for, ensure_connected
from portal.sync.scheduler import Scheduler, Task
from portal.toast.errors import ToastError

CONFIG_WAIT_S = 15.0  # a page waiting for the configuration asks again after this (the config job arms it sooner)
log = logging.getLogger("tablecloth.sync")

DATABASE_BUSY_RETRY_S = 2.0


def dispatch_due() -> int:
    """Queue a step job for every order task due now (fairly, up to the in-flight limit); returns how many."""
    tasks = runs.scheduler().dispatch()
    for task in tasks:
        jobs.enqueue_order_step(task.org_id, task.location_id)
    return len(tasks)


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
        return orders.fail(location, run, orders.RunStopped("the location was disconnected"))
    if location.config_refreshed_at is None and runs.config_pending(location):
        # Orders are applied with their dining option's behavior and their server's name: the first page waits
        # for the configuration, whose job arms this task again as soon as it is stored.
        return orders.Step(False, CONFIG_WAIT_S)
    config = current_app.config
    try:
        ensure_connected(location.connection)
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
                    type(exc).__name__, exc_info=not isinstance(exc, ToastError))  # its text is not on the page
        return step
    if step.completed:
        log.info("sync %s done: org %s location %s run %s (%s pages)", run.kind, run.org_id, location_id, run.id,
                 run.pages)
    return step


def fit_after_backfill(location_id: int) -> bool:
    """After a location's backfill: queue a guest-value fit once every active location of its organization has its
    history. Never raises: the backfill succeeded whatever happens here, and the nightly fit catches up."""
    try:
        location = db.session.get(Location, location_id)
        if location is None or location.backfill_completed_at is None:
            return False
        waiting = db.session.scalar(select(Location.id).where(
            Location.org_id == location.org_id, Location.active.is_(True), Location.backfill_completed_at.is_(None)
        ).limit(1))
        return waiting is None and jobs.enqueue_fit(location.org_id)
    except Exception:  # noqa: BLE001 - see the docstring
        log.exception("could not queue the model fit after the backfill of location %s", location_id)
        return False
    finally:
        db.session.remove()
