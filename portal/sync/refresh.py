"""A configuration refresh run of one location (``portal.sync.config``): its SyncRun row from queued to
succeeded or failed, Toast called with no transaction open. Run by the ``sync`` job, or inline by ``flask toast
sync --inline``.

Retries (declared at enqueue, ``portal.jobs.CONFIG_RETRY``) are only for transient errors; an auth error puts the
connection in the "reconnect" state shown to the owner and fails every later run of it fast.
"""
import logging

from sqlalchemy.exc import OperationalError

from portal import jobs
from portal.extensions import db
from portal.models import Location, SyncRun
from portal.models.base import utcnow
from portal.models.sync import RUN_FAILED, RUN_QUEUED, RUN_RUNNING, RUN_SUCCEEDED
from portal.sync import orders, runs
from portal.sync.clients import client_for, ensure_connected
from portal.sync.config import apply_config, fetch_config
from portal.sync.scheduler import Task
from portal.toast.errors import AuthError, RetryableAPIError, TokenBudgetExceeded

log = logging.getLogger("tablecloth.sync")


def refresh_config(location_id: int, run_id: int) -> None:
    """Fetch and apply the location's configuration under the run ``run_id``. Skips (logged) when the rows are
    gone or do not match; records the failure on the run and re-raises."""
    run = db.session.get(SyncRun, run_id)
    location = db.session.get(Location, location_id)
    if run is None or location is None or run.org_id != location.org_id:
        log.warning("config job for location %s / run %s: rows gone or mismatched; skipped", location_id, run_id)
        return
    run.status, run.started_at, run.error = RUN_RUNNING, run.started_at or utcnow(), None
    db.session.commit()
    try:
        ensure_connected(location.connection)
        guid, menus_last_updated = location.guid, location.menus_last_updated
        with client_for(location.connection) as client:
            db.session.commit()  # no transaction (on SQLite: the write lock) stays open while Toast is called
            fetched = fetch_config(client, guid, menus_last_updated)
        apply_config(location, fetched)
    except Exception as exc:
        _record_failure(location, run, exc)
        raise
    else:
        run.status, run.finished_at, run.progress = RUN_SUCCEEDED, utcnow(), "done"
        location.last_synced_at = utcnow()
        db.session.commit()
        if runs.active_order_run(location) is not None:
            runs.scheduler().arm(Task(location.org_id, location.id))  # its first page waited for this
    finally:
        db.session.remove()


def _record_failure(location: Location, run: SyncRun, exc: Exception) -> None:
    db.session.rollback()
    retrying = jobs.retrying(isinstance(exc, (RetryableAPIError, TokenBudgetExceeded, OperationalError)))
    if isinstance(exc, AuthError):
        location.connection.mark_reconnect(exc.reason)
    run.status = RUN_QUEUED if retrying else RUN_FAILED
    run.error = ("will retry: " if retrying else "") + orders.describe_error(exc)
    run.finished_at = None if retrying else utcnow()
    db.session.commit()
    log.warning("sync config failed: org %s location %s run %s: %s", run.org_id, location.id, run.id,
                type(exc).__name__)
