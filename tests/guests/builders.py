"""Hand-built Toast orders for guest tests, fed through the real path: decoder -> sync store -> apply_orders."""
import itertools
import json
import uuid
from datetime import datetime, timedelta, timezone

from portal.sync.store import store_orders
from portal.toast.decoding import decode_order

DINING = {  # behavior, curbside -> dining option GUID (created by the ``world`` fixture)
    "delivery": "d0000000-0000-4000-8000-000000000001",
    "takeout": "d0000000-0000-4000-8000-000000000002",
    "curbside": "d0000000-0000-4000-8000-000000000003",
    "dine_in": "d0000000-0000-4000-8000-000000000004",
}
BASE = datetime(2026, 3, 2, 18, 0, tzinfo=timezone.utc)
_modified = itertools.count(1)


def ts(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def guid(prefix: str = "") -> str:
    return str(uuid.uuid4()) if not prefix else f"{prefix}-{uuid.uuid4().hex[:12]}"


def customer(email=None, phone=None, country=None, guid=None, first=None, last=None) -> dict:
    return {"guid": guid, "entityType": "Customer", "email": email, "phone": phone, "phoneCountryCode": country,
            "firstName": first, "lastName": last}


def selection(name="Burger", quantity=1, price=10.0, item=None, voided=False, modifiers=()) -> dict:
    return {"guid": guid(), "displayName": name, "quantity": quantity, "price": price, "voided": voided,
            "item": {"guid": item, "entityType": "MenuItem"} if item else None, "modifiers": list(modifiers)}


def payment(amount=10.0, tip=0.0, card="VISA", last4="1111", refund=None, tip_refund=None, status="CAPTURED",
            type_="CREDIT") -> dict:
    body = {"guid": guid(), "type": type_, "amount": amount, "tipAmount": tip, "cardType": card,
            "last4Digits": last4, "paymentStatus": status, "refundStatus": "NONE"}
    if refund is not None or tip_refund is not None:
        body["refund"] = {"refundAmount": refund or 0, "tipRefundAmount": tip_refund or 0}
        body["refundStatus"] = "PARTIAL"
    return body


def check(amount=10.0, cust=None, selections=None, payments=None, voided=False, deleted=False, check_guid=None) -> dict:
    return {"guid": check_guid or guid(), "entityType": "Check", "amount": amount, "totalAmount": amount,
            "taxAmount": 0, "customer": cust, "voided": voided, "deleted": deleted,
            "selections": selections if selections is not None else [selection(price=amount)],
            "payments": payments if payments is not None else [payment(amount)]}


def order(*checks, opened=None, channel="takeout", server=None, voided=False, deleted=False, order_guid=None,
          delivery=None, curbside=None) -> dict:
    opened = opened or BASE
    return {
        "guid": order_guid or guid(), "entityType": "Order", "openedDate": ts(opened), "createdDate": ts(opened),
        "modifiedDate": ts(opened), "voided": voided, "deleted": deleted,
        "diningOption": {"guid": DINING[channel], "entityType": "DiningOption"} if channel else None,
        "server": {"guid": server, "entityType": "RestaurantUser"} if server else None,
        "deliveryInfo": delivery, "curbsidePickupInfo": curbside, "checks": list(checks),
    }


def simple(email=None, phone=None, amount=10.0, opened=None, cust_guid=None, country=None, first=None, last=None,
           **kwargs) -> dict:
    """One order with one check of one customer."""
    cust = customer(email=email, phone=phone, country=country, guid=cust_guid, first=first, last=last)
    return order(check(amount, cust), opened=opened, **kwargs)


def ingest(location, *orders: dict) -> list[int]:
    """Store orders (each copy newer than any before) through the sync store, which applies them to guests;
    returns the order ids."""
    payloads = []
    for data in orders:
        data = json.loads(json.dumps(data))
        data["modifiedDate"] = ts(BASE + timedelta(days=3650, seconds=next(_modified)))
        payloads.append(decode_order(json.dumps(data).encode()))
    return store_orders(location, payloads).written  # the sync store calls apply_orders in its transaction
