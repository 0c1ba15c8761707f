"""Toast response bytes -> model objects; type errors become PayloadError naming field and order.

Decoding is msgspec's typed decoder straight from bytes (faster than ``json.loads`` alone). Only
when it fails do we decode the bytes again, untyped, to find the order GUID and the bad value for
the message, e.g. ``order 017f...: checks[0].amount: expected a number, got 'abc'``.
"""
from __future__ import annotations

import functools
import re
from typing import Any, TypeVar

import msgspec

from portal.toast.errors import PayloadError
from portal.toast.menus import MenusMetadata, RestaurantMenus
from portal.toast.models import Order, OrderWebhookEvent

T = TypeVar("T")

_ANY_INDEX = object()  # matches any list index in an item prefix
_TOKEN = re.compile(r"\.([^.\[]+)|\[(\d+)\]|\[\.\.\.\]")
_EXPECTED = re.compile(r"Expected `([^`]*)`, got `([^`]*)`")
_TYPE_WORDS = {
    "float": "a number",
    "int": "an integer",
    "str": "a string",
    "bool": "a boolean",
    "object": "an object",
    "dict": "an object",
    "array": "an array",
    "list": "an array",
    "datetime": "a timestamp",
    "NoneType": "null",
}
_NAIVE_TIMESTAMP = "Expected `datetime` with a timezone component"
# Values of these fields never go into a message: messages end up in logs.
_PII_FIELDS = frozenset(
    {"firstName", "lastName", "chosenName", "phone", "phoneNumber", "email", "address1", "address2",
     "city", "zipCode", "state", "latitude", "longitude", "notes", "tabName", "createdByEmailAddress"}
)


@functools.cache
def _decoder(type_: Any) -> msgspec.json.Decoder:
    return msgspec.json.Decoder(type_)


def decode_orders(data: bytes) -> list[Order]:
    """An ``/ordersBulk`` page (JSON array of orders). Raises PayloadError."""
    return decode(data, list[Order], "ordersBulk", item_at=(_ANY_INDEX,), item_word="order")


def decode_order(data: bytes) -> Order:
    """One order (``GET /orders/v2/orders/{guid}``). Raises PayloadError."""
    return decode(data, Order, "order", item_at=(), item_word="order")


def decode_order_webhook(data: bytes) -> OrderWebhookEvent:
    """An ``order_updated`` webhook body (order in ``details.order``). Raises PayloadError."""
    return decode(data, OrderWebhookEvent, "order_updated webhook", item_at=("details", "order"), item_word="order")


def decode_menus(data: bytes) -> RestaurantMenus:
    return decode(data, RestaurantMenus, "menus")


def decode_menus_metadata(data: bytes) -> MenusMetadata:
    return decode(data, MenusMetadata, "menus metadata")


def decode_list(data: bytes, item_type: type[T], what: str) -> list[T]:
    """A JSON array of ``item_type``; errors name ``what`` and the item's guid. Raises PayloadError."""
    return decode(data, list[item_type], what, item_at=(_ANY_INDEX,), item_word=what)


def decode(
    data: bytes, type_: Any, what: str, *, item_at: tuple | None = None, item_word: str | None = None
) -> Any:
    """Decode ``data`` as ``type_``. On a type error raise PayloadError; when the bad field lies
    inside the item at ``item_at`` (a path prefix), the message names that item by its guid."""
    try:
        return _decoder(type_).decode(data)
    except msgspec.ValidationError as exc:
        raise _payload_error(data, str(exc), what, item_at, item_word) from exc
    except msgspec.DecodeError as exc:
        raise PayloadError(f"{what}: not valid JSON ({exc})") from exc


def _payload_error(data: bytes, text: str, what: str, item_at: tuple | None, item_word: str | None) -> PayloadError:
    head, _, tail = text.partition(" - at ")
    names = re.findall(r"`([^`]*)`", tail)
    tokens = _tokens(names[-1] if names else "$")
    key_note = " (a map key)" if len(names) > 1 else ""
    try:
        doc = msgspec.json.decode(data)
    except msgspec.DecodeError:
        doc = None
    found, value = _lookup(doc, tokens)
    detail = _describe(head, tokens, found, value)
    label, rel, guid = what, tokens, None
    if item_at is not None and _has_prefix(tokens, item_at):
        rel = tokens[len(item_at):]
        item = _lookup(doc, tokens[: len(item_at)])[1]
        guid = item.get("guid") if isinstance(item, dict) else None
        index = tokens[0] if item_at == (_ANY_INDEX,) else None
        label = f"{item_word} {guid}" if guid else f"{item_word} (no guid{f', #{index}' if index is not None else ''})"
    path = _format(rel)
    order_guid = guid if item_word == "order" else None
    return PayloadError(f"{label}: {path or '(whole body)'}{key_note}: {detail}", path=path, order_guid=order_guid)


def _tokens(path: str) -> list[str | int | None]:
    """``$[0].checks[1].amount`` -> [0, "checks", 1, "amount"]; ``[...]`` (a map value) -> None."""
    tokens: list[str | int | None] = []
    for match in _TOKEN.finditer(path):
        name, index = match.groups()
        tokens.append(name if name is not None else int(index) if index is not None else None)
    return tokens


def _has_prefix(tokens: list, prefix: tuple) -> bool:
    if len(tokens) < len(prefix):
        return False
    return all(p is _ANY_INDEX and isinstance(t, int) or p == t for t, p in zip(tokens, prefix))


def _lookup(doc: Any, tokens: list) -> tuple[bool, Any]:
    """(found, value) at ``tokens`` inside the untyped document."""
    for token in tokens:
        if isinstance(token, int) and isinstance(doc, list) and token < len(doc):
            doc = doc[token]
        elif isinstance(token, str) and isinstance(doc, dict) and token in doc:
            doc = doc[token]
        else:
            return False, None
    return True, doc


def _describe(head: str, tokens: list, found: bool, value: Any) -> str:
    field = next((t for t in reversed(tokens) if isinstance(t, str)), None)
    if not found:
        shown = None
    elif field in _PII_FIELDS:
        shown = f"{_TYPE_WORDS.get(type(value).__name__, 'a value')} (value not shown)"
    else:
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
    match = _EXPECTED.match(head)
    if match:
        expected = " or ".join(_TYPE_WORDS.get(t, t) for t in match[1].split(" | ") if t != "null")
        got = shown or _TYPE_WORDS.get(match[2], match[2])
        return f"expected {expected}, got {got}"
    if head.startswith(_NAIVE_TIMESTAMP):
        head = "expected a timestamp with a UTC offset"
    detail = head[:1].lower() + head[1:]
    return f"{detail}, got {shown}" if shown else detail


def _format(tokens: list) -> str:
    out = ""
    for token in tokens:
        if isinstance(token, str):
            out += f".{token}" if out else token
        else:
            out += f"[{token}]" if token is not None else "[...]"
    return out
