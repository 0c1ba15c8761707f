"""Orders API v2: ``GET /orders/v2/ordersBulk`` and ``GET /orders/v2/orders/{guid}`` (SPEC:orders).

ordersBulk filters on ``modifiedDate`` in [startDate, endDate) (at most one calendar month, after
2015-12-01, timestamps as ``yyyy-MM-dd'T'HH:mm:ss.SSS±hhmm`` with ``+`` URL-encoded), or on ``businessDate``
(creation business day). Pages are 1-based, ``pageSize`` at most 100, and the ``Link`` header carries
``first``/``self``/``prev``/``next`` only: no ``last`` and no total count, as Toast does.
"""
import calendar
from datetime import date, datetime, timezone
from urllib.parse import urlencode

from flask import Blueprint, g, request

from toast_sandbox.api_common import GUID, ApiError, int_arg, json_response, requires, state, timestamp_arg
from toast_sandbox.randomness import to_ms
from toast_sandbox.views import order_for_client

bp = Blueprint("toast_sandbox_orders", __name__, url_prefix="/orders/v2")

EARLIEST = datetime(2015, 12, 1, tzinfo=timezone.utc)
MAX_PAGE_SIZE = 100


@bp.get("/ordersBulk")
@requires("orders:read")
def orders_bulk():
    """A page of orders by modified-time window or business date. 400 on bad parameters."""
    page_size = int_arg("pageSize", MAX_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    page = int_arg("page", 1, 1, 10**7)
    sandbox, index = state(), g.restaurant.index
    with sandbox.lock:
        orders = _select(sandbox, index)
        chunk = orders[(page - 1) * page_size: page * page_size]
        body = [order_for_client(order, g.client.scopes) for order in chunk]
        response = json_response(body, headers={"Link": _links(page, has_next=len(orders) > page * page_size)})
    return response


@bp.get("/orders/<order_guid>")
@requires("orders:read")
def single_order(order_guid: str):
    """One order. 400 for a malformed GUID, 404 if this location has no such order."""
    if not GUID.match(order_guid):
        raise ApiError(400, f"Invalid order GUID: {order_guid}", field="guid")
    sandbox = state()
    with sandbox.lock:
        order = sandbox.store.find(g.restaurant.index, order_guid)
        if order is None:
            raise ApiError(404, f"Order not found: {order_guid}")
        return json_response(order_for_client(order, g.client.scopes))


def _select(sandbox, index: int) -> list[dict]:
    args = request.args
    business, start_raw, end_raw = args.get("businessDate"), args.get("startDate"), args.get("endDate")
    if business and (start_raw or end_raw):
        raise ApiError(400, "Use either businessDate or startDate and endDate, not both", field="businessDate")
    if business:
        return sandbox.store.on_business_date(index, _business_date(business))
    if not start_raw or not end_raw:
        raise ApiError(400, "startDate and endDate (or businessDate) are required", field="startDate")
    start, end = timestamp_arg("startDate", start_raw), timestamp_arg("endDate", end_raw)
    if start < EARLIEST:
        raise ApiError(400, "startDate must be after 2015-12-01T00:00:00.000+0000", field="startDate")
    if end <= start:
        raise ApiError(400, "endDate must be after startDate", field="endDate")
    if end > _one_month_after(start):
        raise ApiError(400, "The time period between startDate and endDate must be one month or less",
                       field="endDate")
    return sandbox.store.modified_between(index, to_ms(start), to_ms(end))


def _business_date(raw: str) -> date:
    try:
        if len(raw) != 8:
            raise ValueError
        return date(int(raw[:4]), int(raw[4:6]), int(raw[6:]))
    except ValueError:
        raise ApiError(400, f"Invalid businessDate '{raw}': expected yyyyMMdd", field="businessDate") from None


def _one_month_after(moment: datetime) -> datetime:
    """The same instant one calendar month later (clamped to the month's last day: Jan 31 -> Feb 28/29)."""
    utc = moment.astimezone(timezone.utc)
    year, month = (utc.year + 1, 1) if utc.month == 12 else (utc.year, utc.month + 1)
    return utc.replace(year=year, month=month, day=min(utc.day, calendar.monthrange(year, month)[1]))


def _links(page: int, has_next: bool) -> str:
    """Toast's ``Link`` header: first, self, prev (after page 1), next (when more orders follow)."""
    params = [(key, value) for key, value in request.args.items(multi=True) if key != "page"]

    def url(number: int) -> str:
        return f"{request.base_url}?{urlencode(params + [('page', str(number))])}"

    links = [f'<{url(1)}>; rel="first"', f'<{url(page)}>; rel="self"']
    if page > 1:
        links.append(f'<{url(page - 1)}>; rel="prev"')
    if has_next:
        links.append(f'<{url(page + 1)}>; rel="next"')
    return ", ".join(links)
