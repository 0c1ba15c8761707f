"""Per-location configuration copied from Toast: dining options, revenue centers, menu items, employees.

Rows Toast stops returning are marked archived, never deleted: old orders still point at them.
"""
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from portal.models.base import Base, TenantScoped, UTCDateTime

BEHAVIORS = ("DINE_IN", "TAKE_OUT", "DELIVERY")


class LocationEntity(TenantScoped):
    """A Toast entity of one location, keyed by its GUID within that location."""

    id: Mapped[int] = mapped_column(primary_key=True)
    guid: Mapped[str] = mapped_column(String(64), nullable=False)
    archived: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @declared_attr
    def location_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("locations.id", ondelete="CASCADE"), nullable=False)

    @declared_attr.directive
    def __table_args__(cls):
        return (UniqueConstraint("location_id", "guid"),)


def dining_channel(behavior: str | None, curbside: bool | None) -> str | None:
    """The CRM channel of a dining option: delivery, curbside (TAKE_OUT with curbside=true), takeout or dine_in."""
    if behavior == "DELIVERY":
        return "delivery"
    if behavior == "TAKE_OUT":
        return "curbside" if curbside else "takeout"
    return "dine_in" if behavior == "DINE_IN" else None


class DiningOption(LocationEntity, Base):
    __tablename__ = "dining_options"

    name: Mapped[str] = mapped_column(String(255), default="", nullable=False)
    behavior: Mapped[str | None] = mapped_column(String(16))
    curbside: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)


class RevenueCenter(LocationEntity, Base):
    __tablename__ = "revenue_centers"

    name: Mapped[str] = mapped_column(String(255), default="", nullable=False)


class MenuItem(LocationEntity, Base):
    __tablename__ = "menu_items"

    name: Mapped[str] = mapped_column(String(255), default="", nullable=False)
    group_name: Mapped[str | None] = mapped_column(String(255))
    price_cents: Mapped[int | None] = mapped_column(Integer)


class Employee(LocationEntity, Base):
    __tablename__ = "employees"

    first_name: Mapped[str | None] = mapped_column(String(255))
    chosen_name: Mapped[str | None] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(255))

    @property
    def display_name(self) -> str:
        first = self.chosen_name or self.first_name or ""
        return f"{first} {self.last_name or ''}".strip() or self.guid
