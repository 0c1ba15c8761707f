"""The one schema of segment rules: what it accepts, and messages that name what it refuses."""
import pytest

from portal.segments.presets import PRESETS, describe
from portal.segments.rules import MAX_CONDITIONS, RulesError, validate


def problems(tree) -> list[tuple[str, str]]:
    with pytest.raises(RulesError) as caught:
        validate(tree)
    return caught.value.problems


def test_presets_are_valid_and_normalized_without_change():
    for _, _, tree in PRESETS:
        assert validate(tree) == validate(validate(tree))


def test_an_unknown_key_in_a_condition_is_named_with_its_path():
    tree = {"op": "and", "rules": [{"op": "or", "rules": [
        {"field": "order_count", "operator": "gte", "value": 1, "colour": "red"}]}]}
    assert problems(tree) == [("rules[0].rules[0].colour", "unknown field 'colour' in a condition")]


def test_an_unknown_field_is_named():
    [(path, message)] = problems({"op": "and", "rules": [{"field": "shoe_size", "operator": "gte", "value": 1}]})
    assert path == "rules[0].field" and "unknown field 'shoe_size'" in message


def test_an_unknown_operator_is_named_with_the_allowed_ones():
    [(path, message)] = problems({"op": "and", "rules": [{"field": "order_count", "operator": "≈", "value": 1}]})
    assert path == "rules[0].operator"
    assert "unknown operator '≈' for order_count" in message and "gte" in message


def test_an_unknown_group_operator_and_group_key_are_named():
    found = problems({"op": "xor", "rules": [], "limit": 5})
    assert ("limit", "unknown field 'limit' in a group (allowed: op, rules)") in found
    assert any(path == "op" and "'xor'" in message for path, message in found)


def test_operators_belong_to_their_field():
    [(path, message)] = problems({"op": "and", "rules": [{"field": "tag", "operator": "gte", "value": ["vip"]}]})
    assert path == "rules[0].operator" and "any_of" in message


@pytest.mark.parametrize(("condition", "fragment"), [
    ({"field": "order_count", "operator": "gte", "value": "two"}, "whole number"),
    ({"field": "order_count", "operator": "gte", "value": 1.5}, "whole number"),
    ({"field": "order_count", "operator": "gte", "value": True}, "whole number"),
    ({"field": "order_count", "operator": "gte", "value": -1}, "whole number"),
    ({"field": "order_count", "operator": "gte"}, "a value is required"),
    ({"field": "net_spend", "operator": "gte", "value": 10.001}, "two decimals"),
    ({"field": "net_spend", "operator": "gte", "value": float("nan")}, "two decimals"),
    ({"field": "net_spend", "operator": "gte", "value": 1e12}, "amount from"),
    ({"field": "net_spend", "operator": "between", "value": [5]}, "two values"),
    ({"field": "net_spend", "operator": "between", "value": [9, 5]}, "must not exceed"),
    ({"field": "first_order_date", "operator": "on", "value": "2026-02-30"}, "date"),
    ({"field": "location", "operator": "any_of", "value": []}, "choose 1"),
    ({"field": "location", "operator": "any_of", "value": "3"}, "choose 1"),
    ({"field": "has_email", "operator": "is", "value": "yes"}, "true or false"),
    ({"field": "net_spend", "operator": "top_percent", "value": 0}, "percentage from"),
    ({"field": "net_spend", "operator": "top_percent", "value": 101}, "percentage from"),
    ({"field": "net_spend", "operator": "top_percent", "value": 20, "among": "martians"}, "unknown population"),
    ({"field": "net_spend", "operator": "gte", "value": 1, "among": "all"}, "'among' goes with"),
    ({"field": "tips", "operator": "gte", "value": 1, "window_days": 30}, "no 'in the last N days'"),
    ({"field": "net_spend", "operator": "top_percent", "value": 5, "window_days": 30}, "over all time"),
    ({"field": "order_count", "operator": "gte", "value": 1, "window_days": 0}, "whole number"),
])
def test_bad_values_are_refused_with_a_message(condition, fragment):
    [(path, message)] = problems({"op": "and", "rules": [condition]})
    assert path.startswith("rules[0]") and fragment in message


def test_every_problem_is_reported_at_once():
    tree = {"op": "and", "rules": [
        {"field": "order_count", "operator": "gte", "value": "x"},
        {"op": "or", "rules": [{"field": "nope", "operator": "gte", "value": 1}]},
    ]}
    assert [path for path, _ in problems(tree)] == ["rules[0].value", "rules[1].rules[0].field"]


def test_nesting_is_one_level_deep_and_groups_are_not_empty():
    deep = {"op": "and", "rules": [{"op": "or", "rules": [{"op": "and", "rules": [
        {"field": "order_count", "operator": "gte", "value": 1}]}]}]}
    assert any("nest" in message for _, message in problems(deep))
    assert problems({"op": "and", "rules": [{"op": "or", "rules": []}]}) == [
        ("rules[0]", "a group needs at least one condition")]
    assert validate({"op": "or", "rules": []}) == {"op": "or", "rules": []}


def test_not_a_tree_at_all():
    assert problems(["order_count"]) == [("", "a group must be an object with 'op' and 'rules'")]
    assert problems({"op": "and", "rules": [42]})[0][0] == "rules[0]"


def test_too_many_conditions():
    tree = {"op": "and", "rules": [{"field": "order_count", "operator": "gte", "value": 1}] * (MAX_CONDITIONS + 1)}
    assert ("", f"at most {MAX_CONDITIONS} conditions") in problems(tree)


def test_normalization_sorts_and_deduplicates_sets_and_keeps_numbers_plain():
    tree = validate({"op": "and", "rules": [
        {"field": "tag", "operator": "any_of", "value": ["vip", "staff", "vip"]},
        {"field": "net_spend", "operator": "gte", "value": 25.0},
        {"field": "net_spend", "operator": "top_percent", "value": 12.5},
    ]})
    assert tree["rules"][0]["value"] == ["staff", "vip"]
    assert tree["rules"][1]["value"] == 25 and isinstance(tree["rules"][1]["value"], int)
    assert tree["rules"][2] == {"field": "net_spend", "operator": "top_percent", "value": 12.5, "among": "all"}


def test_presets_in_plain_words():
    words = {slug: describe(validate(tree)) for slug, _, tree in PRESETS}
    assert words == {
        "lapsed": "at least 2 orders and last order at least 60 days ago",
        "high-spend-delivery": "at least 1 delivery order and delivery spend in the top 20% of guests with a "
                               "delivery order",
        "new": "first order less than 30 days ago",
        "regulars": "at least 4 orders in the last 90 days",
        "big-spenders": "net spend in the top 10% of all guests",
        "one-and-done": "exactly 1 order and last order more than 30 days ago",
    }


def test_any_tree_in_plain_words():
    tree = validate({"op": "or", "rules": [
        {"op": "and", "rules": [
            {"field": "net_spend", "operator": "between", "value": [10, 99.5], "window_days": 30},
            {"field": "location", "operator": "all_of", "value": ["7", "9"]},
        ]},
        {"field": "tag", "operator": "none_of", "value": ["staff"]},
        {"field": "marketing_opt_out", "operator": "is", "value": False},
        {"field": "first_order_date", "operator": "on_or_after", "value": "2026-01-01"},
    ]})
    assert describe(tree, {"location": {"7": "Harbor", "9": "Uptown"}}) == (
        "(net spend between $10.00 and $99.50 in the last 30 days and ordered at all of: Harbor, Uptown)"
        " or not tagged any of: staff or has not opted out of marketing or first order on or after 2026-01-01"
    )
    assert describe(validate({"op": "and", "rules": []})) == "all guests"
