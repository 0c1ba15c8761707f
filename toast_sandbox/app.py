"""The sandbox Flask app: Toast's base paths, bearer-token auth, rate limits, and the ``/sandbox`` admin API.

Request flow for API paths: (live mode: bring orders up to the clock) → identify the client from its bearer
token → count the request against the rate limits (429 with ``Retry-After`` when over) → 401 without a valid
token → the view's own scope and ``Toast-Restaurant-External-ID`` checks. Every response except authentication
and the admin API carries ``X-Toast-RateLimit-*`` headers.
"""
from collections.abc import Callable
from datetime import datetime

from flask import Flask, current_app, g, request
from werkzeug.exceptions import HTTPException

from toast_sandbox import admin, api_auth, api_config, api_orders, api_restaurants
from toast_sandbox.api_common import RESTAURANT_HEADER, ApiError, error_response, state
from toast_sandbox.generator import build_world
from toast_sandbox.ratelimit import ENDPOINT_MENUS, ENDPOINT_ORDERS_BULK, RateLimitConfig, RateLimiter
from toast_sandbox.request_counts import RequestCounts
from toast_sandbox.state import SandboxState
from toast_sandbox.webhooks import WebhookConfig, WebhookDispatcher

UNGUARDED_PREFIXES = ("/authentication/", "/sandbox/")
ENDPOINT_OF_PATH = {"/orders/v2/ordersBulk": ENDPOINT_ORDERS_BULK, "/menus/v2/menus": ENDPOINT_MENUS}


def create_sandbox_app(seed: int = 1, restaurants: int = 3, days: int = 120, now: datetime | None = None, *,
                       group_sizes: list[int] | None = None, orders_per_day: float | None = None,
                       clients: dict | None = None, rate_limits: RateLimitConfig | None = None,
                       clock: Callable[[], float] | None = None, webhooks: WebhookConfig | None = None,
                       config_page_size: int = 2, live: bool = False) -> Flask:
    """Build the world for (seed, restaurants, days, now, group sizes, orders per day) and an app serving it.

    ``group_sizes`` splits the locations into management groups (a fleet), each with its own group client;
    ``clients`` overrides/extends the default accounts (client_id -> {secret, scopes, kind, group, restaurants,
    name}); ``clock`` (epoch seconds) drives tokens and rate limits; ``live`` lets world time follow the clock;
    ``webhooks`` sends every location's changes to one URL (``/sandbox/clients/<id>/webhook`` adds one per
    client). The state is ``app.extensions["toast_sandbox"]``. Raises ValueError for invalid sizes or client specs.
    """
    world = build_world(seed, restaurants, days, now, group_sizes=group_sizes, orders_per_day=orders_per_day)
    sandbox = SandboxState(world, clients=clients, clock=clock, live=live, config_page_size=config_page_size)
    app = Flask(__name__)
    app.extensions["toast_sandbox"] = sandbox
    app.extensions["toast_sandbox_limiter"] = RateLimiter(rate_limits or RateLimitConfig(), sandbox.clock)
    app.extensions["toast_sandbox_counts"] = RequestCounts()
    if webhooks is not None:
        app.extensions["toast_sandbox_webhooks"] = WebhookDispatcher(sandbox, webhooks)
    for module in (api_auth, api_orders, api_config, api_restaurants, admin):
        app.register_blueprint(module.bp)
    app.before_request(_guard)
    app.after_request(_rate_limit_headers)
    app.register_error_handler(ApiError, error_response)
    app.register_error_handler(HTTPException, _http_error)
    return app


def _guard() -> None:
    if request.path.startswith(UNGUARDED_PREFIXES):
        return
    sandbox = state()
    if sandbox.live:
        sandbox.refresh()
    client = _client_from_token(sandbox)
    limiter: RateLimiter = current_app.extensions["toast_sandbox_limiter"]
    g.location = request.headers.get(RESTAURANT_HEADER, "").strip().lower() or None
    decision = limiter.hit(client.client_id if client else None, request.remote_addr or "-", g.location,
                           ENDPOINT_OF_PATH.get(request.path))
    g.rate_limit = decision
    if not decision.allowed:
        raise ApiError(429, "Rate limit exceeded; retry after the Retry-After interval", code=10429,
                       headers={"Retry-After": str(decision.retry_after)})
    if client is None:
        raise ApiError(401, "Unauthorized: missing, invalid, expired or revoked access token", code=10010)
    g.client = client


def _client_from_token(sandbox: SandboxState):
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return sandbox.authenticate(token.strip())


def _rate_limit_headers(response):
    decision = g.get("rate_limit")
    if decision is not None:
        response.headers.update(decision.headers())
        counts: RequestCounts = current_app.extensions["toast_sandbox_counts"]
        counts.record(g.location, ENDPOINT_OF_PATH.get(request.path) == ENDPOINT_ORDERS_BULK, response.status_code)
    return response


def _http_error(error: HTTPException):
    return error_response(ApiError(error.code or 500, error.description or error.name))
