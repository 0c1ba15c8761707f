"""Menus payload: nested groups, reference maps, and traversal that survives reference cycles."""
import json

import pytest

from portal.toast import decoding
from portal.toast.errors import PayloadError


def _menus(modifier_groups, modifier_options):
    return {
        "restaurantGuid": "r-1",
        "lastUpdated": "2024-05-01T12:00:00.000+0000",
        "restaurantTimeZone": "America/New_York",
        "menus": [{
            "guid": "m-1", "name": "Food",
            "menuGroups": [{
                "guid": "g-1", "name": "Pizza",
                "menuItems": [{"guid": "i-1", "name": "Margherita", "price": 12.5, "modifierGroupReferences": [1, 99]}],
                "menuGroups": [{"guid": "g-2", "name": "Calzones", "menuGroups": None,
                                "menuItems": [{"guid": "i-2", "name": "Calzone", "masterId": 12345678901234}]}],
            }],
        }],
        "modifierGroupReferences": modifier_groups,
        "modifierOptionReferences": modifier_options,
        "preModifierGroupReferences": {"22": {"referenceId": 22, "name": "PreMods",
                                              "preModifiers": [{"name": "EXTRA", "fixedPrice": 1.0}]}},
    }


CYCLIC_GROUPS = {
    "1": {"referenceId": 1, "guid": "mg-1", "name": "Toppings", "modifierOptionReferences": [10, 11, 404]},
    "2": {"referenceId": 2, "guid": "mg-2", "name": "Cheese kind", "modifierOptionReferences": [12]},
}
CYCLIC_OPTIONS = {
    "10": {"referenceId": 10, "name": "Mushrooms", "price": 1.0},
    # Cheese -> group 2 -> option 12 -> group 1 (Toppings) again: a cycle through the reference maps.
    "11": {"referenceId": 11, "name": "Cheese", "modifierGroupReferences": [2]},
    "12": {"referenceId": 12, "name": "Extra toppings", "modifierGroupReferences": [1]},
}


def test_menus_parse_nested_groups_and_reference_maps():
    menus = decoding.decode_menus(json.dumps(_menus(CYCLIC_GROUPS, CYCLIC_OPTIONS)).encode())
    assert menus.restaurant_guid == "r-1" and menus.last_updated.year == 2024
    assert menus.menus[0].menu_groups[0].menu_groups[0].menu_items[0].master_id == 12345678901234
    assert menus.modifier_group_references[1].name == "Toppings"  # JSON string keys become ints
    assert menus.pre_modifier_group_references[22].pre_modifiers[0].fixed_price == 1.0
    items = [(menu.name, [g.name for g in path], item.name) for menu, path, item in menus.iter_items()]
    assert items == [("Food", ["Pizza"], "Margherita"), ("Food", ["Pizza", "Calzones"], "Calzone")]


def test_walk_modifiers_stops_at_reference_cycles_and_skips_dangling_references():
    menus = decoding.decode_menus(json.dumps(_menus(CYCLIC_GROUPS, CYCLIC_OPTIONS)).encode())
    item = next(item for _, _, item in menus.iter_items())
    walked = [(depth, group.name, option.name) for depth, group, option in menus.walk_modifiers(item)]
    assert walked == [
        (0, "Toppings", "Mushrooms"),
        (0, "Toppings", "Cheese"),
        (1, "Cheese kind", "Extra toppings"),  # its group 1 is already on the path: not entered again
    ]
    assert [g.name for g in menus.modifier_groups(item)] == ["Toppings"]  # 99 dangles


def test_walk_modifiers_respects_max_depth_on_a_long_chain():
    groups = {str(n): {"referenceId": n, "name": f"G{n}", "modifierOptionReferences": [100 + n]} for n in range(1, 30)}
    options = {str(100 + n): {"referenceId": 100 + n, "name": f"O{n}", "modifierGroupReferences": [n + 1]}
               for n in range(1, 30)}
    menus = decoding.decode_menus(json.dumps(_menus(groups, options)).encode())
    item = next(item for _, _, item in menus.iter_items())
    depths = [depth for depth, _, _ in menus.walk_modifiers(item, max_depth=5)]
    assert depths == [0, 1, 2, 3, 4, 5]


def test_null_maps_and_metadata():
    menus = decoding.decode_menus(b'{"menus": null, "modifierGroupReferences": null}')
    assert menus.menus == [] and menus.modifier_group_references == {} and menus.modifier_option_references == {}
    meta = decoding.decode_menus_metadata(b'{"restaurantGuid": "r-1", "lastUpdated": "2024-05-01T12:00:00.000Z"}')
    assert meta.restaurant_guid == "r-1" and meta.last_updated.hour == 12


def test_bad_reference_key_is_a_payload_error():
    with pytest.raises(PayloadError, match=r"menus: modifierGroupReferences \(a map key\): expected an integer"):
        decoding.decode_menus(b'{"modifierGroupReferences": {"x": {}}}')
