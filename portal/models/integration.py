"""Toast connections (credentials per organization) and the locations they reach."""
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, SmallInteger, String, Text, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from portal.models.base import Base, TenantScoped, Timestamped, UTCDateTime, utcnow

CONNECTION_ACTIVE = "active"
CONNECTION_RECONNECT = "reconnect"


class ToastConnection(TenantScoped, Timestamped, Base):
    """One set of Toast API credentials. Secrets are Fernet-encrypted (portal.crypto)."""

    __tablename__ = "toast_connections"

    id: Mapped[int] = mapped_column(primary_key=True)
    host: Mapped[str] = mapped_column(String(255), nullable=False)
    client_id: Mapped[str] = mapped_column(String(255), nullable=False)
    client_secret_enc: Mapped[str] = mapped_column(Text, nullable=False)
    webhook_secret_enc: Mapped[str | None] = mapped_column(Text)
    # The path segment of /webhooks/toast/<token>: unguessable, and it names the connection without a session.
    webhook_token: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    scopes: Mapped[str] = mapped_column(Text, default="", nullable=False)
    account_kind: Mapped[str] = mapped_column(String(16), default="unknown", nullable=False)
    account_guid: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=CONNECTION_ACTIVE, nullable=False)
    status_reason: Mapped[str | None] = mapped_column(Text)
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Token cache shared by every worker process (Toast allows at most 2 token requests per hour).
    token_enc: Mapped[str | None] = mapped_column(Text)
    token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    token_requests: Mapped[str] = mapped_column(Text, default="[]", nullable=False)

    locations: Mapped[list["Location"]] = relationship(back_populates="connection", order_by="Location.name")

    @property
    def scope_set(self) -> set[str]:
        return set(self.scopes.split())

    @property
    def needs_reconnect(self) -> bool:
        return self.status == CONNECTION_RECONNECT

    def mark_reconnect(self, reason: str) -> None:
        """Toast refused the credentials: nothing is sent to Toast until an owner reconnects."""
        self.status, self.status_reason, self.status_changed_at = CONNECTION_RECONNECT, reason, utcnow()


MASK_SLOTS = 63  # bits of a signed 64-bit guests.location_mask


class Location(TenantScoped, Timestamped, Base):
    """A Toast restaurant location connected to an organization. A GUID belongs to one organization only."""

    __tablename__ = "locations"
    __table_args__ = (Index("ix_locations_org_id_slot", "org_id", "slot", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("toast_connections.id", ondelete="CASCADE"), index=True)
    guid: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(255), default="", nullable=False)
    location_name: Mapped[str | None] = mapped_column(String(255))
    time_zone: Mapped[str | None] = mapped_column(String(64))
    closeout_hour: Mapped[int | None] = mapped_column(Integer)
    address: Mapped[str | None] = mapped_column(String(512))
    management_group_guid: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    menus_last_updated: Mapped[datetime | None] = mapped_column(UTCDateTime)
    config_refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    backfill_completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # This location's bit in guests.location_mask (0..MASK_SLOTS-1, unique in the organization); None past the
    # first MASK_SLOTS locations, whose segment conditions fall back to guest_locations.
    slot: Mapped[int | None] = mapped_column(SmallInteger)

    connection: Mapped[ToastConnection] = relationship(back_populates="locations")

    @property
    def display_name(self) -> str:
        return self.location_name or self.name or self.guid


@event.listens_for(Session, "before_flush")
def _assign_location_slots(session: Session, _context, _instances) -> None:
    """Every new location takes the lowest free slot of its organization (whoever creates it: the connect
    flow, the CLI, tests), so guests' location masks always mean the same locations."""
    fresh = [obj for obj in session.new if isinstance(obj, Location) and obj.slot is None]
    for org_id in sorted({location.org_id for location in fresh if location.org_id is not None}):
        with session.no_autoflush:
            used = set(session.scalars(select(Location.slot).where(Location.org_id == org_id,
                                                                   Location.slot.is_not(None))))
        used |= {obj.slot for obj in session.new if isinstance(obj, Location) and obj.org_id == org_id}
        free = (slot for slot in range(MASK_SLOTS) if slot not in used)
        for location in (obj for obj in fresh if obj.org_id == org_id):
            location.slot = next(free, None)
