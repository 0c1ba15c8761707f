"""When audience syncs run by themselves: nightly, a while after orders moved guests (debounced), and again for a
run whose worker died (it resumes from its checkpoint). Called by the periodic jobs in ``workers/audiences.py``."""
from datetime import timedelta

from sqlalchemy import func, select

from portal import jobs
from portal.audiences import service
from portal.extensions import db
from portal.models import AudienceDestination, AudienceRun, AudienceSync, Guest
from portal.models.audience import DESTINATION_ACTIVE, RUN_ACTIVE
from portal.models.base import utcnow

DEBOUNCE = timedelta(minutes=15)  # orders keep arriving in a rush; one run after it, not one per order
MAX_WAIT = timedelta(hours=1)  # ...but a steady stream of orders still gets a run this often
STALLED = timedelta(minutes=10)


def _active_syncs() -> list[AudienceSync]:
    return list(db.session.scalars(select(AudienceSync).join(AudienceDestination)
                                   .where(AudienceDestination.status == DESTINATION_ACTIVE)
                                   .order_by(AudienceSync.id)))


def start_nightly() -> int:
    """A nightly run of every sync whose destination works; returns how many were started."""
    return sum(_start(sync, "nightly") for sync in _active_syncs())


def start_after_orders(now=None) -> int:
    """A run of every sync whose organization's guests changed since its last run started, once the changes have
    been quiet for DEBOUNCE (or its last run is MAX_WAIT old); returns how many were started."""
    now = now or utcnow()
    started = 0
    for sync in _active_syncs():
        last = db.session.scalar(select(func.max(AudienceRun.queued_at)).where(AudienceRun.sync_id == sync.id))
        changed = db.session.scalar(select(func.max(Guest.updated_at)).where(Guest.org_id == sync.org_id))
        if changed is None or (last is not None and changed <= last):
            continue
        if last is None or now - changed >= DEBOUNCE or now - last >= MAX_WAIT:
            started += _start(sync, "orders")
    return started


def resume_stalled(now=None) -> int:
    """Queue again the active runs whose job Redis no longer runs (a killed worker); returns how many."""
    now = now or utcnow()
    resumed = 0
    for run in db.session.scalars(select(AudienceRun).where(AudienceRun.status.in_(RUN_ACTIVE))):
        status = jobs.status(jobs.audience_job_id(run.sync_id))
        if (status is None or status in jobs.DEAD) and now - (run.started_at or run.queued_at) >= STALLED:
            resumed += jobs.enqueue_audience_run(run.org_id, run.sync_id, run.id)
    return resumed


def _start(sync: AudienceSync, trigger: str) -> bool:
    if service.active_run(sync) is not None:
        return False
    service.start_run(sync, trigger)
    return True
