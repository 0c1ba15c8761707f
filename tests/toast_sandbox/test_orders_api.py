"""ordersBulk and orders/{guid}: windows, paging, modified-time semantics and scope stripping."""
import re
from datetime import timedelta

import pytest

from portal.toast.timefmt import format_toast_ts, parse_toast_ts
from tests.toast_sandbox.conftest import FIXED_NOW
from toast_sandbox import LIMITED_CLIENT

WEEK = (FIXED_NOW - timedelta(days=7), FIXED_NOW)


def links(response) -> dict[str, str]:
    """rel -> URL of a Link header."""
    return {rel: url for url, rel in re.findall(r'<([^>]+)>; rel="([a-z]+)"', response.headers["Link"])}


@pytest.mark.parametrize("params, field", [
    ({"startDate": "2024-01-01T00:00:00.000+0000", "endDate": "2024-02-01T00:00:00.001+0000"}, "endDate"),
    ({"startDate": "2024-05-01T00:00:00.000 0000", "endDate": "2024-05-02T00:00:00.000+0000"}, "startDate"),
    ({"startDate": "2024-05-01", "endDate": "2024-05-02"}, "startDate"),
    ({"startDate": "2015-11-30T00:00:00.000+0000", "endDate": "2015-12-02T00:00:00.000+0000"}, "startDate"),
    ({"startDate": "2024-05-02T00:00:00.000+0000", "endDate": "2024-05-01T00:00:00.000+0000"}, "endDate"),
    ({"startDate": "2024-05-01T00:00:00.000+0000"}, "startDate"),
    ({"businessDate": "2024-05-01"}, "businessDate"),
    ({"businessDate": "20240501", "startDate": "2024-05-01T00:00:00.000+0000"}, "businessDate"),
    ({"businessDate": "20240501", "pageSize": "101"}, "pageSize"),
    ({"businessDate": "20240501", "page": "0"}, "page"),
])
def test_bad_parameters_are_400(api, params, field):
    response = api.get("/orders/v2/ordersBulk", params=params)
    assert response.status_code == 400
    assert response.json["fieldName"] == field


def test_a_full_calendar_month_is_allowed(api):
    response = api.get("/orders/v2/ordersBulk", params={"startDate": "2024-04-15T00:00:00.000+0000",
                                                        "endDate": "2024-05-15T00:00:00.000+0000"})
    assert response.status_code == 200


def test_link_headers_and_paging_to_exhaustion(api):
    expected = {order["guid"] for order in api.state.store.modified_between(0, *(int(m.timestamp() * 1000)
                                                                                 for m in WEEK))}
    seen, page = [], 1
    while True:
        response = api.orders_bulk(*WEEK, page=page, page_size=7)
        rels = links(response)
        assert {"first", "self"} <= set(rels) and "last" not in rels
        assert ("prev" in rels) == (page > 1)
        assert "page=1" in rels["first"] and f"page={page}" in rels["self"] and "%2B0000" in rels["self"]
        assert not any("total" in header.lower() for header in response.headers.keys())
        seen.extend(order["guid"] for order in response.json)
        if "next" not in rels:
            break
        assert len(response.json) == 7
        page += 1
    assert len(seen) == len(set(seen)) == len(expected) > 100
    assert set(seen) == expected
    assert api.orders_bulk(*WEEK, page=page + 1, page_size=7).json == []


def test_pages_are_ordered_by_modified_time(api):
    orders = api.orders_bulk(*WEEK).json
    modified = [parse_toast_ts(order["modifiedDate"]) for order in orders]
    assert modified == sorted(modified)
    assert all(WEEK[0] <= moment < WEEK[1] for moment in modified)


def test_end_is_exclusive_and_start_inclusive(api):
    order = api.orders_bulk(*WEEK).json[0]
    modified = parse_toast_ts(order["modifiedDate"])
    starting = api.orders_bulk(modified, modified + timedelta(minutes=1)).json
    ending = api.orders_bulk(modified - timedelta(minutes=1), modified).json
    assert order["guid"] in {item["guid"] for item in starting}
    assert order["guid"] not in {item["guid"] for item in ending}


def test_an_order_shows_up_again_in_a_later_window(make_api):
    api = make_api()
    lunch = (FIXED_NOW - timedelta(hours=6), FIXED_NOW)
    before = {order["guid"]: order for order in api.all_orders(*lunch)}
    waiting = [order for order in before.values()
               if any(check["paymentStatus"] == "PAID" for check in order["checks"])]
    assert waiting, "lunch card checks wait for tip adjustment or closeout"
    api.state.advance_time(hours=20)  # past 04:00 local: the nightly closeout
    after_closeout = {order["guid"]: order for order in api.all_orders(FIXED_NOW, FIXED_NOW + timedelta(hours=20))}
    for order in waiting:
        again = after_closeout[order["guid"]]
        assert parse_toast_ts(again["modifiedDate"]) > parse_toast_ts(order["modifiedDate"])
        assert all(check["paymentStatus"] == "CLOSED" for check in again["checks"] if not check["voided"])
    assert not {order["guid"] for order in api.all_orders(*lunch)} & {order["guid"] for order in waiting}


def test_a_mutation_moves_an_old_order_into_the_current_window(make_api):
    api = make_api()
    old = api.orders_bulk(FIXED_NOW - timedelta(days=14), FIXED_NOW - timedelta(days=13)).json
    target = next(order for order in old if not order["voided"] and not order["deleted"] and order["paidDate"])
    api.state.advance_time(minutes=30)
    api.state.refund(target["guid"])
    recent = api.orders_bulk(FIXED_NOW, FIXED_NOW + timedelta(hours=1)).json
    refreshed = next(order for order in recent if order["guid"] == target["guid"])
    assert refreshed["modifiedDate"] == format_toast_ts(FIXED_NOW + timedelta(minutes=30))
    assert refreshed["checks"][0]["totalAmount"] == target["checks"][0]["totalAmount"]  # refunds leave totals
    assert any(payment["refundStatus"] == "FULL" for check in refreshed["checks"] for payment in check["payments"])


def test_business_date_mode_selects_by_creation_day(api):
    orders = api.get("/orders/v2/ordersBulk", params={"businessDate": "20240510"}).json
    assert orders and all(order["businessDate"] == 20240510 for order in orders)
    assert api.get("/orders/v2/ordersBulk", params={"businessDate": "20200101"}).json == []


def test_single_order_lookup(api, history):
    order = history[10]
    assert api.get(f"/orders/v2/orders/{order['guid']}").json == order
    assert api.get("/orders/v2/orders/1234").status_code == 400
    assert api.get("/orders/v2/orders/0f5d9a8e-1111-4222-8333-944455556666").status_code == 404
    assert api.get(f"/orders/v2/orders/{order['guid']}", restaurant=1).status_code == 404


def test_scopes_strip_guest_data(api):
    full = {order["guid"]: order for order in api.orders_bulk(*WEEK).json}
    limited = api.orders_bulk(*WEEK, client_id=LIMITED_CLIENT).json
    assert {order["guid"] for order in limited} == set(full)
    for order in limited:
        assert "curbsidePickupInfo" not in order
        assert order["deliveryInfo"] is None
        assert all("customer" not in check for check in order["checks"])
    assert any(full[order["guid"]]["curbsidePickupInfo"] for order in limited)
    assert any(full[order["guid"]]["deliveryInfo"] for order in limited)
    lone = next(guid for guid, order in full.items() if order["deliveryInfo"])
    single = api.get(f"/orders/v2/orders/{lone}", client_id=LIMITED_CLIENT).json
    assert single["deliveryInfo"] is None and "customer" not in single["checks"][0]


def test_delivery_address_scope_alone_hides_only_the_address(make_api):
    api = make_api(clients={"pii-only": {"scopes": ["orders:read", "guest.pi:read"]}})
    orders = api.orders_bulk(*WEEK, client_id="pii-only").json
    assert all(order["deliveryInfo"] is None for order in orders)
    assert any(check.get("customer") for order in orders for check in order["checks"])
    assert any("curbsidePickupInfo" in order for order in orders)


def test_state_query_matches_paging_everything(api, history):
    state = api.state
    everything = state.orders_modified_between(state.restaurant_guids[0], 0, state.now_ms + 1)
    assert [order["guid"] for order in everything] == [order["guid"] for order in history]
