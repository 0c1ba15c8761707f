"""The dashboard's daily figures kept by the ingest path equal a recomputation from orders, whatever happened."""
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import select

from portal.extensions import db
from portal.guests import daily, service
from portal.localtime import organization_zone
from portal.models import DashboardDay, GuestDuplicate, Order
from portal.privacy import erasure
from tests.guests.builders import BASE, check, customer, ingest, order, payment, simple

DAY = BASE.date()  # BASE is 18:00 UTC: the same date in UTC and in Boston


def stored(org_id: int) -> dict:
    rows = select(DashboardDay).where(DashboardDay.org_id == org_id)
    return {(row.day, row.location_id): {name: getattr(row, name) for name in daily.FIGURES}
            for row in db.session.scalars(rows)}


def recomputed(org_id: int) -> dict:
    zone = organization_zone(db.session, org_id)
    days = {daily.local_day(moment, zone) for moment in db.session.scalars(
        select(Order.opened_at).where(Order.org_id == org_id))}
    return {(day, location_id): figures for day in days
            for location_id, figures in daily.computed(db.session, org_id, day, zone).items()}


def assert_consistent(world) -> dict:
    rows = stored(world.org.id)
    assert rows == recomputed(world.org.id)
    return rows


def test_orders_sales_visits_and_first_visits_per_location_and_day(world):
    ingest(world.location,
           simple(email="ann@example.com", amount=20, opened=BASE),
           simple(email="ben@example.com", amount=10, opened=BASE + timedelta(hours=1)),
           simple(amount=5, opened=BASE + timedelta(hours=2)),  # no guest: counted, not captured
           simple(email="ann@example.com", amount=30, opened=BASE + timedelta(days=1)),
           simple(email="ann@example.com", amount=99, opened=BASE + timedelta(days=1), voided=True))
    ingest(world.other_location,
           order(check(12, customer(email="ann@example.com")), check(8, customer(email="cy@example.com")),
                 opened=BASE + timedelta(hours=3)))  # one order, two guests' checks
    rows = assert_consistent(world)
    here, there = world.location.id, world.other_location.id
    assert rows[(DAY, here)] == {"orders": 3, "revenue_cents": 3500, "captured_orders": 2, "guest_visits": 2,
                                 "new_guests": 2}
    assert rows[(DAY, there)] == {"orders": 1, "revenue_cents": 2000, "captured_orders": 1, "guest_visits": 2,
                                  "new_guests": 1}  # Ann's first visit was at Harbor earlier that day
    assert rows[(DAY + timedelta(days=1), here)] == {"orders": 1, "revenue_cents": 3000, "captured_orders": 1,
                                                     "guest_visits": 1, "new_guests": 0}


def test_re_versions_refunds_and_voids_replace_the_day_and_a_repeat_changes_nothing(world):
    first = simple(email="ann@example.com", amount=20, opened=BASE, order_guid="o-1")
    ingest(world.location, first)
    refunded = simple(email="ann@example.com", amount=20, opened=BASE, order_guid="o-1")
    refunded["checks"][0]["payments"] = [payment(20, refund=5)]
    ingest(world.location, refunded)
    ingest(world.location, refunded)
    assert assert_consistent(world)[(DAY, world.location.id)]["revenue_cents"] == 1500
    ingest(world.location, simple(email="ann@example.com", amount=20, opened=BASE, order_guid="o-1", voided=True))
    assert assert_consistent(world) == {}


def test_an_older_order_arriving_later_moves_the_guests_first_visit(world):
    ingest(world.location, simple(email="ann@example.com", opened=BASE + timedelta(days=5)))
    assert assert_consistent(world)[(DAY + timedelta(days=5), world.location.id)]["new_guests"] == 1
    ingest(world.other_location, simple(email="ann@example.com", opened=BASE))  # the backfill reaches further
    rows = assert_consistent(world)
    assert rows[(DAY + timedelta(days=5), world.location.id)]["new_guests"] == 0
    assert rows[(DAY, world.other_location.id)]["new_guests"] == 1


def test_days_are_the_organizations_local_days(world, session):
    world.location.time_zone = world.other_location.time_zone = "America/New_York"
    session.flush()
    late_dinner = datetime(2026, 3, 3, 0, 40, tzinfo=timezone.utc)  # 19:40 on March 2 in Boston
    ingest(world.location, simple(email="ann@example.com", opened=late_dinner))
    assert set(assert_consistent(world)) == {(date(2026, 3, 2), world.location.id)}
    assert daily.day_bounds(date(2026, 3, 8), organization_zone(db.session, world.org.id))[1] - \
        daily.day_bounds(date(2026, 3, 8), organization_zone(db.session, world.org.id))[0] == timedelta(hours=23)  # DST starts


def test_the_most_common_location_time_zone_is_the_organizations(world, session):
    assert organization_zone(db.session, world.org.id).key == "UTC"  # none reported yet
    world.location.time_zone, world.other_location.time_zone = "America/Chicago", "Not/AZone"
    session.flush()
    assert organization_zone(db.session, world.org.id).key == "America/Chicago"


def test_merges_and_their_undo_keep_the_figures(world, session):
    ingest(world.location,
           simple(email="ann@example.com", phone="617-555-0101", opened=BASE + timedelta(days=2)),
           simple(email="ann.b@example.com", phone="617-555-0101", opened=BASE))
    before = assert_consistent(world)
    assert sum(row["new_guests"] for row in before.values()) == 2
    duplicate = session.scalars(select(GuestDuplicate)).one()
    service.merge(duplicate, None)
    merged = assert_consistent(world)
    assert sum(row["new_guests"] for row in merged.values()) == 1
    assert merged[(DAY, world.location.id)]["new_guests"] == 1  # the merged guest's first visit is the earlier
    (record,) = service.merges_of(world.guest("e:ann.b@example.com"))
    service.unmerge(record, None)
    assert assert_consistent(world) == before


def test_erasure_and_rebuild_leave_the_figures_equal_to_a_recomputation(world, session):
    ingest(world.location, simple(email="ann@example.com", opened=BASE),
           simple(email="ann@example.com", opened=BASE + timedelta(days=1)),
           simple(email="ben@example.com", opened=BASE + timedelta(days=1)))
    before = assert_consistent(world)
    erasure.erase(world.guest("e:ann@example.com"))
    assert assert_consistent(world) == before  # an erased guest's visits still happened
    session.execute(daily.delete(DashboardDay))
    assert daily.rebuild(db.session, world.org.id) == 2
    assert assert_consistent(world) == before
    service.rebuild(world.org.id)
    assert assert_consistent(world) == before
