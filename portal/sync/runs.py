"""Starting syncs: one SyncRun row per run. Configuration refreshes are RQ jobs (one per location at a time);
order runs (backfill, poll) are tasks of the paced scheduler, one per location at a time."""
from flask import current_app
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import select

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
# Transient Toast errors (429, 5xx, timeouts) of a configuration refresh are retried by RQ at these intervals.
RETRY = Retry(max=3, interval=[30, 120, 600])
FINISHED_JOB_STATES = {JobStatus.FINISHED, JobStatus.FAILED, JobStatus.CANCELED, JobStatus.STOPPED}
CONFIG_JOB = "workers.sync.refresh_config_job"


def scheduler() -> Scheduler:
    config = current_app.config
    return Scheduler(redis_connection(), in_flight=config["SYNC_IN_FLIGHT"], lease_seconds=config["SYNC_LEASE_S"])


def job_id(location: Location, kind: str) -> str:
    return f"sync-{location.id}-{'config' if kind == CONFIG else 'orders'}"


def start(location: Location, kind: str, *, days: int | None = None, at_front: bool = False,
          order_scheduler: Scheduler | None = None) -> SyncRun:
    """Create the SyncRun and queue it. ConflictError when the location already has a run of that kind going
    (configuration), or any order run going (backfill and poll exclude each other). Order runs are armed in
    ``order_scheduler`` (default: the workers' one)."""
    if kind == CONFIG:
        return _start_config(location, at_front)
    if active_order_run(location) is not None:
        raise ConflictError(f"an orders sync of {location.display_name} is already queued or running")
    run = new_run(location, kind, job_id(location, kind))
    if kind == BACKFILL:
        orders.prepare_backfill(location, days or current_app.config["TOAST_BACKFILL_DAYS"])
    db.session.commit()
    (order_scheduler or scheduler()).arm(Task(location.org_id, location.id))
    return run


def _start_config(location: Location, at_front: bool) -> SyncRun:
    identifier = job_id(location, CONFIG)
    connection = redis_connection()
    _forget_finished_job(identifier, connection)
    run = new_run(location, CONFIG, identifier)
    queue = Queue("sync", connection=connection)
    try:
        queue.enqueue(
            CONFIG_JOB, location.id, run.id, job_id=identifier, unique=True, retry=RETRY, at_front=at_front,
            job_timeout=3600, result_ttl=0,
            failure_ttl=7 * 24 * 3600, meta={"org_id": location.org_id, "run_id": run.id},
        )
    except DuplicateJobError:
        db.session.rollback()
        raise ConflictError(f"a config sync of {location.display_name} is already queued or running") from None
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


def _forget_finished_job(identifier: str, connection) -> None:
    """A finished or failed job keeps its id in Redis for a while; it must not block the next run."""
    try:
        job = Job.fetch(identifier, connection=connection)
    except NoSuchJobError:
        return
    if job.get_status(refresh=False) in FINISHED_JOB_STATES:
        job.delete()


def active_runs(location_ids: list[int]) -> list[SyncRun]:
    return list(db.session.scalars(
        select(SyncRun).where(SyncRun.location_id.in_(location_ids), SyncRun.status.not_in(RUN_FINISHED))
    ))


def fail_orphans(location: Location) -> int:
    """Configuration runs left "running" by a killed worker whose job is gone from Redis are marked failed."""
    connection, count = redis_connection(), 0
    for run in active_runs([location.id]):
        if run.kind != CONFIG:
            continue  # order runs live in the scheduler, which hands a dead worker's task out again
        try:
            status = Job.fetch(run.job_id, connection=connection).get_status(refresh=False)
        except NoSuchJobError:
            status = None
        if status is None or status in FINISHED_JOB_STATES:
            run.status, run.error, run.finished_at = RUN_FAILED, "the worker stopped before finishing", utcnow()
            count += 1
    return count
