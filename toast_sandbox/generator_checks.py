"""Checks, selections and payments in the Toast orders-v2 shape, with amounts that add up.

Money is kept in cents while building. The amount rules (SPEC:orders descriptions):

* ``Selection.preDiscountPrice`` = (``receiptLinePrice`` + modifier prices) x quantity; ``price`` is net of the
  check-level discounts allocated to it, so ``Check.amount`` = sum of ``preDiscountPrice`` + non-gratuity service
  charges - ``discountAmount``s = sum of ``price`` + non-gratuity service charges.
* ``Check.amount`` excludes tax and gratuity; ``totalAmount`` = ``amount`` + ``taxAmount`` + gratuity charges and is
  not changed by refunds. Payments' ``amount`` add up to ``totalAmount``; tips are only in ``Payment.tipAmount``.
* Voided selections count for nothing; a voided check has zero amounts.
"""
import random
from dataclasses import dataclass, field

from toast_sandbox.generator_menus import CatalogItem, GroupChoice, OptionChoice, Ref
from toast_sandbox.generator_venues import Entity, Restaurant
from toast_sandbox.randomness import EPOCH_TS, dollars, new_guid, pct_of, ts


def ref(guid: str, entity_type: str) -> dict:
    """An ``ExternalReference``."""
    return {"guid": guid, "entityType": entity_type, "externalId": None}


def config_ref(target: Ref, entity_type: str) -> dict:
    """A ``ConfigReference`` (menu entities also carry the group-wide ``multiLocationId``)."""
    return {"guid": target.guid, "entityType": entity_type, "multiLocationId": target.multi_location_id,
            "externalId": None}


@dataclass(slots=True)
class Line:
    """One item a guest orders: the item, how many, its modifiers and seat."""
    item: CatalogItem
    quantity: int
    modifiers: list
    seat: int = -1


@dataclass(slots=True)
class CheckPlan:
    """Everything needed to render a check; ``charges`` are (service charge, cents)."""
    guid: str
    display_number: int
    lines: list[Line]
    customer: dict | None = None
    loyalty: dict | None = None
    discount: Entity | None = None
    charges: list = field(default_factory=list)
    tab_name: str | None = None


def build_check(rng: random.Random, restaurant: Restaurant, plan: CheckPlan, context: dict) -> dict:
    """A check as of its opening (no payments). ``context`` holds opened_ms, dining_option, device, server."""
    opened = context["opened_ms"]
    context = {**context, "selection_stamp": ts(opened + 50)}
    selections = [_selection(rng, restaurant, line, context, None) for line in plan.lines]
    gross = sum(line_cents for _, line_cents in selections)
    discounts = _discounts(rng, restaurant, plan, gross, context)
    allocation = _allocate(sum(cents for _, cents in discounts), [cents for _, cents in selections])
    rate = restaurant.tax_rate.amount
    documents = []
    for (selection, line_cents), share in zip(selections, allocation):
        net = line_cents - share
        selection["price"] = dollars(net)
        tax = pct_of(net, rate)
        selection["tax"] = dollars(tax)
        selection["appliedTaxes"] = [_applied_tax(rng, restaurant, tax)]
        documents.append(selection)
    check = {
        "guid": plan.guid, "entityType": "Check", "externalId": None, "displayNumber": str(plan.display_number),
        "payments": [], "appliedDiscounts": [document for document, _ in discounts],
        "lastModifiedDevice": {"id": context["device"]}, "voidDate": None, "paidDate": None,
        "appliedLoyaltyInfo": plan.loyalty, "voided": False, "paymentStatus": "OPEN", "amount": 0.0,
        "tabName": plan.tab_name, "taxExempt": False, "openedDate": ts(opened), "totalAmount": 0.0,
        "selections": documents, "voidBusinessDate": None, "createdDate": ts(opened + 40), "deleted": False,
        "createdDevice": {"id": context["device"]}, "closedDate": None, "deletedDate": EPOCH_TS,
        "modifiedDate": ts(opened + 60), "taxAmount": 0.0,
        "appliedServiceCharges": [_service_charge(rng, charge, cents) for charge, cents in plan.charges],
        "customer": plan.customer, "openedBy": context["server"], "duration": None,
    }
    recompute_check(check)
    return check


def recompute_check(check: dict) -> None:
    """Re-derive ``amount``, ``taxAmount`` and ``totalAmount`` from the live selections and service charges."""
    if check["voided"]:
        check["amount"] = check["taxAmount"] = check["totalAmount"] = 0.0
        return
    live = [selection for selection in check["selections"] if not selection["voided"]]
    charges = check["appliedServiceCharges"]
    price = sum(round(selection["price"] * 100) for selection in live)
    plain = sum(round(charge["chargeAmount"] * 100) for charge in charges if not charge["gratuity"])
    gratuity = sum(round(charge["chargeAmount"] * 100) for charge in charges if charge["gratuity"])
    tax = sum(round(selection["tax"] * 100) for selection in live)
    check["amount"] = dollars(price + plain)
    check["taxAmount"] = dollars(tax)
    check["totalAmount"] = dollars(price + plain + tax + gratuity)


def _selection(rng, restaurant: Restaurant, line: Line, context: dict, group: GroupChoice | None):
    """(selection document without price/tax, gross cents) for a menu item; modifiers are nested selections."""
    opened = context["opened_ms"]
    modifiers = [_modifier(rng, restaurant, choice, context) for choice in line.modifiers]
    unit = line.item.cents
    gross = (unit + sum(cents for _, cents in modifiers)) * line.quantity
    document = _selection_document(rng, line.item.ref, line.item.group, line.item.sales_category, context)
    document.update({"quantity": float(line.quantity), "receiptLinePrice": dollars(unit),
                     "preDiscountPrice": dollars(gross), "seatNumber": line.seat,
                     "modifiers": [modifier for modifier, _ in modifiers]})
    return document, gross


def _modifier(rng, restaurant: Restaurant, choice: tuple[GroupChoice, OptionChoice, list], context: dict):
    group, option, nested = choice
    children = [_modifier(rng, restaurant, child, context) for child in nested]
    cents = option.cents + sum(cents for _, cents in children)
    document = _selection_document(rng, option.ref, None, None, context)
    document.update({
        "optionGroup": config_ref(group.ref, "MenuOptionGroup"), "quantity": 1.0,
        "receiptLinePrice": dollars(option.cents), "preDiscountPrice": dollars(cents), "price": dollars(cents),
        "tax": 0.0, "modifiers": [child for child, _ in children],
    })
    return document, cents


def _selection_document(rng, item: Ref, group: Ref | None, category: Ref | None, context: dict) -> dict:
    stamp = context["selection_stamp"]
    return {
        "guid": new_guid(rng), "entityType": "MenuItemSelection", "externalId": None,
        "itemGroup": config_ref(group, "MenuGroup") if group else None, "deferred": False,
        "item": config_ref(item, "MenuItem"), "quantity": 1.0, "receiptLinePrice": 0.0, "preDiscountPrice": 0.0,
        "voidReason": None, "optionGroup": None, "displayName": item.name, "appliedDiscounts": [], "tax": 0.0,
        "modifiers": [], "seatNumber": -1, "voidDate": None, "fulfillmentStatus": "SENT",
        "optionGroupPricingMode": None,
        "salesCategory": {"guid": category.guid, "entityType": "SalesCategory", "externalId": None} if category
        else None,
        "selectionType": "NONE", "voidBusinessDate": None, "createdDate": stamp, "preModifier": None, "price": 0.0,
        "modifiedDate": stamp, "voided": False, "diningOption": context["dining_option"], "appliedTaxes": [],
        "refundDetails": None, "unitOfMeasure": "NONE", "plu": "",
    }


def _applied_tax(rng, restaurant: Restaurant, cents: int) -> dict:
    rate = restaurant.tax_rate
    return {"guid": new_guid(rng), "entityType": "AppliedTaxRate", "taxRate": {"guid": rate.guid,
            "entityType": "TaxRate"}, "name": rate.name, "rate": round(rate.amount / 100, 5),
            "taxAmount": dollars(cents), "type": "PERCENT", "facilitatorCollectAndRemitTax": False}


def _discounts(rng, restaurant: Restaurant, plan: CheckPlan, gross: int, context: dict) -> list[tuple[dict, int]]:
    if plan.discount is None or gross <= 0:
        return []
    discount = plan.discount
    if discount.kind == "PERCENT":
        cents = pct_of(gross, discount.amount)
    else:
        cents = min(gross, round(discount.amount * 100))
    loyalty = plan.loyalty is not None and discount.kind == "FIXED"
    document = {
        "guid": new_guid(rng), "entityType": "CheckAppliedDiscount", "externalId": None, "name": discount.name,
        "discountAmount": dollars(cents), "nonTaxDiscountAmount": dollars(cents),
        "discount": {"guid": discount.guid, "entityType": "Discount"}, "triggers": [],
        "approver": context["server"], "processingState": "APPLIED", "appliedDiscountReason": None,
        "loyaltyDetails": {"vendor": "TOAST", "referenceId": plan.loyalty["guid"]} if loyalty else None,
        "comboItems": [], "appliedPromoCode": None, "discountType": discount.kind,
        "discountPercent": discount.amount if discount.kind == "PERCENT" else None,
    }
    return [(document, cents)]


def _allocate(total: int, weights: list[int]) -> list[int]:
    """Split ``total`` cents over lines in proportion to ``weights`` (largest remainder, so it adds up exactly)."""
    whole = sum(weights)
    if not total or not whole:
        return [0] * len(weights)
    raw = [total * weight / whole for weight in weights]
    shares = [int(value) for value in raw]
    order = sorted(range(len(raw)), key=lambda index: raw[index] - shares[index], reverse=True)
    for index in order[: total - sum(shares)]:
        shares[index] += 1
    return shares


def _service_charge(rng, charge: Entity, cents: int) -> dict:
    return {
        "guid": new_guid(rng), "entityType": "AppliedServiceCharge", "externalId": None,
        "chargeAmount": dollars(cents), "serviceCharge": ref(charge.guid, "ServiceCharge"), "chargeType": charge.kind,
        "name": charge.name, "delivery": charge.name == "Delivery Fee", "takeout": False,
        "dineIn": charge.flag, "gratuity": charge.flag, "taxable": False, "appliedTaxes": [],
        "serviceChargeCalculation": "PRE_DISCOUNT", "refundDetails": None,
        "serviceChargeCategory": "SERVICE_CHARGE", "paymentGuid": None,
    }


def gross_cents(lines: list[Line]) -> int:
    """Pre-discount value of some lines (for percentage service charges such as a gratuity)."""
    def option_cents(choice) -> int:
        _, option, nested = choice
        return option.cents + sum(option_cents(child) for child in nested)
    return sum((line.item.cents + sum(option_cents(choice) for choice in line.modifiers)) * line.quantity
               for line in lines)


CARD_TYPES = ("VISA", "MASTERCARD", "AMEX", "DISCOVER")
CARD_WEIGHTS = (0.5, 0.3, 0.15, 0.05)


def payment_document(rng: random.Random, kind: str, cents: int, tip_cents: int, context: dict) -> dict:
    """A payment of ``kind`` (CREDIT, CASH or OTHER) for ``cents``; paid dates are set when the payment happens.

    ``context`` holds order_guid, check_guid, device, server, entry_mode and (for OTHER) other_payment.
    """
    credit = kind == "CREDIT"
    tendered = _cash_tendered(cents) if kind == "CASH" else cents
    return {
        "guid": new_guid(rng), "entityType": "OrderPayment", "externalId": None,
        "originalProcessingFee": dollars(pct_of(cents, 2.6) + 10) if credit else None,
        "amount": dollars(cents), "tipAmount": dollars(tip_cents), "amountTendered": dollars(tendered),
        "cashDrawer": None, "cardType": rng.choices(CARD_TYPES, CARD_WEIGHTS)[0] if credit else None,
        "lastModifiedDevice": {"id": context["device"]}, "createdDevice": {"id": context["device"]},
        "refundStatus": "NONE", "houseAccount": None, "type": kind, "voidInfo": None,
        "otherPayment": context.get("other_payment") if kind == "OTHER" else None, "paidDate": None,
        "cardEntryMode": context["entry_mode"] if credit else None,
        "paymentStatus": "AUTHORIZED" if credit else None, "paidBusinessDate": None,
        "last4Digits": f"{rng.randrange(10000):04d}" if credit else None, "refund": None,
        "server": context["server"], "orderGuid": context["order_guid"], "checkGuid": context["check_guid"],
        "cardPaymentId": new_guid(rng) if credit else None,
    }


def _cash_tendered(cents: int) -> int:
    """Guests hand over round notes."""
    for note in (500, 1000, 2000, 5000, 10000):
        if cents <= note:
            return note
    return ((cents // 10000) + 1) * 10000
