"""Toast-style ``order_updated`` webhooks sent by the sandbox (DG:devOrdersWebhookRef, DG:apiMessageSigning).

Each POST carries the envelope ``{timestamp, eventCategory, eventType, guid, details}`` with the order's PII
stripped, signed as Base64(HMAC-SHA256(secret, body + envelope timestamp)) in ``Toast-Signature``. Deliveries
are retried on timeouts, connection errors, 404, 429 and 5xx (Toast waits 5 then 10 minutes; tests pass short
delays), never on other 4xx or 3xx; every retry resends the same body with ``Toast-Attempt-Number`` + 1.
``WebhookDispatcher`` sends the sandbox's own changes, to one URL for every location and/or one per API client.
"""
import heapq
import itertools
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import httpx

from portal.toast.signature import sign
from toast_sandbox.api_common import dumps
from toast_sandbox.randomness import webhook_ts
from toast_sandbox.views import order_for_webhook

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
    return _envelope(restaurant_guid, order_for_webhook(order), event_guid, timestamp_ms)


def _envelope(restaurant_guid: str, stripped_order: dict, event_guid: str, timestamp_ms: int) -> dict:
    return {
        "timestamp": webhook_ts(timestamp_ms), "eventCategory": EVENT_TYPE, "eventType": EVENT_TYPE,
        "guid": event_guid,
        "details": {"restaurantGuid": restaurant_guid, "order": stripped_order, "appliedPackagingInfo": None},
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
        return _deliver(client, _Outgoing.signed(url, secret, envelope, restaurant_guid), retry_delays, timeout, sleep)
    finally:
        if own_client:
            client.close()


@dataclass(frozen=True, slots=True)
class _Outgoing:
    """One signed event on its way to one URL: every attempt sends the same bytes."""
    url: str
    body: bytes
    headers: dict
    event_guid: str
    order_guid: str

    @classmethod
    def signed(cls, url: str, secret: str, envelope: dict, restaurant_guid: str) -> "_Outgoing":
        body = dumps(envelope)
        headers = {
            "Content-Type": "application/json", "User-Agent": USER_AGENT, "Toast-Event-Type": EVENT_TYPE,
            "Toast-Event-Category": EVENT_TYPE, "Toast-Restaurant-External-ID": restaurant_guid,
            "Toast-Signature": sign(secret, body, envelope["timestamp"]),
        }
        return cls(url, body, headers, envelope["guid"], envelope["details"]["order"]["guid"])

    def post(self, client: httpx.Client, attempt: int, timeout: float) -> int | None:
        """The HTTP status of one attempt; None after a timeout or a refused connection."""
        try:
            response = client.post(self.url, content=self.body, timeout=timeout, follow_redirects=False,
                                   headers={**self.headers, "Toast-Attempt-Number": str(attempt)})
        except httpx.TransportError:
            return None
        return response.status_code


def _delivered(status: int | None) -> bool:
    return status is not None and 200 <= status < 300


def _retryable(status: int | None) -> bool:
    """Toast retries timeouts, connection errors, 404, 429 and 5xx; never other 4xx or 3xx."""
    return status is None or status in (404, 429) or status >= 500


def _deliver(client: httpx.Client, outgoing: _Outgoing, retry_delays: tuple[float, ...], timeout: float,
             sleep: Callable[[float], None]) -> Delivery:
    status = None
    for attempt in range(1, len(retry_delays) + 2):
        status = outgoing.post(client, attempt, timeout)
        if _delivered(status) or not _retryable(status):
            return Delivery(outgoing.event_guid, outgoing.order_guid, attempt, status, _delivered(status))
        if attempt <= len(retry_delays):
            sleep(retry_delays[attempt - 1])
    return Delivery(outgoing.event_guid, outgoing.order_guid, len(retry_delays) + 1, status, False)


class WebhookDispatcher:
    """Sends an event for every order the sandbox changed since the last flush (one per order per flush) to every
    subscription covering the order's location: the one given at construction covers every location, and
    ``subscribe`` adds one per API client (its locations, its URL), as each Toast integration gets its own events.

    A failed delivery waits for its retry in a queue of its own, so one failing endpoint never holds the other
    events back (Toast retries each event on its own schedule).
    """

    def __init__(self, sandbox, config: WebhookConfig | None = None, client: httpx.Client | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.sandbox = sandbox
        self.client = client or httpx.Client()
        self.clock = clock
        self.cursor = len(sandbox.changes_since(0))
        self._routes: dict[str | None, tuple[WebhookConfig, frozenset[str] | None]] = {}
        if config is not None:
            self._routes[None] = (config, None)
        self._retries: list[tuple[float, int, int, str | None, _Outgoing]] = []
        self._order = itertools.count()
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def subscribe(self, name: str, config: WebhookConfig | None, restaurants: Iterable[str] = ()) -> None:
        """Send the events of ``restaurants`` to ``config`` under ``name`` (replacing what ``name`` had; None
        ends it). Its event GUIDs differ from other subscriptions' (each receiver stores them as unique)."""
        with self._lock:
            if config is None:
                self._routes.pop(name, None)
            else:
                self._routes[name] = (config, frozenset(restaurants))

    def flush(self) -> list[Delivery]:
        """Send events for changes logged since the last flush, then the retries that are due; returns one
        ``Delivery`` per attempt made."""
        with self._flushing:  # the live thread and the admin API may flush at once
            return self._flush()

    def _flush(self) -> list[Delivery]:
        with self._lock:
            routes = dict(self._routes)
        deliveries = []
        for restaurant_guid, seq, stripped in self._pending():
            for name, (config, covered) in routes.items():
                if covered is None or restaurant_guid in covered:
                    envelope = _envelope(restaurant_guid, stripped, self._event_guid(seq, name), self.sandbox.now_ms)
                    secret = config.secret or self.sandbox.webhook_secret
                    deliveries.append(self._attempt(name, config, _Outgoing.signed(config.url, secret, envelope,
                                                                                   restaurant_guid), 1))
        while self._retries and self._retries[0][0] <= self.clock():
            _, _, attempt, name, outgoing = heapq.heappop(self._retries)
            if name in routes:
                deliveries.append(self._attempt(name, routes[name][0], outgoing, attempt))
        return deliveries

    def _attempt(self, name: str | None, config: WebhookConfig, outgoing: _Outgoing, attempt: int) -> Delivery:
        status = outgoing.post(self.client, attempt, config.timeout)
        if not _delivered(status) and _retryable(status) and attempt <= len(config.retry_delays):
            due = self.clock() + config.retry_delays[attempt - 1]
            heapq.heappush(self._retries, (due, next(self._order), attempt + 1, name, outgoing))
        return Delivery(outgoing.event_guid, outgoing.order_guid, attempt, status, _delivered(status))

    def _event_guid(self, seq: int, route: str | None) -> str:
        suffix = "" if route is None else f":{route}"
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"toast-sandbox:{self.sandbox.world.seed}:{seq}{suffix}"))

    def _pending(self) -> list[tuple[str, int, dict]]:
        """(location GUID, change number, order without webhook PII) of the newest change of each order."""
        sandbox = self.sandbox
        with sandbox.lock:
            changes = sandbox.changes_since(self.cursor)
            self.cursor += len(changes)
            latest = {change.guid: change for change in changes}
            return [(sandbox.world.restaurants[change.restaurant].guid, change.seq,
                     order_for_webhook(sandbox.store.orders[change.guid])) for change in latest.values()]

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
