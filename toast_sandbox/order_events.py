"""Changes to an order document, shared by the generated timelines and the sandbox's mutation API.

Each handler changes the order in place and says whether anything changed; ``apply_event`` then stamps
``modifiedDate`` (SPEC:orders: "the most recent date that the order, or a check or menu item selection in the
order, was modified"). Handlers tolerate orders a test has already changed (e.g. closeout on a voided order is a
no-op), because generated events keep arriving after user mutations.
"""
import copy

from portal.toast.timefmt import parse_toast_ts
from toast_sandbox.generator_checks import recompute_check
from toast_sandbox.generator_events import Event
from toast_sandbox.randomness import dollars, ts


def apply_event(order: dict, event: Event) -> bool:
    """Apply ``event`` to ``order``; True (and ``modifiedDate`` bumped) when the order changed."""
    changed = HANDLERS[event.name](order, event.at_ms, event.payload)
    if changed:
        order["modifiedDate"] = ts(event.at_ms)
    return changed


def live_checks(order: dict) -> list[dict]:
    """Checks that are neither voided nor deleted."""
    return [check for check in order["checks"] if not check["voided"] and not check["deleted"]]


def _closed_for_good(order: dict) -> bool:
    return order["voided"] or order["deleted"]


def _pay(order: dict, at: int, payload: dict) -> bool:
    if _closed_for_good(order):
        return False
    stamp = ts(at)
    for check in live_checks(order):
        documents = payload["payments"].get(check["guid"])
        if not documents:
            continue
        for document in documents:
            check["payments"].append({**document, "paidDate": stamp, "paidBusinessDate": payload["biz"]})
        check["paidDate"] = check["modifiedDate"] = stamp
        if check["guid"] in payload["awaiting_tip"]:
            check["paymentStatus"] = "PAID"  # card authorized, tip not adjusted yet
        else:
            check["paymentStatus"], check["closedDate"] = "CLOSED", stamp
    order["paidDate"] = stamp
    opened = parse_toast_ts(order["openedDate"]).timestamp() * 1000
    order["duration"] = int((at - opened) // 1000)
    _close_order_if_done(order, stamp)
    return True


def _tip(order: dict, at: int, payload: dict) -> bool:
    found = _payment(order, payload["payment"])
    if _closed_for_good(order) or found is None:
        return False
    check, payment = found
    stamp = ts(at)
    payment["tipAmount"] = dollars(payload["tip"])
    if check["paymentStatus"] == "PAID":
        check["paymentStatus"], check["closedDate"] = "CLOSED", stamp
    check["modifiedDate"] = stamp
    _close_order_if_done(order, stamp)
    return True


def _closeout(order: dict, at: int, payload: dict) -> bool:
    """Nightly batch: card payments are captured and checks still ``PAID`` are closed."""
    if _closed_for_good(order):
        return False
    stamp, changed = ts(at), False
    for check in live_checks(order):
        touched = False
        for payment in check["payments"]:
            if payment["type"] == "CREDIT" and payment["paymentStatus"] == "AUTHORIZED":
                payment["paymentStatus"], touched = "CAPTURED", True
        if check["paymentStatus"] == "PAID":
            check["paymentStatus"], check["closedDate"], touched = "CLOSED", stamp, True
        if touched:
            check["modifiedDate"], changed = stamp, True
    if changed:
        _close_order_if_done(order, stamp)
    return changed


def _refund(order: dict, at: int, payload: dict) -> bool:
    """Refund ``amount`` cents of a payment (None: the rest of it, tip included). ``totalAmount`` is unchanged."""
    found = _payment(order, payload["payment"])
    if found is None or found[1]["paymentStatus"] == "VOIDED":
        return False
    check, payment = found
    previous = payment["refund"] or {"refundAmount": 0.0, "tipRefundAmount": 0.0}
    paid, tip = round(payment["amount"] * 100), round(payment["tipAmount"] * 100)
    already = round(previous["refundAmount"] * 100)
    amount = paid - already if payload.get("amount") is None else min(payload["amount"], paid - already)
    if amount <= 0:
        return False
    tip_refund = tip if payload.get("amount") is None else round(previous["tipRefundAmount"] * 100)
    payment["refund"] = {
        "refundAmount": dollars(already + amount), "tipRefundAmount": dollars(tip_refund), "refundDate": ts(at),
        "refundBusinessDate": payload["biz"],
        "refundTransaction": {"guid": payload["transaction"], "entityType": "RefundTransaction"},
    }
    payment["refundStatus"] = "FULL" if already + amount >= paid else "PARTIAL"
    check["modifiedDate"] = ts(at)
    return True


def _void(order: dict, at: int, payload: dict) -> bool:
    if _closed_for_good(order):
        return False
    order["voided"], order["voidDate"], order["voidBusinessDate"] = True, ts(at), payload["biz"]
    for check in order["checks"]:
        if not check["voided"]:
            _void_check_document(check, at, payload)
    return True


def _void_check(order: dict, at: int, payload: dict) -> bool:
    check = next((check for check in order["checks"] if check["guid"] == payload["check"]), None)
    if check is None or check["voided"] or order["deleted"]:
        return False
    _void_check_document(check, at, payload)
    if not live_checks(order):
        order["voided"], order["voidDate"], order["voidBusinessDate"] = True, ts(at), payload["biz"]
    return True


def _void_check_document(check: dict, at: int, payload: dict) -> None:
    stamp = ts(at)
    check.update({"voided": True, "voidDate": stamp, "voidBusinessDate": payload["biz"], "modifiedDate": stamp})
    for selection in check["selections"]:
        selection.update({"voided": True, "voidDate": stamp, "voidBusinessDate": payload["biz"],
                          "voidReason": payload.get("reason"), "modifiedDate": stamp})
    for payment in check["payments"]:
        payment["voidInfo"] = {"voidUser": payload.get("user"), "voidApprover": payload.get("user"),
                               "voidDate": stamp, "voidBusinessDate": payload["biz"],
                               "voidReason": payload.get("reason")}
        if payment["type"] == "CREDIT":
            payment["paymentStatus"] = "VOIDED"
    if check["paymentStatus"] != "CLOSED":
        check["paymentStatus"], check["closedDate"] = "CLOSED", stamp
    recompute_check(check)


def _delete(order: dict, at: int, payload: dict) -> bool:
    """The order's check was combined into another order (SPEC:orders ``Order.deleted``)."""
    if order["deleted"]:
        return False
    stamp = ts(at)
    order["deleted"], order["deletedDate"] = True, stamp
    for check in order["checks"]:
        check.update({"deleted": True, "deletedDate": stamp, "modifiedDate": stamp})
    return True


def _absorb(order: dict, at: int, payload: dict) -> bool:
    if _closed_for_good(order):
        return False
    check = copy.deepcopy(payload["check"])
    check["modifiedDate"] = ts(at)
    order["checks"].append(check)
    order["closedDate"] = None if check["paymentStatus"] != "CLOSED" else order["closedDate"]
    return True


def _dispatch(order: dict, at: int, payload: dict) -> bool:
    info = order["deliveryInfo"]
    if info is None or _closed_for_good(order):
        return False
    info.update({"dispatchedDate": ts(at), "deliveryState": "PICKED_UP", "deliveryEmployee": payload["employee"]})
    return True


def _deliver(order: dict, at: int, payload: dict) -> bool:
    info = order["deliveryInfo"]
    if info is None or _closed_for_good(order):
        return False
    info.update({"deliveredDate": ts(at), "deliveryState": "DELIVERED"})
    return True


def _reopen(order: dict, at: int, payload: dict) -> bool:
    """A closed check goes back to ``OPEN`` (Toast allows it, SPEC:orders ``Check.paymentStatus``)."""
    check = next((check for check in live_checks(order) if check["guid"] == payload["check"]), None)
    if check is None or check["paymentStatus"] == "OPEN" or _closed_for_good(order):
        return False
    check["paymentStatus"], check["modifiedDate"] = "OPEN", ts(at)
    return True


def _payment(order: dict, guid: str) -> tuple[dict, dict] | None:
    for check in order["checks"]:
        for payment in check["payments"]:
            if payment["guid"] == guid:
                return check, payment
    return None


def _close_order_if_done(order: dict, stamp: str) -> None:
    checks = live_checks(order)
    if checks and all(check["paymentStatus"] == "CLOSED" for check in checks):
        order["closedDate"] = stamp


HANDLERS = {
    "pay": _pay, "tip": _tip, "closeout": _closeout, "refund": _refund, "void": _void, "void_check": _void_check,
    "delete": _delete, "absorb": _absorb, "dispatch": _dispatch, "deliver": _deliver, "reopen": _reopen,
}
