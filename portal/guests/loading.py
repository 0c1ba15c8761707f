"""Reading what guest resolution needs from the order and config tables, with prebuilt Core statements.

This is the hot path of ``apply_orders`` (a sync page, or one order from a webhook): statements are built once
(expanding IN parameters) and run on the session's connection, and rows become light namespaces instead of ORM
objects. Selections and payments are read only for checks that carry a customer.
"""
from collections import defaultdict
from types import SimpleNamespace

from sqlalchemy import String, bindparam, case, cast, literal, null, select, union_all

from portal.extensions import db
from portal.models import CheckPayment, CheckSelection, DiningOption, Employee, MenuItem, Order, OrderCheck


def _in(name: str):
    return bindparam(name, expanding=True)


_o, _c, _s, _p = Order.__table__.c, OrderCheck.__table__.c, CheckSelection.__table__.c, CheckPayment.__table__.c
ORDERS = select(_o.id, _o.org_id, _o.location_id, _o.opened_at, _o.voided, _o.deleted, _o.dining_option_guid,
                _o.server_guid, _o.delivery_info, _o.curbside_info).where(_o.org_id == bindparam("org"),
                                                                          _o.id.in_(_in("ids")))
CHECKS = select(_c.order_id, _c.id, _c.guid, _c.amount_cents, _c.voided, _c.deleted, _c.customer_guid,
                _c.customer_first_name, _c.customer_last_name, _c.customer_email, _c.customer_phone,
                _c.customer_phone_country_code).where(_c.order_id.in_(_in("ids"))).order_by(_c.id)
SELECTIONS = select(_s.check_id, _s.item_guid, _s.display_name, _s.quantity, _s.voided).where(
    _s.check_id.in_(_in("ids"))).order_by(_s.id)
PAYMENTS = select(_p.check_id, _p.card_type, _p.tip_cents, _p.refund_cents, _p.tip_refund_cents,
                  _p.payment_status).where(_p.check_id.in_(_in("ids"))).order_by(_p.id)


def _config(model, kind: str, names: tuple[str, ...], flag=None):
    t = model.__table__.c
    texts = [t[name] for name in names] + [null()] * (3 - len(names))
    return select(literal(kind).label("kind"), t.location_id, t.guid, *(cast(c, String) for c in texts),
                  (flag if flag is not None else literal(0)).label("flag")).where(
        t.location_id.in_(_in("locations")), t.guid.in_(_in(kind)))


# Dining options, employees and menu items the orders point at, in one round trip (kind, location, guid, texts).
CONFIG = union_all(
    _config(DiningOption, "dining", ("behavior",), case((DiningOption.__table__.c.curbside, 1), else_=0)),
    _config(Employee, "servers", ("first_name", "chosen_name", "last_name")),
    _config(MenuItem, "items", ("name",)),
)


def orders(org_id: int, ids: list[int]) -> list[SimpleNamespace]:
    """The organization's orders among ``ids``, each with ``checks`` (each with ``selections`` and ``payments``)."""
    conn = db.session.connection()
    found = [SimpleNamespace(**row._mapping, checks=[]) for row in conn.execute(ORDERS, {"org": org_id, "ids": ids})]
    if not found:
        return []
    by_id = {o.id: o for o in found}
    with_customer = {}
    for row in conn.execute(CHECKS, {"ids": list(by_id)}):
        check = SimpleNamespace(**row._mapping, selections=[], payments=[])
        by_id[row.order_id].checks.append(check)
        if row.customer_email or row.customer_phone or row.customer_guid:
            with_customer[row.id] = check
    if with_customer:
        for row in conn.execute(SELECTIONS, {"ids": list(with_customer)}):
            with_customer[row.check_id].selections.append(row)
        for row in conn.execute(PAYMENTS, {"ids": list(with_customer)}):
            with_customer[row.check_id].payments.append(row)
    return found


def config(locations: set[int], dining: set[str], servers: set[str], items: set[str]) -> dict[str, dict]:
    """kind ("dining", "servers", "items") -> {(location id, guid): (text1, text2, text3, flag)}."""
    found = {"dining": {}, "servers": {}, "items": {}}
    if not (dining or servers or items):
        return found
    params = {"locations": sorted(locations), "dining": sorted(dining), "servers": sorted(servers),
              "items": sorted(items)}
    for row in db.session.connection().execute(CONFIG, params):
        found[row[0]][(row[1], row[2])] = tuple(row[3:])
    return found


def group_by(rows, key: str) -> dict:
    grouped = defaultdict(list)
    for row in rows:
        grouped[getattr(row, key)].append(row)
    return grouped
