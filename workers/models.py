"""Guest-value model jobs: fit and score one organization (queue "models"), and the nightly fan-out.

One job per organization at a time: the job id is ``models-fit-<org id>`` and enqueued with ``unique=True``, so
the nightly run, an owner's "Refit now" and the end of a backfill never fit the same organization twice at once.
"""
import logging

from rq import Retry, get_current_job
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError, OperationalError

from portal.extensions import db
from portal.models import Guest, Location, Organization
from portal.queues import redis_connection
from portal.scoring import service
from workers import MODELS, enqueue

log = logging.getLogger("tablecloth.models")

JOB_TIMEOUT = 2 * 3600
# Transient only: a lock or dropped connection, or a guest merged away between the read and the write-back.
RETRY = Retry(max=2, interval=[60, 600])
TRANSIENT = (OperationalError, IntegrityError)
_FINISHED = {JobStatus.FINISHED, JobStatus.FAILED, JobStatus.CANCELED, JobStatus.STOPPED}


def job_id(org_id: int) -> str:
    return f"models-fit-{org_id}"


def enqueue_fit(org_id: int) -> bool:
    """Queue a fit of the organization; False when one is already queued or running (nothing added).

    Raises redis errors when Redis is unreachable.
    """
    identifier = job_id(org_id)
    connection = redis_connection()
    try:
        previous = Job.fetch(identifier, connection=connection)
    except NoSuchJobError:
        previous = None
    if previous is not None and previous.get_status(refresh=False) in _FINISHED:
        previous.delete()  # a failed job keeps its id for a week: it must not block the next fit
    try:
        enqueue(fit_organization_job, org_id, org_id=org_id, queue=MODELS, retry=RETRY, job_id=identifier,
                unique=True, result_ttl=0, job_timeout=JOB_TIMEOUT)
    except DuplicateJobError:
        return False
    return True


def fit_organization_job(org_id: int) -> dict | None:
    """Fit the organization's guest-value models and replace its guests' scores (portal.scoring.service).

    Returns a small summary for the job result. An organization that no longer exists is skipped. Errors are
    logged and re-raised; only transient database errors keep their retries.
    """
    try:
        if db.session.get(Organization, org_id) is None:
            log.warning("model fit for organization %s: organization gone; skipped", org_id)
            return None
        log.info("model fit started: org %s", org_id)
        fit = service.fit_and_score(org_id)
        db.session.commit()
        log.info("model fit done: org %s, %s guests, backed=%s, %.1f s", org_id, fit.guests, fit.backed, fit.seconds)
        return {"fit_id": fit.id, "guests": fit.guests, "backed": fit.backed}
    except Exception as exc:
        db.session.rollback()
        job = get_current_job()
        if job is not None and not isinstance(exc, TRANSIENT):
            job.retries_left = 0  # the same data would fail the same way
        log.warning("model fit failed: org %s: %s", org_id, type(exc).__name__)
        raise
    finally:
        db.session.remove()


def schedule_model_fits() -> int:
    """Periodic (daily): a fit job for every organization with guests; returns how many were queued."""
    org_ids = db.session.scalars(
        select(Organization.id).where(exists().where(Guest.org_id == Organization.id)).order_by(Organization.id)
    ).all()
    return sum(enqueue_fit(org_id) for org_id in org_ids)


def fit_after_backfill(location_id: int) -> bool:
    """After a location's backfill: queue a fit once every active location of its organization has its history.

    Never raises: the backfill succeeded whatever happens here, and the nightly fit catches up.
    """
    try:
        location = db.session.get(Location, location_id)
        if location is None or location.backfill_completed_at is None:
            return False
        waiting = db.session.scalar(select(Location.id).where(
            Location.org_id == location.org_id, Location.active.is_(True), Location.backfill_completed_at.is_(None)
        ).limit(1))
        return waiting is None and enqueue_fit(location.org_id)
    except Exception:  # noqa: BLE001 - see the docstring
        log.exception("could not queue the model fit after the backfill of location %s", location_id)
        return False
    finally:
        db.session.remove()
