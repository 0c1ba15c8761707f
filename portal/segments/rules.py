"""The one schema of segment rules, and its validator.

A rule tree is JSON: a group ``{"op": "and"|"or", "rules": [node, ...]}`` whose nodes are groups or conditions
``{"field": ..., "operator": ..., "value": ..., ["window_days": N], ["among": channel]}``. The root is a group
whose nodes may be groups of conditions (one level of nesting, as the builder draws it). An empty root matches
every guest; an empty inner group is an error.

``validate`` returns a normalized copy or raises RulesError listing every problem with its path
(``rules[1].rules[0].operator``), so the builder can show each message beside its condition.
"""
import math
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

MAX_DEPTH = 2  # the root and its groups (what the builder draws)
MAX_CONDITIONS = 60
MAX_CHOICES = 200
MAX_DAYS = 36_500
MAX_COUNT = 1_000_000_000
MAX_MONEY = Decimal("1000000000")
CHANNELS = ("delivery", "takeout", "curbside", "dine_in")
GROUP_OPS = ("and", "or")
GROUP_KEYS = frozenset({"op", "rules"})
CONDITION_KEYS = frozenset({"field", "operator", "value", "window_days", "among"})

NUMBER_OPERATORS = ("gte", "gt", "eq", "neq", "lte", "lt", "between")
PERCENT_OPERATORS = ("top_percent", "bottom_percent")
DAYS_OPERATORS = ("gte", "gt", "eq", "lte", "lt", "between")
DATE_OPERATORS = ("on_or_after", "after", "on", "before", "on_or_before", "between")
SET_OPERATORS = ("any_of", "all_of", "none_of")
DECIMAL_OPERATORS = ("gte", "gt", "lte", "lt", "between")  # model figures: equality of floats means nothing
MAX_DECIMAL = Decimal("1000000")
FLAG_OPERATORS = ("is",)


@dataclass(frozen=True)
class Field:
    """One thing a condition can test. ``kind`` picks the operators and the value type."""

    label: str
    kind: str  # count | money | days | date | set | flag | decimal
    windowed: bool = False  # accepts window_days ("in the last N days")
    ranked: bool = False  # accepts top_percent / bottom_percent
    choices: str | None = None  # for sets: where the values come from (location, item, server, tag, ...)
    scored: bool = False  # read from guest_scores (portal.scoring): guests without a score match no condition

    @property
    def operators(self) -> tuple[str, ...]:
        base = {
            "count": NUMBER_OPERATORS, "money": NUMBER_OPERATORS, "days": DAYS_OPERATORS,
            "date": DATE_OPERATORS, "set": SET_OPERATORS, "flag": FLAG_OPERATORS, "decimal": DECIMAL_OPERATORS,
        }[self.kind]
        return base + PERCENT_OPERATORS if self.ranked else base


def _channel_fields() -> dict[str, Field]:
    fields = {}
    for channel in CHANNELS:
        words = channel.replace("_", "-")
        fields[f"{channel}_orders"] = Field(f"{words.capitalize()} orders", "count", ranked=True)
        fields[f"{channel}_spend"] = Field(f"{words.capitalize()} spend", "money", ranked=True)
    return fields


FIELDS: dict[str, Field] = {
    "days_since_last_order": Field("Days since last order", "days"),
    "days_since_first_order": Field("Days since first order", "days"),
    "first_order_date": Field("First order date", "date"),
    "last_order_date": Field("Last order date", "date"),
    "order_count": Field("Orders", "count", windowed=True, ranked=True),
    "net_spend": Field("Net spend", "money", windowed=True, ranked=True),
    "average_check": Field("Average check", "money", ranked=True),
    "tips": Field("Tips", "money", ranked=True),
    **_channel_fields(),
    "location": Field("Ordered at location", "set", choices="location"),
    "item": Field("Ordered item", "set", windowed=True, choices="item"),
    "server": Field("Served by", "set", choices="server"),
    "tag": Field("Tagged", "set", choices="tag"),
    "has_email": Field("Has email", "flag"),
    "has_phone": Field("Has phone", "flag"),
    "marketing_opt_out": Field("Opted out of marketing", "flag"),
    # Guest value, as of the last nightly fit (portal.scoring): P(alive) in percent, the RFM group, and the
    # churn band (high / medium / low: P(alive) below 30%, below 70%, or higher).
    "p_alive": Field("Chance still a guest (%)", "decimal", scored=True),
    "expected_visits_90d": Field("Expected visits, next 90 days", "decimal", scored=True),
    "predicted_value_12m": Field("Predicted 12-month value", "money", scored=True),
    "rfm_group": Field("RFM group", "set", choices="rfm_group", scored=True),
    "churn_band": Field("Churn risk", "set", choices="churn_band", scored=True),
}


class RulesError(ValueError):
    """The rules are not valid. ``problems`` is a list of (path, message); str() joins them."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{path}: {message}" if path else message for path, message in problems))


def empty_rules() -> dict:
    return {"op": "and", "rules": []}


def validate(tree) -> dict:
    """A normalized copy of a rule tree; RulesError naming every unknown key, field, operator or bad value."""
    checker = _Checker()
    normalized = checker.group(tree, "", depth=1)
    if checker.conditions > MAX_CONDITIONS:
        checker.problems.append(("", f"at most {MAX_CONDITIONS} conditions"))
    if checker.problems:
        raise RulesError(checker.problems)
    return normalized


def conditions(tree: dict):
    """Every condition of a (valid) rule tree, depth first, with its path."""

    def walk(node, path):
        if "op" in node:
            for index, child in enumerate(node["rules"]):
                yield from walk(child, f"{path}.rules[{index}]" if path else f"rules[{index}]")
        else:
            yield path, node

    yield from walk(tree, "")


def to_cents(dollars) -> int:
    """A validated money value (dollars, at most 2 decimals) in integer cents."""
    return int(Decimal(str(dollars)) * 100)


def percentile_rank_size(percent, population: int) -> int:
    """How many guests ``percent`` % of ``population`` is, rounded up: the tie rule's k (see compile)."""
    return math.ceil(Decimal(str(percent)) * population / 100)


class _Checker:
    def __init__(self):
        self.problems: list[tuple[str, str]] = []
        self.conditions = 0

    def fail(self, path: str, message: str) -> None:
        self.problems.append((path, message))

    def node(self, node, path: str, depth: int):
        if isinstance(node, dict) and "field" not in node and ("op" in node or "rules" in node):
            return self.group(node, path, depth + 1)
        return self.condition(node, path)

    def group(self, node, path: str, depth: int):
        if not isinstance(node, dict):
            self.fail(path, "a group must be an object with 'op' and 'rules'")
            return None
        for key in sorted(set(node) - GROUP_KEYS):
            self.fail(_join(path, key), f"unknown field '{key}' in a group (allowed: op, rules)")
        op = node.get("op")
        if op not in GROUP_OPS:
            self.fail(_join(path, "op"), f"unknown group operator {_show(op)} (allowed: and, or)")
        if depth > MAX_DEPTH:
            self.fail(path, f"groups nest at most {MAX_DEPTH} levels deep")
            return None
        children = node.get("rules")
        if not isinstance(children, list):
            self.fail(_join(path, "rules"), "'rules' must be a list")
            return None
        if not children and depth > 1:
            self.fail(path, "a group needs at least one condition")
        rules = [self.node(child, f"{_join(path, 'rules')}[{index}]", depth) for index, child in enumerate(children)]
        return {"op": op, "rules": rules}

    def condition(self, node, path: str):
        self.conditions += 1
        if not isinstance(node, dict):
            self.fail(path, "a condition must be an object with 'field', 'operator' and 'value'")
            return None
        for key in sorted(set(node) - CONDITION_KEYS):
            self.fail(_join(path, key), f"unknown field '{key}' in a condition")
        name = node.get("field")
        field = FIELDS.get(name) if isinstance(name, str) else None
        if field is None:
            self.fail(_join(path, "field"), f"unknown field {_show(name)}")
            return None
        operator = node.get("operator")
        if operator not in field.operators:
            self.fail(_join(path, "operator"),
                      f"unknown operator {_show(operator)} for {name} (allowed: {', '.join(field.operators)})")
            return None
        result = {"field": name, "operator": operator, "value": self.value(field, operator, node, path)}
        self.extras(field, operator, node, path, result)
        return result

    def extras(self, field: Field, operator: str, node: dict, path: str, result: dict) -> None:
        window = node.get("window_days")
        if window is not None:
            if not field.windowed:
                self.fail(_join(path, "window_days"), f"{node['field']} has no 'in the last N days' form")
            elif operator in PERCENT_OPERATORS:
                self.fail(_join(path, "window_days"), "percentile conditions are over all time")
            else:
                result["window_days"] = self.whole(window, _join(path, "window_days"), 1, MAX_DAYS)
        among = node.get("among")
        if among is not None:
            if operator not in PERCENT_OPERATORS:
                self.fail(_join(path, "among"), "'among' goes with top_percent or bottom_percent only")
            elif among != "all" and among not in CHANNELS:
                self.fail(_join(path, "among"), f"unknown population {_show(among)} (allowed: all, {', '.join(CHANNELS)})")
            else:
                result["among"] = among
        elif operator in PERCENT_OPERATORS:
            result["among"] = "all"

    def value(self, field: Field, operator: str, node: dict, path: str):
        path = _join(path, "value")
        if "value" not in node:
            self.fail(path, "a value is required")
            return None
        value = node["value"]
        if operator in PERCENT_OPERATORS:
            return self.number(value, path, Decimal("0.01"), Decimal(100), "a percentage")
        if operator == "between":
            if not isinstance(value, list) or len(value) != 2:
                self.fail(path, "'between' takes two values [low, high]")
                return None
            low, high = (self.scalar(field, item, f"{path}[{index}]") for index, item in enumerate(value))
            if low is not None and high is not None and low > high:
                self.fail(path, "the first value of 'between' must not exceed the second")
            return [low, high]
        if field.kind == "set":
            return self.choices(value, path)
        if field.kind == "flag":
            if not isinstance(value, bool):
                self.fail(path, "must be true or false")
            return value
        return self.scalar(field, value, path)

    def scalar(self, field: Field, value, path: str):
        if field.kind == "date":
            if isinstance(value, str):
                try:
                    return date.fromisoformat(value).isoformat()
                except ValueError:
                    pass
            self.fail(path, "must be a date (YYYY-MM-DD)")
            return None
        if field.kind == "money":
            return self.number(value, path, -MAX_MONEY, MAX_MONEY, "an amount")
        if field.kind == "decimal":
            return self.number(value, path, Decimal(0), MAX_DECIMAL, "a number")
        upper = MAX_DAYS if field.kind == "days" else MAX_COUNT
        return self.whole(value, path, 0, upper)

    def whole(self, value, path: str, low: int, high: int):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(path, f"must be a whole number from {low:,} to {high:,}")
            return None
        return value

    def number(self, value, path: str, low: Decimal, high: Decimal, what: str):
        """A number with at most two decimals; kept as int or float so the JSON stays plain."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(path, f"must be {what} (a number)")
            return None
        try:
            exact = Decimal(str(value))
        except InvalidOperation:
            exact = None
        if exact is not None and exact.is_finite() and not low <= exact <= high:
            self.fail(path, f"must be {what} from {low:,} to {high:,}")
            return None
        if exact is None or not exact.is_finite() or exact != exact.quantize(Decimal("0.01")):
            self.fail(path, f"must be {what} with at most two decimals")
            return None
        return int(exact) if exact == exact.to_integral_value() else float(exact)

    def choices(self, value, path: str):
        if (not isinstance(value, list) or not value or len(value) > MAX_CHOICES
                or not all(isinstance(item, str) and 0 < len(item) <= 255 for item in value)):
            self.fail(path, f"choose 1 to {MAX_CHOICES} values")
            return None
        return sorted(set(value))


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _show(value) -> str:
    if value is None:
        return "(missing)"
    text = value if isinstance(value, str) else repr(value)
    return f"'{text[:40]}'"
