"""When syncs run by themselves: after orders (debounced, with a ceiling), nightly, and stalled runs resumed."""
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.audiences import schedule, service
from portal.models import AudienceRun, Guest
from portal.models.base import utcnow
from tests import factories
from tests.audiences.conftest import SEGMENT_RULES, add_guest, connect


@pytest.fixture
def synced(session, redis_conn, mailchimp):
    org = factories.OrganizationFactory()
    segment = factories.SegmentFactory(organization=org, slug="regulars", rules_json=json.dumps(SEGMENT_RULES))
    guest = add_guest(org, 1)
    sync = service.sync_for(segment, connect(org, mailchimp))
    session.flush()
    return sync, guest


def runs_of(session, sync) -> int:
    return session.scalar(select(func.count(AudienceRun.id)).where(AudienceRun.sync_id == sync.id))


def test_orders_start_a_run_once_they_have_been_quiet_for_the_debounce(synced, session):
    sync, guest = synced
    now = utcnow()
    guest.updated_at = now - timedelta(minutes=2)  # never run yet: the first run goes at once
    assert schedule.start_after_orders(now) == 1
    run = session.scalar(select(AudienceRun).where(AudienceRun.sync_id == sync.id))
    run.status, run.queued_at = "done", now - timedelta(minutes=30)
    guest.updated_at = now - timedelta(minutes=2)  # orders still arriving
    assert schedule.start_after_orders(now) == 0
    assert schedule.start_after_orders(now + schedule.DEBOUNCE) == 1  # quiet long enough
    assert runs_of(session, sync) == 2 and run.trigger == "orders"


def test_a_steady_stream_of_orders_still_gets_a_run_every_max_wait(synced, session):
    sync, guest = synced
    now = utcnow()
    session.add(AudienceRun(org_id=sync.org_id, sync=sync, status="done", trigger="manual",
                            queued_at=now - schedule.MAX_WAIT - timedelta(minutes=1)))
    guest.updated_at = now - timedelta(seconds=30)
    assert schedule.start_after_orders(now) == 1


def test_nightly_starts_one_run_per_sync_and_never_two_at_once(synced, session):
    sync, _ = synced
    assert schedule.start_nightly() == 1
    assert schedule.start_nightly() == 0  # the first is still queued
    assert runs_of(session, sync) == 1


def test_a_run_whose_worker_died_is_queued_again(synced, session, redis_conn):
    sync, _ = synced
    run = service.start_run(sync, "manual", enqueue=False)  # running, but no job in Redis knows it
    run.status, run.started_at = "running", utcnow() - schedule.STALLED - timedelta(minutes=1)
    assert schedule.resume_stalled() == 1
    assert schedule.resume_stalled() == 0  # now queued
