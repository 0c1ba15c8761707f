"""Starting syncs: one SyncRun row per run. Configuration refreshes are RQ jobs (one per location at a time);
order runs (backfill, poll) are tasks of the paced scheduler, one per location at a time."""
from flask import current_app
from sqlalchemy import select

from portal import jobs
from portal.errors import ConflictError
from portal.extensions import db
from portal.models import Location, SyncRun
from portal.models.base import utcnow
from portal.models.sync import RUN_FAILED, RUN_FINISHED, RUN_QUEUED
from portal.queues import redis_connection
from portal.sync import orders
from portal.sync.scheduler import Scheduler, Task

CONFIG, BACKFILL, POLL = "config", orders.BACKFILL, orders.POLL
KINDS = (CONFIG, BACKFILL, POLL)
ORDER_KINDS = (BACKFILL, POLL)


def scheduler() -> Scheduler:
    config = current_app.config
    return Scheduler(redis_connection(), in_flight=config["SYNC_IN_FLIGHT"], lease_seconds=config["SYNC_LEASE_S"])


def start(location: Location, kind: str, *, days: int | None = None, at_front: bool = False,
          order_scheduler: Scheduler | None = None) -> SyncRun:
    """Create the SyncRun and queue it. ConflictError when the location already has a run of that kind going
    (configuration), or any order run going (backfill and poll exclude each other). Order runs are armed in
    ``order_scheduler`` (default: the workers' one)."""
    if kind == CONFIG:
        return _start_config(location, at_front)
    if active_order_run(location) is not None:
        raise ConflictError(f"an orders sync of {location.display_name} is already queued or running")
    run = new_run(location, kind, f"sync-{location.id}-orders")  # a scheduler task, not an RQ job: names the run
    if kind == BACKFILL:
        orders.prepare_backfill(location, days or current_app.config["TOAST_BACKFILL_DAYS"])
    db.session.commit()
    (order_scheduler or scheduler()).arm(Task(location.org_id, location.id))
    return run


def _start_config(location: Location, at_front: bool) -> SyncRun:
    run = new_run(location, CONFIG, jobs.config_job_id(location.id))
    if not jobs.enqueue_config_refresh(location.org_id, location.id, run.id, at_front=at_front):
        db.session.rollback()
        raise ConflictError(f"a config sync of {location.display_name} is already queued or running")
    db.session.commit()
    return run


def new_run(location: Location, kind: str, identifier: str) -> SyncRun:
    run = SyncRun(org_id=location.org_id, location_id=location.id, kind=kind, job_id=identifier, status=RUN_QUEUED)
    db.session.add(run)
    db.session.flush()
    return run


def active_order_run(location: Location) -> SyncRun | None:
    return db.session.scalar(
        select(SyncRun).where(SyncRun.location_id == location.id, SyncRun.kind.in_(ORDER_KINDS),
                              SyncRun.status.not_in(RUN_FINISHED)).order_by(SyncRun.id.desc()).limit(1)
    )


def rearm_lost(locations: list[Location]) -> int:
    """Order runs still going whose scheduler task is gone (Redis lost its data) are scheduled again."""
    order_scheduler, count = scheduler(), 0
    for location in locations:
        run = active_order_run(location)
        task = Task(location.org_id, location.id)
        if run is not None and not order_scheduler.scheduled(task):
            order_scheduler.arm(task)
            count += 1
    return count


def config_pending(location: Location) -> bool:
    """Whether a configuration refresh of the location is queued or running."""
    return db.session.scalar(select(SyncRun.id).where(
        SyncRun.location_id == location.id, SyncRun.kind == CONFIG, SyncRun.status.not_in(RUN_FINISHED)
    ).limit(1)) is not None


def active_runs(location_ids: list[int]) -> list[SyncRun]:
    return list(db.session.scalars(
        select(SyncRun).where(SyncRun.location_id.in_(location_ids), SyncRun.status.not_in(RUN_FINISHED))
    ))


def fail_orphans(location: Location) -> int:
    """Configuration runs left "running" by a killed worker whose job is gone from Redis are marked failed."""
    count = 0
    for run in active_runs([location.id]):
        if run.kind != CONFIG:
            continue  # order runs live in the scheduler, which hands a dead worker's task out again
        status = jobs.status(run.job_id)
        if status is None or status in jobs.FINISHED:
            run.status, run.error, run.finished_at = RUN_FAILED, "the worker stopped before finishing", utcnow()
            count += 1
    return count


def start_due_order_runs() -> int:
    """Every 15 minutes: a poll per active location, or the resumed backfill where it never finished; order runs
    whose scheduler task was lost (Redis restarted empty) are scheduled again. Returns how many runs started."""
    started = 0
    locations = _active_locations()
    rearm_lost(locations)
    for location in locations:
        fail_orphans(location)
        started += _try_start(location, POLL if location.backfill_completed_at else BACKFILL)
    return started


def start_config_refreshes() -> int:
    """Daily: a configuration refresh of every active location; returns how many were queued."""
    return sum(_try_start(location, CONFIG) for location in _active_locations())


def _active_locations() -> list[Location]:
    rows = db.session.scalars(select(Location).where(Location.active.is_(True)).order_by(Location.id)).all()
    return [location for location in rows if not location.connection.needs_reconnect]


def _try_start(location: Location, kind: str) -> int:
    try:
        start(location, kind)
    except ConflictError:
        db.session.rollback()
        return 0
    return 1
