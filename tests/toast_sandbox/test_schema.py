"""Every response the sandbox serves validates against Toast's published Swagger 2.0 schemas.

Swagger is read faithfully: YAML 1.2 booleans (only ``true``/``false``: the menus spec's ``enum: [YES, NO]`` are
strings), ``x-nullable: true`` allows null, ``date-time`` means Toast's ``yyyy-MM-dd'T'HH:mm:ss.SSS±hhmm`` and
``uuid`` a GUID. Where the spec disagrees with what Toast itself sends, the disagreement is a named
``KnownException`` below; ``test_every_known_exception_is_needed`` proves each one is still required, and
``test_toast_documented_examples_need_the_same_exceptions`` checks them against Toast's own examples.
"""
import copy
import json
import re
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

import jsonschema
import pytest
import yaml

from tests.toast_sandbox.conftest import FIXED_NOW, SHARED, FakeClock
from toast_sandbox import LIMITED_CLIENT, PARTNER_CLIENT

SPECS = SHARED / "toast-openapi"
SAMPLES = SHARED / "toast-samples"
TOAST_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{4}$")
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@dataclass(frozen=True)
class KnownException:
    """A place where Toast's spec and Toast's payloads disagree; the validator follows the payloads."""
    name: str
    why: str


UNSET_OPTIONAL_IS_NULL = KnownException(
    "UNSET_OPTIONAL_IS_NULL",
    "The authentication, orders, partners and restaurants specs never use x-nullable (labor only once, on a "
    "definition the sandbox does not serve), yet Toast sends "
    "null for unset optional values (voidDate, table, refund, voidInfo, externalId, token.scope, "
    "ErrorMessage.messageKey, PaginatedResponse.nextPageNum 'Null if ... last page'; see toast-samples). "
    "There, a property that is not required may be null.")
LOYALTY_CUSTOMER_GUID_ONLY = KnownException(
    "LOYALTY_CUSTOMER_GUID_ONLY",
    "Customer requires firstName/lastName/email/phone, but Check.customer's own description says loyalty checks "
    "carry a Customer with only the guest GUID and all other values null.")
CONNECTED_RESTAURANTS_IS_AN_OBJECT = KnownException(
    "CONNECTED_RESTAURANTS_IS_AN_OBJECT",
    "The partners spec declares the 200 of /connectedRestaurants as an array of PaginatedResponse, while its "
    "description and example return one PaginatedResponse object.")
WEBHOOK_PII_REMOVED = KnownException(
    "WEBHOOK_PII_REMOVED",
    "Webhook orders omit firstName/lastName/phone and address1/city/state/zipCode (DG:devOrdersWebhookRef), "
    "which Customer and DeliveryInfo mark required.")
SAMPLE_MISSING_GUIDS = KnownException(
    "SAMPLE_MISSING_GUIDS",
    "Toast's documented single-order example has no guid on customer, appliedTaxes and curbsidePickupInfo "
    "(toast-samples/SOURCES.md); only Toast's own examples need this.")
NULLS_IN = ("authentication", "labor", "orders", "partners", "restaurants")
SERVED_EXCEPTIONS = (UNSET_OPTIONAL_IS_NULL, LOYALTY_CUSTOMER_GUID_ONLY, CONNECTED_RESTAURANTS_IS_AN_OBJECT)


class Yaml12Loader(yaml.SafeLoader):
    """PyYAML resolves YES/NO/on/off as booleans (YAML 1.1); Swagger files are YAML 1.2 where they are strings."""


Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
Yaml12Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                   list("tTfF"))

FORMATS = jsonschema.FormatChecker(formats=())
FORMATS.checks("date-time")(lambda value: not isinstance(value, str) or bool(TOAST_TIMESTAMP.match(value)))
FORMATS.checks("uuid")(lambda value: not isinstance(value, str) or bool(GUID.match(value)))


@cache
def load_spec(api: str) -> dict:
    """The parsed Swagger file of ``api`` (authentication, labor, menus, orders, partners, restaurants)."""
    with open(SPECS / f"toast-{api}-openapi.yaml", encoding="utf-8") as handle:
        return yaml.load(handle, Loader=Yaml12Loader)


def _nullable(node: dict) -> dict:
    return {"anyOf": [{"type": "null"}, node]}


def _convert(node, allow_nulls: bool):
    """Swagger schema → JSON Schema draft 4: honour x-nullable, and (with ``allow_nulls``) null optionals."""
    if isinstance(node, list):
        return [_convert(item, allow_nulls) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _convert(value, allow_nulls) for key, value in node.items()
                 if key not in ("x-nullable", "example", "properties")}
    if isinstance(node.get("properties"), dict):
        required = set(node.get("required", []))
        converted["properties"] = {
            name: (_nullable(_convert(schema, allow_nulls)) if allow_nulls and name not in required
                   else _convert(schema, allow_nulls))
            for name, schema in node["properties"].items()}
    return _nullable(converted) if node.get("x-nullable") else converted


def _guid_only_customer() -> dict:
    nulls = {name: {"type": "null"} for name in ("firstName", "lastName", "phone", "phoneCountryCode", "email")}
    return {"type": "object", "required": ["guid", "entityType"],
            "properties": {"guid": {"type": "string"}, "entityType": {"type": "string"}, **nulls}}


def definitions(api: str, exceptions: frozenset) -> dict:
    """The spec's definitions converted, with ``exceptions`` applied."""
    spec = load_spec(api)
    converted = _convert(copy.deepcopy(spec["definitions"]), UNSET_OPTIONAL_IS_NULL in exceptions and api in NULLS_IN)
    if api == "orders" and LOYALTY_CUSTOMER_GUID_ONLY in exceptions:
        converted["Customer"] = {"anyOf": [converted["Customer"], _guid_only_customer()]}
    if api == "orders" and WEBHOOK_PII_REMOVED in exceptions:
        _drop_required(converted["Customer"], {"firstName", "lastName", "phone"})
        _drop_required(converted["DeliveryInfo"], {"address1", "city", "state", "zipCode"})
    if api == "orders" and SAMPLE_MISSING_GUIDS in exceptions:
        for name in ("Customer", "AppliedTaxRate", "CurbsidePickupInfo", "ToastReference"):
            _drop_required(converted[name], {"guid"})
    return converted


def _drop_required(node, names: set) -> None:
    if isinstance(node, dict):
        if isinstance(node.get("required"), list):
            node["required"] = [name for name in node["required"] if name not in names] or None
            if node["required"] is None:
                del node["required"]
        for value in node.values():
            _drop_required(value, names)
    elif isinstance(node, list):
        for value in node:
            _drop_required(value, names)


def response_schema(api: str, path: str, status: str = "200", method: str = "get",
                    exceptions: frozenset = frozenset(SERVED_EXCEPTIONS)) -> dict:
    """The response schema of an operation, self-contained (definitions attached)."""
    node = load_spec(api)["paths"][path][method]["responses"][status]["schema"]
    schema = _convert(copy.deepcopy(node), UNSET_OPTIONAL_IS_NULL in exceptions and api in NULLS_IN)
    if api == "partners" and path == "/connectedRestaurants" and CONNECTED_RESTAURANTS_IS_AN_OBJECT in exceptions:
        schema = schema["items"]
    return {**schema, "definitions": definitions(api, exceptions)}


def definition_schema(api: str, name: str, exceptions: frozenset = frozenset(SERVED_EXCEPTIONS)) -> dict:
    """A named definition as a self-contained schema."""
    return {"$ref": f"#/definitions/{name}", "definitions": definitions(api, exceptions)}


def problems(schema: dict, document) -> list[str]:
    """Validation errors of ``document`` (empty when it conforms)."""
    validator = jsonschema.Draft4Validator(schema, format_checker=FORMATS)
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message[:200]}"
            for error in validator.iter_errors(document)]


def first_problem(schema: dict, document):
    """The first validation error, or None (cheaper than ``problems`` on documents that fail a lot)."""
    return next(jsonschema.Draft4Validator(schema, format_checker=FORMATS).iter_errors(document), None)


def assert_valid(schema: dict, document) -> None:
    found = problems(schema, document)
    assert not found, "\n".join(found[:10])


# -- samples of real responses -----------------------------------------------------------------------------------

def special_cases(order: dict) -> set[str]:
    """The Toast edge cases an order exhibits."""
    cases = {name for name in ("voided", "deleted") if order[name]}
    checks = order["checks"]
    if len(checks) > 1:
        cases.add("split")
    for check in checks:
        customer = check.get("customer")
        if customer and customer["firstName"] is None:
            cases.add("loyalty")
        if check["voided"] and not order["voided"]:
            cases.add("voided_check")
        if any(payment["refund"] for payment in check["payments"]):
            cases.add("refund")
        if any(selection["modifiers"] for selection in check["selections"]):
            cases.add("modifiers")
    if order.get("curbsidePickupInfo"):
        cases.add("curbside")
    if order.get("deliveryInfo"):
        cases.add("delivery")
    return cases


def sample_orders(history: list[dict]) -> list[dict]:
    """Every order with an edge case, plus every 8th plain one (validating all would be slow)."""
    return [order for position, order in enumerate(history) if special_cases(order) - {"modifiers"}
            or position % 8 == 0]


def test_sample_covers_every_edge_case(history):
    covered = set().union(*(special_cases(order) for order in sample_orders(history)))
    assert covered >= {"voided", "deleted", "split", "loyalty", "voided_check", "refund", "modifiers", "curbside",
                       "delivery"}


def test_login_responses_match_spec(api):
    assert_valid(response_schema("authentication", "/authentication/login", method="post"), api.login().json)
    refused = api.login(secret="wrong")
    assert refused.status_code == 401
    assert_valid(response_schema("authentication", "/authentication/login", "401", method="post"), refused.json)


def test_orders_bulk_matches_spec(history):
    assert_valid(response_schema("orders", "/ordersBulk"), sample_orders(history))


def test_orders_bulk_without_pii_scopes_matches_spec(api):
    orders = api.all_orders(FIXED_NOW - timedelta(days=7), FIXED_NOW, client_id=LIMITED_CLIENT)
    assert_valid(response_schema("orders", "/ordersBulk"), sample_orders(orders))


def test_single_orders_match_spec(api, history):
    schema = response_schema("orders", "/orders/{guid}")
    seen = set()
    for order in history:
        new = special_cases(order) - seen
        if new:
            seen |= new
            response = api.get(f"/orders/v2/orders/{order['guid']}")
            assert response.status_code == 200
            assert_valid(schema, response.json)


def test_restaurant_endpoints_match_spec(api):
    state = api.state
    info = api.get(f"/restaurants/v1/restaurants/{state.restaurant_guids[0]}")
    assert_valid(response_schema("restaurants", "/restaurants/{restaurantGUID}"), info.json)
    group = api.get(f"/restaurants/v1/groups/{state.group_guid}/restaurants")
    assert_valid(response_schema("restaurants", "/groups/{managementGroupGUID}/restaurants"), group.json)


def test_menu_endpoints_match_spec(api):
    assert_valid(response_schema("menus", "/menus"), api.get("/menus/v2/menus").json)
    assert_valid(response_schema("menus", "/metadata"), api.get("/menus/v2/metadata").json)


def test_employees_match_spec(api):
    employees = api.get("/labor/v1/employees").json
    assert any(person["deleted"] for person in employees)
    assert_valid(response_schema("labor", "/employees"), employees)


def test_partner_endpoints_match_spec(api):
    accessible = api.get("/partners/v1/restaurants", restaurant=None, client_id=PARTNER_CLIENT)
    assert_valid(response_schema("partners", "/restaurants"), accessible.json)
    first = api.get("/partners/v1/connectedRestaurants", restaurant=None, client_id=PARTNER_CLIENT,
                    params={"pageSize": 1})
    last = api.get("/partners/v1/connectedRestaurants", restaurant=None, client_id=PARTNER_CLIENT,
                   params={"pageToken": first.json["nextPageToken"]})
    for page in (first.json, last.json):
        assert_valid(response_schema("partners", "/connectedRestaurants"), page)


def error_bodies(api, make_api) -> dict[str, object]:
    """One real ErrorMessage response per kind of error the sandbox produces."""
    window = {"startDate": "2024-01-01T00:00:00.000+0000", "endDate": "2024-03-01T00:00:00.000+0000"}
    state = api.state
    bodies = {
        "400 window": api.get("/orders/v2/ordersBulk", params=window),
        "400 group guid": api.get("/labor/v1/employees", restaurant=state.group_guid),
        "400 malformed guid": api.get("/orders/v2/orders/not-a-guid"),
        "401": api.http.get("/orders/v2/ordersBulk", headers={"Authorization": "Bearer forged"}),
        "403 unreachable location": api.get("/labor/v1/employees", client_id=PARTNER_CLIENT,
                                            restaurant=state.restaurant_guids[-1]),
        "403 partners only": api.get("/partners/v1/restaurants", restaurant=None),
        "404": api.get(f"/orders/v2/orders/{state.group_guid}"),
    }
    fresh = make_api(rate_limits=None, clock=FakeClock(), clients={"orders-only": {"scopes": ["orders:read"]}})
    bodies["403 scope"] = fresh.get("/labor/v1/employees", client_id="orders-only")
    first = fresh.get("/config/v2/diningOptions")
    fresh.state.publish_config_change(fresh.state.restaurant_guids[0])
    bodies["409"] = fresh.get("/config/v2/diningOptions", params={"pageToken": first.headers["Toast-Next-Page-Token"]})
    fresh.get("/menus/v2/menus")
    bodies["429"] = fresh.get("/menus/v2/menus")
    return bodies


def test_error_bodies_match_spec(api, make_api):
    schema = definition_schema("authentication", "ErrorMessage")
    for name, response in error_bodies(api, make_api).items():
        assert str(response.status_code) == name.split()[0], (name, response.json)
        assert_valid(schema, response.json)


# The configuration API spec is not among the shared files; these follow toast-api.md §5 (DiningOption) and the
# configuration API reference's RevenueCenter (guid, entityType, name, description).
DINING_OPTION = {
    "type": "object", "required": ["guid", "entityType", "name", "behavior", "curbside"], "additionalProperties": False,
    "properties": {"guid": {"type": "string", "format": "uuid"}, "entityType": {"enum": ["DiningOption"]},
                   "externalId": {"type": ["string", "null"]}, "name": {"type": "string"},
                   "behavior": {"enum": ["DINE_IN", "TAKE_OUT", "DELIVERY"]}, "curbside": {"type": "boolean"}}}
REVENUE_CENTER = {
    "type": "object", "required": ["guid", "entityType", "name"], "additionalProperties": False,
    "properties": {"guid": {"type": "string", "format": "uuid"}, "entityType": {"enum": ["RevenueCenter"]},
                   "name": {"type": "string"}, "description": {"type": ["string", "null"]}}}


@pytest.mark.parametrize("path, item", [("/config/v2/diningOptions", DINING_OPTION),
                                        ("/config/v2/revenueCenters", REVENUE_CENTER)])
def test_config_endpoints_match_documented_fields(api, path, item):
    page = api.get(path)
    assert page.status_code == 200
    assert_valid({"type": "array", "maxItems": 300, "items": item}, page.json)


def test_every_known_exception_is_needed(api, history):
    """Dropping any exception makes a real sandbox response fail: none of them is slack."""
    loyalty = [order for order in history if "loyalty" in special_cases(order)][:3]
    connected = api.get("/partners/v1/connectedRestaurants", restaurant=None, client_id=PARTNER_CLIENT).json
    cases = {
        UNSET_OPTIONAL_IS_NULL: ("orders", "/ordersBulk", history[:1]),
        LOYALTY_CUSTOMER_GUID_ONLY: ("orders", "/ordersBulk", loyalty),
        CONNECTED_RESTAURANTS_IS_AN_OBJECT: ("partners", "/connectedRestaurants", connected),
    }
    assert set(cases) == set(SERVED_EXCEPTIONS)
    for exception, (spec, path, document) in cases.items():
        assert not problems(response_schema(spec, path), document), exception.name
        without = frozenset(SERVED_EXCEPTIONS) - {exception}
        assert first_problem(response_schema(spec, path, exceptions=without), document), \
            f"{exception.name} is no longer needed"


def test_toast_documented_examples_need_the_same_exceptions():
    """Toast's own examples validate under the same exceptions (plus the one their missing GUIDs need)."""
    order = json.loads((SAMPLES / "order-get-single-example.json").read_text(encoding="utf-8"))
    webhook = json.loads((SAMPLES / "webhook-order_updated-example.json").read_text(encoding="utf-8"))
    employees = json.loads((SAMPLES / "labor-employees-example.json").read_text(encoding="utf-8"))
    with_guids_missing = frozenset(SERVED_EXCEPTIONS) | {SAMPLE_MISSING_GUIDS}
    assert_valid(definition_schema("orders", "Order", with_guids_missing), order)
    assert problems(definition_schema("orders", "Order"), order), "the example should lack the required GUIDs"
    assert_valid(definition_schema("orders", "Order"), webhook["details"]["order"])
    assert_valid(response_schema("labor", "/employees"), employees)
    assert problems(response_schema("labor", "/employees", exceptions=frozenset()), employees)
