"""Toast connections (credentials per organization) and the locations they reach."""
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.base import TenantScoped, Timestamped, UTCDateTime

CONNECTION_ACTIVE = "active"
CONNECTION_RECONNECT = "reconnect"


class ToastConnection(TenantScoped, Timestamped, db.Model):
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


class Location(TenantScoped, Timestamped, db.Model):
    """A Toast restaurant location connected to an organization. A GUID belongs to one organization only."""

    __tablename__ = "locations"

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

    connection: Mapped[ToastConnection] = relationship(back_populates="locations")

    @property
    def display_name(self) -> str:
        return self.location_name or self.name or self.guid
