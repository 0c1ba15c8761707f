"""What the sync engine did and where it stands: one SyncRun per job, one bookmark per location and stream."""
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.models.base import TenantScoped, Timestamped, UTCDateTime

RUN_QUEUED, RUN_RUNNING, RUN_SUCCEEDED, RUN_FAILED = "queued", "running", "succeeded", "failed"
RUN_FINISHED = (RUN_SUCCEEDED, RUN_FAILED)


class SyncRun(TenantScoped, Timestamped, db.Model):
    """One sync job as the UI sees it (read from the database, never from Redis)."""

    __tablename__ = "sync_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(String(128), index=True, nullable=False)
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), default=RUN_QUEUED, nullable=False)
    progress: Mapped[str | None] = mapped_column(String(255))
    pages: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    orders: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def active(self) -> bool:
        return self.status not in RUN_FINISHED


class SyncBookmark(TenantScoped, db.Model):
    """Where a stream of one location stands (Singer-style state): a JSON cursor, advanced only on success."""

    __tablename__ = "sync_bookmarks"
    __table_args__ = (UniqueConstraint("location_id", "stream"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id", ondelete="CASCADE"), nullable=False)
    stream: Mapped[str] = mapped_column(String(32), nullable=False)
    cursor: Mapped[str] = mapped_column(Text, default="{}", nullable=False)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebhookEvent(TenantScoped, Timestamped, db.Model):
    """A Toast webhook as received: stored before processing, deduplicated on Toast's event GUID."""

    __tablename__ = "webhook_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("toast_connections.id", ondelete="CASCADE"), index=True)
    event_guid: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    event_type: Mapped[str] = mapped_column(String(64), nullable=False)
    restaurant_guid: Mapped[str | None] = mapped_column(String(64))
    order_guid: Mapped[str | None] = mapped_column(String(64))
    attempt: Mapped[int] = mapped_column(Integer, default=1, nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(16), default="received", nullable=False)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
