"""Writing Toast orders: an idempotent upsert keyed by order GUID where the newest ``modifiedDate`` wins.

An older copy never overwrites a newer one, and an equal copy is a no-op, so replays (webhook retries,
overlapping poll windows, resumed backfills) change nothing.
"""
from dataclasses import dataclass, field

from sqlalchemy import delete, insert, select, update

from portal.dbutil import lock_organization
from portal.extensions import db
from portal.guests.service import apply_orders
from portal.models import CheckPayment, CheckSelection, Location, Order, OrderCheck
from portal.toast import models as toast
from portal.toast.models import to_cents

DELIVERY_FIELDS = ("address1", "address2", "city", "state", "administrative_area", "zip_code", "country", "notes")
CURBSIDE_FIELDS = ("transport_color", "transport_description", "notes")


@dataclass
class StoreResult:
    written: list[int] = field(default_factory=list)  # ids of orders inserted or replaced
    stale: int = 0  # copies older than (or equal to) what is stored

    def __iadd__(self, other: "StoreResult") -> "StoreResult":
        self.written += other.written
        self.stale += other.stale
        return self


def store_orders(location: Location, orders: list[toast.Order]) -> StoreResult:
    """Upsert a page of orders of one location; the caller commits. Orders without a GUID are skipped.

    Written with a few bulk statements per page (not object by object): a replaced order keeps its row id,
    its checks are deleted (selections and payments follow by ON DELETE CASCADE) and inserted again.
    """
    lock_organization(db.session, location.org_id)  # pages of its other locations (and webhooks) wait
    result = StoreResult()
    by_guid = {order.guid: order for order in orders if order.guid}
    stored = {
        guid: (order_id, modified_at)
        for order_id, guid, modified_at in db.session.execute(
            select(Order.id, Order.guid, Order.modified_at)
            .where(Order.location_id == location.id, Order.guid.in_(list(by_guid)))
        )
    }
    fresh, replaced = [], []
    for guid, payload in by_guid.items():
        if guid in stored and not _is_newer(payload, stored[guid][1]):
            result.stale += 1
        elif guid in stored:
            replaced.append((stored[guid][0], payload))
        else:
            fresh.append(payload)
    if replaced:
        ids = [order_id for order_id, _ in replaced]
        db.session.execute(delete(OrderCheck).where(OrderCheck.order_id.in_(ids)))
        db.session.execute(update(Order), [{"id": order_id, **_order_row(p)} for order_id, p in replaced])
    new_ids = _insert_returning(Order, [
        {"org_id": location.org_id, "location_id": location.id, "guid": p.guid, **_order_row(p)} for p in fresh
    ])
    written = [(order_id, p) for order_id, p in replaced] + list(zip(new_ids, fresh))
    _insert_checks(location.org_id, written)
    result.written = [order_id for order_id, _ in written]
    if result.written:
        apply_orders(location.org_id, result.written)  # guest profiles follow in the same transaction
    return result


def _is_newer(payload: toast.Order, stored_modified_at) -> bool:
    if stored_modified_at is None:
        return True
    return payload.modified_date is not None and payload.modified_date > stored_modified_at


def _insert_returning(model, rows: list[dict]) -> list[int]:
    """Insert rows and return their ids in the same order (insertmanyvalues on SQLite and PostgreSQL)."""
    if not rows:
        return []
    statement = insert(model).returning(model.id, sort_by_parameter_order=True)
    return list(db.session.scalars(statement, rows))


def _guid(reference) -> str | None:
    return reference.guid if reference is not None else None


def _order_row(payload: toast.Order) -> dict:
    return {
        "opened_at": payload.opened_date or payload.created_date,
        "modified_at": payload.modified_date,
        "closed_at": payload.closed_date,
        "business_date": payload.business_date,
        "dining_option_guid": _guid(payload.dining_option),
        "server_guid": _guid(payload.server),
        "revenue_center_guid": _guid(payload.revenue_center),
        "source": payload.source,
        "display_number": payload.display_number,
        "number_of_guests": payload.number_of_guests,
        "voided": bool(payload.voided),
        "deleted": bool(payload.deleted),
        "delivery_info": _pick(payload.delivery_info, DELIVERY_FIELDS),
        "curbside_info": _pick(payload.curbside_pickup_info, CURBSIDE_FIELDS),
    }


def _pick(struct, names) -> dict | None:
    if struct is None:
        return None
    picked = {name: getattr(struct, name) for name in names if getattr(struct, name, None)}
    return picked or None


def _insert_checks(org_id: int, written: list[tuple[int, toast.Order]]) -> None:
    checks = [(order_id, check) for order_id, order in written for check in order.checks if check.guid]
    check_ids = _insert_returning(OrderCheck, [_check_row(org_id, order_id, check) for order_id, check in checks])
    selections, payments = [], []
    for check_id, (_, check) in zip(check_ids, checks):
        selections += [_selection_row(org_id, check_id, s) for s in check.selections]
        payments += [_payment_row(org_id, check_id, p) for p in check.payments]
    if selections:
        db.session.execute(insert(CheckSelection), selections)
    if payments:
        db.session.execute(insert(CheckPayment), payments)


def _check_row(org_id: int, order_id: int, payload: toast.Check) -> dict:
    customer = payload.customer
    return {
        "org_id": org_id,
        "order_id": order_id,
        "guid": payload.guid,
        "display_number": payload.display_number,
        "amount_cents": to_cents(payload.amount) or 0,
        "tax_cents": to_cents(payload.tax_amount) or 0,
        "total_cents": to_cents(payload.total_amount) or 0,
        "discount_cents": sum(to_cents(d.discount_amount) or 0 for d in payload.applied_discounts),
        "service_charge_cents": sum(to_cents(c.charge_amount) or 0 for c in payload.applied_service_charges),
        "voided": bool(payload.voided),
        "deleted": bool(payload.deleted),
        "payment_status": payload.payment_status,
        "opened_at": payload.opened_date,
        "closed_at": payload.closed_date,
        "customer_guid": customer.guid if customer else None,
        "customer_first_name": customer.first_name if customer else None,
        "customer_last_name": customer.last_name if customer else None,
        "customer_email": customer.email if customer else None,
        "customer_phone": customer.phone if customer else None,
        "customer_phone_country_code": customer.phone_country_code if customer else None,
    }


def _selection_row(org_id: int, check_id: int, payload: toast.Selection) -> dict:
    return {
        "org_id": org_id,
        "check_id": check_id,
        "guid": payload.guid,
        "item_guid": _guid(payload.item),
        "display_name": payload.display_name,
        "quantity": payload.quantity if payload.quantity is not None else 1.0,
        "price_cents": to_cents(payload.price) or 0,
        "voided": bool(payload.voided),
        "modifiers": [_modifier(m) for m in payload.modifiers] or None,
    }


def _modifier(payload: toast.Selection, depth: int = 0) -> dict:
    # Toast nests modifiers arbitrarily deep; past a sane depth the rest is dropped rather than recursing forever.
    nested = [_modifier(m, depth + 1) for m in payload.modifiers] if depth < 8 else []
    entry = {"name": payload.display_name, "quantity": payload.quantity, "price_cents": to_cents(payload.price) or 0}
    if nested:
        entry["modifiers"] = nested
    return entry


def _payment_row(org_id: int, check_id: int, payload: toast.Payment) -> dict:
    refund = payload.refund
    return {
        "org_id": org_id,
        "check_id": check_id,
        "guid": payload.guid,
        "type": payload.type,
        "card_type": payload.card_type,
        "last4": payload.last4_digits or None,
        "amount_cents": to_cents(payload.amount) or 0,
        "tip_cents": to_cents(payload.tip_amount) or 0,
        "refund_cents": (to_cents(refund.refund_amount) or 0) if refund else 0,
        "tip_refund_cents": (to_cents(refund.tip_refund_amount) or 0) if refund else 0,
        "refund_status": payload.refund_status,
        "payment_status": payload.payment_status,
        "paid_at": payload.paid_date,
    }
