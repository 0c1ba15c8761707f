"""The generated world: deterministic, fast, and full of the cases a Toast CRM integration must handle."""
import re
import time
from collections import defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from portal.toast.timefmt import parse_toast_ts
from tests.toast_sandbox.conftest import FIXED_NOW, NO_LIMITS, SMALL_WORLD, ToastApi
from toast_sandbox import create_sandbox_app
from toast_sandbox.generator import build_world

PLACEHOLDER = "1970-01-01T00:00:00.000+0000"
PHONE_SHAPES = {"parenthesized": r"^\(\d{3}\) \d{3}-\d{4}$", "dotted": r"^\d{3}\.\d{3}\.\d{4}$", "e164": r"^\+1\d{10}$"}


def customers(orders: list[dict]) -> list[dict]:
    return [check["customer"] for order in orders for check in order["checks"] if check.get("customer")]


def cents(value: float) -> int:
    return round(value * 100)


def test_same_seed_gives_identical_bytes():
    first, second = (ToastApi(create_sandbox_app(**SMALL_WORLD, rate_limits=NO_LIMITS)) for _ in range(2))
    start, end = FIXED_NOW - timedelta(days=6), FIXED_NOW
    assert first.orders_bulk(start, end).data == second.orders_bulk(start, end).data
    assert first.get("/menus/v2/menus").data == second.get("/menus/v2/menus").data
    assert first.state.credentials() == second.state.credentials()


def test_another_seed_gives_another_world():
    one, other = build_world(**SMALL_WORLD), build_world(**{**SMALL_WORLD, "seed": 8})
    assert one.group_guid != other.group_guid
    assert [guest.email for guest in one.guests[:20]] != [guest.email for guest in other.guests[:20]]


def test_default_world_builds_in_a_few_seconds():
    started = time.perf_counter()
    world = build_world(seed=3, restaurants=3, days=120, now=FIXED_NOW)
    week = [world.plan_day(index, FIXED_NOW.date() - timedelta(days=offset)) for index in range(3)
            for offset in range(7)]
    elapsed = time.perf_counter() - started
    assert elapsed < 5, elapsed
    assert 2500 <= len([guest for guest in world.guests if guest.visits[0][0] < 120]) <= 3500
    assert sum(len(day) for day in week) > 3 * 7 * 30


def test_guests_follow_a_repeat_purchase_process():
    world = build_world(seed=3, restaurants=3, days=120, now=FIXED_NOW)
    visits = [len(guest.visits) for guest in world.guests]
    one_timers = sum(1 for count in visits if count == 1) / len(visits)
    assert 0.3 < one_timers < 0.8
    assert sum(1 for count in visits if count >= 5) >= 30  # loyal regulars
    homes = [sum(1 for _, where in guest.visits if where == guest.home) / len(guest.visits)
             for guest in world.guests if len(guest.visits) >= 4]
    assert sum(homes) / len(homes) > 0.75
    assert any(where != guest.home for guest in world.guests for _, where in guest.visits)


def test_history_contains_every_case_a_crm_meets(history):
    orders = history
    voided = [order for order in orders if order["voided"]]
    assert voided and all(order["voidDate"] and order["voidBusinessDate"] for order in voided)
    deleted = [order for order in orders if order["deleted"]]
    assert deleted and all(order["deletedDate"] != PLACEHOLDER for order in deleted)
    assert all(order["deletedDate"] == PLACEHOLDER for order in orders if not order["deleted"])
    checks = [check for order in orders for check in order["checks"]]
    assert any(check["voided"] for order in orders if not order["voided"] for check in order["checks"])
    refunds = [payment for check in checks for payment in check["payments"] if payment["refund"]]
    assert {payment["refundStatus"] for payment in refunds} == {"PARTIAL", "FULL"}
    assert all(payment["refund"]["refundAmount"] > 0 and "tipRefundAmount" in payment["refund"] for payment in refunds)
    assert any(payment["tipAmount"] > 0 for check in checks for payment in check["payments"])
    assert {payment["type"] for check in checks for payment in check["payments"]} >= {"CREDIT", "CASH"}
    assert any(charge["gratuity"] for check in checks for charge in check["appliedServiceCharges"])
    assert any(check["appliedDiscounts"] for check in checks)
    assert any(modifier["modifiers"] for check in checks for selection in check["selections"]
               for modifier in selection["modifiers"]), "nested modifiers"
    assert all(order["server"]["entityType"] == "RestaurantUser" for order in orders if order["server"])


def test_guest_identities_are_messy_like_real_data(history):
    found = customers(history)
    loyalty = [customer for customer in found if customer["firstName"] is None]
    assert loyalty and all(customer["guid"] and customer["email"] is None for customer in loyalty)
    typed = [customer for customer in found if customer["email"]]
    variants = defaultdict(set)
    for customer in typed:
        variants[customer["email"].strip().lower()].add(customer["email"])
    assert any(len(spellings) > 1 for spellings in variants.values()), "same guest, differently typed e-mail"
    assert any(email != email.strip() for email in (c["email"] for c in typed))
    assert any(email.strip() != email.strip().lower() for email in (c["email"] for c in typed))
    for name, pattern in PHONE_SHAPES.items():
        assert any(re.match(pattern, customer["phone"]) for customer in typed), name
    phone_shapes = defaultdict(set)
    for customer in typed:
        phone_shapes[customer["email"].strip().lower()].add(re.sub(r"\d", "9", customer["phone"]))
    assert any(len(shapes) > 1 for shapes in phone_shapes.values()), "same guest, differently typed phone"
    assert any(customer["phoneCountryCode"] for customer in typed)
    assert any(not (customer["firstName"] + customer["lastName"]).isascii() for customer in typed)
    split = [order for order in history if len({c["email"] for c in customers([order]) if c["email"]}) == 2]
    assert split, "one order, two checks, two different customers"


def test_dine_in_orders_have_no_customer_but_channels_do(history, api):
    dining = {option.guid: option for option in api.state.world.restaurants[0].dining_options}
    for order in history:
        option = dining[order["diningOption"]["guid"]]
        named = [c for c in customers([order]) if c["firstName"]]
        if option.kind == "DINE_IN":
            assert not named
        else:
            assert named, option.name
        if option.flag:  # curbside
            assert order["curbsidePickupInfo"]["transportColor"]
        if option.kind == "DELIVERY":
            assert order["deliveryInfo"]["address1"] and order["deliveryInfo"]["zipCode"]
    assert any(dining[order["diningOption"]["guid"]].name == "DoorDash Delivery" for order in history)


def test_amounts_add_up(history):
    for order in history:
        for check in order["checks"]:
            if check["voided"]:
                assert check["amount"] == check["totalAmount"] == 0
                continue
            live = [selection for selection in check["selections"] if not selection["voided"]]
            charges = check["appliedServiceCharges"]
            plain = sum(cents(charge["chargeAmount"]) for charge in charges if not charge["gratuity"])
            gratuity = sum(cents(charge["chargeAmount"]) for charge in charges if charge["gratuity"])
            discounts = sum(cents(discount["discountAmount"]) for discount in check["appliedDiscounts"])
            assert cents(check["amount"]) == sum(cents(s["preDiscountPrice"]) for s in live) + plain - discounts
            assert cents(check["amount"]) == sum(cents(s["price"]) for s in live) + plain
            assert cents(check["taxAmount"]) == sum(cents(s["tax"]) for s in live)
            assert cents(check["totalAmount"]) == cents(check["amount"]) + cents(check["taxAmount"]) + gratuity
            if check["payments"] and not order["deleted"]:
                assert sum(cents(p["amount"]) for p in check["payments"]) == cents(check["totalAmount"])


def test_business_dates_follow_local_closeout_hour(history, api):
    zone = ZoneInfo(api.state.world.restaurants[0].city.time_zone)
    late_night = 0
    for order in history:
        local = parse_toast_ts(order["openedDate"]).astimezone(zone)
        assert order["businessDate"] == int((local - timedelta(hours=4)).strftime("%Y%m%d"))
        late_night += local.hour < 4
    assert late_night, "some orders opened after midnight belong to the previous business day"


def test_paid_orders_are_modified_again_at_nightly_closeout(history, api):
    zone = ZoneInfo(api.state.world.restaurants[0].city.time_zone)
    closed_out = 0
    for order in history:
        if order["voided"] or order["deleted"] or not order["paidDate"]:
            continue
        modified = parse_toast_ts(order["modifiedDate"]).astimezone(zone)
        business = datetime.strptime(str(order["businessDate"]), "%Y%m%d").date()
        if modified.date() == business + timedelta(days=1) and modified.hour == 4:
            closed_out += 1
            assert all(check["paymentStatus"] == "CLOSED" for check in order["checks"] if not check["voided"])
    assert closed_out > len(history) / 2


def test_menus_nest_modifier_groups_under_options(api):
    menus = api.get("/menus/v2/menus").json
    groups, options = menus["modifierGroupReferences"], menus["modifierOptionReferences"]
    nested = [option for option in options.values() if option["modifierGroupReferences"]]
    assert nested and all(str(ref) in groups for option in nested for ref in option["modifierGroupReferences"])
    items = [item for menu in menus["menus"] for group in menu["menuGroups"]
             for sub in [group, *group["menuGroups"]] for item in sub["menuItems"]]
    assert any(group["menuGroups"] for menu in menus["menus"] for group in menu["menuGroups"])
    assert all(str(ref) in groups for item in items for ref in item["modifierGroupReferences"])
    other = api.get("/menus/v2/menus", restaurant=1).json
    assert other["menus"][0]["multiLocationId"] == menus["menus"][0]["multiLocationId"]
    assert other["menus"][0]["guid"] != menus["menus"][0]["guid"]


def test_employees_include_deleted_servers_referenced_by_orders(api, history):
    employees = api.get("/labor/v1/employees").json
    by_guid = {person["guid"]: person for person in employees}
    assert any(person["deleted"] and person["deletedDate"] != PLACEHOLDER for person in employees)
    assert all(order["server"]["guid"] in by_guid for order in history if order["server"])
    only = api.get("/labor/v1/employees", params={"employeeIds": employees[0]["guid"]}).json
    assert [person["guid"] for person in only] == [employees[0]["guid"]]
