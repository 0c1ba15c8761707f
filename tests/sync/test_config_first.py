"""A new location's order pages wait for its configuration: orders are applied with their dining option's behavior
(the guest's channels) and their server's name, which the configuration brings."""
from sqlalchemy import select

from portal.models import GuestOrder, Location, SyncRun
from portal.sync import runs, steps
from portal.sync.scheduler import Task
from workers.sync import refresh_config_job


def test_the_first_page_waits_for_the_configuration_which_then_arms_it(connected, committed, redis_conn):
    location = connected["locations"][0]
    location_id, org_id = location.id, location.org_id
    config_run = runs.start(location, runs.CONFIG)
    order_run = runs.start(location, runs.BACKFILL, days=3)
    config_run_id, order_run_id = config_run.id, order_run.id
    order_scheduler = runs.scheduler()
    assert order_scheduler.dispatch() == [Task(org_id, location_id)]

    step = steps.run_order_step(location_id)
    assert not step.done and step.delay == steps.CONFIG_WAIT_S
    assert committed.get(SyncRun, order_run_id).pages == 0  # nothing fetched before the configuration
    order_scheduler.finish(Task(org_id, location_id), step.delay)
    assert order_scheduler.seconds_until_due() > 10

    refresh_config_job(location_id, config_run_id)
    assert order_scheduler.seconds_until_due() == 0  # armed by the configuration's job
    committed.expire_all()
    assert committed.get(Location, location_id).config_refreshed_at is not None
    while not steps.run_order_step(location_id).done:
        pass
    assert committed.get(SyncRun, order_run_id).status == "succeeded"
    channels = committed.scalars(select(GuestOrder.channel).where(GuestOrder.location_id == location_id)).all()
    assert channels and None not in channels  # every guest order knows its channel from its dining option
