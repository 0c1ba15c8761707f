"""Background jobs (RQ). Jobs are plain functions in workers/<domain>.py taking ids and primitives."""
from rq import Queue, Retry
from rq.job import Job

from portal.queues import redis_connection

DEFAULT = "default"
SYNC = "sync"
MODELS = "models"
QUEUES = (SYNC, DEFAULT, MODELS)

JOB_TIMEOUT = 3600
FAILURE_TTL = 7 * 24 * 3600


def enqueue(func, *args, org_id: int, queue: str = DEFAULT, retry: Retry | None = None, **options) -> Job:
    """Enqueue ``func(*args)`` with the organization recorded in ``job.meta`` (worker logs carry it)."""
    meta = {"org_id": org_id, **options.pop("meta", {})}
    return Queue(queue, connection=redis_connection()).enqueue(
        func, *args, meta=meta, retry=retry, job_timeout=options.pop("job_timeout", JOB_TIMEOUT),
        failure_ttl=FAILURE_TTL, **options,
    )
