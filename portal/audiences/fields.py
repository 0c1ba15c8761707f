"""The guest fields an audience sync may send, how each is read and how each destination names it.

Rows are read in chunks with one query (guest figures, scores, home location); a member's fingerprint is the digest
of exactly what is sent, so a run resends a member only when one of its sent values changed.
"""
import hashlib
from dataclasses import dataclass

from sqlalchemy import Select, func, select

from portal.models import Guest, GuestLocation, GuestScore, Location
from portal.models.privacy import MarketingOptIn


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    merge_tag: str  # Mailchimp merge field tag (at most 10 characters)
    merge_type: str  # Mailchimp merge field type
    klaviyo: str  # Klaviyo profile attribute, or "properties.<name>" for a custom property


FIELDS = {f.key: f for f in (
    Field("first_name", "First name", "FNAME", "text", "first_name"),
    Field("last_name", "Last name", "LNAME", "text", "last_name"),
    Field("phone", "Phone (E.164)", "PHONE", "phone", "phone_number"),
    Field("last_visit", "Last visit", "LASTVISIT", "date", "properties.last_visit"),
    Field("visits", "Visits", "VISITS", "number", "properties.visits"),
    Field("lifetime_spend", "Lifetime spend", "SPEND", "number", "properties.lifetime_spend"),
    Field("favorite_item", "Favorite item", "FAVITEM", "text", "properties.favorite_item"),
    Field("home_location", "Home location", "HOMELOC", "text", "properties.home_location"),
    Field("rfm_group", "RFM group", "RFMGROUP", "text", "properties.rfm_group"),
    Field("p_alive", "P(alive)", "PALIVE", "number", "properties.p_alive"),
    Field("predicted_value", "Predicted 12-month value", "PREDVALUE", "number", "properties.predicted_value_12m"),
)}
DEFAULT_FIELDS = ("first_name", "last_name", "last_visit", "visits")


@dataclass(frozen=True)
class MemberRow:
    guest_id: int
    email: str
    opted_in: bool
    values: dict  # field key -> value (JSON-able)
    fingerprint: str


def validate(keys) -> list[str]:
    """The known field keys among ``keys``, in catalog order; ValueError naming an unknown one."""
    unknown = [k for k in keys if k not in FIELDS]
    if unknown:
        raise ValueError(f"unknown field {unknown[0]!r}; choose from {', '.join(FIELDS)}")
    return [k for k in FIELDS if k in set(keys)]


def rows_query(org_id: int, guest_ids: list[int]) -> Select:
    home = (select(func.coalesce(Location.location_name, Location.name))
            .join(GuestLocation, GuestLocation.location_id == Location.id)
            .where(GuestLocation.guest_id == Guest.id)
            .order_by(GuestLocation.order_count.desc(), GuestLocation.last_order_at.desc()).limit(1)
            .correlate(Guest).scalar_subquery())
    opted_in = select(func.count()).where(MarketingOptIn.guest_id == Guest.id).correlate(Guest).scalar_subquery()
    return (select(Guest.id, Guest.email, Guest.first_name, Guest.last_name, Guest.phone, Guest.last_order_at,
                   Guest.order_count, Guest.net_spend_cents, Guest.favorite_item, home.label("home"),
                   GuestScore.rfm_group, GuestScore.p_alive, GuestScore.predicted_value_12m_cents,
                   opted_in.label("opted_in"))
            .outerjoin(GuestScore, GuestScore.guest_id == Guest.id)
            .where(Guest.org_id == org_id, Guest.id.in_(guest_ids)))


# How each field is read from a row of ``rows_query``: only the sync's fields are computed (a run reads 100,000).
READERS = {
    "first_name": lambda row: row.first_name or "",
    "last_name": lambda row: row.last_name or "",
    "phone": lambda row: row.phone or "",
    "last_visit": lambda row: row.last_order_at.date().isoformat() if row.last_order_at else "",
    "visits": lambda row: row.order_count,
    "lifetime_spend": lambda row: round(row.net_spend_cents / 100, 2),
    "favorite_item": lambda row: row.favorite_item or "",
    "home_location": lambda row: row.home or "",
    "rfm_group": lambda row: row.rfm_group or "",
    "p_alive": lambda row: round(row.p_alive, 3) if row.p_alive is not None else "",
    "predicted_value": lambda row: round(row.predicted_value_12m_cents / 100, 2)
    if row.predicted_value_12m_cents is not None else "",
}


def member_row(row, keys: list[str]) -> MemberRow:
    values = {key: READERS[key](row) for key in keys}
    opted_in = bool(row.opted_in)
    payload = repr((row.email, opted_in, tuple(values.items())))  # keys in catalog order: a stable text
    return MemberRow(row.id, row.email, opted_in, values, hashlib.md5(payload.encode()).hexdigest())
