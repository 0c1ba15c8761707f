"""Menus in the menus-v2 shape (SPEC:menus ``Restaurant``), plus the flat catalog orders are drawn from.

Every location serves the same menu: entities share ``multiLocationId``/``masterId`` across locations but have
location-specific GUIDs and prices, as in a Toast restaurant group. Modifier groups live in the top-level
``modifierGroupReferences``/``modifierOptionReferences`` maps keyed by ``referenceId``; the Protein group's
"Steak" option and the Side group's "Side Salad" option carry nested modifier groups.
"""
import random
from dataclasses import dataclass

from toast_sandbox.generator_venues import Restaurant
from toast_sandbox.randomness import dollars, new_guid, rng_for, ts

# name -> (display name, minSelections, maxSelections, options (name, cents, nested group keys), pre-modifiers?)
MODIFIER_GROUPS = {
    "TEMP": ("Temperature", 1, 1, (("Rare", 0, ()), ("Medium Rare", 0, ()), ("Medium", 0, ()), ("Well Done", 0, ())),
             False),
    "ADDONS": ("Add-ons", 0, 3, (("Bacon", 250, ()), ("Avocado", 200, ()), ("Cheddar", 150, ()),
                                 ("Fried Egg", 200, ())), True),
    "PROTEIN": ("Protein", 1, 1, (("Chicken", 0, ()), ("Steak", 500, ("TEMP",)), ("Tofu", 0, ()),
                                  ("Salmon", 600, ())), False),
    "SIDE": ("Side", 1, 1, (("Fries", 0, ()), ("Side Salad", 0, ("DRESSING",)), ("Mashed Potatoes", 0, ())), False),
    "DRESSING": ("Dressing", 1, 1, (("Ranch", 0, ()), ("Balsamic Vinaigrette", 0, ()), ("Blue Cheese", 50, ())),
                 False),
    "SAUCE": ("Dipping Sauce", 0, 2, (("Aioli", 0, ()), ("Ketchup", 0, ()), ("Chipotle Mayo", 75, ())), False),
}
PRE_MODIFIERS = (("EXTRA", 100, "PREFIX"), ("ON THE SIDE", 0, "SUFFIX"), ("NO", 0, "PREFIX"))
SALES_CATEGORIES = ("Food", "Liquor", "Beer", "Wine", "NA Beverage")
# (menu, [(group, [(subgroup, items)], items)]); an item is (name, cents, sales category, modifier group keys).
MENU_TREE = (
    ("Dinner", (
        ("Starters", (), (("Truffle Fries", 900, "Food", ("SAUCE",)), ("Burrata", 1400, "Food", ()),
                          ("Crispy Calamari", 1500, "Food", ("SAUCE",)), ("Tomato Soup", 800, "Food", ()))),
        ("Mains", (
            ("Burgers", (("Juniper Burger", 1800, "Food", ("TEMP", "ADDONS")),
                         ("Veggie Burger", 1600, "Food", ("ADDONS",)))),
            ("Bowls", (("Harvest Bowl", 1500, "Food", ("PROTEIN",)), ("Poke Bowl", 1700, "Food", ("PROTEIN",)))),
        ), (("Steak Frites", 2800, "Food", ("TEMP", "SIDE")), ("Roast Chicken", 2400, "Food", ("SIDE",)),
            ("Mushroom Risotto", 2100, "Food", ()))),
        ("Desserts", (), (("Crème Brûlée", 900, "Food", ()), ("Chocolate Torte", 1000, "Food", ()))),
    )),
    ("Drinks", (
        ("Cocktails", (), (("Juniper Gin Fizz", 1400, "Liquor", ()), ("Old Fashioned", 1500, "Liquor", ()))),
        ("Beer & Wine", (), (("Local IPA", 800, "Beer", ()), ("House Red", 1100, "Wine", ()))),
        ("Non-Alcoholic", (), (("Sparkling Water", 400, "NA Beverage", ()), ("Lemonade", 500, "NA Beverage", ()),
                               ("Coffee", 350, "NA Beverage", ()))),
    )),
)
VISIBILITY = ["POS", "KIOSK", "TOAST_ONLINE_ORDERING", "ORDERING_PARTNERS"]


@dataclass(frozen=True, slots=True)
class Ref:
    """What an order selection needs to reference a menu entity (``ConfigReference``)."""
    guid: str
    multi_location_id: str
    name: str


@dataclass(frozen=True, slots=True)
class OptionChoice:
    """A modifier option and the modifier groups nested under it."""
    ref: Ref
    cents: int
    nested: tuple["GroupChoice", ...]


@dataclass(frozen=True, slots=True)
class GroupChoice:
    """A modifier group: how many options a guest picks and from what."""
    ref: Ref
    min_selections: int
    max_selections: int
    options: tuple[OptionChoice, ...]


@dataclass(frozen=True, slots=True)
class CatalogItem:
    """An orderable menu item."""
    ref: Ref
    group: Ref
    cents: int
    sales_category: Ref
    course: str
    modifier_groups: tuple[GroupChoice, ...]


@dataclass(frozen=True, slots=True)
class MenuBundle:
    """A location's published menus document and the catalog derived from it."""
    document: dict
    catalog: tuple[CatalogItem, ...]

    def course(self, name: str) -> list[CatalogItem]:
        """Items of one course: ``starter``, ``main``, ``dessert`` or ``drink``."""
        return [item for item in self.catalog if item.course == name]


class _MenuBuilder:
    """Walks MENU_TREE once per location; ``shared`` draws the group-wide ids, ``local`` the location's GUIDs."""

    def __init__(self, seed: int, restaurant: Restaurant, published_ms: int):
        self.local = rng_for(seed, "menu", restaurant.index)
        self.shared = rng_for(seed, "menu-shared")
        self.restaurant = restaurant
        # Location-specific pricing (SPEC:menus MenuItem.price): downtown locations charge a little more.
        self.price_factor = 1.0 + (restaurant.index % 3) * 0.05
        self.published_ms = published_ms
        self.group_refs: dict[str, int] = {}
        self.group_docs: dict[str, dict] = {}
        self.option_docs: dict[str, dict] = {}
        self.group_choices: dict[str, GroupChoice] = {}
        self.catalog: list[CatalogItem] = []
        self.categories = {name: Ref(new_guid(self.local), "", name) for name in SALES_CATEGORIES}
        self.pre_modifier_group = self._pre_modifier_group()

    def ids(self, name: str) -> tuple[str, str, int]:
        """(location GUID, group-wide multiLocationId, masterId) of a new entity."""
        return new_guid(self.local), str(self.shared.randrange(10**17, 10**18)), self.shared.randrange(10**8, 10**9)

    def price(self, cents: int) -> int:
        """This location's price for a group price, rounded to a quarter."""
        return int(round(cents * self.price_factor / 25) * 25)

    def build(self) -> MenuBundle:
        """Walk the tree once and return the document plus the catalog."""
        menus = [self._menu(name, groups) for name, groups in MENU_TREE]
        document = {
            "restaurantGuid": self.restaurant.guid,
            "lastUpdated": ts(self.published_ms),
            "restaurantTimeZone": self.restaurant.city.time_zone,
            "menus": menus,
            "modifierGroupReferences": self.group_docs,
            "modifierOptionReferences": self.option_docs,
            "preModifierGroupReferences": {"1": self.pre_modifier_group},
        }
        return MenuBundle(document=document, catalog=tuple(self.catalog))

    def _menu(self, name: str, groups) -> dict:
        guid, mlid, master = self.ids(name)
        schedule = [] if name == "Drinks" else [{"days": ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY",
                                                          "SATURDAY", "SUNDAY"],
                                                 "timeRanges": [{"start": "11:00", "end": "23:00"}]}]
        return {
            "name": name, "guid": guid, "multiLocationId": mlid, "masterId": master,
            "description": f"{name} menu", "posName": name, "posButtonColorLight": "#FFFFFF",
            "posButtonColorDark": "#000000", "highResImage": None, "image": None, "visibility": VISIBILITY,
            "availability": {"alwaysAvailable": not schedule, "schedule": schedule},
            "menuGroups": [self._group(group, subgroups, items) for group, subgroups, items in groups],
        }

    def _group(self, name: str, subgroups, items) -> dict:
        guid, mlid, master = self.ids(name)
        ref = Ref(guid, mlid, name)
        nested = [self._group(sub, (), sub_items) for sub, sub_items in subgroups]
        return {
            "name": name, "guid": guid, "multiLocationId": mlid, "masterId": master, "description": "",
            "posName": name, "posButtonColorLight": "#FFFFFF", "posButtonColorDark": "#000000", "image": None,
            "visibility": VISIBILITY, "itemTags": [], "menuGroups": nested,
            "menuItems": [self._item(ref, sort, *item) for sort, item in enumerate(items)],
        }

    def _item(self, group: Ref, sort: int, name: str, cents: int, category: str, modifier_keys) -> dict:
        guid, mlid, master = self.ids(name)
        price = self.price(cents)
        references = [self._modifier_group(key) for key in modifier_keys]
        self.catalog.append(CatalogItem(
            ref=Ref(guid, mlid, name), group=group, cents=price, sales_category=self.categories[category],
            course=_course(group.name, category),
            modifier_groups=tuple(self.group_choices[key] for key in modifier_keys)))
        return {
            "name": name, "kitchenName": name.upper(), "guid": guid, "multiLocationId": mlid, "masterId": master,
            "description": f"House {name.lower()}", "posName": name, "posButtonColorLight": "#FFFFFF",
            "posButtonColorDark": "#000000", "image": None, "visibility": VISIBILITY, "price": dollars(price),
            "pricingStrategy": "BASE_PRICE", "pricingRules": None, "isDeferred": False, "isDiscountable": True,
            "salesCategory": {"name": category, "guid": self.categories[category].guid},
            "taxInfo": [self.restaurant.tax_rate.guid], "taxInclusion": "TAX_NOT_INCLUDED", "itemTags": [],
            "plu": "", "sku": "", "calories": None,
            "contentAdvisories": {"alcohol": {"containsAlcohol": "YES" if category in ("Liquor", "Beer", "Wine")
                                              else "NO"}},
            "unitOfMeasure": "NONE", "portions": [], "prepTime": None, "prepStations": [],
            "modifierGroupReferences": references, "eligiblePaymentAssistancePrograms": [], "allergens": [],
            "length": None, "height": None, "width": None, "dimensionUnitOfMeasure": None, "weight": None,
            "weightUnitOfMeasure": None, "images": [], "guestCount": None, "sortOrder": sort, "isComboParent": False,
        }

    def _modifier_group(self, key: str) -> int:
        """The referenceId of group ``key``, building it (and its nested groups) on first use."""
        if key in self.group_refs:
            return self.group_refs[key]
        name, minimum, maximum, options, premods = MODIFIER_GROUPS[key]
        reference = len(self.group_refs) + 1
        self.group_refs[key] = reference
        guid, mlid, master = self.ids(name)
        built = [self._option(*option) for option in options]
        document = {
            "name": name, "guid": guid, "referenceId": reference, "multiLocationId": mlid, "masterId": master,
            "posName": name, "posButtonColorLight": "#FFFFFF", "posButtonColorDark": "#000000",
            "visibility": VISIBILITY, "pricingStrategy": "NONE", "pricingRules": None,
            "defaultOptionsChargePrice": "NO", "defaultOptionsSubstitutionPricing": "NO",
            "minSelections": minimum, "maxSelections": maximum,
            "requiredMode": "REQUIRED" if minimum else "OPTIONAL", "isMultiSelect": maximum > 1,
            "modifierOptionReferences": [option_ref for option_ref, _ in built],
        }
        if premods:
            document["preModifierGroupReference"] = 1
        self.group_docs[str(reference)] = document
        self.group_choices[key] = GroupChoice(Ref(guid, mlid, name), minimum, maximum,
                                              tuple(choice for _, choice in built))
        return reference

    def _option(self, name: str, cents: int, nested_keys) -> tuple[int, OptionChoice]:
        nested_refs = [self._modifier_group(key) for key in nested_keys]
        guid, mlid, master = self.ids(name)
        reference = 1000 + len(self.option_docs) + 1
        price = self.price(cents) if cents else 0
        self.option_docs[str(reference)] = {
            "referenceId": reference, "name": name, "kitchenName": name.upper(), "guid": guid,
            "multiLocationId": mlid, "masterId": master, "description": "", "posName": name,
            "posButtonColorLight": "#FFFFFF", "posButtonColorDark": "#000000", "prepStations": [], "image": None,
            "visibility": VISIBILITY, "price": dollars(price), "pricingStrategy": "BASE_PRICE", "pricingRules": None,
            "salesCategory": {"name": "Food", "guid": self.categories["Food"].guid}, "taxInfo": [],
            "modifierOptionTaxInfo": {"taxRateGuids": [], "overrideItemTaxRates": False}, "itemTags": [],
            "plu": "", "sku": "", "calories": None, "contentAdvisories": {"alcohol": {"containsAlcohol": "NO"}},
            "unitOfMeasure": "NONE", "isDefault": False, "allowsDuplicates": False, "portions": [], "prepTime": None,
            "modifierGroupReferences": nested_refs, "length": None, "height": None, "width": None,
            "dimensionUnitOfMeasure": None, "weight": None, "weightUnitOfMeasure": None, "images": [],
            "guestCount": None, "sortOrder": len(self.option_docs), "allergens": [],
        }
        nested = tuple(self.group_choices[key] for key in nested_keys)
        return reference, OptionChoice(Ref(guid, mlid, name), price, nested)

    def _pre_modifier_group(self) -> dict:
        guid, mlid, _ = self.ids("Pre-modifiers")
        modifiers = []
        for name, cents, mode in PRE_MODIFIERS:
            pre_guid, pre_mlid, _ = self.ids(name)
            modifiers.append({
                "name": name, "guid": pre_guid, "multiLocationId": pre_mlid,
                "fixedPrice": dollars(cents) if cents else None, "multiplicationFactor": None, "displayMode": mode,
                "posName": name, "posButtonColorLight": "#FFFFFF", "posButtonColorDark": "#000000",
                "chargeAsExtra": bool(cents), "plu": "",
            })
        return {"name": "Standard Pre-modifiers", "guid": guid, "multiLocationId": mlid, "preModifiers": modifiers}


def _course(group: str, category: str) -> str:
    if category != "Food":
        return "drink"
    return {"Starters": "starter", "Desserts": "dessert"}.get(group, "main")


def build_menu(seed: int, restaurant: Restaurant, published_ms: int) -> MenuBundle:
    """The published menus of ``restaurant`` (last published at ``published_ms``)."""
    return _MenuBuilder(seed, restaurant, published_ms).build()


def pick_modifiers(rng: random.Random, groups: tuple[GroupChoice, ...]) -> list[tuple[GroupChoice, OptionChoice, list]]:
    """Modifier choices for one selection: (group, option, nested choices) respecting min/max selections."""
    chosen = []
    for group in groups:
        upper = min(group.max_selections, len(group.options))
        count = rng.randint(group.min_selections, upper) if rng.random() < 0.6 else group.min_selections
        for option in rng.sample(group.options, count):
            chosen.append((group, option, pick_modifiers(rng, option.nested)))
    return chosen
