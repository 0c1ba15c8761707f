"""Reading what guest resolution needs from the order, config and guest_checks tables (and whether the
organization's erasures and suppression list apply), with prebuilt Core statements.

This is the hot path of ``apply_orders`` (a sync page, or one order from a webhook), so round trips are few:
orders come with their checks, the names of their dining option and server, their location's slot, whether they
already have ``guest_checks`` rows and whether the organization's erasures and suppression list apply (joins and
EXISTS); the selections (with their menu item's name) and payments of checks that carry a customer come in one
more, and existing ``guest_checks`` rows in a third only for orders that have some (a new order has none).
Statements are built once (expanding IN parameters) and run on the session's connection; rows become light
namespaces.
"""
from dataclasses import dataclass
from types import SimpleNamespace

from sqlalchemy import and_, bindparam, exists, literal, null, select, union_all
from sqlalchemy.orm import Session

from portal.dbutil import expanding
from portal.localtime import ORG_ZONE_NAME
from portal.models import CheckPayment, CheckSelection, DiningOption, Employee, Location, MenuItem, Order, OrderCheck
from portal.models.guest import GuestCheck
from portal.models.privacy import ErasedIdentifier, MarketingSuppression

_o, _c, _s, _p = Order.__table__.c, OrderCheck.__table__.c, CheckSelection.__table__.c, CheckPayment.__table__.c
_d, _e, _m, _l = DiningOption.__table__.c, Employee.__table__.c, MenuItem.__table__.c, Location.__table__.c
_gc = GuestCheck.__table__.c

ORDER_COLUMNS = (
    _o.id, _o.org_id, _o.location_id, _o.opened_at, _o.voided, _o.deleted, _o.server_guid, _o.delivery_info,
    _o.curbside_info, _d.behavior.label("dining_behavior"), _d.curbside.label("dining_curbside"),
    _e.first_name.label("server_first_name"), _e.chosen_name.label("server_chosen_name"),
    _e.last_name.label("server_last_name"), _l.slot.label("location_slot"),
    exists().where(_gc.order_id == _o.id).label("known"),
)
CHECK_COLUMNS = (_c.id, _c.guid, _c.amount_cents, _c.voided, _c.deleted, _c.customer_guid, _c.customer_first_name,
                 _c.customer_last_name, _c.customer_email, _c.customer_phone, _c.customer_phone_country_code)
ORDER_NAMES = tuple(column.name for column in ORDER_COLUMNS)
CHECK_NAMES = tuple(column.name for column in CHECK_COLUMNS)
# Whether the organization has erased identifiers and a suppression list (the screenings a batch needs), and its
# time zone (the dashboard's days), on the one row the orders are joined to: a row even when none of the orders
# exists any more.
_lists = select(exists().where(ErasedIdentifier.org_id == bindparam("org")).label("erased"),
                exists().where(MarketingSuppression.org_id == bindparam("org")).label("suppressed"),
                ORG_ZONE_NAME.label("time_zone")).subquery()
ORDERS = (
    select(_lists, *ORDER_COLUMNS, *(column.label(f"check_{column.name}") for column in CHECK_COLUMNS))
    .select_from(_lists)
    .outerjoin(Order.__table__, and_(_o.org_id == bindparam("org"), _o.id.in_(expanding("ids"))))
    .outerjoin(DiningOption.__table__, and_(_d.location_id == _o.location_id, _d.guid == _o.dining_option_guid))
    .outerjoin(Employee.__table__, and_(_e.location_id == _o.location_id, _e.guid == _o.server_guid))
    .outerjoin(Location.__table__, _l.id == _o.location_id)
    .outerjoin(OrderCheck.__table__, _c.order_id == _o.id)
    .order_by(_o.id, _c.id)
)
# A check's selections and payments in one round trip: each row is one or the other (``kind``), the other's
# columns NULL.
_SELECTION_FIELDS = ("item_guid", "display_name", "menu_name", "quantity", "voided")
_PAYMENT_FIELDS = ("card_type", "tip_cents", "refund_cents", "tip_refund_cents", "payment_status")
CHILDREN = union_all(
    select(literal("selection").label("kind"), _s.id, _s.check_id, _s.item_guid, _s.display_name,
           _m.name.label("menu_name"), _s.quantity, _s.voided, *(null().label(name) for name in _PAYMENT_FIELDS))
    .select_from(CheckSelection.__table__)
    .join(OrderCheck.__table__, _c.id == _s.check_id).join(Order.__table__, _o.id == _c.order_id)
    .outerjoin(MenuItem.__table__, and_(_m.location_id == _o.location_id, _m.guid == _s.item_guid))
    .where(_s.check_id.in_(expanding("ids"))),
    select(literal("payment"), _p.id, _p.check_id, *(null().label(name) for name in _SELECTION_FIELDS),
           _p.card_type, _p.tip_cents, _p.refund_cents, _p.tip_refund_cents, _p.payment_status)
    .where(_p.check_id.in_(expanding("ids"))),
).order_by("kind", "id")

GUEST_CHECKS = select(GuestCheck.__table__).where(_gc.org_id == bindparam("org"), _gc.order_id.in_(expanding("ids")))


@dataclass(frozen=True)
class Screening:
    erased: bool  # the organization erased guests: scrub the orders' customers first
    suppressed: bool  # it has a suppression list: apply it to the guests the orders touch
    time_zone: str | None = None  # the organization's (portal.localtime)


def orders(session: Session, org_id: int, ids: list[int]) -> tuple[Screening, list[SimpleNamespace]]:
    """The screenings the organization needs, and its orders among ``ids``, each with ``checks`` (each with
    ``selections`` and ``payments``), the behavior of its dining option and the names of its server (None when the
    config does not know them), its location's ``location_slot``, and ``known``: it has ``guest_checks`` rows.
    Selections carry ``menu_name``, the name of their item in the menus."""
    conn = session.connection()
    found: dict[int, SimpleNamespace] = {}
    with_customer = {}
    rows = conn.execute(ORDERS, {"org": org_id, "ids": ids}).all()
    screening = Screening(erased=bool(rows[0].erased), suppressed=bool(rows[0].suppressed),
                          time_zone=rows[0].time_zone)
    start, width = len(_lists.c), len(_lists.c) + len(ORDER_NAMES)
    for row in rows:
        if row.id is None:
            continue  # none of the orders exists
        order = found.get(row.id)
        if order is None:
            order = found[row.id] = SimpleNamespace(**dict(zip(ORDER_NAMES, row[start:width])), checks=[])
        if row.check_id is None:
            continue  # an order without checks
        check = SimpleNamespace(**dict(zip(CHECK_NAMES, row[width:])), selections=[], payments=[])
        order.checks.append(check)
        if check.customer_email or check.customer_phone or check.customer_guid:
            with_customer[check.id] = check
    if with_customer:
        for row in conn.execute(CHILDREN, {"ids": list(with_customer)}):
            check = with_customer[row.check_id]
            (check.selections if row.kind == "selection" else check.payments).append(row)
    return screening, list(found.values())


def guest_checks(session: Session, org_id: int, order_ids: list[int]) -> dict[tuple[int, str], object]:
    """The ``guest_checks`` rows these orders have now, keyed by (order id, check GUID)."""
    if not order_ids:
        return {}
    rows = session.connection().execute(GUEST_CHECKS, {"org": org_id, "ids": order_ids})
    return {(row.order_id, row.check_guid): row for row in rows}
