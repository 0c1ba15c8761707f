"""A small HTTP API (``/sandbox/...``) over ``SandboxState``'s mutation methods, for scripted demos.

It is not part of Toast's API and needs no token. Bodies are JSON; unknown orders/restaurants/clients → 404.
"""
from flask import Blueprint, current_app, request

from portal.toast.timefmt import parse_toast_ts
from toast_sandbox.api_common import ApiError, json_response, state
from toast_sandbox.generator_people import CHANNELS
from toast_sandbox.randomness import to_ms, ts
from toast_sandbox.state import UnknownOrder
from toast_sandbox.webhooks import WebhookConfig, WebhookDispatcher

bp = Blueprint("toast_sandbox_admin", __name__, url_prefix="/sandbox")

ORDER_ACTIONS = {
    "void": lambda sandbox, guid, body: sandbox.void_order(guid),
    "void-check": lambda sandbox, guid, body: sandbox.void_check(guid, body.get("checkGuid")),
    "refund": lambda sandbox, guid, body: sandbox.refund(guid, body.get("amount")),
    "reopen": lambda sandbox, guid, body: sandbox.reopen_check(guid, body.get("checkGuid")),
    "combine": lambda sandbox, guid, body: sandbox.combine_orders(guid, body["into"]),
}


def _body() -> dict:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _status(changes=()) -> dict:
    sandbox = state()
    return {"now": ts(sandbox.now_ms), "changes": len(changes),
            "changedOrders": sorted({change.guid for change in changes})}


@bp.get("/credentials")
def credentials():
    """Credentials of every configured client, plus group and location GUIDs."""
    sandbox = state()
    return json_response({client_id: sandbox.credentials(client_id) for client_id in sandbox.accounts})


@bp.post("/time/advance")
def advance():
    """Advance world time by ``{"seconds"|"minutes"|"hours"|"days": n}``."""
    try:
        delta = {key: float(value) for key, value in _body().items() if key in ("seconds", "minutes", "hours", "days")}
        return json_response(_status(state().advance_time(**delta)))
    except (TypeError, ValueError) as error:
        raise ApiError(400, f"Bad time step: {error}") from None


@bp.post("/traffic")
def traffic():
    """Simulate ``{"minutes": 60, "orders": 0}`` of service."""
    body = _body()
    try:
        minutes, orders = int(body.get("minutes", 60)), int(body.get("orders", 0))
    except (TypeError, ValueError):
        raise ApiError(400, "minutes and orders must be integers") from None
    if minutes < 0 or orders < 0:
        raise ApiError(400, "minutes and orders must not be negative")
    return json_response(_status(state().simulate_traffic(minutes, orders)))


@bp.post("/orders/<order_guid>/<action>")
def order_action(order_guid: str, action: str):
    """void, void-check, refund (``{"amount": 5.0}``), reopen, combine (``{"into": guid}``)."""
    if action not in ORDER_ACTIONS:
        raise ApiError(404, f"Unknown action {action}")
    body = _body()
    if action == "combine" and not isinstance(body.get("into"), str):
        raise ApiError(400, "combine needs {\"into\": <order GUID>}", field="into")
    try:
        order = ORDER_ACTIONS[action](state(), order_guid, body)
    except UnknownOrder as error:
        raise ApiError(404, f"Not found: {error}") from None
    except (TypeError, ValueError) as error:
        raise ApiError(400, f"Bad request: {error}") from None
    return json_response(order)


@bp.post("/restaurants/<restaurant_guid>/orders")
def add_order(restaurant_guid: str):
    """Open a new order now: ``{"channel": "takeout_online", "guestIndex": 12}``."""
    body = _body()
    channel, guest = body.get("channel", "takeout_online"), body.get("guestIndex")
    sandbox = state()
    if channel not in CHANNELS:
        raise ApiError(400, f"channel must be one of {', '.join(CHANNELS)}", field="channel")
    if guest is not None and not (isinstance(guest, int) and 0 <= guest < len(sandbox.world.guests)):
        raise ApiError(400, f"guestIndex must be an integer below {len(sandbox.world.guests)}", field="guestIndex")
    if restaurant_guid not in sandbox.config_versions:
        raise ApiError(404, f"Unknown restaurant {restaurant_guid}")
    return json_response({"guid": sandbox.add_order(restaurant_guid, channel, guest)}, 201)


@bp.get("/restaurants/<restaurant_guid>/orders")
def order_index(restaurant_guid: str):
    """``{"now": ms, "orders": [{"guid", "modifiedDate": ms}]}``: every order of the location (as the world stands
    now) modified in [``modifiedFrom``, ``modifiedTo``) epoch ms (default: all), for checks that compare a
    client's copy with Toast's without spending its rate limits."""
    sandbox = state()
    if restaurant_guid not in sandbox.config_versions:
        raise ApiError(404, f"Unknown restaurant {restaurant_guid}")
    try:
        start, end = int(request.args.get("modifiedFrom", 0)), request.args.get("modifiedTo")
        with sandbox.lock:
            now = sandbox.now_ms
            orders = sandbox.orders_modified_between(restaurant_guid, start, int(end) if end else now + 1)
            index = [{"guid": order["guid"], "modifiedDate": to_ms(parse_toast_ts(order["modifiedDate"]))}
                     for order in orders]
    except ValueError:
        raise ApiError(400, "modifiedFrom and modifiedTo must be epoch milliseconds") from None
    return json_response({"now": now, "orders": index})


@bp.post("/restaurants/<restaurant_guid>/config/publish")
def publish_config(restaurant_guid: str):
    """Publish a configuration change (config page tokens issued before it get 409)."""
    sandbox = state()
    if restaurant_guid not in sandbox.config_versions:
        raise ApiError(404, f"Unknown restaurant {restaurant_guid}")
    return json_response({"version": sandbox.publish_config_change(restaurant_guid)})


@bp.post("/clients/<client_id>/<action>")
def client_action(client_id: str, action: str):
    """``revoke`` or ``restore`` a client."""
    sandbox = state()
    if client_id not in sandbox.accounts or action not in ("revoke", "restore"):
        raise ApiError(404, f"Unknown client or action: {client_id} {action}")
    (sandbox.revoke if action == "revoke" else sandbox.restore)(client_id)
    return json_response({"clientId": client_id, "revoked": client_id in sandbox.revoked})


@bp.put("/clients/<client_id>/webhook")
def client_webhook(client_id: str):
    """Send the events of the client's locations to ``{"url": ..., "secret": optional}`` (``{"url": null}``
    stops them), as a Toast integration registers its webhook endpoint."""
    sandbox, body = state(), _body()
    if client_id not in sandbox.accounts:
        raise ApiError(404, f"Unknown client {client_id}")
    url, secret = body.get("url"), body.get("secret")
    if not (url is None or isinstance(url, str) and url.startswith(("http://", "https://"))):
        raise ApiError(400, "url must be an http(s) URL or null", field="url")
    if secret is not None and not isinstance(secret, str):
        raise ApiError(400, "secret must be a string", field="secret")
    if "toast_sandbox_webhooks" not in current_app.extensions:
        current_app.extensions["toast_sandbox_webhooks"] = WebhookDispatcher(sandbox)
    dispatcher = current_app.extensions["toast_sandbox_webhooks"]
    dispatcher.subscribe(client_id, WebhookConfig(url=url, secret=secret) if url else None,
                         sandbox.accounts[client_id].restaurants)
    return json_response({"clientId": client_id, "url": url,
                          "restaurants": len(sandbox.accounts[client_id].restaurants) if url else 0})


@bp.get("/stats")
def stats():
    """Requests, ``/ordersBulk`` calls and 429 answers per location (``-``: calls without a location)."""
    counts = current_app.extensions["toast_sandbox_counts"]
    return json_response({"now": state().now_ms, "locations": counts.snapshot()})


@bp.post("/webhooks/flush")
def flush_webhooks():
    """Send webhook events for changes since the last flush (when the app was built with a webhook config)."""
    dispatcher = current_app.extensions.get("toast_sandbox_webhooks")
    if dispatcher is None:
        raise ApiError(404, "No webhook target configured")
    deliveries = dispatcher.flush()
    return json_response([{"eventGuid": item.event_guid, "orderGuid": item.order_guid, "attempts": item.attempts,
                           "status": item.status, "delivered": item.delivered} for item in deliveries])
