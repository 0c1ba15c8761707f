"""Guest-value model jobs: fit and score one organization (queue "models", one job per organization at a time:
``portal.jobs.enqueue_fit``), and the nightly fan-out."""
import logging

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError, OperationalError

from portal import jobs
from portal.extensions import current_settings, db
from portal.models import Guest, Organization
from portal.scoring import service

log = logging.getLogger("tablecloth.models")

# Transient only: a lock or dropped connection, or a guest merged away between the read and the write-back.
TRANSIENT = (OperationalError, IntegrityError)


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
        fit = service.fit_and_score(db.session, org_id, options=service.Settings.of(current_settings()))
        db.session.commit()
        log.info("model fit done: org %s, %s guests, backed=%s, %.1f s", org_id, fit.guests, fit.backed, fit.seconds)
        return {"fit_id": fit.id, "guests": fit.guests, "backed": fit.backed}
    except Exception as exc:
        db.session.rollback()
        jobs.retrying(isinstance(exc, TRANSIENT))
        log.warning("model fit failed: org %s: %s", org_id, type(exc).__name__)
        raise
    finally:
        db.session.remove()


def schedule_model_fits() -> int:
    """Periodic (daily): a fit job for every organization with guests; returns how many were queued."""
    org_ids = db.session.scalars(
        select(Organization.id).where(exists().where(Guest.org_id == Organization.id)).order_by(Organization.id)
    ).all()
    return sum(jobs.enqueue_fit(org_id) for org_id in org_ids)

