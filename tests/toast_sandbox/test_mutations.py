"""Changing the world: the state's mutation API, live traffic, the /sandbox admin API, the CLI and real HTTP."""
import json
import threading
from datetime import timedelta

import httpx
import pytest
from click.testing import CliRunner
from werkzeug.serving import make_server

from portal.toast.timefmt import format_toast_ts, parse_toast_ts
from tests.toast_sandbox.conftest import FIXED_NOW, SMALL_WORLD, FakeClock
from toast_sandbox import cli
from toast_sandbox.state import UnknownOrder

LATER = FIXED_NOW + timedelta(minutes=10)


@pytest.fixture
def world(make_api):
    api = make_api()
    api.state.advance_time(minutes=10)
    return api


def a_paid_order(api, days_ago: int = 5, checks: int = 1) -> dict:
    start = FIXED_NOW - timedelta(days=days_ago)
    orders = api.orders_bulk(start, start + timedelta(days=1)).json
    return next(order for order in orders if order["paidDate"] and not order["voided"] and not order["deleted"]
                and len(order["checks"]) == checks and order["checks"][0]["payments"])


def test_void_and_void_check(world):
    order = a_paid_order(world)
    voided = world.state.void_order(order["guid"])
    assert voided["voided"] and voided["voidDate"] == format_toast_ts(LATER) == voided["modifiedDate"]
    assert all(check["voided"] and check["amount"] == 0 for check in voided["checks"])
    assert all(payment["paymentStatus"] == "VOIDED" for payment in voided["checks"][0]["payments"]
               if payment["type"] == "CREDIT")
    split = a_paid_order(world, days_ago=6, checks=2)
    changed = world.state.void_check(split["guid"], split["checks"][1]["guid"])
    assert changed["checks"][1]["voided"] and not changed["checks"][0]["voided"] and not changed["voided"]


def test_refunds_partial_then_full(world):
    order = a_paid_order(world)
    payment_total = order["checks"][0]["payments"][0]["amount"]
    world.state.refund(order["guid"], amount=1.0)
    payment = world.state.order(world.state.restaurant_guids[0], order["guid"])["checks"][0]["payments"][0]
    assert payment["refundStatus"] == "PARTIAL" and payment["refund"]["refundAmount"] == 1.0
    world.state.refund(order["guid"])
    assert payment["refundStatus"] == "FULL" and payment["refund"]["refundAmount"] == payment_total


def test_reopen_a_closed_check(world):
    order = a_paid_order(world)
    assert order["checks"][0]["paymentStatus"] == "CLOSED"
    reopened = world.state.reopen_check(order["guid"])
    assert reopened["checks"][0]["paymentStatus"] == "OPEN"
    assert reopened["modifiedDate"] == reopened["checks"][0]["modifiedDate"] == format_toast_ts(LATER)


def test_combine_orders_deletes_the_absorbed_one(world):
    start = FIXED_NOW - timedelta(days=4)
    dine_in = [order for order in world.orders_bulk(start, start + timedelta(days=1)).json
               if order["table"] and not order["voided"] and not order["deleted"]]
    absorbed, target = dine_in[0], dine_in[1]
    combined = world.state.combine_orders(absorbed["guid"], target["guid"])
    assert len(combined["checks"]) == len(target["checks"]) + 1
    gone = world.state.order(world.state.restaurant_guids[0], absorbed["guid"])
    assert gone["deleted"] and gone["deletedDate"] == format_toast_ts(LATER)
    with pytest.raises(UnknownOrder):
        world.state.void_order("0f5d9a8e-1111-4222-8333-944455556666")


def test_added_orders_open_now_and_pay_later(world):
    guid = world.state.add_order(world.state.restaurant_guids[1], channel="dine_anon")
    order = world.state.order(world.state.restaurant_guids[1], guid)
    assert order["modifiedDate"] == format_toast_ts(LATER) and order["paidDate"] is None
    assert order["checks"][0]["paymentStatus"] == "OPEN"
    world.state.advance_time(hours=3)
    assert order["paidDate"] and parse_toast_ts(order["paidDate"]) > LATER
    found = world.orders_bulk(LATER, LATER + timedelta(hours=3), restaurant=1).json
    assert guid in {item["guid"] for item in found}


def test_simulated_traffic_reveals_and_adds_orders(world):
    before = len(world.state.store.orders)
    changes = world.state.simulate_traffic(minutes=120, orders=4)
    assert len(world.state.store.orders) >= before + 4
    assert len({change.guid for change in changes}) >= 4
    assert world.state.now_ms == int((LATER + timedelta(minutes=120)).timestamp() * 1000)


def test_admin_http_api(world):
    http, state = world.http, world.state
    order = a_paid_order(world)
    assert http.post("/sandbox/time/advance", json={"minutes": 5}).json["now"] == format_toast_ts(
        LATER + timedelta(minutes=5))
    assert http.post(f"/sandbox/orders/{order['guid']}/refund", json={"amount": 2}).status_code == 200
    assert http.post(f"/sandbox/orders/{order['guid']}/void").json["voided"] is True
    assert http.post(f"/sandbox/orders/{order['guid']}/explode").status_code == 404
    assert http.post("/sandbox/orders/0f5d9a8e-1111-4222-8333-944455556666/void").status_code == 404
    created = http.post(f"/sandbox/restaurants/{state.restaurant_guids[0]}/orders", json={"channel": "curbside"})
    assert created.status_code == 201 and state.order(state.restaurant_guids[0], created.json["guid"])
    assert http.post(f"/sandbox/restaurants/{state.restaurant_guids[0]}/config/publish").json["version"] == 2
    assert http.post("/sandbox/traffic", json={"minutes": 30}).status_code == 200
    assert set(http.get("/sandbox/credentials").json) == set(state.accounts)
    assert http.post("/sandbox/webhooks/flush").status_code == 404


def test_cli_prints_one_json_line_then_serves(monkeypatch):
    served = {}
    monkeypatch.setattr(cli, "run_simple", lambda host, port, app, **options: served.update(
        host=host, port=port, app=app, **options))
    result = CliRunner().invoke(cli.sandbox_command, ["--port", "8911", "--seed", "3", "--restaurants", "1",
                                                      "--days", "10"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    announced = json.loads(lines[0])
    state = served["app"].extensions["toast_sandbox"]
    assert announced["client_id"] == "sandbox-group-client" and announced["base_url"] == "http://127.0.0.1:8911"
    assert announced["client_secret"] == state.accounts["sandbox-group-client"].secret
    assert len(announced["scopes"]) == 8 and announced["restaurant_guids"] == state.restaurant_guids
    assert announced["management_group_guid"] == state.group_guid and announced["webhook_secret"]
    assert served["threaded"] is True and state.live


def test_serves_real_http(make_api):
    api = make_api(**{**SMALL_WORLD, "restaurants": 1})
    server = make_server("127.0.0.1", 0, api.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        credentials = api.state.credentials()
        login = httpx.post(f"{base}/authentication/v1/authentication/login", json={
            "clientId": credentials["client_id"], "clientSecret": credentials["client_secret"],
            "userAccessType": "TOAST_MACHINE_CLIENT"})
        headers = {"Authorization": f"Bearer {login.json()['token']['accessToken']}",
                   "Toast-Restaurant-External-ID": credentials["restaurant_guids"][0]}
        window = {"startDate": format_toast_ts(FIXED_NOW - timedelta(days=1)), "endDate": format_toast_ts(FIXED_NOW)}
        response = httpx.get(f"{base}/orders/v2/ordersBulk", params=window, headers=headers)
        assert response.status_code == 200 and response.json()
        unencoded = f"{base}/orders/v2/ordersBulk?startDate={window['startDate']}&endDate={window['endDate']}"
        assert httpx.get(unencoded, headers=headers).status_code == 400  # a raw "+" arrives as a space
    finally:
        server.shutdown()


def test_live_worlds_follow_the_clock(make_api):
    clock = FakeClock(FIXED_NOW.timestamp() + 1800)
    api = make_api(clock=clock, live=True)
    assert api.state.now_ms == int(clock() * 1000)
    before = len(api.state.store.orders)
    clock.advance(6 * 3600)  # through the dinner service
    recent = api.orders_bulk(FIXED_NOW, FIXED_NOW + timedelta(hours=7)).json
    assert len(api.state.store.orders) > before
    assert max(parse_toast_ts(order["modifiedDate"]) for order in recent) > FIXED_NOW + timedelta(hours=4)


@pytest.mark.parametrize("path, body", [
    ("/sandbox/time/advance", {"hours": "soon"}), ("/sandbox/time/advance", {"hours": -1}),
    ("/sandbox/traffic", {"minutes": "x"}), ("/sandbox/traffic", {"orders": -2}),
    ("/sandbox/restaurants/{restaurant}/orders", {"channel": "teleport"}),
    ("/sandbox/restaurants/{restaurant}/orders", {"guestIndex": "seven"}),
    ("/sandbox/orders/{order}/combine", {}), ("/sandbox/orders/{order}/refund", {"amount": "lots"}),
])
def test_admin_api_rejects_bad_input_with_400(world, path, body):
    order = a_paid_order(world)
    url = path.format(restaurant=world.state.restaurant_guids[0], order=order["guid"])
    response = world.http.post(url, json=body)
    assert response.status_code == 400, response.json
    assert response.json["message"]
