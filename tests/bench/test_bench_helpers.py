"""The arithmetic and the checks the issue-16 benches report on: fleet split, fetch floor, stored vs Toast's orders."""
import math
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from bench._orders import compare, pending_events, receipts, with_figures
from bench.fleet_onboarding import group_sizes
from bench.webhook_load import fetch_floor
from portal.models import Guest, GuestOrder, Order, OrderCheck, WebhookEvent
from tests import factories

NOW = datetime(2024, 5, 15, 18, 0, tzinfo=timezone.utc)


def ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


@pytest.mark.parametrize("locations, orgs, largest", [(200, 20, 100), (6, 3, 3), (21, 20, 2), (5, 1, 5)])
def test_fleet_split_gives_the_largest_first_and_the_rest_unequal(locations, orgs, largest):
    sizes = group_sizes(locations, orgs, largest)
    assert sum(sizes) == locations and len(sizes) == orgs and sizes[0] == largest
    assert min(sizes) >= 1 and sizes[1:] == sorted(sizes[1:], reverse=True)
    if orgs > 2 and locations - largest > orgs:
        assert len(set(sizes[1:])) > 1


def test_fleet_split_refuses_what_cannot_be_split():
    with pytest.raises(SystemExit):
        group_sizes(5, 3, 4)


def test_fetch_floor_counts_20_per_second_window_per_location():
    burst = {"a": [0.01 * index for index in range(25)], "b": [0.5 + 0.01 * index for index in range(20)]}
    assert fetch_floor(burst, 0.0) == pytest.approx(1.0), "the 21st fetch of a waits for the next window"
    assert fetch_floor({"a": [0.0, 3.25]}, 0.0) == pytest.approx(3.25), "never before the order's first event"
    assert fetch_floor({"a": [10.9] * 21}, 10.5) == pytest.approx(0.5)


def test_comparison_finds_lost_stale_doubled_and_unknown_orders(session):
    location = factories.LocationFactory()
    stored = {"kept": NOW, "stale": NOW - timedelta(minutes=5), "late": NOW - timedelta(minutes=5), "extra": NOW}
    orders = {}
    for name, modified in stored.items():
        orders[name] = Order(org_id=location.org_id, location_id=location.id, guid=f"{name}-guid", modified_at=modified)
        session.add(orders[name])
    session.flush()
    for _ in range(2):  # one check stored twice
        session.add(OrderCheck(org_id=location.org_id, order_id=orders["kept"].id, guid="check-guid"))
    session.flush()
    toast = {location.id: {"kept-guid": ms(NOW), "stale-guid": ms(NOW), "late-guid": ms(NOW + timedelta(minutes=1)),
                           "lost-guid": ms(NOW), "old-guid": ms(NOW - timedelta(days=90))}}
    result = compare(session.connection(), toast, ms(NOW - timedelta(days=1)), ms(NOW + timedelta(seconds=30)))
    assert (result.expected, result.stored) == (4, 4)
    assert (result.lost, result.stale, result.doubled, result.unknown) == (1, 1, 1, 1)
    assert not result.clean
    everything_settled = compare(session.connection(), toast, ms(NOW - timedelta(days=1)), math.inf)
    assert everything_settled.stale == 2


def test_webhook_receipts_figures_and_pending_events(session):
    location = factories.LocationFactory()
    order = Order(org_id=location.org_id, location_id=location.id, guid="order-guid", modified_at=NOW)
    session.add(order)
    for when, status in ((NOW, "processed"), (NOW - timedelta(seconds=3), "received")):
        session.add(WebhookEvent(org_id=location.org_id, connection_id=location.connection_id,
                                 event_guid=str(uuid.uuid4()), event_type="order_updated", order_guid="order-guid",
                                 body="{}", status=status, created_at=when))
    session.flush()
    conn = session.connection()
    assert receipts(conn, ["order-guid", "other"]) == {"order-guid": (NOW - timedelta(seconds=3)).timestamp()}
    assert pending_events(conn) == 1
    assert with_figures(conn, [location.id], ["order-guid"]) == set()
    guest = Guest(org_id=location.org_id, key="e:someone@example.com")
    session.add(guest)
    session.flush()
    session.add(GuestOrder(guest_id=guest.id, order_id=order.id, org_id=location.org_id, location_id=location.id))
    session.flush()
    assert with_figures(conn, [location.id], ["order-guid"]) == {"order-guid"}
