"""From stored orders to per-check guest facts: identifiers, whether the check counts, net spend, tips, items.

Definitions (shown in the UI by ``portal.guests.figures.DEFINITIONS``):
- a check counts when it and its order are neither voided nor deleted;
- net = check amount - refunds of its collected payments, never below zero; tips = tips - tip refunds;
- payments that were never collected (voided, declined, cancelled, failed) add no tip and no refund.
"""
from collections.abc import Iterable

from portal.guests import loading
from portal.guests.identity import normalize_email, normalize_phone
from portal.models import DiningOption

NOT_COLLECTED = frozenset({"VOIDED", "VOIDED_AT_RISK", "PROCESSING_VOID", "DENIED", "CANCELLED", "ERROR", "ERROR_NETWORK"})
ADDRESS_FIELDS = ("address1", "address2", "city", "state", "zip_code")
UNKNOWN_ITEM = "Unknown item"


class Config:
    """Names and channels of the config entities the orders point at, read in three queries per batch."""

    def __init__(self, orders: Iterable):
        orders = list(orders)
        locations = {o.location_id for o in orders}
        dining = {o.dining_option_guid for o in orders if o.dining_option_guid}
        servers = {o.server_guid for o in orders if o.server_guid}
        items = {s.item_guid for o in orders for c in o.checks for s in c.selections if s.item_guid}
        found = loading.config(locations, dining, servers, items)
        self.channels = {key: DiningOption(behavior=behavior, curbside=bool(flag)).channel
                         for key, (behavior, _, _, flag) in found["dining"].items()}
        self.servers = {key: _employee_name(*names) for key, (*names, _) in found["servers"].items()}
        self.items = {key: name or None for key, (name, _, _, _) in found["items"].items()}


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
    ``orders`` are ``portal.guests.loading.orders`` namespaces (or ORM orders: the same attributes)."""
    found = []
    for order in orders:
        checks = [(check, identifiers(check)) for check in order.checks if _has_customer(check)]
        checks = [(check, ids) for check, ids in checks if any(ids)]
        if checks:
            found.append((order, checks))
    if not found:
        return {}
    config = Config(order for order, _ in found)
    facts = {}
    for order, checks in found:
        order_part = _order_part(order, config)
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
                "items": _items(order.location_id, check, config) or None,
                "card_types": sorted({p.card_type for p in check.payments if p.card_type and _collected(p)}) or None,
            }
    return facts


def _has_customer(check) -> bool:
    return bool(check.customer_email or check.customer_phone or check.customer_guid)


def _order_part(order, config: Config) -> dict:
    server = order.server_guid
    return {
        "org_id": order.org_id,
        "order_id": order.id,
        "location_id": order.location_id,
        "opened_at": order.opened_at,
        "channel": config.channels.get((order.location_id, order.dining_option_guid)),
        "counted": not (order.voided or order.deleted),
        "server_guid": server,
        "server_name": config.servers.get((order.location_id, server)) if server else None,
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


def _items(location_id: int, check, config: Config) -> list[list]:
    items = []
    for selection in check.selections:
        if selection.voided:
            continue
        name = config.items.get((location_id, selection.item_guid)) or _clean(selection.display_name) or UNKNOWN_ITEM
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
