"""Starting sync jobs: one SyncRun row per job, and RQ's unique job ids so a location never syncs twice at once."""
from dataclasses import dataclass

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

CONFIG, BACKFILL, POLL = "config", "backfill", "poll"
KINDS = (CONFIG, BACKFILL, POLL)
# Transient Toast errors (429, 5xx, timeouts) are retried by RQ at these intervals; others are not.
RETRY = Retry(max=3, interval=[30, 120, 600])
FINISHED_JOB_STATES = {JobStatus.FINISHED, JobStatus.FAILED, JobStatus.CANCELED, JobStatus.STOPPED}


@dataclass(frozen=True)
class JobSpec:
    kind: str
    function: str
    job_key: str  # config and order jobs of a location may overlap; two order jobs may not


JOBS = {
    CONFIG: JobSpec(CONFIG, "workers.sync.refresh_config_job", "config"),
    BACKFILL: JobSpec(BACKFILL, "workers.sync.backfill_job", "orders"),
    POLL: JobSpec(POLL, "workers.sync.poll_job", "orders"),
}


def job_id(location: Location, kind: str) -> str:
    return f"sync-{location.id}-{JOBS[kind].job_key}"


def start(location: Location, kind: str, *, days: int | None = None, at_front: bool = False) -> SyncRun:
    """Create the SyncRun and enqueue its job. ConflictError when the location's job of that kind is running."""
    spec = JOBS[kind]
    identifier = job_id(location, kind)
    connection = redis_connection()
    _forget_finished_job(identifier, connection)
    run = new_run(location, kind, identifier)
    args = (location.id, run.id) if days is None else (location.id, run.id, days)
    queue = Queue(current_app.config.get("SYNC_QUEUE", "sync"), connection=connection)
    try:
        queue.enqueue(
            spec.function, *args, job_id=identifier, unique=True, retry=RETRY, at_front=at_front,
            job_timeout=current_app.config.get("SYNC_JOB_TIMEOUT", 6 * 3600), result_ttl=0,
            failure_ttl=7 * 24 * 3600, meta={"org_id": location.org_id, "run_id": run.id},
        )
    except DuplicateJobError:
        db.session.rollback()
        raise ConflictError(f"a {spec.job_key} sync of {location.display_name} is already queued or running") from None
    db.session.commit()
    return run


def new_run(location: Location, kind: str, identifier: str) -> SyncRun:
    run = SyncRun(org_id=location.org_id, location_id=location.id, kind=kind, job_id=identifier, status=RUN_QUEUED)
    db.session.add(run)
    db.session.flush()
    return run


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
    """Runs left "running" by a killed worker whose job is gone from Redis are marked failed."""
    connection, count = redis_connection(), 0
    for run in active_runs([location.id]):
        try:
            status = Job.fetch(run.job_id, connection=connection).get_status(refresh=False)
        except NoSuchJobError:
            status = None
        if status is None or status in FINISHED_JOB_STATES:
            run.status, run.error, run.finished_at = RUN_FAILED, "the worker stopped before finishing", utcnow()
            count += 1
    return count
