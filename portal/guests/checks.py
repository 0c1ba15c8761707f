"""From stored orders to per-check guest facts: identifiers, whether the check counts, net spend, tips, items.

Definitions (shown in the UI by ``portal.guests.figures.DEFINITIONS``):
- a check counts when it and its order are neither voided nor deleted;
- net = check amount - refunds of its collected payments, never below zero; tips = tips - tip refunds;
- payments that were never collected (voided, declined, cancelled, failed) add no tip and no refund.
"""
from collections.abc import Iterable

from portal.contacts import normalize_email, normalize_phone
from portal.models.toast_config import dining_channel

NOT_COLLECTED = frozenset({"VOIDED", "VOIDED_AT_RISK", "PROCESSING_VOID", "DENIED", "CANCELLED", "ERROR", "ERROR_NETWORK"})
ADDRESS_FIELDS = ("address1", "address2", "city", "state", "zip_code")
UNKNOWN_ITEM = "Unknown item"


def _employee_name(first: str | None, chosen: str | None, last: str | None) -> str | None:
    return f"{chosen or first or ''} {last or ''}".strip() or None


def identifiers(check) -> tuple[str | None, str | None, str | None]:
    """(normalized email, E.164 phone, Toast customer GUID) of a check's customer."""
    return (
        normalize_email(check.customer_email),
        normalize_phone(check.customer_phone, check.customer_phone_country_code),
        (check.customer_guid or "").strip() or None,
    )


def check_facts(orders: Iterable) -> dict[tuple[int, str], dict]:
    """Column values of ``GuestCheck`` for every check with an identifier, keyed by (order id, check GUID).
    ``orders`` are ``portal.guests.loading.orders`` namespaces."""
    facts = {}
    for order in orders:
        checks = [(check, identifiers(check)) for check in order.checks if _has_customer(check)]
        checks = [(check, ids) for check, ids in checks if any(ids)]
        if not checks:
            continue
        order_part = _order_part(order)
        for check, (email, phone, guid) in checks:
            facts[(order.id, check.guid)] = {
                **order_part,
                "check_guid": check.guid,
                "email": email,
                "phone": phone,
                "customer_guid": guid,
                "first_name": _clean(check.customer_first_name),
                "last_name": _clean(check.customer_last_name),
                "counted": order_part["counted"] and not (check.voided or check.deleted),
                **_money(check),
                "items": _items(check) or None,
                "card_types": sorted({p.card_type for p in check.payments if p.card_type and _collected(p)}) or None,
            }
    return facts


def _has_customer(check) -> bool:
    return bool(check.customer_email or check.customer_phone or check.customer_guid)


def _order_part(order) -> dict:
    return {
        "org_id": order.org_id,
        "order_id": order.id,
        "location_id": order.location_id,
        "opened_at": order.opened_at,
        "channel": dining_channel(order.dining_behavior, order.dining_curbside),
        "counted": not (order.voided or order.deleted),
        "server_guid": order.server_guid,
        "server_name": _employee_name(order.server_first_name, order.server_chosen_name, order.server_last_name),
        "address": _address(order.delivery_info),
        "vehicle": _vehicle(order.curbside_info),
    }


def _collected(payment) -> bool:
    return (payment.payment_status or "").upper() not in NOT_COLLECTED


def _money(check) -> dict:
    collected = [p for p in check.payments if _collected(p)]
    refunds = sum(p.refund_cents for p in collected)
    tips = sum(p.tip_cents for p in collected) - sum(p.tip_refund_cents for p in collected)
    return {"net_cents": max(check.amount_cents - refunds, 0), "tip_cents": tips}


def _items(check) -> list[list]:
    items = []
    for selection in check.selections:
        if selection.voided:
            continue
        name = selection.menu_name or _clean(selection.display_name) or UNKNOWN_ITEM
        items.append([name[:255], selection.item_guid, float(selection.quantity or 0)])
    return items


def _address(info: dict | None) -> str | None:
    if not info:
        return None
    parts = [str(info[name]).strip() for name in ADDRESS_FIELDS if info.get(name)]
    return ", ".join(p for p in parts if p)[:512] or None


def _vehicle(info: dict | None) -> str | None:
    if not info:
        return None
    parts = [str(info[name]).strip() for name in ("transport_color", "transport_description") if info.get(name)]
    return " ".join(p for p in parts if p)[:255] or None


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value[:255] or None
