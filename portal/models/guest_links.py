"""Multi-valued guest data in narrow link tables (segments query them with EXISTS), plus what people add.

Derived (rewritten by ``portal.guests.figures`` whenever a guest's orders change): locations, items, facts
(servers, card types, delivery addresses, curbside vehicles). Entered by people: tags and notes (marketers),
manual merges (owners), kept when guests are re-resolved. Possible duplicates are derived by identity resolution.
"""
from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, TenantScoped, Timestamped, UTCDateTime

FACT_KINDS = ("server", "card_type", "address", "vehicle")


def _org_fk() -> Mapped[int]:
    # Reached through guest_id; org_id is there for tenancy checks and segments, not worth its own index.
    return mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False)


class GuestLocation(Base):
    """A location where the guest has at least one counted order."""

    __tablename__ = "guest_locations"
    __table_args__ = (Index("ix_guest_locations_location_guest", "location_id", "guest_id"),)

    guest_id: Mapped[int] = mapped_column(ForeignKey("guests.id", ondelete="CASCADE"), primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id", ondelete="CASCADE"), primary_key=True)
    org_id: Mapped[int] = _org_fk()
    order_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    last_order_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class GuestItem(Base):
    """A menu item (by name: the same dish has one GUID per location) over non-voided selections of counted checks."""

    __tablename__ = "guest_items"
    __table_args__ = (Index("ix_guest_items_org_name", "org_id", "name"),)

    guest_id: Mapped[int] = mapped_column(ForeignKey("guests.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    org_id: Mapped[int] = _org_fk()
    item_guid: Mapped[str | None] = mapped_column(String(64))
    quantity: Mapped[float] = mapped_column(Float, default=0.0, nullable=False)
    order_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    last_ordered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class GuestFact(Base):
    """A server (value = employee GUID, label = name), card type, delivery address or curbside vehicle."""

    __tablename__ = "guest_facts"
    __table_args__ = (Index("ix_guest_facts_org_kind_value", "org_id", "kind", "value"),)

    guest_id: Mapped[int] = mapped_column(ForeignKey("guests.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(512), primary_key=True)
    org_id: Mapped[int] = _org_fk()
    label: Mapped[str | None] = mapped_column(String(255))
    count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class GuestTag(TenantScoped, Timestamped, Base):
    __tablename__ = "guest_tags"
    __table_args__ = (UniqueConstraint("guest_id", "tag"), Index("ix_guest_tags_org_tag", "org_id", "tag"))

    id: Mapped[int] = mapped_column(primary_key=True)
    guest_id: Mapped[int] = mapped_column(ForeignKey("guests.id", ondelete="CASCADE"), nullable=False)
    tag: Mapped[str] = mapped_column(String(64), nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class GuestNote(TenantScoped, Timestamped, Base):
    __tablename__ = "guest_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    guest_id: Mapped[int] = mapped_column(ForeignKey("guests.id", ondelete="CASCADE"), index=True, nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class GuestMerge(TenantScoped, Timestamped, Base):
    """An owner's decision that two emails are one guest. Kept by email (guest ids change when guests are
    re-resolved), so later orders respect it; undoing it keeps the row for the record."""

    __tablename__ = "guest_merges"
    __table_args__ = (
        Index("ix_guest_merges_org_email_a", "org_id", "email_a"),
        Index("ix_guest_merges_org_email_b", "org_id", "email_b"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email_a: Mapped[str] = mapped_column(String(320), nullable=False)  # email_a < email_b
    email_b: Mapped[str] = mapped_column(String(320), nullable=False)
    reason: Mapped[str | None] = mapped_column(String(400))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    undone_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    @property
    def active(self) -> bool:
        return self.undone_at is None


class GuestDistinctPair(TenantScoped, Timestamped, Base):
    """An owner's decision that two emails are two people ("not the same person"): their possible duplicate is no
    longer listed. Kept by email, like merges, since guest ids change when guests are re-resolved."""

    __tablename__ = "guest_distinct_pairs"
    __table_args__ = (UniqueConstraint("org_id", "email_a", "email_b"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email_a: Mapped[str] = mapped_column(String(320), nullable=False)  # email_a < email_b
    email_b: Mapped[str] = mapped_column(String(320), nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class GuestDuplicate(TenantScoped, Base):
    """Two guests with different emails sharing a phone or Toast customer GUID: never merged automatically.
    ``guest_id`` is the guest the shared identifier was first seen with."""

    __tablename__ = "guest_duplicates"
    __table_args__ = (UniqueConstraint("guest_id", "other_guest_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    guest_id: Mapped[int] = mapped_column(ForeignKey("guests.id", ondelete="CASCADE"), nullable=False)
    other_guest_id: Mapped[int] = mapped_column(
        ForeignKey("guests.id", ondelete="CASCADE"), index=True, nullable=False
    )
    reason_kind: Mapped[str] = mapped_column(String(16), nullable=False)  # phone | guid
    reason_value: Mapped[str] = mapped_column(String(320), nullable=False)

    @property
    def reason(self) -> str:
        what = "phone" if self.reason_kind == "phone" else "Toast customer GUID"
        return f"same {what} {self.reason_value}"
