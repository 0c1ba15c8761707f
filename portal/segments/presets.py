"""The segments every organization starts with, and the plain-words reading of any rule tree."""
from collections.abc import Callable, Mapping

from portal.segments.rules import FIELDS, conditions

PRESETS = (
    ("lapsed", "Lapsed guests", {"op": "and", "rules": [
        {"field": "order_count", "operator": "gte", "value": 2},
        {"field": "days_since_last_order", "operator": "gte", "value": 60},
    ]}),
    ("high-spend-delivery", "High-spend delivery guests", {"op": "and", "rules": [
        {"field": "delivery_orders", "operator": "gte", "value": 1},
        {"field": "delivery_spend", "operator": "top_percent", "value": 20, "among": "delivery"},
    ]}),
    ("new", "New guests", {"op": "and", "rules": [
        {"field": "days_since_first_order", "operator": "lt", "value": 30},
    ]}),
    ("regulars", "Regulars", {"op": "and", "rules": [
        {"field": "order_count", "operator": "gte", "value": 4, "window_days": 90},
    ]}),
    ("big-spenders", "Big spenders", {"op": "and", "rules": [
        {"field": "net_spend", "operator": "top_percent", "value": 10, "among": "all"},
    ]}),
    ("one-and-done", "One-and-done", {"op": "and", "rules": [
        {"field": "order_count", "operator": "eq", "value": 1},
        {"field": "days_since_last_order", "operator": "gt", "value": 30},
    ]}),
)
PRESET_SLUGS = tuple(slug for slug, _, _ in PRESETS)

COMPARISONS = {
    "gte": "at least", "gt": "more than", "eq": "exactly", "neq": "not", "lte": "at most", "lt": "less than",
}
DATE_WORDS = {
    "on_or_after": "on or after", "after": "after", "on": "on", "before": "before", "on_or_before": "on or before",
}
AMONG_WORDS = {
    "all": "all guests", "delivery": "guests with a delivery order", "takeout": "guests with a takeout order",
    "curbside": "guests with a curbside order", "dine_in": "guests with a dine-in order",
}
SET_VERBS = {"location": "ordered at", "item": "ordered", "server": "served by", "tag": "tagged",
             "rfm_group": "in RFM group", "churn_band": "with churn risk"}
FLAG_WORDS = {
    "has_email": ("has an email address", "has no email address"),
    "has_phone": ("has a phone number", "has no phone number"),
    "marketing_opt_out": ("opted out of marketing", "has not opted out of marketing"),
}

Names = Mapping[str, Mapping[str, str]]  # choices kind -> value -> display name


def describe(tree: dict, names: Names | None = None) -> str:
    """A (valid) rule tree in plain words, e.g. "at least 2 orders and last order at least 60 days ago"."""
    text = _describe_group(tree, names or {}, top=True)
    return text or "all guests"


def _describe_group(group: dict, names: Names, top: bool = False) -> str:
    parts = []
    for node in group["rules"]:
        part = _describe_group(node, names) if "op" in node else describe_condition(node, names)
        parts.append(part)
    text = f" {group['op']} ".join(parts)
    return text if top or len(parts) < 2 else f"({text})"


def describe_condition(condition: dict, names: Names | None = None) -> str:
    field = FIELDS[condition["field"]]
    operator, value = condition["operator"], condition["value"]
    window = f" in the last {condition['window_days']} days" if condition.get("window_days") else ""
    if operator in ("top_percent", "bottom_percent"):
        side = "top" if operator == "top_percent" else "bottom"
        return f"{field.label.lower()} in the {side} {_number(value)}% of {AMONG_WORDS[condition['among']]}"
    if field.kind == "flag":
        return FLAG_WORDS[condition["field"]][0 if value else 1]
    if field.kind == "set":
        return _describe_set(condition, (names or {}).get(field.choices, {}), window)
    if field.kind == "date":
        what = condition["field"].replace("_date", "").replace("_", " ")
        if operator == "between":
            return f"{what} between {value[0]} and {value[1]}"
        return f"{what} {DATE_WORDS[operator]} {value}"
    if field.kind == "days":
        what = "last order" if condition["field"] == "days_since_last_order" else "first order"
        return f"{what} {_comparison(operator, value, _days)} ago"
    noun = field.label.lower()
    show = _money if field.kind == "money" else _number
    if field.kind == "count":
        if value == 1 and noun.endswith("s"):
            noun = noun[:-1]
        return f"{_comparison(operator, value, _number)} {noun}{window}"
    return f"{noun} {_comparison(operator, value, show)}{window}"


def _describe_set(condition: dict, names: Mapping[str, str], window: str) -> str:
    verb = SET_VERBS[FIELDS[condition["field"]].choices]
    shown = ", ".join(names.get(value, value) for value in condition["value"])
    quantifier = {"any_of": "any of", "all_of": "all of", "none_of": "none of"}[condition["operator"]]
    if condition["operator"] == "none_of":
        return f"not {verb} any of: {shown}{window}"
    if len(condition["value"]) == 1:
        return f"{verb} {shown}{window}"
    return f"{verb} {quantifier}: {shown}{window}"


def _comparison(operator: str, value, show: Callable) -> str:
    if operator == "between":
        return f"between {show(value[0])} and {show(value[1])}"
    return f"{COMPARISONS[operator]} {show(value)}"


def _number(value) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}".rstrip("0").rstrip(".")


def _money(value) -> str:
    return f"-${-value:,.2f}" if value < 0 else f"${value:,.2f}"


def _days(value) -> str:
    return f"{value:,} day" if value == 1 else f"{value:,} days"


def choice_values(tree: dict) -> dict[str, set[str]]:
    """The set values a tree names, by choices kind (to look their display names up once)."""
    wanted: dict[str, set[str]] = {}
    for _, condition in conditions(tree):
        field = FIELDS[condition["field"]]
        if field.kind == "set":
            wanted.setdefault(field.choices, set()).update(condition["value"])
    return wanted
