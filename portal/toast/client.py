"""HTTP client for Toast's platform APIs: auth, pacing, retries, paging, typed results.

One ``ToastClient`` per Toast API client account (one token for all its locations); it may be shared
between threads. Every request goes through ``_get``: token, pacing, then the error rules:

* 401 -> drop the token, get a new one, retry once; a second 401 -> AuthError. 403 -> AuthError.
* 429, 5xx, timeouts, connection errors -> retry up to ``max_retries`` times, waiting Retry-After when
  Toast gave one, else capped exponential backoff with full jitter; then RetryableAPIError.
* any other 4xx -> FatalAPIError carrying Toast's ErrorMessage.
"""
from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx

from portal.toast import decoding
from portal.toast.auth import AccessToken, AccountKind, TokenManager, TokenStore
from portal.toast.errors import (
    AuthError,
    FatalAPIError,
    PaginationError,
    RetryableAPIError,
    ToastError,
    error_from_response,
)
from portal.toast.menus import MenusMetadata, RestaurantMenus
from portal.toast.models import (
    DiningOption,
    Employee,
    Order,
    PartnerRestaurant,
    PartnerRestaurantPage,
    RestaurantInfo,
    RestaurantRef,
    RevenueCenter,
)
from portal.toast.pacing import DEFAULT, MENUS, ORDERS_BULK, Clock, Pacer, Slot
from portal.toast.timefmt import format_toast_ts

log = logging.getLogger(__name__)

RESTAURANT_HEADER = "Toast-Restaurant-External-ID"
NEXT_PAGE_HEADER = "Toast-Next-Page-Token"
LOGIN_PATH = "/authentication/v1/authentication/login"
ORDERS_BULK_PATH = "/orders/v2/ordersBulk"
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class OrdersPage:
    """One ``/ordersBulk`` page. ``next_page`` is the page a resumed sync should ask for next
    (None: this was the last page)."""

    page: int
    orders: list[Order]
    raw_bytes: int
    next_page: int | None
    marker: tuple[str, str] | None = None  # first and last order GUID: a repeated page is detected by it


def add_one_month(moment: datetime) -> datetime:
    """Same time one calendar month later, clamped to the month's last day (Jan 31 -> Feb 28/29)."""
    year, month = divmod(moment.month, 12)
    year, month = moment.year + year, month + 1
    for day in (moment.day, 30, 29, 28):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def check_orders_window(start: datetime, end: datetime) -> None:
    """ValueError unless ``start < end <= start + 1 month`` with aware datetimes (Toast 400s longer
    ``/ordersBulk`` windows; split them first)."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("ordersBulk window needs aware datetimes")
    if end <= start:
        raise ValueError(f"ordersBulk window is empty or reversed: {start.isoformat()} .. {end.isoformat()}")
    if end > add_one_month(start):
        raise ValueError(
            f"ordersBulk window {start.isoformat()} .. {end.isoformat()} is longer than one month; split it"
        )


def _query(params: dict[str, Any]) -> str:
    """Query string with every reserved character escaped: Toast needs '+' sent as %2B."""
    pairs = []
    for key, value in params.items():
        for item in value if isinstance(value, list | tuple) else [value]:
            pairs.append(f"{quote(str(key), safe='')}={quote(str(item), safe='')}")
    return "&".join(pairs)


class ToastClient:
    """Toast API client. ``http`` may be injected (tests use ``httpx.MockTransport``); ``clock``,
    ``token_store``, ``pacer`` and ``rand`` (0..1 jitter source) likewise."""

    def __init__(
        self,
        host: str,
        client_id: str,
        client_secret: str,
        *,
        http: httpx.Client | None = None,
        clock: Clock | None = None,
        token_store: TokenStore | None = None,
        pacer: Pacer | None = None,
        max_retries: int = 4,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        rand: Callable[[], float] | None = None,
        timeout: float = 30.0,
    ):
        self.host = host.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._owns_http = http is None
        self._http = http if http is not None else httpx.Client(timeout=timeout)
        self._pacer = pacer if pacer is not None else Pacer(clock)
        self._clock = clock if clock is not None else self._pacer.clock
        self._max_retries = max_retries
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._rand = rand or random.random
        self._tokens = TokenManager(f"{self.host}|{client_id}", self._login, clock=self._clock, store=token_store)

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> ToastClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- token -----------------------------------------------------------------------------------

    def token_info(self) -> AccessToken:
        """The current token (requesting one if needed): scopes, account kind, partner/group guid."""
        return self._tokens.current()

    @property
    def scopes(self) -> frozenset[str]:
        return self.token_info().scopes

    @property
    def account_kind(self) -> AccountKind:
        return self.token_info().account_kind

    @property
    def partner_guid(self) -> str | None:
        return self.token_info().partner_guid

    @property
    def management_group_guid(self) -> str | None:
        return self.token_info().management_group_guid

    def _login(self) -> Any:
        """POST the client credentials; the parsed body. AuthError on 401/403, RetryableAPIError on
        429/5xx/network errors (no retry here: each attempt spends token budget), else FatalAPIError."""
        self._pacer.acquire()
        body = {"clientId": self._client_id, "clientSecret": self._client_secret, "userAccessType": "TOAST_MACHINE_CLIENT"}
        try:
            response = self._http.post(self.host + LOGIN_PATH, json=body)
        except httpx.RequestError as exc:
            raise RetryableAPIError(f"token request failed ({type(exc).__name__})") from exc
        self._pacer.observe(None, response.status_code, response.headers)
        if response.status_code in (401, 403):
            raise AuthError(
                f"Toast rejected this integration's client ID or secret (HTTP {response.status_code}); "
                "reconnect the Toast integration.",
                status=response.status_code,
            )
        if response.status_code >= 400:
            raise error_from_response(response, now=self._clock.time())
        try:
            return response.json()
        except ValueError as exc:
            raise FatalAPIError("Toast token response is not JSON", status=response.status_code) from exc

    # --- transport -------------------------------------------------------------------------------

    def get_raw(
        self,
        path: str,
        *,
        location: str | None = None,
        params: dict[str, Any] | None = None,
        kind: str = DEFAULT,
        min_spacing: float = 0.0,
        slot_taken: bool = False,
    ) -> httpx.Response:
        """GET ``path`` (paced, authenticated, retried); the successful response.

        ``location`` sets the restaurant header (None for partners calls). Raises AuthError,
        RetryableAPIError, FatalAPIError or TokenBudgetExceeded. ``slot_taken``: the first send was
        counted by the caller, and retryable errors are raised at once instead of waited on.
        """
        url = self.host + path + ("?" + _query(params) if params else "")
        attempt, refreshed = 0, False
        max_retries = 0 if slot_taken else self._max_retries
        while True:
            # Pace first: a long wait must not leave us holding a token that expired meanwhile.
            if not slot_taken or attempt or refreshed:
                self._pacer.acquire(kind, location, min_spacing=min_spacing)
            token = self._tokens.current()
            response, error = self._send(url, path, token, location)
            if response is not None:
                if response.status_code < 400:
                    return response
                if response.status_code == 401 and not refreshed:
                    log.info("Toast answered 401 on %s (location %s); refreshing the token once", path, location)
                    self._tokens.invalidate(token)
                    refreshed = True
                    continue
                error = error_from_response(response, now=self._clock.time())
            if not isinstance(error, RetryableAPIError) or attempt >= max_retries:
                raise error
            self._wait_before_retry(error, attempt, path, location)
            attempt += 1

    def _send(
        self, url: str, path: str, token: AccessToken, location: str | None
    ) -> tuple[httpx.Response | None, ToastError | None]:
        headers = {"Authorization": f"Bearer {token.access_token}", "Accept": "application/json"}
        if location:
            headers[RESTAURANT_HEADER] = location
        try:
            response = self._http.get(url, headers=headers)
        except httpx.TimeoutException as exc:
            return None, RetryableAPIError(f"GET {path}: timed out ({type(exc).__name__})")
        except httpx.RequestError as exc:
            return None, RetryableAPIError(f"GET {path}: connection failed ({type(exc).__name__})")
        self._pacer.observe(location, response.status_code, response.headers)
        return response, None

    def _wait_before_retry(self, error: RetryableAPIError, attempt: int, path: str, location: str | None) -> None:
        if error.retry_after is not None:
            delay = error.retry_after
        else:
            delay = self._rand() * min(self._backoff_cap, self._backoff_base * 2**attempt)
        log.warning(
            "Toast %s on %s (location %s); retry %d/%d in %.1f s",
            error.status or "error", path, location, attempt + 1, self._max_retries, delay,
        )
        if error.retry_after is not None:
            # Through the pacer, so every request to this location waits, not just this one.
            self._pacer.defer(location, delay)
        else:
            self._clock.sleep(delay)

    def _get_bytes(self, path: str, location: str | None, params: dict[str, Any] | None = None, **kw: Any) -> bytes:
        return self.get_raw(path, location=location, params=params, **kw).content

    # --- partners and restaurants ----------------------------------------------------------------

    def partner_restaurants(self, last_modified: datetime | None = None) -> list[PartnerRestaurant]:
        """Restaurants that gave this partner client access (``GET /partners/v1/restaurants``)."""
        params = {"lastModified": format_toast_ts(last_modified)} if last_modified else None
        data = self._get_bytes("/partners/v1/restaurants", None, params)
        return decoding.decode_list(data, PartnerRestaurant, "partner restaurant")

    def connected_restaurants(
        self, last_modified: datetime | None = None, *, page_size: int = 100
    ) -> Iterator[PartnerRestaurant]:
        """All pages of ``/partners/v1/connectedRestaurants``; PaginationError on a repeated token."""
        token: str | None = None
        seen: set[str] = set()
        while True:
            params: dict[str, Any] = {"pageSize": page_size}
            if last_modified:
                params["lastModified"] = format_toast_ts(last_modified)
            if token:
                params["pageToken"] = token
            data = self._get_bytes("/partners/v1/connectedRestaurants", None, params)
            page = decoding.decode(data, PartnerRestaurantPage, "connectedRestaurants")
            yield from page.results
            token = page.next_page_token
            if not token or not page.results:
                return
            if token in seen:
                raise PaginationError(f"connectedRestaurants repeated page token {token!r}; stopped")
            seen.add(token)

    def restaurant(self, guid: str, *, include_archived: bool = False) -> RestaurantInfo:
        """``GET /restaurants/v1/restaurants/{guid}`` (404 -> FatalAPIError, also when archived)."""
        params = {"includeArchived": "true"} if include_archived else None
        data = self._get_bytes(f"/restaurants/v1/restaurants/{guid}", guid, params)
        return decoding.decode(data, RestaurantInfo, "restaurant")

    def group_restaurants(self, group_guid: str, *, location_guid: str | None = None) -> list[RestaurantRef]:
        """Locations of a management group; Toast wants one of its locations in the header."""
        data = self._get_bytes(f"/restaurants/v1/groups/{group_guid}/restaurants", location_guid)
        return decoding.decode_list(data, RestaurantRef, "group restaurant")

    # --- configuration, menus, labor ------------------------------------------------------------

    def dining_options(self, guid: str, *, last_modified: datetime | None = None) -> list[DiningOption]:
        """All dining options of a location (``/config/v2/diningOptions``, every page)."""
        return self._config_list("/config/v2/diningOptions", guid, DiningOption, "dining option", last_modified)

    def revenue_centers(self, guid: str, *, last_modified: datetime | None = None) -> list[RevenueCenter]:
        """All revenue centers of a location (``/config/v2/revenueCenters``, every page)."""
        return self._config_list("/config/v2/revenueCenters", guid, RevenueCenter, "revenue center", last_modified)

    def _config_list(self, path, guid, item_type, what, last_modified, max_restarts: int = 3) -> list:
        """Every page of a config list. A 409 (configuration published mid-paging) restarts from the
        first page, at most ``max_restarts`` times; then PaginationError."""
        restarts = 0
        while True:
            try:
                return self._token_pages(path, guid, item_type, what, last_modified)
            except FatalAPIError as exc:
                if exc.status != 409 or isinstance(exc, PaginationError):
                    raise
                if restarts >= max_restarts:
                    raise PaginationError(f"{path}: 409 after {restarts} restarts; giving up", status=409) from exc
                restarts += 1
                log.info("%s for location %s: 409 mid-paging, restarting from the first page", path, guid)

    def _token_pages(self, path, guid, item_type, what, last_modified) -> list:
        items: list = []
        token: str | None = None
        seen: set[str] = set()
        while True:
            params: dict[str, Any] = {}
            if last_modified:
                params["lastModified"] = format_toast_ts(last_modified)
            if token:
                params["pageToken"] = token
            response = self.get_raw(path, location=guid, params=params or None)
            items.extend(decoding.decode_list(response.content, item_type, what))
            token = response.headers.get(NEXT_PAGE_HEADER)
            if not token:
                return items
            if token in seen:
                raise PaginationError(f"{path}: repeated {NEXT_PAGE_HEADER} {token!r}; stopped")
            seen.add(token)

    def menus_metadata(self, guid: str) -> MenusMetadata:
        """``GET /menus/v2/metadata``: when the location's menus were last published."""
        return decoding.decode_menus_metadata(self._get_bytes("/menus/v2/metadata", guid))

    def menus(self, guid: str) -> RestaurantMenus:
        """``GET /menus/v2/menus``, paced at 1 request per second per location."""
        return decoding.decode_menus(self._get_bytes("/menus/v2/menus", guid, kind=MENUS))

    def employees(self, guid: str, *, employee_ids: list[str] | None = None) -> list[Employee]:
        """``GET /labor/v1/employees`` (not paginated); ``employee_ids`` filters (max 100)."""
        params = {"employeeIds": list(employee_ids)} if employee_ids else None
        return decoding.decode_list(self._get_bytes("/labor/v1/employees", guid, params), Employee, "employee")

    # --- orders ----------------------------------------------------------------------------------

    def order(self, guid: str, order_guid: str) -> Order:
        """``GET /orders/v2/orders/{order_guid}`` at location ``guid``."""
        return decoding.decode_order(self._get_bytes(f"/orders/v2/orders/{order_guid}", guid))

    def orders_bulk(
        self,
        guid: str,
        start: datetime,
        end: datetime,
        *,
        page_size: int = MAX_PAGE_SIZE,
        start_page: int = 1,
        min_spacing: float = 0.0,
    ) -> Iterator[OrdersPage]:
        """Pages of orders modified in ``[start, end)`` at location ``guid``, from ``start_page``.

        Raises ValueError at once (before any request) for a window over one month or bad paging
        arguments. Iterating raises PayloadError, PaginationError on a repeated page, and the
        errors of ``get_raw``. ``min_spacing``: seconds between calls (historical pulls: 5-10).
        """
        _check_paging(start, end, page_size, start_page)
        return self._orders_pages(guid, start, end, page_size, start_page, min_spacing)

    def _orders_pages(self, guid, start, end, page_size, page, min_spacing) -> Iterator[OrdersPage]:
        previous: tuple | None = None
        while True:
            result = self.orders_page(guid, start, end, page=page, page_size=page_size, min_spacing=min_spacing,
                                      previous=previous)
            if not result.orders:
                return
            previous = result.marker
            yield result
            if result.next_page is None:
                return
            page = result.next_page

    def orders_page(
        self,
        guid: str,
        start: datetime,
        end: datetime,
        *,
        page: int,
        page_size: int = MAX_PAGE_SIZE,
        min_spacing: float = 0.0,
        previous: tuple[str, str] | None = None,
        slot_taken: bool = False,
    ) -> OrdersPage:
        """One ``/ordersBulk`` page. ``previous`` is the marker of the page before it (a repeat raises
        PaginationError). ``slot_taken``: the caller already counted this call with ``try_acquire`` (the sync
        scheduler), so it is sent at once and a retryable failure is raised at once, never slept on."""
        _check_paging(start, end, page_size, page)
        params = {"startDate": format_toast_ts(start), "endDate": format_toast_ts(end), "pageSize": page_size,
                  "page": page}
        response = self.get_raw(ORDERS_BULK_PATH, location=guid, params=params, kind=ORDERS_BULK,
                                min_spacing=min_spacing, slot_taken=slot_taken)
        orders = decoding.decode_orders(response.content)
        marker = (orders[0].guid, orders[-1].guid) if orders else None
        if marker is not None and marker == (tuple(previous) if previous else None):
            raise PaginationError(f"ordersBulk page {page} for location {guid} repeats the previous page; stopped")
        next_page = None if len(orders) < page_size else _next_page(response, page, guid)
        return OrdersPage(page, orders, len(response.content), next_page, marker)

    def try_acquire(self, kind: str, location: str | None, *, min_spacing: float = 0.0) -> Slot:
        """Count one call now if Toast's limits allow it (see ``Pacer.try_acquire``); never waits."""
        return self._pacer.try_acquire(kind, location, min_spacing=min_spacing)


def _check_paging(start: datetime, end: datetime, page_size: int, page: int) -> None:
    check_orders_window(start, end)
    if not 1 <= page_size <= MAX_PAGE_SIZE or page < 1:
        raise ValueError(f"bad paging: page_size={page_size} (1..{MAX_PAGE_SIZE}), start_page={page} (>= 1)")


def _next_page(response: httpx.Response, page: int, guid: str) -> int:
    """Page number from ``Link: <...>; rel="next"``, else ``page + 1``; PaginationError if the link
    does not move forward."""
    link = response.links.get("next")
    if not link or not link.get("url"):
        return page + 1
    values = parse_qs(urlsplit(link["url"]).query).get("page")
    try:
        next_page = int(values[0]) if values else page + 1
    except ValueError:
        return page + 1
    if next_page <= page:
        raise PaginationError(f"ordersBulk Link rel=next points back to page {next_page} from {page} (location {guid})")
    return next_page
