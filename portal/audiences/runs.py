"""Executing one run of an audience sync: plan (``diff``) streamed into the destination's executor, checkpoint.

Every chunk the destination answered is stored with the run's counters in one short transaction (the checkpoint):
a run killed mid-way resumes from the snapshot, and the idempotent writes make a resent chunk harmless. One runner
per sync at a time, across processes: a lease in Redis, renewed per chunk, expiring on its own if the runner dies.
Logs carry ids and counts only, never guest data.
"""
import logging
import re
import time
import uuid
from dataclasses import dataclass

from portal.audiences import accounts, clients, klaviyo_sync, mailchimp_sync
from portal.audit import service as audit
from portal.extensions import db
from portal.models import AudienceDestination, AudienceRejection, AudienceRun, AudienceSync
from portal.models.audience import DESTINATION_RECONNECT, RUN_DONE, RUN_FAILED, RUN_RUNNING
from portal.models.base import utcnow
from portal.queues import redis_connection

log = logging.getLogger("tablecloth.audiences")
LEASE_SECONDS = 30
_EMAILISH = re.compile(r"\S+@\S+")


class RunBusy(RuntimeError):
    """Another process is running this sync right now."""


@dataclass
class Context:
    """What an executor needs: the run, its sync and destination, the client, and the checkpoint."""
    run: AudienceRun
    sync: AudienceSync
    destination: AudienceDestination
    client: clients.BaseClient
    lease: "Lease"

    def checkpoint(self, **counts) -> None:
        """Add ``counts`` to the run with the API calls so far and what the plan has found, and commit everything
        pending (one chunk)."""
        for name, value in counts.items():
            setattr(self.run, name, getattr(self.run, name) + value)
        if self.plan is not None:
            self.run.unchanged, self.run.to_send = self.plan.unchanged, self._done + self.plan.to_send
        self.run.api_calls, self.run.write_calls = self._calls + self.client.calls, self._writes + self.client.write_calls
        db.session.commit()
        self.lease.renew()

    def reject(self, guest_id: int, code: str, reason: str) -> None:
        db.session.add(AudienceRejection(org_id=self.run.org_id, run_id=self.run.id, guest_id=guest_id,
                                         code=code[:64], reason=safe_reason(reason)))

    def follow(self, plan) -> None:
        """Keep the run's unchanged and to-send counts in step with ``plan`` as it streams."""
        self.plan, self._done = plan, self.run.done

    def __post_init__(self):
        self._calls, self._writes = self.run.api_calls, self.run.write_calls
        self.plan, self._done = None, 0


def safe_reason(text: str) -> str:
    """A destination's message without the address it names (rejections are downloadable, never PII-laden)."""
    return _EMAILISH.sub("the address", text or "refused")[:500]


class Lease:
    def __init__(self, sync_id: int):
        self._key = f"audience-run-lease:{sync_id}"
        self._token = uuid.uuid4().hex
        self._redis = redis_connection()

    def take(self) -> None:
        if not self._redis.set(self._key, self._token, nx=True, ex=LEASE_SECONDS):
            raise RunBusy("this sync is being run by another process")

    def renew(self) -> None:
        self._redis.set(self._key, self._token, xx=True, ex=LEASE_SECONDS)

    def release(self) -> None:
        if self._redis.get(self._key) == self._token.encode():
            self._redis.delete(self._key)


def execute(run_id: int, *, client: clients.BaseClient | None = None) -> AudienceRun:
    """Run (or resume) the run: plan, send, checkpoint per chunk, finish with its counts and duration.

    Raises RunBusy when another process holds the sync, clients.RetryableError for transient trouble (the run stays
    running and resumes), other DestinationErrors after marking the run failed (auth errors also mark the
    destination "reconnect").
    """
    run = db.session.get(AudienceRun, run_id)
    if run is None or run.status in (RUN_DONE, RUN_FAILED):
        return run
    sync, lease = run.sync, Lease(run.sync_id)
    lease.take()
    started = time.monotonic()
    session = db.session()
    # The run alone writes its snapshot rows (the lease): a checkpoint need not expire them, and reloading 100,000
    # members one by one after every chunk would cost more than the sync itself.
    expiring, session.expire_on_commit = session.expire_on_commit, False
    try:
        run.status = RUN_RUNNING
        run.started_at = run.started_at or utcnow()
        db.session.commit()
        client = client or accounts.client_for(sync.destination)
        context = Context(run, sync, sync.destination, client, lease)
        executor = _executor(sync.destination.kind)
        executor.prepare(context)
        work = executor.plan(context)
        run.members, run.relay_skipped = work.members, work.relay
        context.follow(work)
        context.checkpoint()
        log.info("audience run %s (sync %s, org %s): %s members, %s relay addresses left out, %s to remove", run.id,
                 sync.id, run.org_id, work.members, work.relay, len(work.removals))
        executor.send(context, work)
        run.status, run.finished_at = RUN_DONE, utcnow()
        audit.record("audience.synced", org_id=run.org_id, target=sync, details={
            "run_id": run.id, "added": run.added, "updated": run.updated, "removed": run.removed,
            "rejected": run.rejected, "relay_skipped": run.relay_skipped, "api_calls": run.api_calls})
        context.checkpoint()
        log.info("audience run %s done: +%s ~%s -%s rejected %s, %s calls, %.1f s", run.id, run.added, run.updated,
                 run.removed, run.rejected, run.api_calls, time.monotonic() - started)
        return run
    except clients.RetryableError as exc:
        db.session.rollback()
        log.warning("audience run %s: transient trouble, will resume: %s", run_id, exc.reason)
        raise
    except clients.DestinationError as exc:
        db.session.rollback()
        _fail(run_id, exc.reason, reconnect=isinstance(exc, clients.AuthError))
        raise
    except Exception:
        db.session.rollback()
        _fail(run_id, "an internal error stopped the run")
        raise
    finally:
        session.expire_on_commit = expiring
        lease.release()
        if client is not None:
            client.close()


def _fail(run_id: int, reason: str, *, reconnect: bool = False) -> None:
    run = db.session.get(AudienceRun, run_id)
    run.status, run.error, run.finished_at = RUN_FAILED, reason[:500], utcnow()
    if reconnect:
        destination = run.sync.destination
        destination.status, destination.status_reason = DESTINATION_RECONNECT, reason[:500]
    audit.record("audience.sync_failed", org_id=run.org_id, target=run.sync, details={"run_id": run.id})
    db.session.commit()
    log.warning("audience run %s failed: %s", run_id, reason)


def _executor(kind: str):
    return mailchimp_sync if kind == "mailchimp" else klaviyo_sync
