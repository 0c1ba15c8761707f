"""Restaurants API (``/restaurants/v1``) and partners API (``/partners/v1``, partner clients only).

``connectedRestaurants`` pages with ``pageToken`` values shaped like Toast's example (``cDoxLHM6MQ==`` is
base64 of ``p:1,s:1``) and also returns them in ``nextPageToken`` and the ``Link`` header.
"""
import base64
import binascii
import math
import re
from urllib.parse import urlencode

from flask import Blueprint, g, request

from toast_sandbox import payloads
from toast_sandbox.api_common import ApiError, int_arg, json_response, requires, state, timestamp_arg
from toast_sandbox.randomness import to_ms

bp = Blueprint("toast_sandbox_restaurants", __name__)

PAGE_TOKEN = re.compile(r"^p:(\d+),s:(\d+)$")


@bp.get("/restaurants/v1/restaurants/<restaurant_guid>")
@requires("restaurants:read")
def restaurant(restaurant_guid: str):
    """``RestaurantInfo`` of a reachable location; 404 for anything else (as for archived ones)."""
    sandbox = state()
    found = sandbox.world.restaurant_by_guid(restaurant_guid)
    if found is None or not g.client.can_reach(found.guid):
        raise ApiError(404, f"Restaurant not found: {restaurant_guid}")
    return json_response(payloads.restaurant_info(found, sandbox.group_guid_of(found.guid)))


@bp.get("/restaurants/v1/groups/<group_guid>/restaurants")
@requires("restaurants:read")
def group_restaurants(group_guid: str):
    """GUIDs of the group's locations this client can reach; 404 for an unknown group or one the client reaches
    no location of."""
    world = state().world
    group = world.group_by_guid(group_guid)
    members = [world.restaurants[index] for index in group.restaurant_indexes] if group else []
    reachable = payloads.reachable(g.client, members)
    if not reachable:
        raise ApiError(404, f"Management group not found: {group_guid}")
    return json_response([{"guid": item.guid} for item in reachable])


@bp.get("/partners/v1/restaurants")
@requires(location=False, partner_only=True)
def partner_restaurants():
    """Locations connected to this partner, optionally only those changed after ``lastModified``."""
    return json_response(_partner_accesses())


@bp.get("/partners/v1/connectedRestaurants")
@requires(location=False, partner_only=True)
def connected_restaurants():
    """The same locations wrapped in a ``PaginatedResponse``."""
    results = _partner_accesses()
    page_size = int_arg("pageSize", 100, 1, 200)
    page = 1
    token = request.args.get("pageToken")
    if token:
        page, page_size = _read_page_token(token)
    last_page = max(1, math.ceil(len(results) / page_size))
    has_next = page < last_page
    body = {
        "currentPageNum": page, "results": results[(page - 1) * page_size: page * page_size],
        "totalResultCount": len(results), "pageSize": page_size, "currentPageToken": _page_token(page, page_size),
        "nextPageToken": _page_token(page + 1, page_size) if has_next else None, "totalCount": len(results),
        "nextPageNum": page + 1 if has_next else None, "lastPageNum": last_page,
        "previousPageNum": page - 1 if page > 1 else None,
    }
    links = [f'<{_page_url(1, page_size)}>; rel="first"']
    if has_next:
        links.append(f'<{_page_url(page + 1, page_size)}>; rel="next"')
    return json_response(body, headers={"Link": ", ".join(links)})


def _partner_accesses() -> list[dict]:
    sandbox = state()
    raw = request.args.get("lastModified")
    since = to_ms(timestamp_arg("lastModified", raw)) if raw else None
    reps = [payloads.partner_access(item, sandbox.group_guid_of(item.guid))
            for item in payloads.reachable(g.client, sandbox.world.restaurants)]
    return [rep for rep in reps if since is None or rep["modifiedDate"] > since]


def _page_token(page: int, size: int) -> str:
    return base64.b64encode(f"p:{page},s:{size}".encode()).decode()


def _read_page_token(token: str) -> tuple[int, int]:
    try:
        match = PAGE_TOKEN.match(base64.b64decode(token, validate=True).decode())
    except (binascii.Error, UnicodeDecodeError):
        match = None
    if not match or int(match[1]) < 1 or not 1 <= int(match[2]) <= 200:
        raise ApiError(400, "Invalid pageToken", field="pageToken")
    return int(match[1]), int(match[2])


def _page_url(page: int, size: int) -> str:
    params = [(key, value) for key, value in request.args.items(multi=True) if key not in ("pageToken", "pageSize")]
    return f"{request.base_url}?{urlencode(params + [('pageToken', _page_token(page, size))])}"
