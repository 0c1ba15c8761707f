"""ToastClient against a fake Toast (httpx.MockTransport, fake clock): retries, paging, pacing, endpoints."""
import json
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from portal.toast.client import add_one_month
from portal.toast.errors import FatalAPIError, PaginationError, PayloadError, RetryableAPIError
from portal.toast.pacing import Pacer
from tests.toast.conftest import HOST, LOC_A, LOC_B, RESTAURANT_PATH, T0, ToastMock, json_response, sample_bytes

UTC = timezone.utc
START = datetime(2024, 1, 1, tzinfo=UTC)
END = datetime(2024, 1, 2, tzinfo=UTC)
BULK = "/orders/v2/ordersBulk"


def _orders(first: int, count: int) -> list[dict]:
    return [{"guid": f"order-{n}", "checks": []} for n in range(first, first + count)]


def _page_param(request: httpx.Request) -> int:
    return int(request.url.params["page"])


# --- retries ---------------------------------------------------------------------------------------


def test_429_with_retry_after_recovers(toast, clock):
    toast.routes["/labor/v1/employees"] = [json_response(429, {"message": "slow"}, {"Retry-After": "3"}),
                                           json_response(200, [{"guid": "e-1"}])]
    client = toast.client()
    assert client.employees(LOC_A)[0].guid == "e-1"
    assert len(toast.requests) == 2
    assert clock.time() - T0 == pytest.approx(3.0)
    assert clock.sleeps == [pytest.approx(3.0)]


def test_5xx_backs_off_exponentially_capped_then_gives_up(toast, clock):
    toast.routes["/labor/v1/employees"] = json_response(503, {"message": "down"})
    client = toast.client(max_retries=6, backoff_base=1.0, backoff_cap=5.0)
    with pytest.raises(RetryableAPIError) as info:
        client.employees(LOC_A)
    assert info.value.status == 503
    assert len(toast.requests) == 7
    assert clock.sleeps == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0]


def test_backoff_uses_full_jitter(toast, clock):
    toast.routes["/labor/v1/employees"] = [json_response(500, {})] * 3 + [json_response(200, [])]
    client = toast.client(rand=lambda: 0.25, backoff_base=2.0)
    assert client.employees(LOC_A) == []
    assert clock.sleeps == [0.5, 1.0, 2.0]


def test_timeouts_and_connection_errors_are_retried(clock):
    outcomes = [httpx.ReadTimeout("slow"), httpx.ConnectError("refused"), json_response(200, [])]
    mock = ToastMock(clock)

    def flaky(request):
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    mock.routes["/labor/v1/employees"] = flaky
    assert mock.client().employees(LOC_A) == []
    assert len(clock.sleeps) == 2

    mock.routes["/labor/v1/employees"] = lambda request: (_ for _ in ()).throw(httpx.ConnectTimeout("down"))
    with pytest.raises(RetryableAPIError, match="timed out"):
        mock.client(max_retries=1).employees(LOC_A)


def test_other_4xx_is_fatal_without_retry(toast):
    toast.routes["/orders/v2/orders/nope"] = json_response(
        404, {"status": 404, "message": "Order not found", "requestId": "req-77"})
    client = toast.client()
    with pytest.raises(FatalAPIError) as info:
        client.order(LOC_A, "nope")
    assert (info.value.status, info.value.message, info.value.request_id) == (404, "Order not found", "req-77")
    assert len(toast.requests) == 1


def test_rate_limit_headers_from_toast_pause_the_location(toast, clock):
    reset = str(int(T0 + 30))
    toast.routes["/labor/v1/employees"] = json_response(
        200, [], {"X-Toast-RateLimit-Remaining": "0", "X-Toast-RateLimit-Reset": reset})
    toast.routes["/menus/v2/metadata"] = json_response(200, {"restaurantGuid": LOC_B})
    client = toast.client()
    client.employees(LOC_A)
    client.menus_metadata(LOC_B)
    assert clock.time() == T0  # another location is not held back
    client.employees(LOC_A)
    assert clock.time() == pytest.approx(T0 + 30)


# --- config page-token paging ----------------------------------------------------------------------


def _config_pages(pages: dict[str | None, tuple[list, str | None]], conflict_once_on: str | None = None):
    """Handler serving ``pages[token] = (items, next_token)``; 409 once on ``conflict_once_on``."""
    conflicts = {conflict_once_on} if conflict_once_on else set()

    def handler(request):
        token = request.url.params.get("pageToken")
        if token in conflicts:
            conflicts.discard(token)
            return json_response(409, {"message": "configuration changed"})
        items, next_token = pages[token]
        return json_response(200, items, {"Toast-Next-Page-Token": next_token} if next_token else {})

    return handler


def test_config_follows_next_page_token_until_absent(toast):
    pages = {None: ([{"guid": "d-1", "behavior": "DINE_IN"}], "t1"),
             "t1": ([{"guid": "d-2", "behavior": "TAKE_OUT", "curbside": True}], "t2"),
             "t2": ([{"guid": "d-3", "behavior": "DELIVERY"}], None)}
    toast.routes["/config/v2/diningOptions"] = _config_pages(pages)
    options = toast.client().dining_options(LOC_A, last_modified=datetime(2024, 6, 20, tzinfo=UTC))
    assert [(o.guid, o.behavior, o.curbside) for o in options] == [
        ("d-1", "DINE_IN", False), ("d-2", "TAKE_OUT", True), ("d-3", "DELIVERY", False)]
    assert [r.url.params.get("pageToken") for r in toast.requests] == [None, "t1", "t2"]
    assert all(b"lastModified=2024-06-20T00%3A00%3A00.000%2B0000" in r.url.query for r in toast.requests)


def test_config_restarts_from_the_first_page_on_409(toast):
    pages = {None: ([{"guid": "rc-1"}], "t1"), "t1": ([{"guid": "rc-2"}], None)}
    toast.routes["/config/v2/revenueCenters"] = _config_pages(pages, conflict_once_on="t1")
    centers = toast.client().revenue_centers(LOC_A)
    assert [c.guid for c in centers] == ["rc-1", "rc-2"]  # no duplicate from the aborted pass
    assert [r.url.params.get("pageToken") for r in toast.requests] == [None, "t1", None, "t1"]


def test_config_gives_up_after_repeated_409(toast):
    toast.routes["/config/v2/revenueCenters"] = json_response(409, {"message": "changed"})
    with pytest.raises(PaginationError, match="409"):
        toast.client().revenue_centers(LOC_A)
    assert len(toast.requests) == 4  # first try + 3 restarts


def test_config_detects_a_repeated_page_token(toast):
    pages = {None: ([{"guid": "d-1"}], "t1"), "t1": ([{"guid": "d-2"}], "t1")}
    toast.routes["/config/v2/diningOptions"] = _config_pages(pages)
    with pytest.raises(PaginationError, match="repeated"):
        toast.client().dining_options(LOC_A)
    assert len(toast.requests) == 2


def test_connected_restaurants_follows_next_page_token(toast):
    bodies = {None: {"results": [{"restaurantGuid": "r-1"}], "nextPageToken": "p2"},
              "p2": {"results": [{"restaurantGuid": "r-2"}], "nextPageToken": None}}
    toast.routes["/partners/v1/connectedRestaurants"] = lambda r: json_response(200, bodies[r.url.params.get("pageToken")])
    assert [r.restaurant_guid for r in toast.client().connected_restaurants()] == ["r-1", "r-2"]
    assert all("Toast-Restaurant-External-ID" not in r.headers for r in toast.requests)
    bodies["p2"]["nextPageToken"] = "p2"
    with pytest.raises(PaginationError):
        list(toast.client().connected_restaurants())


# --- ordersBulk ------------------------------------------------------------------------------------


def test_orders_bulk_follows_link_header_and_stops_on_a_short_page(toast):
    def handler(request):
        page = _page_param(request)
        if page == 1:  # Toast's Link says the next page is 2
            link = f'<{HOST}{BULK}?pageSize=2&page=2>; rel="next", <{HOST}{BULK}?page=1>; rel="self"'
            return json_response(200, _orders(1, 2), {"Link": link})
        if page == 2:  # no Link: page + 1
            return json_response(200, _orders(3, 2))
        return json_response(200, _orders(5, 1))  # short page: the end

    toast.routes[BULK] = handler
    pages = list(toast.client().orders_bulk(LOC_A, START, END, page_size=2))
    assert [(p.page, [o.guid for o in p.orders], p.next_page) for p in pages] == [
        (1, ["order-1", "order-2"], 2), (2, ["order-3", "order-4"], 3), (3, ["order-5"], None)]
    assert [_page_param(r) for r in toast.requests] == [1, 2, 3]
    assert pages[0].raw_bytes == len(json.dumps(_orders(1, 2)))
    assert all(r.headers["Toast-Restaurant-External-ID"] == LOC_A for r in toast.requests)


def test_orders_bulk_stops_on_an_empty_page_and_can_resume_at_page_n(toast):
    toast.routes[BULK] = lambda r: json_response(200, _orders(_page_param(r) * 10, 2) if _page_param(r) < 5 else [])
    pages = list(toast.client().orders_bulk(LOC_A, START, END, page_size=2, start_page=3))
    assert [p.page for p in pages] == [3, 4]
    assert [_page_param(r) for r in toast.requests] == [3, 4, 5]


def test_orders_bulk_detects_a_repeated_page(toast):
    toast.routes[BULK] = json_response(200, _orders(1, 2))  # Toast ignoring `page`
    iterator = toast.client().orders_bulk(LOC_A, START, END, page_size=2)
    assert next(iterator).page == 1
    with pytest.raises(PaginationError, match="repeats the previous page"):
        next(iterator)
    assert len(toast.requests) == 2


def test_orders_bulk_link_pointing_backwards_is_an_error(toast):
    link = f'<{HOST}{BULK}?page=1>; rel="next"'
    toast.routes[BULK] = lambda r: json_response(200, _orders(_page_param(r) * 10, 2), {"Link": link})
    with pytest.raises(PaginationError, match="points back"):
        list(toast.client().orders_bulk(LOC_A, START, END, page_size=2))


def test_orders_bulk_encodes_plus_as_2b(toast):
    toast.routes[BULK] = json_response(200, [])
    list(toast.client().orders_bulk(LOC_A, START, END))
    query = toast.requests[0].url.query
    assert b"startDate=2024-01-01T00%3A00%3A00.000%2B0000" in query
    assert b"endDate=2024-01-02T00%3A00%3A00.000%2B0000" in query
    assert b"+" not in query and b"pageSize=100" in query and b"page=1" in query


def test_orders_bulk_refuses_windows_over_one_month_before_calling(toast):
    client = toast.client()
    with pytest.raises(ValueError, match="longer than one month"):
        client.orders_bulk(LOC_A, START, START + timedelta(days=31, seconds=1))
    with pytest.raises(ValueError, match="aware"):
        client.orders_bulk(LOC_A, datetime(2024, 1, 1), datetime(2024, 1, 2))
    with pytest.raises(ValueError, match="reversed"):
        client.orders_bulk(LOC_A, END, START)
    with pytest.raises(ValueError, match="page_size"):
        client.orders_bulk(LOC_A, START, END, page_size=101)
    assert toast.requests == [] and toast.login_requests == []
    jan31 = datetime(2024, 1, 31, 12, tzinfo=UTC)
    assert add_one_month(jan31) == datetime(2024, 2, 29, 12, tzinfo=UTC)
    toast.routes[BULK] = json_response(200, [])
    list(client.orders_bulk(LOC_A, jan31, add_one_month(jan31)))  # exactly one month is allowed
    with pytest.raises(ValueError):
        client.orders_bulk(LOC_A, jan31, add_one_month(jan31) + timedelta(milliseconds=1))


def test_orders_bulk_bad_payload_names_the_order(toast):
    toast.routes[BULK] = json_response(200, [{"guid": "o-9", "checks": [{"amount": "abc"}]}])
    with pytest.raises(PayloadError, match=r"^order o-9: checks\[0\]\.amount: expected a number, got 'abc'$"):
        list(toast.client().orders_bulk(LOC_A, START, END))


def test_historical_pull_spacing(toast, clock):
    toast.routes[BULK] = lambda r: json_response(200, _orders(_page_param(r) * 10, 2 if _page_param(r) < 3 else 0))
    list(toast.client().orders_bulk(LOC_A, START, END, page_size=2, min_spacing=7.0))
    assert len(toast.requests) == 3 and clock.time() - T0 == pytest.approx(14.0)


def test_order_by_guid(toast):
    toast.routes["/orders/v2/orders/017fdd94-4a30-4657-9475-b1a684758531"] = httpx.Response(
        200, content=sample_bytes("order-get-single-example.json"))
    order = toast.client().order(LOC_A, "017fdd94-4a30-4657-9475-b1a684758531")
    assert order.checks[0].customer.last_name == "Jones"


# --- pacing end to end ------------------------------------------------------------------------------


def test_busy_client_never_gets_a_429_from_a_server_enforcing_the_same_limits(toast, clock):
    toast.routes[BULK] = json_response(200, [])
    toast.routes["/menus/v2/menus"] = json_response(200, {"restaurantGuid": LOC_A, "menus": []})
    toast.routes["/labor/v1/employees"] = json_response(200, [])
    client = toast.client()
    for _ in range(40):
        for location in (LOC_A, LOC_B):
            list(client.orders_bulk(location, START, END))
            client.employees(location)
        client.menus(LOC_A)
    assert len(toast.requests) == 40 * 5
    assert toast.throttled == 0
    assert clock.time() - T0 >= 39  # menus alone need 1 s each


def test_same_traffic_without_pacing_would_be_throttled(toast):
    """Guards the test above: the fake server does enforce the limits."""
    toast.routes[BULK] = json_response(200, [])
    client = toast.client(pacer=Pacer(toast.clock, orders_bulk_per_second=1000), max_retries=0)
    with pytest.raises(RetryableAPIError):
        for _ in range(10):
            list(client.orders_bulk(LOC_A, START, END))
    assert toast.throttled == 1


def test_group_restaurants_menus_and_includes_archived(toast):
    toast.routes["/restaurants/v1/groups/mg-1/restaurants"] = json_response(200, [{"guid": LOC_A}, {"guid": LOC_B}])
    toast.routes[RESTAURANT_PATH + LOC_A] = json_response(200, {"guid": LOC_A, "general": {"archived": True}})
    client = toast.client()
    assert [r.guid for r in client.group_restaurants("mg-1", location_guid=LOC_A)] == [LOC_A, LOC_B]
    assert client.restaurant(LOC_A, include_archived=True).general.archived is True
    assert toast.requests[-1].url.params["includeArchived"] == "true"
    assert toast.requests[0].headers["Toast-Restaurant-External-ID"] == LOC_A
