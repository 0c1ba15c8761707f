"""Menus API v2 payload (``GET /menus/v2/menus`` and ``/metadata``) and cycle-safe traversal.

Modifier groups and options are not nested in the JSON: items and options hold integer
``referenceId``s into three top-level maps. An option may reference a group that (directly or not)
contains the option again, so walking references must guard against cycles (Toast guide page
"Detecting and avoiding infinite loops in the menus API JSON"). ``walk_modifiers`` does.
"""
from __future__ import annotations

from collections.abc import Iterator

from portal.toast.models import Model, Timestamp


class NamedRef(Model):
    guid: str | None = None
    name: str | None = None


class ModifierOption(Model):
    _lists = ("modifier_group_references",)
    reference_id: int | None = None
    guid: str | None = None
    name: str | None = None
    multi_location_id: str | None = None
    price: float | None = None
    pricing_strategy: str | None = None
    sales_category: NamedRef | None = None
    is_default: bool | None = None
    allows_duplicates: bool | None = None
    plu: str | None = None
    sku: str | None = None
    modifier_group_references: list[int] | None = []


class ModifierGroup(Model):
    _lists = ("modifier_option_references",)
    reference_id: int | None = None
    guid: str | None = None
    name: str | None = None
    multi_location_id: str | None = None
    min_selections: int | None = None
    max_selections: int | None = None
    required_mode: str | None = None
    is_multi_select: bool | None = None
    pre_modifier_group_reference: int | None = None
    modifier_option_references: list[int] | None = []


class PreModifier(Model):
    guid: str | None = None
    name: str | None = None
    fixed_price: float | None = None
    multiplication_factor: float | None = None
    display_mode: str | None = None


class PreModifierGroup(Model):
    _lists = ("pre_modifiers",)
    reference_id: int | None = None
    guid: str | None = None
    name: str | None = None
    pre_modifiers: list[PreModifier] | None = []


class MenuItem(Model):
    _lists = ("item_tags", "modifier_group_references")
    guid: str | None = None
    name: str | None = None
    multi_location_id: str | None = None
    master_id: int | None = None
    description: str | None = None
    price: float | None = None
    pricing_strategy: str | None = None
    sales_category: NamedRef | None = None
    item_tags: list[NamedRef] | None = []
    plu: str | None = None
    sku: str | None = None
    calories: int | None = None
    is_deferred: bool | None = None
    is_discountable: bool | None = None
    modifier_group_references: list[int] | None = []


class MenuGroup(Model):
    """Groups nest: ``menu_groups`` holds sub-groups (a JSON tree, so no cycles here)."""

    _lists = ("menu_groups", "menu_items")
    guid: str | None = None
    name: str | None = None
    multi_location_id: str | None = None
    master_id: int | None = None
    description: str | None = None
    menu_groups: list[MenuGroup] | None = []
    menu_items: list[MenuItem] | None = []


class Menu(Model):
    _lists = ("menu_groups",)
    guid: str | None = None
    name: str | None = None
    multi_location_id: str | None = None
    master_id: int | None = None
    description: str | None = None
    menu_groups: list[MenuGroup] | None = []


class MenusMetadata(Model):
    """``GET /menus/v2/metadata``: fetch ``/menus`` only when ``last_updated`` is newer than ours."""

    restaurant_guid: str | None = None
    last_updated: Timestamp | None = None


class RestaurantMenus(Model):
    """``GET /menus/v2/menus``: menus plus the reference maps keyed by ``referenceId``."""

    _lists = ("menus",)
    _maps = ("modifier_group_references", "modifier_option_references", "pre_modifier_group_references")
    restaurant_guid: str | None = None
    last_updated: Timestamp | None = None
    restaurant_time_zone: str | None = None
    menus: list[Menu] | None = []
    modifier_group_references: dict[int, ModifierGroup] | None = {}
    modifier_option_references: dict[int, ModifierOption] | None = {}
    pre_modifier_group_references: dict[int, PreModifierGroup] | None = {}

    def iter_items(self) -> Iterator[tuple[Menu, tuple[MenuGroup, ...], MenuItem]]:
        """Every item with its menu and group path (outermost first), depth-first."""
        for menu in self.menus:
            stack = [(group,) for group in reversed(menu.menu_groups)]
            while stack:
                path = stack.pop()
                for item in path[-1].menu_items:
                    yield menu, path, item
                stack.extend((*path, sub) for sub in reversed(path[-1].menu_groups))

    def modifier_groups(self, entity: MenuItem | ModifierOption) -> list[ModifierGroup]:
        """Groups an item or option references; dangling references are skipped."""
        refs = self.modifier_group_references
        return [refs[ref] for ref in entity.modifier_group_references if ref in refs]

    def modifier_options(self, group: ModifierGroup) -> list[ModifierOption]:
        """Options of a group; dangling references are skipped."""
        refs = self.modifier_option_references
        return [refs[ref] for ref in group.modifier_option_references if ref in refs]

    def walk_modifiers(
        self, entity: MenuItem | ModifierOption, max_depth: int = 8
    ) -> Iterator[tuple[int, ModifierGroup, ModifierOption]]:
        """(depth, group, option) under ``entity``, depth-first, depth 0 for its own groups.

        A group already on the current path is not entered again (a reference cycle), and nothing
        deeper than ``max_depth`` is visited, so this always ends.
        """
        yield from self._walk(entity, 0, max_depth, frozenset())

    def _walk(self, entity, depth, max_depth, on_path):
        if depth > max_depth:
            return
        groups = self.modifier_group_references
        for ref in entity.modifier_group_references:
            group = groups.get(ref)
            if group is None or ref in on_path:
                continue
            inner = on_path | {ref}
            for option in self.modifier_options(group):
                yield depth, group, option
                yield from self._walk(option, depth + 1, max_depth, inner)
