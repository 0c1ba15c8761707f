"""What every sandbox endpoint shares: JSON bodies, Toast ``ErrorMessage`` errors, and access checks."""
import functools
import json
import re
import uuid
from datetime import datetime

from flask import Response, current_app, g, request

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
TOAST_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{4}$")
RESTAURANT_HEADER = "Toast-Restaurant-External-ID"
DOC_LINK = "https://doc.toasttab.com/doc/devguide/apiErrorHandling.html"


class ApiError(Exception):
    """Raised by handlers to answer with an ``ErrorMessage`` of ``status``."""

    def __init__(self, status: int, message: str, *, code: int | None = None, field: str | None = None,
                 developer_message: str | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.code, self.field = status, message, code, field
        self.developer_message, self.headers = developer_message, headers or {}


def state():
    """The ``SandboxState`` of the current app."""
    return current_app.extensions["toast_sandbox"]


def dumps(payload) -> bytes:
    """Compact UTF-8 JSON, as Toast sends it (non-ASCII names stay as they are)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_response(payload, status: int = 200, headers: dict | None = None) -> Response:
    """A JSON response with Toast's content type."""
    return Response(dumps(payload), status=status, headers=headers or {},
                    content_type="application/json;charset=UTF-8")


def error_body(status: int, message: str, *, code: int | None = None, field: str | None = None,
               developer_message: str | None = None) -> dict:
    """An ``ErrorMessage`` (SPEC:authentication). ``status`` is a string there, so it is sent as one."""
    return {"status": str(status), "code": code or status, "message": message, "messageKey": None,
            "fieldName": field, "link": DOC_LINK, "requestId": str(uuid.uuid4()),
            "developerMessage": developer_message or message, "errors": [], "canRetry": None}


def error_response(error: ApiError) -> Response:
    """The HTTP response for an ``ApiError``."""
    body = error_body(error.status, error.message, code=error.code, field=error.field,
                      developer_message=error.developer_message)
    return json_response(body, error.status, error.headers)


def requires(scope: str | None = None, *, location: bool = True, partner_only: bool = False):
    """Guard a view: the authenticated client (``g.client``) needs ``scope`` and, with ``location``, a
    ``Toast-Restaurant-External-ID`` naming a location it can reach (``g.restaurant``).

    Missing scope, partner-only endpoint for a group client, or an unreachable location → 403; no header or a
    management-group GUID in it → 400.
    """
    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            client = g.client
            if partner_only and client.kind != "partner":
                raise ApiError(403, "This endpoint is only available to partner API clients", code=10403)
            if scope and scope not in client.scopes:
                raise ApiError(403, f"Access denied: the client is missing the scope {scope}", code=10403,
                               developer_message=f"Required scope: {scope}")
            if location:
                g.restaurant = _restaurant_from_header(client)
            return view(*args, **kwargs)
        return wrapper
    return decorate


def _restaurant_from_header(client):
    sandbox = state()
    guid = request.headers.get(RESTAURANT_HEADER, "").strip()
    if not guid:
        raise ApiError(400, f"Missing required header {RESTAURANT_HEADER}", field=RESTAURANT_HEADER)
    if sandbox.world.group_by_guid(guid) is not None:
        raise ApiError(400, f"{RESTAURANT_HEADER} must identify a restaurant location, not a management group",
                       field=RESTAURANT_HEADER)
    restaurant = sandbox.world.restaurant_by_guid(guid)
    if restaurant is None or not client.can_reach(guid):
        raise ApiError(403, "Access to this restaurant is not permitted for this client", code=10403,
                       field=RESTAURANT_HEADER)
    return restaurant


def int_arg(name: str, default: int, minimum: int, maximum: int) -> int:
    """An integer query parameter within [minimum, maximum]; 400 otherwise."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be an integer", field=name) from None
    if not minimum <= value <= maximum:
        raise ApiError(400, f"{name} must be between {minimum} and {maximum}", field=name)
    return value


def timestamp_arg(name: str, raw: str) -> datetime:
    """A Toast timestamp parameter (``yyyy-MM-dd'T'HH:mm:ss.SSS+hhmm``); 400 otherwise, e.g. for an unencoded ``+``
    that arrived as a space."""
    if not TOAST_TIMESTAMP.match(raw):
        raise ApiError(400, f"Invalid {name} '{raw}': expected yyyy-MM-dd'T'HH:mm:ss.SSS+hhmm "
                            "(URL-encode '+' as %2B)", field=name)
    try:
        return datetime.strptime(raw, "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        raise ApiError(400, f"Invalid {name} '{raw}'", field=name) from None
