"""Guest profiles: one row per guest with its figures, the checks that identify it, and its orders.

``guests`` holds plain typed figures (integer cents, counts, UTC timestamps, flags) so segments can filter and
sort it by SQL at a million rows; each sortable figure has an ``(org_id, figure, id)`` index. ``guest_checks``
is the identity input and per-check contribution (keyed by order id + Toast check GUID, because the sync store
re-creates check rows with new ids when an order is replaced); ``guest_orders`` is the narrow per-guest-per-order
contribution ("orders / spend in the last N days"). Everything here is derived from orders by
``portal.guests.service.apply_orders``, except ``marketing_opt_out`` (set by the privacy feature).
"""
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, TenantScoped, Timestamped, UTCDateTime
from portal.models.orders import BigId

# Figures the guest list can sort by (each has an (org_id, column, id) index below).
SORTABLE = (
    "sort_name", "order_count", "net_spend_cents", "avg_check_cents", "total_tips_cents", "first_order_at",
    "last_order_at", "delivery_orders", "takeout_orders", "curbside_orders", "dine_in_orders",
    "delivery_spend_cents", "location_count",
)


def _org_fk() -> Mapped[int]:
    # The big derived tables carry org_id for tenancy checks and segments, indexed only as the leading column of
    # composite indexes (a lone org_id index on 10M rows would cost writes and buy nothing).
    return mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False)


class Guest(TenantScoped, Timestamped, Base):
    __tablename__ = "guests"
    __table_args__ = (
        UniqueConstraint("org_id", "key"),
        Index("ix_guests_org_email", "org_id", "email"),
        Index("ix_guests_org_phone", "org_id", "phone"),
        Index("ix_guests_org_search_name", "org_id", "search_name"),
        Index("ix_guests_org_phone_reversed", "org_id", "phone_reversed"),  # "phone ends with" (last 4 digits)
        # "Name or email contains" on PostgreSQL (pg_trgm); SQLite reads the org's rows for it.
        *(Index(f"ix_guests_{name}_trgm", name, postgresql_using="gin", postgresql_ops={name: "gin_trgm_ops"})
          .ddl_if(dialect="postgresql") for name in ("search_name", "email")),
        # Sorting by last order reads ix_guests_segment_figures (portal.models.segment), led by the same columns.
        *(Index(f"ix_guests_org_{name}", "org_id", name, "id") for name in SORTABLE if name != "last_order_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = _org_fk()  # leads the unique (org_id, key) and every list and segment index
    # The group's canonical identifier: "e:<email>" (smallest email), else "p:<E.164>", else "g:<customer guid>".
    key: Mapped[str] = mapped_column(String(400), nullable=False)
    first_name: Mapped[str | None] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(32))
    phone_reversed: Mapped[str | None] = mapped_column(String(32))  # the phone's digits, last first
    customer_guid: Mapped[str | None] = mapped_column(String(64))
    search_name: Mapped[str] = mapped_column(String(512), default="", nullable=False)  # "first last", lower-cased
    sort_name: Mapped[str] = mapped_column(String(512), default="", nullable=False)  # "last first", lower-cased
    has_email: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    has_phone: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    marketing_opt_out: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # set by portal.privacy.erasure
    order_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    check_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    net_spend_cents: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    avg_check_cents: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    total_tips_cents: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    first_order_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_order_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Opening times of the 2nd..5th most recent counted orders (segments, issue 7): "at least n orders in the last
    # N days" is then one indexed comparison (the n-th most recent is in the window) instead of a pass over orders.
    last_order_2_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_order_3_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_order_4_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_order_5_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivery_orders: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    takeout_orders: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    curbside_orders: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    dine_in_orders: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    delivery_spend_cents: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    location_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    # One bit per location with a counted order (Location.slot): "ordered at any/all/none of" is a bit test on
    # the guest's row (in the segments' covering index) instead of a join over guest_locations.
    location_mask: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0", nullable=False)
    favorite_item: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Digest of everything portal.guests.figures derives for the guest: an order change that alters none of it
    # (a tip adjustment on another guest's split check, a nightly closeout) writes nothing.
    profile_digest: Mapped[str | None] = mapped_column(String(64))

    @property
    def display_name(self) -> str:
        if self.erased_at is not None:
            return f"Erased guest #{self.id}"
        name = f"{self.first_name or ''} {self.last_name or ''}".strip()
        return name or self.email or self.phone or f"Guest {self.id}"


class GuestCheck(Base):
    """One check whose customer carries an identifier. ``guest_id`` is NULL while a GUID-only (loyalty) check
    waits for its GUID to appear with contact details."""

    __tablename__ = "guest_checks"
    __table_args__ = (
        UniqueConstraint("order_id", "check_guid"),
        Index("ix_guest_checks_org_email", "org_id", "email"),
        Index("ix_guest_checks_org_phone", "org_id", "phone"),
        Index("ix_guest_checks_org_customer_guid", "org_id", "customer_guid"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = _org_fk()
    guest_id: Mapped[int | None] = mapped_column(ForeignKey("guests.id", ondelete="SET NULL"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), nullable=False)
    location_id: Mapped[int] = mapped_column(Integer, nullable=False)
    check_guid: Mapped[str] = mapped_column(String(64), nullable=False)
    email: Mapped[str | None] = mapped_column(String(320))  # trimmed, lower-cased
    phone: Mapped[str | None] = mapped_column(String(32))  # E.164
    customer_guid: Mapped[str | None] = mapped_column(String(64))
    first_name: Mapped[str | None] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(255))
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the order's openedDate
    channel: Mapped[str | None] = mapped_column(String(16))  # delivery | takeout | curbside | dine_in | NULL
    counted: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    net_cents: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)  # amount - refunds, >= 0
    tip_cents: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)  # tips - tip refunds
    server_guid: Mapped[str | None] = mapped_column(String(64))
    server_name: Mapped[str | None] = mapped_column(String(255))
    address: Mapped[str | None] = mapped_column(String(512))
    vehicle: Mapped[str | None] = mapped_column(String(255))
    # [[name, item_guid, quantity], ...] of the check's non-voided selections; ["VISA", ...] of its payments.
    items: Mapped[list | None] = mapped_column(JSON)
    card_types: Mapped[list | None] = mapped_column(JSON)


class GuestOrder(Base):
    """What one order contributes to one guest (an order split between guests has one row per guest)."""

    __tablename__ = "guest_orders"
    __table_args__ = (
        # Covers the dashboard's weekly counts (index-only: no heap reads for 10M rows).
        Index("ix_guest_orders_org_opened_at", "org_id", "opened_at", "counted", "guest_id", "order_id"),
        Index("ix_guest_orders_order_id", "order_id"),
    )

    guest_id: Mapped[int] = mapped_column(ForeignKey("guests.id", ondelete="CASCADE"), primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True)
    org_id: Mapped[int] = _org_fk()
    location_id: Mapped[int] = mapped_column(Integer, nullable=False)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    channel: Mapped[str | None] = mapped_column(String(16))
    counted: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)  # >= 1 counted check
    check_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)  # counted checks of the guest
    net_spend_cents: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    tip_cents: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
