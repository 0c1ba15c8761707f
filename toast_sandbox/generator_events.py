"""What happens to a generated order after it is opened: payment, tips, delivery, closeout, refunds, voids.

The timeline follows how Toast orders evolve (SPEC:orders, DG:apiRestaurantBusinessDate): card payments are
authorized when paid and captured at the nightly closeout; dine-in card checks stay ``PAID`` until the server
adjusts the tip or the closeout closes them; online orders are prepaid with the tip. Refunds arrive up to
``LATE_DAYS`` later, so an order re-enters modified-time windows long after its business day.
"""
from dataclasses import dataclass, field

from toast_sandbox.generator_checks import payment_document, ref
from toast_sandbox.randomness import DAY_MS, HOUR_MS, MINUTE_MS, new_guid, pct_of

LATE_DAYS = 3
# A new order's createdDate and modifiedDate trail its openedDate by a few milliseconds, as in Toast's examples.
OPENED_TO_CREATED_MS = 30
OPENED_TO_MODIFIED_MS = 60
VOID_ORDER_RATE = 0.012
REFUND_RATE = 0.03
TIP_ADJUST_RATE = 0.75


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happens to an order at ``at_ms`` (``order_events.HANDLERS`` names the kinds)."""
    at_ms: int
    name: str
    payload: dict


@dataclass(slots=True)
class PlannedOrder:
    """An order as opened, and what will happen to it."""
    guid: str
    created_ms: int
    order: dict
    events: list[Event] = field(default_factory=list)
    kind: str = ""
    paid_ms: int | None = None

    @property
    def visible_ms(self) -> int:
        """When the order first shows up in the API: its first ``modifiedDate``."""
        return self.created_ms + OPENED_TO_MODIFIED_MS


def plan_order_events(planner, planned: PlannedOrder, context) -> None:
    """Append the events of one order. ``planner`` is the ``DayPlanner`` (rng, closeout, biz())."""
    rng, created = planner.rng, planned.created_ms
    if context.mistake_check:
        at = created + rng.randrange(1, 6) * MINUTE_MS
        planned.events.append(Event(at, "void_check", {"check": context.mistake_check, "biz": planner.biz(at),
                                                       "user": context.server, "reason": _reason(context)}))
    if rng.random() < VOID_ORDER_RATE:
        at = created + rng.randrange(2, 16) * MINUTE_MS
        planned.events.append(Event(at, "void", {"biz": planner.biz(at), "user": context.server,
                                                 "reason": _reason(context)}))
        return
    paid = created + _time_to_pay(rng, context)
    planned.paid_ms = paid
    payments, awaiting_tip = {}, []
    for check in planned.order["checks"]:
        if check["guid"] == context.mistake_check:
            continue
        documents, tip_later = _check_payments(rng, context, check)
        payments[check["guid"]] = documents
        if tip_later is not None:
            awaiting_tip.append(check["guid"])
            _maybe_tip_adjust(planner, planned, check["guid"], documents[0], tip_later, paid)
    planned.events.append(Event(paid, "pay", {"biz": planner.biz(paid), "payments": payments,
                                              "awaiting_tip": awaiting_tip}))
    _delivery_events(planner, planned, context)
    credit = [doc for docs in payments.values() for doc in docs if doc["type"] == "CREDIT"]
    if credit:
        planned.events.append(Event(planner.closeout + rng.randrange(5 * MINUTE_MS), "closeout", {}))
        if rng.random() < REFUND_RATE:
            _refund(planner, planned, credit[0])


def _reason(context) -> dict:
    return ref(context.restaurant.void_reason.guid, "VoidReason")


def _time_to_pay(rng, context) -> int:
    if context.kind == "thirdparty":
        return rng.randrange(2_000, 10_000)
    if context.online:
        return rng.randrange(5_000, 40_000)
    if context.kind == "takeout":
        return rng.randrange(15, 41) * MINUTE_MS
    return rng.randrange(35, 101) * MINUTE_MS


def _check_payments(rng, context, check: dict) -> tuple[list[dict], int | None]:
    """(payments covering the check's total, tip to add at tip adjustment or None)."""
    total, subtotal = round(check["totalAmount"] * 100), round(check["amount"] * 100)
    details = {"device": context.device, "server": context.server, "order_guid": context.guid,
               "check_guid": check["guid"], "entry_mode": None,
               "other_payment": ref(context.restaurant.other_payment.guid, "AlternatePaymentType")}
    if context.kind == "thirdparty":
        return [payment_document(rng, "OTHER", total, 0, details)], None
    if context.online:
        details["entry_mode"] = rng.choice(("ONLINE", "SAVED_CARD", "APPLE_PAY_CNP"))
        tip = pct_of(subtotal, rng.choice((0, 10, 15, 18, 20)))
        return [payment_document(rng, "CREDIT", total, tip, details)], None
    if rng.random() < (0.7 if context.kind == "takeout" else 0.8):
        details["entry_mode"] = rng.choice(("EMV_CHIP_SIGN", "CONTACTLESS", "SWIPED", "KEYED"))
        if context.kind == "takeout":
            return [payment_document(rng, "CREDIT", total, pct_of(subtotal, rng.choice((0, 10))), details)], None
        return [payment_document(rng, "CREDIT", total, 0, details)], pct_of(subtotal, rng.uniform(15, 25))
    return [payment_document(rng, "CASH", total, 0, details)], None


def _maybe_tip_adjust(planner, planned: PlannedOrder, check_guid: str, payment: dict, tip: int, paid: int) -> None:
    rng = planner.rng
    at = paid + rng.randrange(10, 151) * MINUTE_MS
    # Unadjusted slips are closed by the nightly closeout with no tip.
    if rng.random() < TIP_ADJUST_RATE and at < planner.closeout - MINUTE_MS:
        planned.events.append(Event(at, "tip", {"check": check_guid, "payment": payment["guid"], "tip": tip}))


def _delivery_events(planner, planned: PlannedOrder, context) -> None:
    if context.kind not in ("delivery", "thirdparty"):
        return
    rng = planner.rng
    driver = ref(context.restaurant.driver().guid, "RestaurantUser") if context.kind == "delivery" else None
    dispatched = planned.created_ms + rng.randrange(20, 36) * MINUTE_MS
    delivered = dispatched + rng.randrange(10, 31) * MINUTE_MS
    planned.events.append(Event(dispatched, "dispatch", {"employee": driver}))
    planned.events.append(Event(delivered, "deliver", {}))


def _refund(planner, planned: PlannedOrder, payment: dict) -> None:
    rng = planner.rng
    settled = max(event.at_ms for event in planned.events if event.name in ("pay", "tip", "deliver"))
    latest = planner.closeout + LATE_DAYS * DAY_MS - HOUR_MS
    at = min(latest, settled + int(rng.uniform(0.5, 72) * HOUR_MS))
    amount_cents = round(payment["amount"] * 100)
    full = rng.random() < 0.4 or amount_cents < 200
    check = next(check for check in planned.order["checks"] if check["guid"] == payment["checkGuid"])
    selection = check["selections"][0]
    partial = min(round((selection["price"] + selection["tax"]) * 100), amount_cents - 100)
    planned.events.append(Event(at, "refund", {
        "payment": payment["guid"], "amount": None if full else partial, "transaction": new_guid(rng),
        "biz": planner.biz(at)}))
