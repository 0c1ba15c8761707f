"""Guest exports (CSV download of any list, ``flask guests export``): one row/object per guest, streamed.

Fields are exactly ``FIELDS``, ready to upload to an email or SMS tool as they are. Money is in dollars with two
decimals, exact from integer cents; timestamps are ISO 8601 UTC ("2026-03-02T18:00:00Z"); ``days_since_last_order``
counts from ``as_of`` (default: today, UTC); phones are E.164; ``locations`` are location names (";"-separated in
CSV). A delivery marketplace's masked relay address is no way to reach the guest: ``email`` is empty for it and
``email_is_marketplace_relay`` says so. ``unsubscribe_url`` is the guest's one-click unsubscribe link.
CSV is UTF-8 without a BOM, header row first. A text cell that a spreadsheet could run as a formula (starting with
= + - @, a tab or a carriage return) is prefixed with ' unless it is a valid phone number; numbers never are.
Segments plug in through ``guest_ids``: any selectable of guest ids (a subquery), ANDed with the list filters.
"""
import csv
import io
import json
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Iterable, Iterator

from sqlalchemy import Select

from portal.audit.service import record
from portal.contacts import is_phone_number, is_relay_email
from portal.extensions import db
from portal.guests.queries import ListQuery, days_since, iter_guests, location_names
from portal.models.guest import Guest
from portal.privacy.consent import unsubscribe_url
from portal.scoring.service import scores_for

FIELDS = (
    "guest_id", "first_name", "last_name", "email", "phone", "order_count", "net_spend", "avg_check", "total_tips",
    "first_order_at", "last_order_at", "days_since_last_order", "delivery_orders", "takeout_orders",
    "curbside_orders", "dine_in_orders", "delivery_spend", "locations", "favorite_item", "marketing_opt_out",
    "email_is_marketplace_relay", "unsubscribe_url",
    # Guest value (portal.scoring), as of the last nightly fit; empty without a score or when the model is not backed.
    "rfm_group", "p_alive", "expected_visits_90d", "predicted_value_12m",
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
EXPORT_ORDER = ListQuery(sort="name", direction="asc")


def dollars(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def records(org_id: int, query: ListQuery = EXPORT_ORDER, guest_ids: Select | None = None,
            as_of: date | None = None) -> Iterator[dict]:
    """One dict per guest of the list (in the list's order), values typed (Decimal money, ISO strings, lists)."""
    as_of = as_of or datetime.now(timezone.utc).date()
    for chunk in iter_guests(org_id, query, guest_ids):
        places = location_names([g.id for g in chunk])
        scores = scores_for(db.session, org_id, [g.id for g in chunk])
        for guest in chunk:
            yield _record(guest, places.get(guest.id, []), as_of) | _value(scores.get(guest.id))


def _record(guest: Guest, locations: list[str], as_of: date) -> dict:
    relay = is_relay_email(guest.email)
    return {
        "guest_id": guest.id, "first_name": guest.first_name, "last_name": guest.last_name,
        "email": None if relay else guest.email, "phone": guest.phone, "order_count": guest.order_count, "net_spend": dollars(guest.net_spend_cents),
        "avg_check": dollars(guest.avg_check_cents), "total_tips": dollars(guest.total_tips_cents),
        "first_order_at": iso(guest.first_order_at), "last_order_at": iso(guest.last_order_at),
        "days_since_last_order": days_since(guest.last_order_at, as_of),
        "delivery_orders": guest.delivery_orders, "takeout_orders": guest.takeout_orders,
        "curbside_orders": guest.curbside_orders, "dine_in_orders": guest.dine_in_orders,
        "delivery_spend": dollars(guest.delivery_spend_cents), "locations": locations,
        "favorite_item": guest.favorite_item, "marketing_opt_out": guest.marketing_opt_out,
        "email_is_marketplace_relay": relay,
        "unsubscribe_url": None if guest.erased_at else unsubscribe_url(guest),
    }


def _value(score) -> dict:
    """The guest-value columns: p_alive to 4 decimals, expected visits to 2, predicted value in dollars."""
    if score is None:
        return {"rfm_group": None, "p_alive": None, "expected_visits_90d": None, "predicted_value_12m": None}
    value = score.predicted_value_12m_cents
    return {
        "rfm_group": score.rfm_group,
        "p_alive": None if score.p_alive is None else round(score.p_alive, 4),
        "expected_visits_90d": None if score.expected_visits_90d is None else round(score.expected_visits_90d, 2),
        "predicted_value_12m": None if value is None else dollars(value),
    }


def record_download(org_id: int, query: ListQuery) -> None:
    """Audit a list download (counts and codes only, never guest data); the caller commits."""
    record("export.downloaded", org_id=org_id, details={
        "kind": "guests", "searched": bool(query.q), "location_id": query.location_id, "sort": query.sort})


def safe_cell(value) -> str:
    """A CSV cell's text: text a spreadsheet could run as a formula gets a leading quote, phone numbers and
    numbers never do (an SMS tool would take the quote for part of the number)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        value = ";".join(str(v) for v in value)
    if not isinstance(value, str):
        return str(value)  # int, Decimal: written by us, never a formula
    if value.startswith(FORMULA_STARTS) and not is_phone_number(value):
        return "'" + value
    return value


def csv_chunks(rows: Iterable[dict], rows_per_chunk: int = 500) -> Iterator[str]:
    """CSV text in chunks: the header, then the rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(FIELDS)
    count = 0
    for row in rows:
        writer.writerow([safe_cell(row[name]) for name in FIELDS])
        count += 1
        if count % rows_per_chunk == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def json_chunks(rows: Iterable[dict]) -> Iterator[str]:
    """A JSON array, one guest object per line (money as numbers with at most two decimals)."""
    yield "["
    first = True
    for row in rows:
        data = {name: float(row[name]) if isinstance(row[name], Decimal) else row[name] for name in FIELDS}
        yield ("\n" if first else ",\n") + json.dumps(data, ensure_ascii=False)
        first = False
    yield "\n]\n"
