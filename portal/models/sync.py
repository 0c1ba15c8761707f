"""What the sync engine did and where it stands: one SyncRun per job, one bookmark per location and stream."""
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, TenantScoped, Timestamped, UTCDateTime

RUN_QUEUED, RUN_RUNNING, RUN_SUCCEEDED, RUN_FAILED = "queued", "running", "succeeded", "failed"
RUN_FINISHED = (RUN_SUCCEEDED, RUN_FAILED)

# A webhook event is "received" until a drain job processes it, ignores it (no order, unknown location) or, after
# MAX_EVENT_FAILURES failed attempts, gives up on it ("failed", shown to support with its reason).
EVENT_PENDING, EVENT_PROCESSED, EVENT_IGNORED, EVENT_FAILED = "received", "processed", "ignored", "failed"
MAX_EVENT_FAILURES = 5


class SyncRun(TenantScoped, Timestamped, Base):
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


class SyncBookmark(TenantScoped, Base):
    """Where a stream of one location stands (Singer-style state): a JSON cursor, advanced only on success."""

    __tablename__ = "sync_bookmarks"
    __table_args__ = (UniqueConstraint("location_id", "stream"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id", ondelete="CASCADE"), nullable=False)
    stream: Mapped[str] = mapped_column(String(32), nullable=False)
    cursor: Mapped[str] = mapped_column(Text, default="{}", nullable=False)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebhookEvent(TenantScoped, Timestamped, Base):
    """A Toast webhook as received: stored before processing, deduplicated on Toast's event GUID."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        # Partial indexes: the drain reads a connection's pending events in id order, support counts the failed
        # ones; both stay small however many processed events the retention period keeps.
        Index("ix_webhook_events_pending", "connection_id", "id",
              sqlite_where=text("status = 'received'"), postgresql_where=text("status = 'received'")),
        Index("ix_webhook_events_failed", "org_id", "id",
              sqlite_where=text("status = 'failed'"), postgresql_where=text("status = 'failed'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("toast_connections.id", ondelete="CASCADE"), index=True)
    event_guid: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    event_type: Mapped[str] = mapped_column(String(64), nullable=False)
    restaurant_guid: Mapped[str | None] = mapped_column(String(64))
    order_guid: Mapped[str | None] = mapped_column(String(64))
    attempt: Mapped[int] = mapped_column(Integer, default=1, nullable=False)  # Toast's delivery attempt
    body: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(16), default=EVENT_PENDING, nullable=False)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # processed, ignored or given up
    # Our processing attempts that failed on the event itself (transient errors do not count); reason in error.
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0", nullable=False)
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a pending event left for later: not before
    error: Mapped[str | None] = mapped_column(Text)
