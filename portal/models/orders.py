"""Orders as stored from Toast: order → checks → selections and payments. Money is integer cents.

An order is replaced whole when a newer copy arrives (newest ``modified_at`` wins), so children carry
no history of their own.
"""
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, TenantScoped, UTCDateTime

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT for the large tables.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Order(TenantScoped, Base):
    __tablename__ = "orders"
    # Per-week counts of counted orders for the dashboard's guest capture rate, read from the index alone.
    __table_args__ = (
        UniqueConstraint("location_id", "guid"),
        Index("ix_orders_org_opened_at", "org_id", "opened_at", "voided", "deleted"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id", ondelete="CASCADE"), nullable=False)
    guid: Mapped[str] = mapped_column(String(64), nullable=False)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    modified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    business_date: Mapped[int | None] = mapped_column(Integer)
    dining_option_guid: Mapped[str | None] = mapped_column(String(64))
    server_guid: Mapped[str | None] = mapped_column(String(64))
    revenue_center_guid: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(64))
    display_number: Mapped[str | None] = mapped_column(String(32))
    number_of_guests: Mapped[int | None] = mapped_column(Integer)
    voided: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    delivery_info: Mapped[dict | None] = mapped_column(JSON)
    curbside_info: Mapped[dict | None] = mapped_column(JSON)

    checks: Mapped[list["OrderCheck"]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderCheck.id"
    )

    @property
    def counted(self) -> bool:
        return not (self.voided or self.deleted)


class OrderCheck(TenantScoped, Base):
    __tablename__ = "order_checks"
    __table_args__ = (Index("ix_order_checks_customer_email", "org_id", "customer_email"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True, nullable=False)
    guid: Mapped[str] = mapped_column(String(64), nullable=False)
    display_number: Mapped[str | None] = mapped_column(String(32))
    amount_cents: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    tax_cents: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    total_cents: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    discount_cents: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    service_charge_cents: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    voided: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    payment_status: Mapped[str | None] = mapped_column(String(16))
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    customer_guid: Mapped[str | None] = mapped_column(String(64))
    customer_first_name: Mapped[str | None] = mapped_column(String(255))
    customer_last_name: Mapped[str | None] = mapped_column(String(255))
    customer_email: Mapped[str | None] = mapped_column(String(320))
    customer_phone: Mapped[str | None] = mapped_column(String(64))
    customer_phone_country_code: Mapped[str | None] = mapped_column(String(8))

    order: Mapped[Order] = relationship(back_populates="checks")
    selections: Mapped[list["CheckSelection"]] = relationship(cascade="all, delete-orphan", order_by="CheckSelection.id")
    payments: Mapped[list["CheckPayment"]] = relationship(cascade="all, delete-orphan", order_by="CheckPayment.id")


class CheckSelection(TenantScoped, Base):
    __tablename__ = "check_selections"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    check_id: Mapped[int] = mapped_column(ForeignKey("order_checks.id", ondelete="CASCADE"), index=True, nullable=False)
    guid: Mapped[str | None] = mapped_column(String(64))
    item_guid: Mapped[str | None] = mapped_column(String(64))
    display_name: Mapped[str | None] = mapped_column(String(255))
    quantity: Mapped[float] = mapped_column(Float, default=1.0, nullable=False)
    price_cents: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    voided: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    # Nested modifiers as [{"name", "quantity", "price_cents", "modifiers": [...]}]: shown, never queried.
    modifiers: Mapped[list | None] = mapped_column(JSON)


class CheckPayment(TenantScoped, Base):
    __tablename__ = "check_payments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    check_id: Mapped[int] = mapped_column(ForeignKey("order_checks.id", ondelete="CASCADE"), index=True, nullable=False)
    guid: Mapped[str | None] = mapped_column(String(64))
    type: Mapped[str | None] = mapped_column(String(32))
    card_type: Mapped[str | None] = mapped_column(String(32))
    last4: Mapped[str | None] = mapped_column(String(4))
    amount_cents: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    tip_cents: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    refund_cents: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    tip_refund_cents: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    refund_status: Mapped[str | None] = mapped_column(String(16))
    payment_status: Mapped[str | None] = mapped_column(String(32))
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
