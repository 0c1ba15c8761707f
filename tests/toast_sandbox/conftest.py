"""Fixtures for the Toast sandbox tests: small fixed-time worlds, a fake clock, and a Toast-speaking test client."""
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from portal.toast.timefmt import format_toast_ts
from toast_sandbox import GROUP_CLIENT, RateLimitConfig, create_sandbox_app

SHARED = Path(__file__).resolve().parents[1] / "fixtures"  # copies of the shared reference files
# A Wednesday in May (daylight saving time), on the hour like the default "now".
FIXED_NOW = datetime(2024, 5, 15, 18, 0, tzinfo=timezone.utc)
SMALL_WORLD = {"seed": 7, "restaurants": 2, "days": 21, "now": FIXED_NOW}
NO_LIMITS = RateLimitConfig(enabled=False)


class FakeClock:
    """Epoch seconds that only move when a test says so."""

    def __init__(self, start: float = FIXED_NOW.timestamp()):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class ToastApi:
    """A Flask test client that logs in like a Toast integration and sends Toast's headers."""

    def __init__(self, app):
        self.app = app
        self.http = app.test_client()
        self.state = app.extensions["toast_sandbox"]
        self._tokens: dict[str, str] = {}

    def login(self, client_id: str = GROUP_CLIENT, secret: str | None = None, access_type="TOAST_MACHINE_CLIENT"):
        """The raw login response."""
        secret = secret if secret is not None else self.state.accounts[client_id].secret
        return self.http.post("/authentication/v1/authentication/login",
                              json={"clientId": client_id, "clientSecret": secret, "userAccessType": access_type})

    def token(self, client_id: str = GROUP_CLIENT) -> str:
        """A cached access token of ``client_id``."""
        if client_id not in self._tokens:
            response = self.login(client_id)
            assert response.status_code == 200, response.json
            self._tokens[client_id] = response.json["token"]["accessToken"]
        return self._tokens[client_id]

    def get(self, path: str, *, restaurant: str | int | None = 0, client_id: str = GROUP_CLIENT, params=None,
            headers: dict | None = None):
        """GET ``path`` with a bearer token and (unless ``restaurant`` is None) the restaurant header."""
        sent = {"Authorization": f"Bearer {self.token(client_id)}"}
        if restaurant is not None:
            sent["Toast-Restaurant-External-ID"] = (self.state.restaurant_guids[restaurant]
                                                    if isinstance(restaurant, int) else restaurant)
        sent.update(headers or {})
        return self.http.get(path, query_string=params, headers=sent)

    def orders_bulk(self, start: datetime, end: datetime, *, restaurant=0, client_id=GROUP_CLIENT, page=1,
                    page_size=100):
        """One ordersBulk page for [start, end)."""
        return self.get("/orders/v2/ordersBulk", restaurant=restaurant, client_id=client_id,
                        params={"startDate": format_toast_ts(start), "endDate": format_toast_ts(end),
                                "page": page, "pageSize": page_size})

    def all_orders(self, start: datetime, end: datetime, *, restaurant=0, client_id=GROUP_CLIENT,
                   window=timedelta(days=7), page_size=100) -> list[dict]:
        """Every order modified in [start, end), fetched in windows and pages until a page has no next link."""
        orders, cursor = [], start
        while cursor < end:
            stop = min(end, cursor + window)
            page = 1
            while True:
                response = self.orders_bulk(cursor, stop, restaurant=restaurant, client_id=client_id, page=page,
                                            page_size=page_size)
                assert response.status_code == 200, response.json
                orders.extend(response.json)
                if 'rel="next"' not in response.headers["Link"]:
                    break
                page += 1
            cursor = stop
        return orders


@pytest.fixture(scope="session")
def shared_app():
    """A small world shared by read-only tests (rate limits off so tests never wait)."""
    return create_sandbox_app(**SMALL_WORLD, rate_limits=NO_LIMITS)


@pytest.fixture(scope="session")
def api(shared_app) -> ToastApi:
    """A Toast client of the shared world."""
    return ToastApi(shared_app)


@pytest.fixture(scope="session")
def history(api) -> list[dict]:
    """Every order of location 0 in the shared world, as the group client sees it."""
    return api.all_orders(FIXED_NOW - timedelta(days=30), FIXED_NOW + timedelta(hours=1))


@pytest.fixture
def make_api():
    """Build a fresh world (defaults: the small world, no rate limits) and return a ToastApi for it."""
    def build(**overrides) -> ToastApi:
        options = {**SMALL_WORLD, "rate_limits": NO_LIMITS, **overrides}
        return ToastApi(create_sandbox_app(**options))
    return build
