"""Configuration (``/config/v2``), menus (``/menus/v2``) and labor (``/labor/v1``) endpoints.

Config lists page with opaque tokens (DG:apiResponseDataPagination): the server picks a small page size, the
next token comes in ``Toast-Next-Page-Token`` and goes back as ``?pageToken=``; a token issued before the
restaurant published configuration changes gets 409 (restart without a token). ``lastModified`` returns only
objects modified after that time.
"""
import base64
import binascii
import json

from flask import Blueprint, g, request

from toast_sandbox import payloads
from toast_sandbox.api_common import ApiError, json_response, requires, state, timestamp_arg
from toast_sandbox.randomness import to_ms

bp = Blueprint("toast_sandbox_config", __name__)

NEXT_PAGE_HEADER = "Toast-Next-Page-Token"
MAX_EMPLOYEE_IDS = 100


@bp.get("/config/v2/diningOptions")
@requires("config:read")
def dining_options():
    """Dining options of the location, one server-sized page at a time."""
    return _config_page("diningOptions", g.restaurant.dining_options, payloads.dining_option)


@bp.get("/config/v2/revenueCenters")
@requires("config:read")
def revenue_centers():
    """Revenue centers of the location, one server-sized page at a time."""
    return _config_page("revenueCenters", g.restaurant.revenue_centers, payloads.revenue_center)


@bp.get("/menus/v2/metadata")
@requires("menus:read")
def menus_metadata():
    """When the location's menus were last published."""
    sandbox = state()
    bundle = sandbox.world.menus[g.restaurant.index]
    return json_response(payloads.menus_metadata(bundle, sandbox.menu_published.get(g.restaurant.guid)))


@bp.get("/menus/v2/menus")
@requires("menus:read")
def menus():
    """The location's published menus (1 request per second per location)."""
    sandbox = state()
    bundle = sandbox.world.menus[g.restaurant.index]
    return json_response(payloads.menus_document(bundle, sandbox.menu_published.get(g.restaurant.guid)))


@bp.get("/labor/v1/employees")
@requires("labor.employees:read")
def employees():
    """Employees (deleted ones included); ``employeeIds`` (GUIDs or external IDs, repeatable) narrows the list."""
    wanted = [item.strip() for value in request.args.getlist("employeeIds") for item in value.split(",")
              if item.strip()]
    if len(wanted) > MAX_EMPLOYEE_IDS:
        raise ApiError(400, f"At most {MAX_EMPLOYEE_IDS} employeeIds are allowed", field="employeeIds")
    restaurant = g.restaurant
    people = [person for person in restaurant.employees
              if not wanted or person.guid in wanted or (person.external_id and person.external_id in wanted)]
    return json_response([payloads.employee(person, restaurant) for person in people])


def _config_page(kind: str, entities, render):
    sandbox, restaurant = state(), g.restaurant
    version = sandbox.config_versions[restaurant.guid]
    last_modified = _last_modified(request.args.get("lastModified"))
    offset = 0
    token = request.args.get("pageToken")
    if token:
        claims = _read_token(token, kind, restaurant.guid)
        if claims["v"] != version:
            raise ApiError(409, "The restaurant's configuration changed while paging; restart without pageToken",
                           field="pageToken")
        offset, last_modified = claims["o"], claims["m"]
    matching = [entity for entity in entities
                if last_modified is None or _modified(sandbox, entity) > last_modified]
    size = sandbox.config_page_size
    headers = {}
    if offset + size < len(matching):
        headers[NEXT_PAGE_HEADER] = _make_token(kind, restaurant.guid, offset + size, version, last_modified)
    return json_response([render(entity) for entity in matching[offset:offset + size]], headers=headers)


def _modified(sandbox, entity) -> int:
    return max(entity.modified_ms, sandbox.config_touched.get(entity.guid, 0))


def _last_modified(raw: str | None) -> int | None:
    return to_ms(timestamp_arg("lastModified", raw)) if raw else None


def _make_token(kind: str, restaurant_guid: str, offset: int, version: int, last_modified: int | None) -> str:
    claims = {"k": kind, "r": restaurant_guid, "o": offset, "v": version, "m": last_modified}
    return base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).decode().rstrip("=")


def _read_token(token: str, kind: str, restaurant_guid: str) -> dict:
    try:
        claims = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError):
        claims = None
    if not isinstance(claims, dict) or claims.get("k") != kind or claims.get("r") != restaurant_guid:
        raise ApiError(400, "Invalid pageToken", field="pageToken")
    return claims
