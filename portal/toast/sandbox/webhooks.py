"""Toast-style ``order_updated`` webhooks sent by the sandbox (DG:devOrdersWebhookRef, DG:apiMessageSigning).

Each POST carries the envelope ``{timestamp, eventCategory, eventType, guid, details}`` with the order's PII
stripped, signed as Base64(HMAC-SHA256(secret, body + envelope timestamp)) in ``Toast-Signature``. Deliveries
are retried on timeouts, connection errors, 404, 429 and 5xx (Toast waits 5 then 10 minutes; tests pass short
delays), never on other 4xx or 3xx; every retry resends the same body with ``Toast-Attempt-Number`` + 1.
"""
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from portal.toast.sandbox.api_common import dumps
from portal.toast.sandbox.randomness import webhook_ts
from portal.toast.sandbox.views import order_for_webhook
from portal.toast.signature import sign

EVENT_TYPE = "order_updated"
USER_AGENT = "Apache-HttpClient/4.5.13 (Java/17.0.8)"
TOAST_RETRY_DELAYS = (300.0, 600.0)


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """Where to send events; ``secret`` None means the sandbox's seed-derived webhook secret."""
    url: str
    secret: str | None = None
    retry_delays: tuple[float, ...] = TOAST_RETRY_DELAYS
    timeout: float = 2.0


@dataclass(frozen=True, slots=True)
class Delivery:
    """Outcome of sending one event: attempts made and the last HTTP status (None after a transport error)."""
    event_guid: str
    order_guid: str
    attempts: int
    status: int | None
    delivered: bool


def order_updated_envelope(restaurant_guid: str, order: dict, event_guid: str, timestamp_ms: int) -> dict:
    """The webhook body for ``order`` (PII stripped here)."""
    return {
        "timestamp": webhook_ts(timestamp_ms), "eventCategory": EVENT_TYPE, "eventType": EVENT_TYPE,
        "guid": event_guid,
        "details": {"restaurantGuid": restaurant_guid, "order": order_for_webhook(order), "appliedPackagingInfo": None},
    }


def send_order_updated(url: str, secret: str, restaurant_guid: str, order: dict, *, timestamp_ms: int | None = None,
                       event_guid: str | None = None, client: httpx.Client | None = None,
                       retry_delays: tuple[float, ...] = TOAST_RETRY_DELAYS, timeout: float = 2.0,
                       sleep: Callable[[float], None] = time.sleep) -> Delivery:
    """POST one ``order_updated`` event to ``url``, retrying like Toast. Never raises for HTTP/transport failures."""
    envelope = order_updated_envelope(restaurant_guid, order, event_guid or str(uuid.uuid4()),
                                      timestamp_ms if timestamp_ms is not None else int(time.time() * 1000))
    own_client = client is None
    client = client or httpx.Client()
    try:
        return _deliver(client, url, secret, envelope, restaurant_guid, retry_delays, timeout, sleep)
    finally:
        if own_client:
            client.close()


def _deliver(client: httpx.Client, url: str, secret: str, envelope: dict, restaurant_guid: str,
             retry_delays: tuple[float, ...], timeout: float, sleep: Callable[[float], None]) -> Delivery:
    body = dumps(envelope)
    headers = {
        "Content-Type": "application/json", "User-Agent": USER_AGENT, "Toast-Event-Type": EVENT_TYPE,
        "Toast-Event-Category": EVENT_TYPE, "Toast-Restaurant-External-ID": restaurant_guid,
        "Toast-Signature": sign(secret, body, envelope["timestamp"]),
    }
    order_guid = envelope["details"]["order"]["guid"]
    status = None
    for attempt in range(1, len(retry_delays) + 2):
        try:
            response = client.post(url, content=body, headers={**headers, "Toast-Attempt-Number": str(attempt)},
                                   timeout=timeout, follow_redirects=False)
            status = response.status_code
        except httpx.TransportError:
            status = None  # timeouts and refused connections are retried
        if status is not None and 200 <= status < 300:
            return Delivery(envelope["guid"], order_guid, attempt, status, True)
        if status is not None and not (status in (404, 429) or status >= 500):
            return Delivery(envelope["guid"], order_guid, attempt, status, False)
        if attempt <= len(retry_delays):
            sleep(retry_delays[attempt - 1])
    return Delivery(envelope["guid"], order_guid, len(retry_delays) + 1, status, False)


class WebhookDispatcher:
    """Sends an event for every order the sandbox changed since the last flush (one per order per flush)."""

    def __init__(self, sandbox, config: WebhookConfig, client: httpx.Client | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        self.sandbox = sandbox
        self.config = config
        self.client = client or httpx.Client()
        self.sleep = sleep
        self.cursor = len(sandbox.changes_since(0))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def flush(self) -> list[Delivery]:
        """Send events for changes logged since the last flush; returns one ``Delivery`` per order."""
        envelopes = self._pending()
        secret = self.config.secret or self.sandbox.webhook_secret
        return [_deliver(self.client, self.config.url, secret, envelope, restaurant_guid, self.config.retry_delays,
                         self.config.timeout, self.sleep) for restaurant_guid, envelope in envelopes]

    def _pending(self) -> list[tuple[str, dict]]:
        sandbox = self.sandbox
        with sandbox.lock:
            changes = sandbox.changes_since(self.cursor)
            self.cursor += len(changes)
            latest = {change.guid: change for change in changes}
            envelopes = []
            for change in latest.values():
                restaurant_guid = sandbox.world.restaurants[change.restaurant].guid
                event_guid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"toast-sandbox:{sandbox.world.seed}:{change.seq}"))
                envelopes.append((restaurant_guid, order_updated_envelope(
                    restaurant_guid, sandbox.store.orders[change.guid], event_guid, sandbox.now_ms)))
            return envelopes

    def start(self, interval: float = 1.0) -> None:
        """Run ``refresh`` + ``flush`` every ``interval`` seconds in a daemon thread (the CLI's live mode)."""
        def loop():
            while not self._stop.wait(interval):
                self.sandbox.refresh()
                self.flush()
        self._thread = threading.Thread(target=loop, name="toast-sandbox-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the background thread started by ``start``."""
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
