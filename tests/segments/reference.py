"""The segment rules evaluated in plain Python over guest specs: what the SQL of portal.segments.compile must
match, guest for guest. Written from the rules' definitions, not from the SQL:

- days since X = today's UTC date - X's UTC date; "in the last N days" = days since the order < N;
- a figure that does not exist (no order) fails every test on it;
- top p% of a population of N: k = ceil(p × N / 100), t = the k-th highest value, members: value ≥ t
  (bottom: k-th lowest, value ≤ t); an empty population has no members.
"""
import math
from datetime import date, datetime, timezone
from decimal import Decimal

from tests.segments.data import GuestSpec, Population

CHANNEL_FIELDS = {"delivery", "takeout", "curbside", "dine_in"}


def members(population: Population, tree: dict, now: datetime) -> set[int]:
    evaluator = _Evaluator(population, now)
    return {guest_id for guest_id, spec in population.guests.items() if evaluator.node(tree, guest_id, spec)}


class _Evaluator:
    def __init__(self, population: Population, now: datetime):
        self.population = population
        self.today = now.astimezone(timezone.utc).date()
        self.location_ids = [str(location.id) for location in population.locations]

    def node(self, node: dict, guest_id: int, spec: GuestSpec) -> bool:
        if "op" in node:
            results = [self.node(child, guest_id, spec) for child in node["rules"]]
            return all(results) if node["op"] == "and" else any(results)
        return self.condition(node, guest_id, spec)

    def condition(self, c: dict, guest_id: int, spec: GuestSpec) -> bool:
        name, operator, value = c["field"], c["operator"], c["value"]
        if operator in ("top_percent", "bottom_percent"):
            return self.percentile(c, guest_id)
        if name in ("has_email", "has_phone", "marketing_opt_out"):
            actual = {"has_email": spec.email, "has_phone": spec.phone, "marketing_opt_out": spec.opt_out}[name]
            return actual == value
        if name in ("days_since_last_order", "days_since_first_order"):
            moment = _figures(spec)["last_order_at" if "last" in name else "first_order_at"]
            return moment is not None and _compare(self.days_since(moment), operator, value)
        if name in ("first_order_date", "last_order_date"):
            moment = _figures(spec)["first_order_at" if "first" in name else "last_order_at"]
            return moment is not None and _compare_dates(moment.astimezone(timezone.utc).date(), operator, value)
        if name in ("location", "item", "server", "tag"):
            return _set_test(self.linked(name, spec, c.get("window_days")), operator, set(value))
        if name in SCORED:
            return _scored(spec, name, operator, value)
        figure = self.figure(name, spec, c.get("window_days"))
        if name in MONEY:
            value = [_cents(v) for v in value] if operator == "between" else _cents(value)
        return _compare(figure, operator, value)

    def days_since(self, moment: datetime) -> int:
        return (self.today - moment.astimezone(timezone.utc).date()).days

    def in_window(self, moment: datetime | None, window: int | None) -> bool:
        return window is None or (moment is not None and self.days_since(moment) < window)

    def figure(self, name: str, spec: GuestSpec, window: int | None) -> int:
        orders = [o for o in spec.counted if self.in_window(o.opened_at, window)]
        if name == "order_count":
            return len(orders)
        if name == "net_spend":
            return sum(o.net_cents for o in orders)
        if name == "average_check":
            return _figures(spec)["avg_check_cents"]
        if name == "tips":
            return sum(o.tip_cents for o in orders)
        channel, _, what = name.rpartition("_")
        picked = [o for o in orders if o.channel == channel]
        return len(picked) if what == "orders" else sum(o.net_cents for o in picked)

    def linked(self, name: str, spec: GuestSpec, window: int | None) -> set[str]:
        if name == "tag":
            return set(spec.tags)
        found = set()
        for order in spec.counted:
            if name == "location":
                found.add(self.location_ids[order.location])
            elif name == "server" and order.server:
                found.add(order.server)
            elif name == "item" and self.in_window(order.opened_at, window):
                found.update(order.items)
        return found

    def percentile(self, c: dict, guest_id: int) -> bool:
        among = c["among"]
        values = {
            gid: self.figure(c["field"], spec, None) for gid, spec in self.population.guests.items()
            if among == "all" or _figures(spec)[f"{among}_orders"] >= 1
        }
        if guest_id not in values:
            return False
        top = c["operator"] == "top_percent"
        ranked = sorted(values.values(), reverse=top)
        k = math.ceil(Decimal(str(c["value"])) * len(ranked) / 100)
        threshold = ranked[k - 1]
        return values[guest_id] >= threshold if top else values[guest_id] <= threshold


MONEY = {"net_spend", "average_check", "tips", *(f"{channel}_spend" for channel in CHANNEL_FIELDS)}


SCORED = {"p_alive", "expected_visits_90d", "predicted_value_12m", "rfm_group", "churn_band"}


def _scored(spec: GuestSpec, name: str, operator: str, value) -> bool:
    """Guest value: no score (or a NULL figure) fails every test; P(alive) in percent; bands from P(alive)."""
    score = spec.score
    if score is None:
        return False
    if name == "rfm_group":
        return _set_test({score.rfm_group}, operator, set(value))
    if name == "churn_band":
        if score.p_alive is None:
            return False
        band = "high" if score.p_alive < 0.3 else "medium" if score.p_alive < 0.7 else "low"
        return _set_test({band}, operator, set(value))
    if name == "p_alive":
        actual = score.p_alive
        value = [v / 100 for v in value] if operator == "between" else value / 100
    elif name == "predicted_value_12m":
        actual = score.predicted_value_12m_cents
        value = [_cents(v) for v in value] if operator == "between" else _cents(value)
    else:
        actual = score.expected_visits_90d
    return actual is not None and _compare(actual, operator, value)


def _figures(spec: GuestSpec) -> dict:
    return spec.figures()


def _cents(dollars) -> int:
    return int(Decimal(str(dollars)) * 100)


def _compare(actual, operator: str, value) -> bool:
    if operator == "between":
        return value[0] <= actual <= value[1]
    return {
        "gte": actual >= value, "gt": actual > value, "eq": actual == value,
        "neq": actual != value, "lte": actual <= value, "lt": actual < value,
    }[operator]


def _compare_dates(actual: date, operator: str, value) -> bool:
    if operator == "between":
        return date.fromisoformat(value[0]) <= actual <= date.fromisoformat(value[1])
    day = date.fromisoformat(value)
    return {
        "on_or_after": actual >= day, "after": actual > day, "on": actual == day, "before": actual < day,
        "on_or_before": actual <= day,
    }[operator]


def _set_test(have: set[str], operator: str, wanted: set[str]) -> bool:
    if operator == "any_of":
        return bool(have & wanted)
    if operator == "all_of":
        return wanted <= have
    return not (have & wanted)
