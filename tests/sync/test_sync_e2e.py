"""Connect → backfill → orders in the database, against the sandbox over HTTP with a real Redis worker."""
import pytest
from sqlalchemy import func, select

from portal.errors import ConflictError
from portal.models import CONNECTION_RECONNECT, DiningOption, Guest, Employee, Location, MenuItem, Order, SyncRun
from portal.sync import bookmarks, runs, steps
from tests.sync.conftest import SANDBOX_DAYS, sandbox_orders, work
from toast_sandbox.clients import GROUP_CLIENT


def order_count(session, location) -> int:
    return session.scalar(select(func.count(Order.id)).where(Order.location_id == location.id))


def test_connect_then_worker_backfills_every_order_and_the_configuration(connected, committed, redis_conn):
    location_ids = [location.id for location in connected["locations"]]
    for location in connected["locations"]:
        runs.start(location, runs.CONFIG)
        runs.start(location, runs.BACKFILL, days=SANDBOX_DAYS + 2)
    work(redis_conn)  # jobs end the session: rows are loaded again below

    sandbox = connected["sandbox"]
    for location in map(committed.get, [Location] * 2, location_ids):
        assert order_count(committed, location) == len(sandbox_orders(sandbox, location.guid)) > 50
        assert location.backfill_completed_at is not None and location.time_zone
        assert bookmarks.load(location, bookmarks.ORDERS)["modified_after"]
        behaviors = set(committed.scalars(select(DiningOption.behavior).where(DiningOption.location_id == location.id)))
        assert behaviors == {"DINE_IN", "TAKE_OUT", "DELIVERY"}
        assert committed.scalar(select(func.count(MenuItem.id)).where(MenuItem.location_id == location.id)) > 5
        assert committed.scalar(select(func.count(Employee.id)).where(Employee.location_id == location.id)) > 2
    statuses = committed.scalars(select(SyncRun.status)).all()
    assert statuses and set(statuses) == {"succeeded"}
    sandbox_emails = {
        (check.get("customer") or {}).get("email", "").strip().lower()
        for guid in sandbox.restaurant_guids for order in sandbox_orders(sandbox, guid) for check in order["checks"]
        if (check.get("customer") or {}).get("email") and not (order["voided"] or order["deleted"])
    }
    guest_emails = set(committed.scalars(select(Guest.email).where(Guest.email.is_not(None))))
    assert sandbox_emails and sandbox_emails <= guest_emails  # every ordering guest has a profile after the sync


def test_a_second_sync_while_one_is_queued_is_refused(connected, committed, redis_conn):
    location = connected["locations"][0]
    runs.start(location, runs.BACKFILL)
    with pytest.raises(ConflictError, match="already queued or running"):
        runs.start(location, runs.POLL)
    runs.start(location, runs.CONFIG)  # configuration runs beside order syncs
    assert committed.scalar(select(func.count(SyncRun.id))) == 2


def test_killed_backfill_resumes_without_downloading_finished_pages_again(connected, committed, redis_conn, app,
                                                                       monkeypatch):
    from portal.sync import orders as order_sync
    from portal.toast.client import ToastClient

    location = connected["locations"][0]
    location_id, location_guid = location.id, location.guid
    requested = []
    real_get_raw = ToastClient.get_raw

    def recording_get_raw(self, path, **kwargs):
        if path.endswith("ordersBulk"):
            params = kwargs["params"]
            requested.append((params["startDate"], params["page"]))
        return real_get_raw(self, path, **kwargs)

    monkeypatch.setattr(ToastClient, "get_raw", recording_get_raw)
    real_store = order_sync.store_orders
    pages_stored = []

    def dying_store(loc, orders):
        if len(pages_stored) == 3:
            raise SystemExit("worker killed")  # not an Exception: nothing in the job may catch and tidy it
        pages_stored.append(len(orders))
        return real_store(loc, orders)

    monkeypatch.setattr(order_sync, "store_orders", dying_store)
    monkeypatch.setitem(app.config, "SYNC_LEASE_S", 1.0)  # a dead worker's page is handed out again after 1 s
    runs.start(location, runs.BACKFILL, days=30)
    order_scheduler = runs.scheduler()
    with pytest.raises(SystemExit):
        while True:  # the worker's loop: hand out the due page, serve it
            for task in order_scheduler.dispatch():
                steps.serve(order_scheduler, task)
    first_attempt = list(requested)
    location = committed.get(Location, location_id)
    assert order_count(committed, location) == sum(pages_stored) == 300
    run = runs.active_order_run(location)
    assert run.status == "running" and run.pages == 3  # as a killed worker leaves it
    assert order_scheduler.in_flight_count() == 1  # its page is still handed out, to a worker that is gone

    monkeypatch.setattr(order_sync, "store_orders", real_store)
    requested.clear()
    work(redis_conn)  # the lease runs out, the page is handed out again and the backfill finishes

    assert requested[0] == first_attempt[3], "the resumed run starts at the page that was not stored"
    assert not set(first_attempt[:3]) & set(requested), "finished pages were downloaded again"
    location = committed.get(Location, location_id)
    assert order_count(committed, location) == len(sandbox_orders(connected["sandbox"], location_guid))
    assert committed.get(SyncRun, run.id).status == "succeeded"


def test_revoked_credentials_put_the_connection_in_reconnect_and_stop_its_jobs(connected, committed, redis_conn):
    sandbox = connected["sandbox"]
    location_id = connected["locations"][0].id
    sandbox.revoke(GROUP_CLIENT)
    runs.start(connected["locations"][0], runs.POLL)
    work(redis_conn)

    location = committed.get(Location, location_id)
    assert location.connection.status == CONNECTION_RECONNECT and location.connection.status_reason
    run = committed.scalar(select(SyncRun).where(SyncRun.location_id == location_id))
    assert run.status == "failed" and run.error.startswith("Toast refused access")

    runs.start(location, runs.POLL)  # later jobs fail fast, without calling Toast
    work(redis_conn)
    latest = committed.scalars(select(SyncRun).order_by(SyncRun.id.desc())).first()
    assert latest.status == "failed" and "reconnect" in latest.error


def test_a_busy_database_retries_the_page_and_a_broken_one_fails_the_run(connected, committed, monkeypatch):
    from sqlalchemy.exc import IntegrityError, OperationalError

    from portal.sync import orders as order_sync

    location = connected["locations"][0]
    location_id = location.id
    real_store = order_sync.store_orders
    errors = [OperationalError("INSERT", {}, Exception("database is locked"))]

    def flaky_store(loc, orders):
        if errors:
            raise errors.pop()
        return real_store(loc, orders)

    monkeypatch.setattr(order_sync, "store_orders", flaky_store)
    runs.start(location, runs.BACKFILL, days=5)
    step = steps.run_order_step(location_id)
    assert not step.done and step.delay == steps.DATABASE_BUSY_RETRY_S  # the same page again, shortly
    run = runs.active_order_run(committed.get(Location, location_id))
    assert run.status == "running" and run.pages == 0
    step = steps.run_order_step(location_id)
    assert committed.get(SyncRun, run.id).pages == 1  # the page the busy database refused is stored now

    errors.append(IntegrityError("INSERT", {}, Exception("a bug")))
    step = steps.run_order_step(location_id)
    assert step.done
    committed.expire_all()
    assert committed.get(SyncRun, run.id).status == "failed"
