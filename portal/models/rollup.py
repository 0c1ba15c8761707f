"""Daily figures per organization, location and local day, kept by the ingest path for the dashboard.

Each row is recomputed whole from orders and ``guest_orders`` whenever an order of that day (or the first visit of a
guest of that day) changes, so re-versions, voids and merges leave it equal to a recomputation. Days are the
organization's local days (``portal.localtime.organization_zone``).
"""
from datetime import date

from sqlalchemy import BigInteger, Date, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base


class DashboardDay(Base):
    __tablename__ = "dashboard_days"

    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id", ondelete="CASCADE"), primary_key=True)
    orders: Mapped[int] = mapped_column(Integer, default=0, nullable=False)  # counted orders
    revenue_cents: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)  # net sales of those
    captured_orders: Mapped[int] = mapped_column(Integer, default=0, nullable=False)  # with a guest's counted check
    guest_visits: Mapped[int] = mapped_column(Integer, default=0, nullable=False)  # counted (guest, order) pairs
    new_guests: Mapped[int] = mapped_column(Integer, default=0, nullable=False)  # guests' first counted visits
