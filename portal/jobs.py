"""Every background job is queued here: queue names, job ids, uniqueness, retries and timeouts.

Jobs are named by dotted path: their entrypoints live in ``workers/``, which nothing under ``portal/`` imports.
A lane per kind of work: ``webhooks`` (always served first), ``sync`` (order pages, configuration refreshes),
``default`` (periodic fan-outs) and ``models`` (guest-value fits).
"""
import uuid
from datetime import timedelta

from rq import Queue, Retry, get_current_job
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus

from portal.queues import redis_connection

WEBHOOKS = "webhooks"  # served first: fresh orders never wait behind backfills
SYNC = "sync"
DEFAULT = "default"
MODELS = "models"
QUEUES = (WEBHOOKS, SYNC, DEFAULT, MODELS)

JOB_TIMEOUT = 3600
FAILURE_TTL = 7 * 24 * 3600
FINISHED = frozenset({JobStatus.FINISHED, JobStatus.FAILED, JobStatus.CANCELED, JobStatus.STOPPED})
DEAD = frozenset({JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED})

# Retries are only for transient errors: a job that meets any other error cancels its own (``retrying``).
CONFIG_RETRY = Retry(max=3, interval=[30, 120, 600])  # Toast 429/5xx/timeouts during a configuration refresh
FIT_RETRY = Retry(max=2, interval=[60, 600])  # a lock, a dropped connection, a guest merged away meanwhile
FIT_TIMEOUT = 2 * 3600
AUDIENCE_RETRY = Retry(max=5, interval=[15, 60, 120, 300, 600])  # a destination's 429s/5xx after the client's retries
AUDIENCE_TIMEOUT = 3 * 3600
STEP_TIMEOUT = 120  # one order page: a request (30 s timeout) and its store
DRAIN_TIMEOUT = 600


def enqueue(func: str, *args, org_id: int, queue: str = DEFAULT, retry: Retry | None = None, delay: float = 0.0,
            **options) -> Job:
    """Enqueue ``func(*args)`` with the organization recorded in ``job.meta`` (worker logs carry it); ``delay``
    seconds later (through the workers' scheduler) when given. Raises redis errors when Redis is unreachable."""
    meta = {"org_id": org_id, **options.pop("meta", {})}
    target = Queue(queue, connection=redis_connection())
    options = {"meta": meta, "retry": retry, "job_timeout": options.pop("job_timeout", JOB_TIMEOUT),
               "failure_ttl": FAILURE_TTL, **options}
    if delay > 0:
        return target.enqueue_in(timedelta(seconds=delay), func, *args, **options)
    return target.enqueue(func, *args, **options)


def enqueue_unique(func: str, *args, job_id: str, **options) -> Job | None:
    """Enqueue under ``job_id`` unless a job with that id is queued or running (then None, nothing added).

    A finished or failed job keeps its id in Redis for a while (a week when it failed): it is forgotten first,
    so it never blocks the next one.
    """
    previous = _fetch(job_id)
    if previous is not None and previous.get_status(refresh=False) in FINISHED:
        previous.delete()
    try:
        return enqueue(func, *args, job_id=job_id, unique=True, **options)
    except DuplicateJobError:
        return None


def status(job_id: str) -> JobStatus | None:
    """The job's status, or None when Redis no longer knows it."""
    job = _fetch(job_id)
    return None if job is None else job.get_status(refresh=False)


def _fetch(job_id: str) -> Job | None:
    try:
        return Job.fetch(job_id, connection=redis_connection())
    except NoSuchJobError:
        return None


def retrying(transient: bool) -> bool:
    """Called by a job that failed: whether RQ will run it again. A transient error keeps the retries declared
    at enqueue; any other error cancels them (the same input would fail the same way). False outside a job."""
    job = get_current_job()
    if job is None:
        return False
    if not transient:
        job.retries_left = 0
    return (job.retries_left or 0) > 0


# --- the jobs ------------------------------------------------------------------------------------------------


def config_job_id(location_id: int) -> str:
    return f"sync-{location_id}-config"


def enqueue_config_refresh(org_id: int, location_id: int, run_id: int, *, at_front: bool = False) -> bool:
    """Queue the location's configuration refresh; False when one is already queued or running."""
    job = enqueue_unique("workers.sync.refresh_config_job", location_id, run_id, job_id=config_job_id(location_id),
                         org_id=org_id, queue=SYNC, retry=CONFIG_RETRY, at_front=at_front, result_ttl=0,
                         meta={"run_id": run_id})
    return job is not None


def enqueue_order_step(org_id: int, location_id: int) -> Job:
    """Queue one order page of the location (a task the scheduler handed out), ahead of configuration refreshes:
    the page is due now, and at most SYNC_IN_FLIGHT of them are ever queued."""
    return enqueue("workers.sync.order_step_job", org_id, location_id, org_id=org_id, queue=SYNC, at_front=True,
                   job_id=f"sync-step-{uuid.uuid4().hex}", job_timeout=STEP_TIMEOUT, result_ttl=0,
                   failure_ttl=24 * 3600, meta={"location_id": location_id})


def drain_job_id(connection_id: int, *, retry: bool = False) -> str:
    """A fresh id per drain: the webhook lane's lease names the drain that holds the connection."""
    return f"webhooks-{'retry' if retry else 'drain'}-{connection_id}-{uuid.uuid4().hex[:12]}"


def enqueue_webhook_drain(connection_id: int, org_id: int, job_id: str, *, delay: float = 0.0) -> Job:
    return enqueue("workers.webhooks.drain_webhooks_job", connection_id, org_id, org_id=org_id, queue=WEBHOOKS,
                   job_id=job_id, delay=delay, job_timeout=DRAIN_TIMEOUT, result_ttl=0)


def fit_job_id(org_id: int) -> str:
    return f"models-fit-{org_id}"


def enqueue_fit(org_id: int) -> bool:
    """Queue a guest-value fit of the organization; False when one is already queued or running. One fit per
    organization at a time: the nightly run, an owner's "Refit now" and the end of a backfill never overlap."""
    job = enqueue_unique("workers.models.fit_organization_job", org_id, job_id=fit_job_id(org_id), org_id=org_id,
                         queue=MODELS, retry=FIT_RETRY, result_ttl=0, job_timeout=FIT_TIMEOUT)
    return job is not None


def audience_job_id(sync_id: int) -> str:
    return f"audiences-run-{sync_id}"


def enqueue_audience_run(org_id: int, sync_id: int, run_id: int) -> bool:
    """Queue the run of an audience sync; False when the sync's job is already queued or running. One job per sync
    at a time; a retry resumes the run from its last checkpoint."""
    job = enqueue_unique("workers.audiences.audience_run_job", run_id, job_id=audience_job_id(sync_id), org_id=org_id,
                         retry=AUDIENCE_RETRY, result_ttl=0, job_timeout=AUDIENCE_TIMEOUT,
                         meta={"run_id": run_id})
    return job is not None
