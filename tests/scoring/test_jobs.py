"""The model jobs: one unique job per organization, the nightly fan-out, the job itself, the backfill hook."""
import numpy as np
import pytest
from rq import Queue, SimpleWorker
from rq.job import Job, JobStatus
from sqlalchemy import select, update

from portal import jobs
from portal.extensions import db
from portal.models import GuestScore, Location, ModelFit
from portal.models.base import utcnow
from portal.sync import steps
from tests import factories
from tests.scoring.builders import insert_guests, simulated
from tests.scoring.conftest import make_shop
from workers import cron, models


def queued(redis_conn) -> list[str]:
    return Queue("models", connection=redis_conn).job_ids


def test_the_nightly_fan_out_queues_one_job_per_organization_with_guests(session, redis_conn):
    with_guests = [make_shop("A"), make_shop("B")]
    for shop in with_guests:
        insert_guests(session, shop.org, shop.location, simulated(5, utcnow().date(), 30, np.random.default_rng(1)))
    factories.OrganizationFactory()  # no guests: nothing to fit
    assert models.schedule_model_fits() == 2
    assert sorted(queued(redis_conn)) == sorted(f"models-fit-{shop.org.id}" for shop in with_guests)
    assert models.schedule_model_fits() == 0  # still queued: not doubled
    assert (models.schedule_model_fits, "default", 24 * 3600) in cron.PERIODIC_JOBS


def test_a_failed_job_does_not_block_the_next_fit(session, redis_conn):
    shop = make_shop()
    assert jobs.enqueue_fit(shop.org.id)
    job = Job.fetch(jobs.fit_job_id(shop.org.id), connection=redis_conn)
    job.set_status(JobStatus.FAILED)
    Queue("models", connection=redis_conn).remove(job)
    assert jobs.enqueue_fit(shop.org.id)
    assert queued(redis_conn) == [jobs.fit_job_id(shop.org.id)]


@pytest.fixture
def committed_shop(committed):
    shop = make_shop()
    insert_guests(committed, shop.org, shop.location, simulated(50, utcnow().date(), 200, np.random.default_rng(2)))
    committed.commit()
    return shop.org.id, shop.location.id


def test_the_job_fits_scores_and_commits(committed_shop, committed, redis_conn):
    org_id, _ = committed_shop
    jobs.enqueue_fit(org_id)
    db.session.remove()
    SimpleWorker([Queue("models", connection=redis_conn)], connection=redis_conn).work(burst=True)
    fit = committed.scalar(select(ModelFit).where(ModelFit.org_id == org_id))
    assert fit is not None and not fit.backed and fit.guests == 50 and fit.seconds > 0
    assert len(committed.scalars(select(GuestScore).where(GuestScore.org_id == org_id)).all()) == 50
    assert queued(redis_conn) == []  # result_ttl=0: nothing left behind, the next fit can start


def test_the_backfill_hook_waits_for_every_location_of_the_organization(committed_shop, committed, redis_conn):
    org_id, location_id = committed_shop
    first = committed.get(Location, location_id)
    second_id = factories.LocationFactory(connection=first.connection, name="Uptown").id
    committed.commit()

    def backfilled(location):
        committed.execute(update(Location).where(Location.id == location).values(backfill_completed_at=utcnow()))
        committed.commit()

    backfilled(location_id)
    assert not steps.fit_after_backfill(location_id)  # the second location has no history yet
    assert queued(redis_conn) == []
    backfilled(second_id)
    assert steps.fit_after_backfill(second_id)
    assert queued(redis_conn) == [jobs.fit_job_id(org_id)]


def test_the_job_skips_an_organization_that_is_gone(session):
    assert models.fit_organization_job(987654) is None
