"""Toast's fixed-window rate limits, driven by a fake clock."""
from tests.toast_sandbox.conftest import FakeClock
from toast_sandbox import PARTNER_CLIENT, RateLimitConfig

BULK = {"businessDate": "20240510", "pageSize": 1}


def limited(make_api, **config):
    clock = FakeClock(1_715_796_000.25)  # a quarter second into a one-second window
    api = make_api(clock=clock, rate_limits=RateLimitConfig(**config))
    api.token()
    return api, clock


def test_global_limit_is_20_per_second_per_location(make_api):
    api, clock = limited(make_api)
    responses = [api.get("/labor/v1/employees") for _ in range(21)]
    assert [response.status_code for response in responses[:20]] == [200] * 20
    refused = responses[20]
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    assert refused.headers["X-Toast-RateLimit-By"] == "GLOBAL"
    assert refused.headers["X-Toast-RateLimit-Remaining"] == "0"
    assert int(refused.headers["X-Toast-RateLimit-Reset"]) == int(clock.now) + 1
    assert refused.json["status"] == "429"
    assert api.get("/labor/v1/employees", restaurant=1).status_code == 200, "another location has its own quota"
    assert api.get("/labor/v1/employees", client_id=PARTNER_CLIENT).status_code == 429, "so has no other client"
    clock.advance(1)
    assert api.get("/labor/v1/employees").status_code == 200


def test_calls_without_a_location_count_per_ip_address(make_api):
    api, _ = limited(make_api)
    partner = [api.get("/partners/v1/restaurants", restaurant=None, client_id=PARTNER_CLIENT) for _ in range(20)]
    assert all(response.status_code == 200 for response in partner)
    anonymous = api.http.get("/partners/v1/restaurants")
    assert anonymous.status_code == 429, "the same address, without a token or a location"
    assert api.get("/labor/v1/employees").status_code == 200, "a location's quota is its own"


def test_an_account_limit_caps_a_client_over_all_its_locations(make_api):
    api, clock = limited(make_api, account_per_15_minutes=12)
    statuses = [api.get("/labor/v1/employees", restaurant=index % 2).status_code for index in range(12)]
    assert statuses == [200] * 12
    refused = api.get("/labor/v1/employees", restaurant=1)
    assert refused.status_code == 429 and refused.headers["X-Toast-RateLimit-By"] == "GLOBAL,ACCOUNT"
    window_end = (int(clock.now) // 900 + 1) * 900
    assert int(refused.headers["Retry-After"]) == window_end - int(clock.now)
    assert api.get("/labor/v1/employees", client_id=PARTNER_CLIENT).status_code == 200, "another client's own cap"


def test_every_api_response_reports_the_binding_limit(make_api):
    api, clock = limited(make_api)
    response = api.get("/labor/v1/employees")
    assert response.headers["X-Toast-RateLimit-By"] == "GLOBAL"
    assert response.headers["X-Toast-RateLimit-Remaining"] == "19"
    assert response.headers["X-Toast-RateLimit-Reset"] == str(int(clock.now) + 1)
    bulk = api.get("/orders/v2/ordersBulk", params=BULK)
    assert bulk.headers["X-Toast-RateLimit-By"] == "ENDPOINT"
    assert bulk.headers["X-Toast-RateLimit-Remaining"] == "4"
    failed = api.get("/orders/v2/orders/not-a-guid")
    assert failed.status_code == 400 and "X-Toast-RateLimit-Reset" in failed.headers


def test_orders_bulk_is_5_per_second_per_location(make_api):
    api, clock = limited(make_api)
    statuses = [api.get("/orders/v2/ordersBulk", params=BULK).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    assert api.get("/orders/v2/ordersBulk", params=BULK, restaurant=1).status_code == 200
    clock.advance(0.75)
    assert api.get("/orders/v2/ordersBulk", params=BULK).status_code == 200


def test_menus_are_1_per_second_per_location(make_api):
    api, clock = limited(make_api)
    assert api.get("/menus/v2/menus").status_code == 200
    refused = api.get("/menus/v2/menus")
    assert refused.status_code == 429 and refused.headers["X-Toast-RateLimit-By"] == "ENDPOINT"
    assert api.get("/menus/v2/metadata").status_code == 200  # metadata has the default limit
    assert api.get("/menus/v2/menus", restaurant=1).status_code == 200
    clock.advance(1)
    assert api.get("/menus/v2/menus").status_code == 200


def test_fifteen_minute_window(make_api):
    api, clock = limited(make_api, global_per_15_minutes=30)
    for second in range(3):
        assert all(api.get("/labor/v1/employees").status_code == 200 for _ in range(10)), second
        clock.advance(1)
    refused = api.get("/labor/v1/employees")
    assert refused.status_code == 429
    window_end = (int(clock.now) // 900 + 1) * 900
    assert int(refused.headers["Retry-After"]) == window_end - int(clock.now)
    clock.advance(900)
    assert api.get("/labor/v1/employees").status_code == 200


def test_limits_can_be_disabled(make_api):
    api, _ = limited(make_api, enabled=False)
    responses = [api.get("/menus/v2/menus") for _ in range(5)]
    assert all(response.status_code == 200 for response in responses)
    assert responses[-1].headers["X-Toast-RateLimit-Remaining"] == "0"
