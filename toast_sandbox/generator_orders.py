"""One location's business day of orders: who comes, what they order, and what happens to each order later.

A day is generated alone from ``rng_for(seed, "day", restaurant, date)``, so days can be built lazily and in any
order. Each order is returned as it looked when it was opened plus a time-ordered list of ``Event``s (payment,
tip adjustment, delivery, nightly closeout, late refund, void, combine) that ``order_events.apply_event`` applies
as the sandbox clock passes them. Events may fall up to ``LATE_DAYS`` after the business day.
"""
import copy
from datetime import date

from toast_sandbox.generator_checks import CheckPlan, Line, build_check, gross_cents, payment_document, ref
from toast_sandbox.generator_events import Event, PlannedOrder, plan_order_events
from toast_sandbox.generator_menus import CatalogItem, pick_modifiers
from toast_sandbox.generator_people import Guest, customer_payload
from toast_sandbox.generator_venues import Restaurant
from toast_sandbox.order_parts import OrderContext, order_document
from toast_sandbox.randomness import (MINUTE_MS, business_date, business_int, closeout_ms, local_ms, new_guid,
                                             pct_of, poisson, rng_for)

WALK_INS_PER_DAY = 30
WEEKDAY_FACTOR = (0.75, 0.8, 0.9, 1.0, 1.3, 1.4, 1.1)
KIND_OF = {"dine_anon": "dine_in", "dine_loyalty": "dine_in", "takeout_online": "takeout",
           "takeout_phone": "takeout", "curbside": "curbside", "delivery": "delivery", "thirdparty": "thirdparty"}
RATES = {"mistake_check": 0.03, "combine": 0.012, "split_customers": 0.06, "split_table": 0.15}


class DayPlanner:
    """Plans every order of ``restaurant`` on business day ``day``; ``world`` is a ``generator.World``."""

    def __init__(self, world, index: int, day: date):
        self.world = world
        self.restaurant: Restaurant = world.restaurants[index]
        self.menu = world.menus[index]
        self.day = day
        self.rng = rng_for(world.seed, "day", index, day.isoformat())
        self.closeout = closeout_ms(day, self.restaurant.tz, self.restaurant.closeout_hour)

    def plan(self) -> list[PlannedOrder]:
        """All orders of the day, in opening order, with display numbers and their events."""
        visitors = self.world.visits_on(self.restaurant.index, self.day)
        parties = [(guest.channel(self.rng), guest) for guest in visitors]
        walk_ins = poisson(self.rng, WALK_INS_PER_DAY * self.world.volume * WEEKDAY_FACTOR[self.day.weekday()])
        parties += [("dine_anon", None)] * walk_ins
        orders = sorted((self._order(channel, guest) for channel, guest in parties),
                        key=lambda planned: (planned.created_ms, planned.guid))
        self._number(orders)
        self._combine_some(orders)
        for planned in orders:
            planned.events.sort(key=lambda event: event.at_ms)
        return orders

    def biz(self, moment_ms: int) -> int:
        """Business date (yyyymmdd) of an instant at this location."""
        return business_int(business_date(moment_ms, self.restaurant.tz, self.restaurant.closeout_hour))

    # -- one order ---------------------------------------------------------------------------------------------

    def order_at(self, channel: str, guest: Guest | None, created_ms: int) -> PlannedOrder:
        """One extra order opened at ``created_ms`` (for live traffic and the mutation API), with its events."""
        planned = self._order(channel, guest, created_ms)
        planned.events.sort(key=lambda event: event.at_ms)
        return planned

    def _order(self, channel: str, guest: Guest | None, created_ms: int | None = None) -> PlannedOrder:
        rng, kind = self.rng, KIND_OF[channel]
        created = self._opened_ms(kind) if created_ms is None else created_ms
        context = OrderContext(rng=rng, restaurant=self.restaurant, kind=kind, channel=channel, created_ms=created,
                               business_date=business_int(self.day), guest=guest)
        context.server = self._server(kind, created)
        context.device = rng.choice(self.restaurant.devices)
        guests = self._party_size(kind)
        checks = [build_check(rng, self.restaurant, plan, context.check_context())
                  for plan in self._check_plans(context, guests)]
        planned = PlannedOrder(guid=context.guid, created_ms=created, kind=kind,
                               order=order_document(context, checks, guests))
        plan_order_events(self, planned, context)
        return planned

    def _opened_ms(self, kind: str) -> int:
        rng = self.rng
        roll = rng.random()
        if kind == "dine_in" and roll < 0.07:
            minutes = rng.uniform(22 * 60, 25.5 * 60)  # the late bar crowd: past midnight, same business day
        elif roll < 0.4:
            minutes = rng.uniform(11 * 60, 14.5 * 60)
        else:
            minutes = rng.uniform(17 * 60, 21.5 * 60)
        return local_ms(self.day, minutes, self.restaurant.tz) + rng.randrange(MINUTE_MS)

    def _server(self, kind: str, at_ms: int) -> dict | None:
        if kind not in ("dine_in", "takeout") or (kind == "takeout" and self.rng.random() < 0.5):
            return None
        return ref(self.rng.choice(self.restaurant.servers(at_ms)).guid, "RestaurantUser")

    def _party_size(self, kind: str) -> int:
        if kind != "dine_in":
            return 1
        return self.rng.choices((1, 2, 3, 4, 5, 6, 7, 8), (14, 38, 16, 17, 6, 5, 2, 2))[0]

    def _lines(self, kind: str, guests: int) -> list[Line]:
        rng, menu = self.rng, self.menu
        lines = []
        for seat in range(1, guests + 1):
            seat_number = seat if kind == "dine_in" else -1
            if rng.random() < 0.9:
                lines.append(self._line(rng.choice(menu.course("main")), 1, seat_number))
            if rng.random() < 0.6:
                lines.append(self._line(rng.choice(menu.course("drink")), rng.choice((1, 1, 2)), seat_number))
        for course, chance in (("starter", 0.35), ("dessert", 0.2)):
            if rng.random() < chance:
                lines.append(self._line(rng.choice(menu.course(course)), 1, 0 if kind == "dine_in" else -1))
        if kind != "dine_in" and rng.random() < 0.4:
            lines.append(self._line(rng.choice(menu.course("main")), 1, -1))
        return lines or [self._line(rng.choice(menu.course("main")), 1, -1)]

    def _line(self, item: CatalogItem, quantity: int, seat: int) -> Line:
        return Line(item=item, quantity=quantity, modifiers=pick_modifiers(self.rng, item.modifier_groups), seat=seat)

    def _check_plans(self, context: OrderContext, guests: int) -> list[CheckPlan]:
        rng, kind, guest = self.rng, context.kind, context.guest
        lines = self._lines(kind, guests)
        customer = customer_payload(guest, rng, context.channel) if guest and context.channel != "dine_anon" else None
        primary = CheckPlan(guid=new_guid(rng), display_number=0, lines=lines, customer=customer)
        plans = [primary]
        if kind == "dine_in" and guests >= 4 and rng.random() < RATES["split_table"]:
            plans.append(CheckPlan(guid=new_guid(rng), display_number=0,
                                   lines=[line for line in lines if line.seat % 2 == 0]))
            primary.lines = [line for line in lines if line.seat % 2 == 1] or lines[:1]
        if kind in ("takeout", "curbside") and customer and rng.random() < RATES["split_customers"]:
            # A group order paid separately: the second check belongs to another guest of the restaurant group.
            guests = self.world.guests_of(self.restaurant.index)
            friend = rng.choice(guests)
            while friend is guest and len(guests) > 1:
                friend = rng.choice(guests)
            plans.append(CheckPlan(guid=new_guid(rng), display_number=0, lines=self._lines(kind, 1),
                                   customer=customer_payload(friend, rng, "takeout_online")))
        self._dress_checks(context, plans, guests)
        if kind == "dine_in" and rng.random() < RATES["mistake_check"]:
            context.mistake_check = new_guid(rng)
            plans.append(CheckPlan(guid=context.mistake_check, display_number=0,
                                   lines=[self._line(rng.choice(self.menu.course("drink")), 1, -1)]))
        return plans

    def _dress_checks(self, context: OrderContext, plans: list[CheckPlan], guests: int) -> None:
        """Loyalty, discounts, service charges and tab names."""
        rng, restaurant = self.rng, self.restaurant
        happy_hour, loyalty_reward, industry = restaurant.discounts
        gratuity, delivery_fee = restaurant.service_charges
        primary = plans[0]
        if context.channel == "dine_loyalty":
            primary.loyalty = context.loyalty_info()
            if rng.random() < 0.25:
                primary.discount = loyalty_reward
        if context.kind == "dine_in" and 17 <= context.local_hour < 18 and rng.random() < 0.5:
            primary.discount = primary.discount or happy_hour
        elif rng.random() < 0.02:
            primary.discount = primary.discount or industry
        for plan in plans:
            if context.kind == "dine_in" and guests >= 6:
                plan.charges.append((gratuity, pct_of(gross_cents(plan.lines), gratuity.amount)))
            if context.kind == "delivery" and plan is primary:
                plan.charges.append((delivery_fee, round(delivery_fee.amount * 100)))
            if plan.customer and plan.customer.get("firstName"):
                plan.tab_name = f"{plan.customer['firstName']} {plan.customer['lastName'][:1]}"

    # -- what happens later ------------------------------------------------------------------------------------

    def _number(self, orders: list[PlannedOrder]) -> None:
        check_number = 0
        for number, planned in enumerate(orders, start=1):
            planned.order["displayNumber"] = str(number)
            for check in planned.order["checks"]:
                check_number += 1
                check["displayNumber"] = str(check_number)

    def _combine_some(self, orders: list[PlannedOrder]) -> None:
        """Combine a few dine-in checks into a later table's order; the absorbed order becomes deleted."""
        taken: set[str] = set()
        for index, first in enumerate(orders):
            if not self._combinable(first, taken) or self.rng.random() >= RATES["combine"]:
                continue
            for second in orders[index + 1:]:
                if second.created_ms - first.created_ms > 90 * MINUTE_MS:
                    break
                if self._combinable(second, taken) and second.paid_ms:
                    self._combine(first, second)
                    taken.update((first.guid, second.guid))
                    break

    @staticmethod
    def _combinable(planned: PlannedOrder, taken: set) -> bool:
        names = {event.name for event in planned.events}
        return (planned.kind == "dine_in" and planned.guid not in taken and len(planned.order["checks"]) == 1
                and "void" not in names and "refund" not in names and planned.paid_ms is not None)

    def _combine(self, absorbed: PlannedOrder, target: PlannedOrder) -> None:
        rng = self.rng
        at = target.created_ms + int((target.paid_ms - target.created_ms) * rng.uniform(0.2, 0.6))
        moved = copy.deepcopy(absorbed.order["checks"][0])
        regenerate_guids(rng, moved)
        absorbed.events = [Event(at, "delete", {})]
        absorbed.paid_ms = None
        target.events.append(Event(at, "absorb", {"check": moved}))
        pay = next(event for event in target.events if event.name == "pay")
        kind = "CREDIT" if rng.random() < 0.8 else "CASH"
        server = target.order["server"]
        payment = payment_document(rng, kind, round(moved["totalAmount"] * 100), 0, {
            "device": target.order["createdDevice"]["id"], "server": server, "order_guid": target.guid,
            "check_guid": moved["guid"], "entry_mode": "EMV_CHIP_SIGN"})
        pay.payload["payments"][moved["guid"]] = [payment]
        if kind == "CREDIT" and not any(event.name == "closeout" for event in target.events):
            target.events.append(Event(self.closeout + rng.randrange(5 * MINUTE_MS), "closeout", {}))


def regenerate_guids(rng, node) -> None:
    """Give a copied check and everything in it new GUIDs (a combined check is a new entity)."""
    if isinstance(node, list):
        for child in node:
            regenerate_guids(rng, child)
    elif isinstance(node, dict):
        if "guid" in node and node.get("entityType") in ("Check", "MenuItemSelection", "AppliedTaxRate",
                                                          "CheckAppliedDiscount", "AppliedServiceCharge"):
            node["guid"] = new_guid(rng)
        for key in ("selections", "modifiers", "appliedTaxes", "appliedDiscounts", "appliedServiceCharges"):
            regenerate_guids(rng, node.get(key))


def plan_day(world, index: int, day: date) -> list[PlannedOrder]:
    """Every order of restaurant ``index`` on business day ``day`` (deterministic for the world's seed)."""
    return DayPlanner(world, index, day).plan()
