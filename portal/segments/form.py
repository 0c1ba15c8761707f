"""The builder's HTML form ↔ rule trees.

The form lists its nodes in page order as ``node = "<key>:<parent key>:<group|condition>"`` (the root group is
"root"); each node's inputs are named ``<key>.<name>`` (``op``; or ``field``, ``operator``, ``value``,
``value2``, ``window_days``, ``among``). Keys are short random tokens made by the fragment that adds a row, so
rows can be added and removed in the page without renumbering.

Values are converted by field kind where they parse; what does not parse is passed on as typed, and the one
schema (portal.segments.rules) reports it, so every message comes from the same place.
"""
import re
import secrets
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from portal.segments.rules import FIELDS, PERCENT_OPERATORS, RulesError, validate

ROOT = "root"
KEY_PATTERN = re.compile(r"^[a-z0-9]{1,16}$")
MAX_NODES = 100
DEFAULT_CONDITION = {"field": "order_count", "operator": "gte", "value": 1}
OPERATOR_LABELS = {
    "gte": "at least", "gt": "more than", "eq": "exactly", "neq": "not", "lte": "at most", "lt": "less than",
    "between": "between", "top_percent": "in the top", "bottom_percent": "in the bottom",
    "on_or_after": "on or after", "after": "after", "on": "on", "before": "before", "on_or_before": "on or before",
    "any_of": "any of", "all_of": "all of", "none_of": "none of", "is": "is",
}


def new_key() -> str:
    return secrets.token_hex(4)


@dataclass
class Parsed:
    """What the form said: the tree (valid or not), its rows with the form's own keys, and messages by node
    key (None: the rules as a whole)."""

    tree: dict
    rows: list["Row"]
    errors: dict[str | None, list[str]] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def keys(self) -> list[str]:
        return [key for row in self.rows for key in (row.key, *(child.key for child in row.children))]


def parse(form) -> Parsed:
    """Build and validate the rule tree of a builder form (a werkzeug MultiDict)."""
    root = {"op": form.get(f"{ROOT}.op", "and"), "rules": []}
    groups, keys_by_path, top, seen = {ROOT: root}, {}, [], {ROOT: None}
    for entry in form.getlist("node")[:MAX_NODES]:
        key, _, rest = entry.partition(":")
        parent, _, kind = rest.partition(":")
        if not KEY_PATTERN.match(key) or parent not in groups or key in seen:
            continue
        siblings = groups[parent]["rules"]
        path = _child_path(keys_by_path, parent, len(siblings))
        if kind == "group" and parent == ROOT:
            node = groups[key] = {"op": form.get(f"{key}.op", "and"), "rules": []}
        elif kind == "condition":
            node = _condition(form, key)
        else:
            continue
        keys_by_path[path] = key
        siblings.append(node)
        seen[key] = row = Row(key=key, parent=parent, node=node)
        if parent == ROOT:
            top.append(row)
        else:
            seen[parent].children.append(row)
    try:
        return Parsed(tree=validate(root), rows=top)
    except RulesError as exc:
        return Parsed(tree=root, rows=top, errors=_errors_by_key(exc.problems, keys_by_path))


def _child_path(keys_by_path: dict, parent: str, index: int) -> str:
    parent_path = next((path for path, key in keys_by_path.items() if key == parent), "")
    return f"{parent_path}.rules[{index}]" if parent_path else f"rules[{index}]"


def _errors_by_key(problems, keys_by_path: dict) -> dict[str | None, list[str]]:
    """Each problem goes to the deepest node its path names (a condition, else its group, else the rules)."""
    errors: dict[str | None, list[str]] = {}
    for path, message in problems:
        owner, best = None, ""
        for node_path, key in keys_by_path.items():
            if (path == node_path or path.startswith(node_path + ".")) and len(node_path) > len(best):
                owner, best = key, node_path
        errors.setdefault(owner, []).append(message)
    return errors


def _condition(form, key: str) -> dict:
    name = form.get(f"{key}.field", "")
    operator = form.get(f"{key}.operator", "")
    spec = FIELDS.get(name)
    condition = {"field": name, "operator": operator}
    if spec is None:
        return condition
    if spec.kind == "set":
        condition["value"] = [v for v in form.getlist(f"{key}.value") if v]
    elif operator == "between":
        condition["value"] = [_convert(spec.kind, form.get(f"{key}.value", "")),
                              _convert(spec.kind, form.get(f"{key}.value2", ""))]
    else:
        kind = "percent" if operator in PERCENT_OPERATORS else spec.kind
        condition["value"] = _convert(kind, form.get(f"{key}.value", ""))
    window = form.get(f"{key}.window_days", "").strip()
    if window and spec.windowed and operator not in PERCENT_OPERATORS:
        condition["window_days"] = _convert("count", window)
    if operator in PERCENT_OPERATORS:
        condition["among"] = form.get(f"{key}.among", "all")
    return condition


def _convert(kind: str, raw: str):
    text = raw.strip().replace(",", "")
    if kind == "flag":
        return {"true": True, "false": False}.get(text, text)
    if kind == "date":
        return text
    if kind in ("money", "percent", "decimal"):
        text = text.lstrip("$")
        try:
            number = Decimal(text)
        except InvalidOperation:
            return raw
        if not number.is_finite():
            return raw
        return int(number) if number == number.to_integral_value() else float(number)
    try:
        return int(text)
    except ValueError:
        return raw


# tree → rows for the templates ---------------------------------------------------------------------------


@dataclass
class Row:
    """A node as the builder draws it."""

    key: str
    parent: str
    node: dict
    children: list["Row"] = field(default_factory=list)

    @property
    def is_group(self) -> bool:
        return "op" in self.node


def rows(tree: dict) -> list[Row]:
    """The root's children as rows with fresh keys (groups hold their conditions)."""
    result = []
    for node in tree.get("rules", []):
        row = Row(key=new_key(), parent=ROOT, node=node)
        if row.is_group:
            row.children = [Row(key=new_key(), parent=row.key, node=child) for child in node.get("rules", [])]
        result.append(row)
    return result


def value_text(condition: dict, index: int | None = None) -> str:
    """A condition's value as the input shows it (the raw text when it was not valid)."""
    value = condition.get("value")
    if index is not None:
        value = value[index] if isinstance(value, list) and len(value) > index else ""
    if value is None or isinstance(value, list):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
