"""A fleet: locations split into management groups, each with its own client, guests and webhook endpoint."""
import json
from datetime import timedelta

import pytest
from click.testing import CliRunner

from tests.toast_sandbox.conftest import FIXED_NOW, NO_LIMITS, FakeClock, ToastApi
from tests.toast_sandbox.test_schema import assert_valid, response_schema
from tests.toast_sandbox.test_webhooks import Receiver
from toast_sandbox import GROUP_CLIENT, PARTNER_CLIENT, RateLimitConfig, WebhookConfig, create_sandbox_app
from toast_sandbox import cli as sandbox_cli
from toast_sandbox.generator import build_world
from toast_sandbox.generator_people import SPARE_AREA_CODES, _unique_phone
from toast_sandbox.webhooks import WebhookDispatcher

FLEET = {"seed": 5, "restaurants": 6, "group_sizes": [3, 2, 1], "days": 21, "now": FIXED_NOW, "orders_per_day": 12}
SECOND = f"{GROUP_CLIENT}-2"


@pytest.fixture(scope="module")
def fleet() -> ToastApi:
    return ToastApi(create_sandbox_app(**FLEET, rate_limits=NO_LIMITS))


def group_locations(api: ToastApi, group: int) -> list[str]:
    return [restaurant.guid for restaurant in api.state.world.restaurants if restaurant.group == group]


def test_each_group_client_reaches_only_its_own_group(fleet):
    credentials = fleet.state.fleet_credentials()
    assert [item["client_id"] for item in credentials] == [GROUP_CLIENT, SECOND, f"{GROUP_CLIENT}-3"]
    assert [len(item["restaurant_guids"]) for item in credentials] == [3, 2, 1]
    assert sum((item["restaurant_guids"] for item in credentials), []) == fleet.state.restaurant_guids
    assert len({item["management_group_guid"] for item in credentials}) == 3
    assert len({item["group"] for item in credentials}) == 3, "every group has its own brand"
    own, other = group_locations(fleet, 1), group_locations(fleet, 0)
    group_guid = credentials[1]["management_group_guid"]
    listed = fleet.get(f"/restaurants/v1/groups/{group_guid}/restaurants", restaurant=own[0], client_id=SECOND)
    assert [item["guid"] for item in listed.json] == own
    assert_valid(response_schema("restaurants", "/groups/{managementGroupGUID}/restaurants"), listed.json)
    foreign = fleet.get(f"/restaurants/v1/groups/{credentials[0]['management_group_guid']}/restaurants",
                        restaurant=own[0], client_id=SECOND)
    assert foreign.status_code == 404
    assert fleet.get("/labor/v1/employees", restaurant=other[0], client_id=SECOND).status_code == 403
    info = fleet.get(f"/restaurants/v1/restaurants/{own[1]}", restaurant=own[1], client_id=SECOND).json
    assert info["general"]["managementGroupGuid"] == group_guid
    assert_valid(response_schema("restaurants", "/restaurants/{restaurantGUID}"), info)
    header_is_a_group = fleet.get("/labor/v1/employees", restaurant=group_guid, client_id=SECOND)
    assert header_is_a_group.status_code == 400


def test_partner_sees_each_location_with_its_own_group(fleet):
    accesses = fleet.get("/partners/v1/restaurants", restaurant=None, client_id=PARTNER_CLIENT).json
    groups = {item["restaurantGuid"]: item["managementGroupGuid"] for item in accesses}
    assert len(groups) == 5, "the partner reaches every location but the last"
    assert {groups[guid] for guid in group_locations(fleet, 1)} == {fleet.state.group_guids[1]}
    assert_valid(response_schema("partners", "/restaurants"), accesses)


def test_guests_order_only_in_their_own_group(fleet):
    world = fleet.state.world
    for guest in world.guests:
        assert {world.restaurants[where].group for _, where in guest.visits} == {world.restaurants[guest.home].group}
    first_group_emails = {guest.email for guest in world.guests_of(0)}
    orders = fleet.all_orders(FIXED_NOW - timedelta(days=10), FIXED_NOW, restaurant=group_locations(fleet, 1)[0],
                              client_id=SECOND)
    emails = {check["customer"]["email"].strip().lower() for order in orders for check in order["checks"]
              if check.get("customer") and check["customer"].get("email")}
    assert emails and not emails & {email.lower() for email in first_group_emails}


def test_orders_per_day_sets_the_volume():
    for wanted in (4, 20):
        world = build_world(**{**FLEET, "orders_per_day": wanted})
        days = [world.plan_day(index, world.first_day + timedelta(days=offset))
                for index in range(6) for offset in range(14)]
        average = sum(len(day) for day in days) / len(days)
        assert 0.7 * wanted <= average <= 1.3 * wanted, (wanted, average)


def test_group_sizes_must_add_up():
    with pytest.raises(ValueError, match="add up to 5 locations, not 6"):
        build_world(**{**FLEET, "group_sizes": [3, 2]})
    with pytest.raises(ValueError, match="at least one location"):
        build_world(**{**FLEET, "group_sizes": [6, 0]})


def test_a_group_larger_than_its_cities_phone_numbers_draws_from_spare_area_codes():
    import random

    taken = {f"617555{number:04d}" for number in range(10_000)}
    phone = _unique_phone(random.Random(1), ("617",), taken)
    assert phone[:3] in SPARE_AREA_CODES and phone[3:6] == "555" and phone in taken


def test_each_client_gets_the_webhooks_of_its_own_locations(make_api):
    api = make_api(**FLEET)
    receiver = Receiver(200)
    api.app.extensions["toast_sandbox_webhooks"] = WebhookDispatcher(api.state, client=receiver.client())
    answer = api.http.put(f"/sandbox/clients/{SECOND}/webhook", json={"url": "https://crm.example.com/hooks/b"})
    assert answer.status_code == 200 and answer.json["restaurants"] == 2
    mine = api.state.add_order(group_locations(api, 1)[1])
    api.state.add_order(group_locations(api, 0)[0])
    deliveries = api.http.post("/sandbox/webhooks/flush").json
    assert [item["orderGuid"] for item in deliveries] == [mine]
    assert [str(request.url) for request in receiver.requests] == ["https://crm.example.com/hooks/b"]
    assert api.http.put(f"/sandbox/clients/{SECOND}/webhook", json={"url": None}).status_code == 200
    api.state.add_order(group_locations(api, 1)[0])
    assert api.http.post("/sandbox/webhooks/flush").json == []
    assert api.http.put("/sandbox/clients/nobody/webhook", json={"url": "https://x.example"}).status_code == 404
    assert api.http.put(f"/sandbox/clients/{SECOND}/webhook", json={"url": "ftp://x"}).status_code == 400


def test_a_failed_delivery_waits_for_its_retry_without_holding_the_others(make_api):
    api = make_api()
    receiver = Receiver(503, 200)
    clock = FakeClock(0)
    dispatcher = WebhookDispatcher(api.state, WebhookConfig(url="https://crm.example.com/h", retry_delays=(5,)),
                                   client=receiver.client(), clock=clock)
    first, second = (api.state.add_order(guid) for guid in api.state.restaurant_guids)
    sent = dispatcher.flush()
    assert [(item.order_guid, item.attempts, item.delivered) for item in sent] == [(first, 1, False), (second, 1, True)]
    assert dispatcher.flush() == []
    clock.advance(5)
    [retry] = dispatcher.flush()
    assert (retry.order_guid, retry.attempts, retry.delivered) == (first, 2, True)
    assert receiver.requests[2].content == receiver.requests[0].content
    assert receiver.requests[2].headers["Toast-Attempt-Number"] == "2"


def test_order_index_and_request_counts(make_api):
    api = make_api(**FLEET, rate_limits=RateLimitConfig(), clock=FakeClock())
    guid = api.state.restaurant_guids[0]
    start, end = FIXED_NOW - timedelta(days=3), FIXED_NOW - timedelta(days=1)
    served = api.all_orders(start, end)
    window = {"modifiedFrom": int(start.timestamp() * 1000), "modifiedTo": int(end.timestamp() * 1000)}
    index = api.http.get(f"/sandbox/restaurants/{guid}/orders", query_string=window).json
    assert [item["guid"] for item in index["orders"]] == [order["guid"] for order in served]
    assert all(window["modifiedFrom"] <= item["modifiedDate"] < window["modifiedTo"] for item in index["orders"])
    assert len(api.http.get(f"/sandbox/restaurants/{guid}/orders").json["orders"]) > len(served)
    assert api.http.get(f"/sandbox/restaurants/{guid}/orders?modifiedFrom=x").status_code == 400
    assert api.http.get(f"/sandbox/restaurants/{api.state.group_guid}/orders").status_code == 404
    assert [api.get("/menus/v2/menus").status_code for _ in range(2)] == [200, 429]
    pages = max(1, -(-len(served) // 100))
    assert api.http.get("/sandbox/stats").json["locations"][guid] == {"requests": pages + 2, "ordersBulk": pages,
                                                                     "rateLimited": 1}


def test_cli_prints_every_groups_credentials(monkeypatch):
    monkeypatch.setattr(sandbox_cli, "run_simple", lambda *args, **kwargs: None)
    result = CliRunner().invoke(sandbox_cli.sandbox_command, ["--group-sizes", "2,1", "--orders-per-day", "5",
                                                              "--days", "7", "--account-limit", "100"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert [len(group["restaurant_guids"]) for group in printed["groups"]] == [2, 1]
    assert printed["restaurant_guids"] == printed["groups"][0]["restaurant_guids"] + printed["groups"][1][
        "restaurant_guids"]
    assert printed["groups"][0]["client_secret"] == printed["client_secret"]
    mismatch = CliRunner().invoke(sandbox_cli.sandbox_command, ["--group-sizes", "2,1", "--restaurants", "5"])
    assert mismatch.exit_code == 2 and "add up to 3, not 5" in mismatch.output
    garbage = CliRunner().invoke(sandbox_cli.sandbox_command, ["--group-sizes", "2,x"])
    assert garbage.exit_code == 2 and "separated by commas" in garbage.output
