"""What a reader is allowed to see of an order: scope stripping for API clients, PII stripping for webhooks.

* Without ``guest.pi:read`` checks have no ``customer`` key and the order has no ``curbsidePickupInfo``;
  without ``delivery_info.address:read`` ``deliveryInfo`` is null (DG:apiOrdersGetScopes).
* Webhook payloads drop ``firstName``, ``lastName`` and ``phone`` from customers and ``address1``, ``address2``,
  ``city``, ``state`` and ``zipCode`` from ``deliveryInfo``, and send ``externalId`` as null
  (DG:devOrdersWebhookRef). E-mail is not on Toast's list, so it stays.
"""
import copy
from collections.abc import Collection

GUEST_PI = "guest.pi:read"
DELIVERY_ADDRESS = "delivery_info.address:read"
WEBHOOK_CUSTOMER_PII = ("firstName", "lastName", "phone")
WEBHOOK_ADDRESS_PII = ("address1", "address2", "city", "state", "zipCode")


def order_for_client(order: dict, scopes: Collection[str]) -> dict:
    """The order as a client with ``scopes`` receives it (shares unchanged parts with ``order``)."""
    pii, address = GUEST_PI in scopes, DELIVERY_ADDRESS in scopes
    if pii and address:
        return order
    visible = dict(order)
    if not pii:
        visible.pop("curbsidePickupInfo", None)
        visible["checks"] = [{key: value for key, value in check.items() if key != "customer"}
                             for check in order["checks"]]
    if not address:
        visible["deliveryInfo"] = None
    return visible


def order_for_webhook(order: dict) -> dict:
    """A deep copy of the order with Toast's webhook PII removed."""
    stripped = copy.deepcopy(order)
    stripped["externalId"] = None
    for check in stripped["checks"]:
        customer = check.get("customer")
        if customer:
            for key in WEBHOOK_CUSTOMER_PII:
                customer.pop(key, None)
    if stripped.get("deliveryInfo"):
        for key in WEBHOOK_ADDRESS_PII:
            stripped["deliveryInfo"].pop(key, None)
    return stripped
