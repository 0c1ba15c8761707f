"""Toast-style order_updated webhooks: envelope, signature, PII stripping, retries, dispatch of live changes."""
import json
import time
from datetime import timedelta

import httpx

from portal.toast import signature
from tests.toast_sandbox.conftest import FIXED_NOW, FakeClock
from tests.toast_sandbox.test_schema import WEBHOOK_PII_REMOVED, SERVED_EXCEPTIONS, assert_valid, definition_schema
from toast_sandbox import WebhookConfig, send_order_updated
from toast_sandbox.webhooks import WebhookDispatcher

URL = "https://crm.example.com/hooks/toast"
SECRET = "whsec-test"


class Receiver:
    """An httpx transport that records requests and answers with the given statuses in turn."""

    def __init__(self, *statuses):
        self.statuses = list(statuses) or [200]
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        if status == "timeout":
            raise httpx.ReadTimeout("slow endpoint", request=request)
        return httpx.Response(status)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self))


def order_with(history, predicate) -> dict:
    return next(order for order in history if predicate(order))


def has_named_customer(order) -> bool:
    return any(check.get("customer") and check["customer"]["firstName"] for check in order["checks"])


def test_event_is_signed_and_stripped_of_pii(api, history):
    order = order_with(history, lambda item: item["deliveryInfo"] and has_named_customer(item))
    receiver = Receiver(200)
    delivery = send_order_updated(URL, SECRET, api.state.restaurant_guids[0], order, client=receiver.client(),
                                  timestamp_ms=int(FIXED_NOW.timestamp() * 1000))
    assert delivery.delivered and delivery.attempts == 1
    request = receiver.requests[0]
    body = request.content
    envelope = json.loads(body)
    assert envelope["timestamp"] == "2024-05-15T18:00:00.000Z"
    assert signature.verify(SECRET, body, envelope["timestamp"], request.headers["Toast-Signature"])
    assert not signature.verify("other-secret", body, envelope["timestamp"], request.headers["Toast-Signature"])
    assert (envelope["eventCategory"], envelope["eventType"]) == ("order_updated", "order_updated")
    assert envelope["guid"] == delivery.event_guid
    details = envelope["details"]
    assert details["restaurantGuid"] == api.state.restaurant_guids[0] and details["appliedPackagingInfo"] is None
    sent = details["order"]
    assert sent["guid"] == order["guid"] and sent["externalId"] is None
    for check in sent["checks"]:
        if check.get("customer"):
            assert not {"firstName", "lastName", "phone"} & set(check["customer"])
    assert any(check.get("customer", {}).get("email") for check in sent["checks"])
    assert not {"address1", "address2", "city", "state", "zipCode"} & set(sent["deliveryInfo"])
    assert sent["deliveryInfo"]["latitude"]
    assert order["deliveryInfo"]["address1"], "the stored order keeps its PII"
    assert_valid(definition_schema("orders", "Order", frozenset(SERVED_EXCEPTIONS) | {WEBHOOK_PII_REMOVED}), sent)


def test_headers_are_toasts(api, history):
    receiver = Receiver(200)
    send_order_updated(URL, SECRET, api.state.restaurant_guids[0], history[0], client=receiver.client())
    headers = receiver.requests[0].headers
    assert headers["Toast-Attempt-Number"] == "1"
    assert headers["Toast-Event-Type"] == headers["Toast-Event-Category"] == "order_updated"
    assert headers["Toast-Restaurant-External-ID"] == api.state.restaurant_guids[0]
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"].startswith("Apache-HttpClient/4.5")


def test_retries_on_timeout_404_429_and_5xx(api, history):
    receiver = Receiver("timeout", 404, 429, 503, 200)
    waits = []
    delivery = send_order_updated(URL, SECRET, api.state.restaurant_guids[0], history[0], client=receiver.client(),
                                  retry_delays=(0.1, 0.2, 0.3, 0.4), sleep=waits.append)
    assert delivery.delivered and delivery.attempts == 5 and waits == [0.1, 0.2, 0.3, 0.4]
    assert [request.headers["Toast-Attempt-Number"] for request in receiver.requests] == ["1", "2", "3", "4", "5"]
    assert len({request.content for request in receiver.requests}) == 1, "retries resend the same signed body"


def test_gives_up_after_the_last_retry_and_never_retries_other_4xx(api, history):
    waits = []
    failing = Receiver(500)
    delivery = send_order_updated(URL, SECRET, api.state.restaurant_guids[0], history[0], client=failing.client(),
                                  retry_delays=(0, 0), sleep=waits.append)
    assert not delivery.delivered and delivery.attempts == 3 and delivery.status == 500
    rejecting = Receiver(400)
    delivery = send_order_updated(URL, SECRET, api.state.restaurant_guids[0], history[0], client=rejecting.client(),
                                  retry_delays=(0, 0), sleep=waits.append)
    assert delivery.attempts == 1 and len(rejecting.requests) == 1
    redirecting = Receiver(301)
    assert send_order_updated(URL, SECRET, "r", history[0], client=redirecting.client(), sleep=waits.append).attempts \
        == 1


def test_dispatcher_sends_live_changes(make_api):
    api = make_api()
    receiver = Receiver(200)
    dispatcher = WebhookDispatcher(api.state, WebhookConfig(url=URL, retry_delays=(0,)), client=receiver.client())
    assert dispatcher.flush() == []
    changes = api.state.advance_time(minutes=45)
    deliveries = dispatcher.flush()
    assert deliveries and all(delivery.delivered for delivery in deliveries)
    assert {delivery.order_guid for delivery in deliveries} == {change.guid for change in changes}
    secret = api.state.webhook_secret
    for request in receiver.requests:
        envelope = json.loads(request.content)
        assert signature.verify(secret, request.content, envelope["timestamp"], request.headers["Toast-Signature"])
        assert envelope["timestamp"] == "2024-05-15T18:45:00.000Z"
    assert dispatcher.flush() == []


def test_dispatcher_reports_mutations(make_api):
    api = make_api()
    receiver = Receiver(200)
    dispatcher = WebhookDispatcher(api.state, WebhookConfig(url=URL, secret=SECRET), client=receiver.client())
    old = api.orders_bulk(FIXED_NOW - timedelta(days=9), FIXED_NOW - timedelta(days=8)).json
    target = next(order for order in old if order["paidDate"] and not order["voided"] and not order["deleted"])
    api.state.void_order(target["guid"])
    [delivery] = dispatcher.flush()
    sent = json.loads(receiver.requests[0].content)["details"]["order"]
    assert delivery.order_guid == target["guid"] and sent["voided"] is True


def test_dispatcher_thread_sends_as_the_clock_moves(make_api):
    clock = FakeClock(FIXED_NOW.timestamp())
    api = make_api(clock=clock, live=True)
    receiver = Receiver(200)
    dispatcher = WebhookDispatcher(api.state, WebhookConfig(url=URL), client=receiver.client())
    dispatcher.start(interval=0.01)
    try:
        clock.advance(3600)
        deadline = time.monotonic() + 5
        while not receiver.requests and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        dispatcher.stop()
    assert receiver.requests and receiver.requests[0].headers["Toast-Attempt-Number"] == "1"
