"""The webhook lane: stored Toast webhook events drained in batches by one job per connection at a time
(``workers.webhooks.drain_webhooks_job`` runs ``drain_connection``).

Redis keys per Toast connection (``webhooks:<connection id>:...``):

* ``pending``: set by the receiver after it stored an event.
* ``lease``: the id of the drain job that owns the connection's events (``SET NX``, expires on its own if a worker
  dies). Whoever sets it enqueues that job; while it is held, a receiver only sets ``pending``.
* ``retry``: a delayed drain is scheduled for events left for later (it takes the lease only when it starts).

The drain job clears ``pending`` before each read of the database, releases the lease when it is done, then looks at
``pending`` again. An event stored while the job was finishing is therefore never missed: either its ``pending``
came after the job's last read (the job sees it after releasing, and starts the next drain), or its receiver took
the released lease and enqueued the next drain itself. Events left for later (a failed attempt, Toast throttling)
carry ``retry_at`` in the database; a delayed drain comes back for them, and the 5-minute sweep signals any
connection whose due events were forgotten (Redis lost its keys, a worker was killed).
"""
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from flask import current_app
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import delete, or_, select
from sqlalchemy.exc import OperationalError

from portal import jobs
from portal.extensions import db
from portal.models import ToastConnection, WebhookEvent
from portal.models.base import utcnow
from portal.models.sync import EVENT_FAILED, EVENT_IGNORED, EVENT_PENDING, EVENT_PROCESSED
from portal.queues import redis_connection
from portal.sync.clients import client_for
from portal.webhooks.batches import RETRY_DELAY_S, next_retry_at
from portal.webhooks.drain import DrainResult, drain

log = logging.getLogger("tablecloth.webhooks")

BUDGET_S = 30.0  # a drain job reads no new batch after this; the next job carries on
LEASE_S = 600  # longer than a drain job waits in the queue and runs; a dead job's lease lapses after it
PENDING_TTL_S = 24 * 3600
FETCH_THREADS = 8  # locations fetched side by side (Toast's limits are per location)

# KEYS[1] lease. ARGV: job id, seconds. Take the lease if free (or renew it if ours): 1, else 0.
_TAKE_LEASE = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
return 1
"""
# KEYS[1] lease. ARGV: job id. Release it only if it is still ours.
_RELEASE_LEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _key(connection_id: int, name: str) -> str:
    return f"webhooks:{connection_id}:{name}"


def signal_pending(connection_id: int, org_id: int) -> None:
    """The connection has pending events: make sure a drain job is on its way. Never raises for Redis trouble
    (logged): the event is stored, and the sweep signals the connection again."""
    try:
        redis, job_id = redis_connection(), jobs.drain_job_id(connection_id)
        pipeline = redis.pipeline(transaction=False)  # one round trip: receipts come hundreds a second
        pipeline.set(_key(connection_id, "pending"), 1, ex=PENDING_TTL_S)
        pipeline.set(_key(connection_id, "lease"), job_id, nx=True, ex=LEASE_S)
        if pipeline.execute()[1]:
            _enqueue_drain(redis, connection_id, org_id, job_id)
    except RedisError as exc:
        log.warning("webhooks: could not signal connection %s (%s); the sweep will", connection_id,
                    type(exc).__name__)


def _start_drain(redis: Redis, connection_id: int, org_id: int) -> None:
    job_id = jobs.drain_job_id(connection_id)
    if redis.set(_key(connection_id, "lease"), job_id, nx=True, ex=LEASE_S):
        _enqueue_drain(redis, connection_id, org_id, job_id)
    # else a drain is queued or running: it reads the events after clearing "pending"


def _enqueue_drain(redis: Redis, connection_id: int, org_id: int, job_id: str) -> None:
    """Queue the drain job ``job_id``, whose lease was just taken (released again if Redis fails)."""
    try:
        jobs.enqueue_webhook_drain(connection_id, org_id, job_id)
    except RedisError:
        _release(redis, connection_id, job_id)
        raise


def _schedule_retry(redis: Redis, connection_id: int, org_id: int, delay: float) -> None:
    """A drain after ``delay`` seconds for events left for later, one at a time per connection. It takes the
    lease only when it starts, so fresh events are not held behind it meanwhile."""
    if redis.set(_key(connection_id, "retry"), 1, nx=True, px=max(1, int(delay * 1000))):
        jobs.enqueue_webhook_drain(connection_id, org_id, jobs.drain_job_id(connection_id, retry=True), delay=delay)


def _release(redis: Redis, connection_id: int, job_id: str) -> None:
    redis.register_script(_RELEASE_LEASE)(keys=[_key(connection_id, "lease")], args=[job_id])


def drain_connection(connection_id: int, org_id: int, job_id: str) -> None:
    """The drain job ``job_id``: process the connection's pending webhook events for up to BUDGET_S
    (``portal.webhooks.drain``), then hand over: to the next drain at once if events remain or arrived meanwhile,
    to a delayed one for events left for later. Does nothing if another drain holds the connection's lease. A busy
    database (OperationalError) leaves the events pending and comes back after RETRY_DELAY_S; other errors fail
    the job (the sweep comes back)."""
    redis = redis_connection()
    if not redis.register_script(_TAKE_LEASE)(keys=[_key(connection_id, "lease")], args=[job_id, LEASE_S]):
        return  # another drain owns these events (this one was a delayed retry, or its lease lapsed)
    result, retry_in = None, None
    try:
        connection = db.session.get(ToastConnection, connection_id)
        if connection is None or connection.org_id != org_id:
            log.warning("webhook drain for connection %s: gone or not of organization %s", connection_id, org_id)
            return
        result = _drain(redis, connection)
        retry_in = _seconds_until(next_retry_at(connection_id))
    except OperationalError as exc:
        db.session.rollback()
        log.warning("webhook drain for connection %s: database error %s; retrying", connection_id,
                    type(exc).__name__)
        retry_in = RETRY_DELAY_S
    finally:
        db.session.remove()
        _release(redis, connection_id, job_id)
    if (result is not None and result.more) or redis.exists(_key(connection_id, "pending")):
        _start_drain(redis, connection_id, org_id)
    if retry_in is not None:
        _schedule_retry(redis, connection_id, org_id, retry_in)


def _drain(redis: Redis, connection: ToastConnection) -> DrainResult:
    app, connection_id = current_app._get_current_object(), connection.id

    def in_app_context(function, *args):  # the client's token store and its lock need the app
        with app.app_context():
            return function(*args)

    threads = ThreadPoolExecutor(FETCH_THREADS, "webhook-fetch")
    try:
        with client_for(connection) as client:
            result = drain(connection, client, lambda function, *args: threads.submit(in_app_context, function, *args),
                           before_read=lambda: redis.delete(_key(connection_id, "pending")), budget_s=BUDGET_S)
    finally:
        threads.shutdown(cancel_futures=True)  # after an error, fetches not started yet would be for nothing
    log.info("webhook drain for connection %s: %s events finished%s", connection_id, result.finished,
             ", more to come" if result.more else "")
    return result


def _seconds_until(moment) -> float | None:
    return None if moment is None else max(0.0, (moment - utcnow()).total_seconds())


def requeue_pending_events(older_than_seconds: int = 120) -> int:
    """Periodic (5 min): signal again every connection with events pending for longer than this that are due
    (Redis lost the keys or the job, a worker was killed: a dead job's lease is cleared). Returns how many
    connections were signalled."""
    now = utcnow()
    cutoff = now - timedelta(seconds=older_than_seconds)
    connections = db.session.execute(
        select(WebhookEvent.connection_id, WebhookEvent.org_id)
        .where(WebhookEvent.status == EVENT_PENDING, WebhookEvent.created_at < cutoff,
               or_(WebhookEvent.retry_at.is_(None), WebhookEvent.retry_at <= now))
        .group_by(WebhookEvent.connection_id, WebhookEvent.org_id)
    ).all()
    db.session.commit()
    for connection_id, org_id in connections:
        _clear_dead_lease(connection_id)
        signal_pending(connection_id, org_id)
    return len(connections)


def _clear_dead_lease(connection_id: int) -> None:
    redis = redis_connection()
    holder = redis.get(_key(connection_id, "lease"))
    if holder is None:
        return
    status = jobs.status(holder.decode())
    if status is None or status in jobs.DEAD:
        _release(redis, connection_id, holder.decode())


def prune_finished_events(batch: int = 5000) -> int:
    """Periodic: delete events processed, ignored or given up more than WEBHOOK_RETENTION_DAYS ago (Toast's
    retries of an event come within hours, so its GUID no longer needs to be remembered), a batch per transaction.
    Pending events are kept for the drain. Returns how many were deleted."""
    cutoff = utcnow() - timedelta(days=current_app.config["WEBHOOK_RETENTION_DAYS"])
    deleted = 0
    while True:
        ids = db.session.scalars(
            select(WebhookEvent.id)
            .where(WebhookEvent.status.in_((EVENT_PROCESSED, EVENT_IGNORED, EVENT_FAILED)),
                   WebhookEvent.processed_at < cutoff)
            .order_by(WebhookEvent.id).limit(batch)
        ).all()
        if not ids:
            return deleted
        db.session.execute(delete(WebhookEvent).where(WebhookEvent.id.in_(ids)))
        db.session.commit()
        deleted += len(ids)
