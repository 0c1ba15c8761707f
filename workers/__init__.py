"""Background jobs (RQ). Jobs are plain functions in workers/<domain>.py taking ids and primitives."""
from datetime import timedelta

from rq import Queue, Retry
from rq.job import Job

from portal.queues import redis_connection

WEBHOOKS = "webhooks"  # served first: fresh orders never wait behind backfills
DEFAULT = "default"
SYNC = "sync"
MODELS = "models"
QUEUES = (WEBHOOKS, SYNC, DEFAULT, MODELS)

JOB_TIMEOUT = 3600
FAILURE_TTL = 7 * 24 * 3600


def enqueue(func, *args, org_id: int, queue: str = DEFAULT, retry: Retry | None = None, delay: float = 0.0,
            **options) -> Job:
    """Enqueue ``func(*args)`` with the organization recorded in ``job.meta`` (worker logs carry it); ``delay``
    seconds later (through the workers' scheduler) when given."""
    meta = {"org_id": org_id, **options.pop("meta", {})}
    target = Queue(queue, connection=redis_connection())
    options = {"meta": meta, "retry": retry, "job_timeout": options.pop("job_timeout", JOB_TIMEOUT),
               "failure_ttl": FAILURE_TTL, **options}
    if delay > 0:
        return target.enqueue_in(timedelta(seconds=delay), func, *args, **options)
    return target.enqueue(func, *args, **options)
