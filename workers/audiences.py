"""Audience sync jobs: one run of a sync (``portal.jobs.enqueue_audience_run``, one job per sync at a time) and the
periodic triggers (nightly, debounced after orders, stalled runs, Klaviyo suppressions)."""
import logging

from portal import jobs
from portal.audiences import clients, optouts, runs, schedule
from portal.extensions import db

log = logging.getLogger("tablecloth.audiences")


def audience_run_job(run_id: int) -> dict | None:
    """Run or resume the run (``portal.audiences.runs.execute``). Transient destination trouble keeps the retries
    declared at enqueue (the retry resumes from the checkpoint); other errors have already failed the run."""
    try:
        run = runs.execute(run_id)
        return None if run is None else {"run_id": run.id, "status": run.status}
    except runs.RunBusy:
        log.info("audience run %s: another process is running it", run_id)
        return None
    except Exception as exc:
        jobs.retrying(isinstance(exc, clients.RetryableError))
        raise
    finally:
        db.session.remove()


def schedule_nightly_audience_runs() -> int:
    """Periodic (daily)."""
    return schedule.start_nightly()


def schedule_audience_runs() -> int:
    """Periodic (5 min): runs after orders (debounced), stalled runs resumed, Klaviyo suppressions read back."""
    started = schedule.start_after_orders() + schedule.resume_stalled()
    optouts.poll_klaviyo_suppressions()
    db.session.commit()
    return started
