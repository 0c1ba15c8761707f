"""Audience sync: destinations (an organization's Mailchimp or Klaviyo account and list), syncs (one segment to one
destination list), the snapshot of what each sync last sent per guest, runs and the records a destination rejected.
"""
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, TenantScoped, Timestamped, UTCDateTime, utcnow
from portal.models.segment import Segment
from portal.models.user import User

KINDS = ("mailchimp", "klaviyo")
KIND_LABELS = {"mailchimp": "Mailchimp", "klaviyo": "Klaviyo"}
DESTINATION_ACTIVE = "active"
DESTINATION_RECONNECT = "reconnect"

RUN_QUEUED, RUN_RUNNING, RUN_DONE, RUN_FAILED = "queued", "running", "done", "failed"
RUN_ACTIVE = (RUN_QUEUED, RUN_RUNNING)
TRIGGERS = ("manual", "nightly", "orders", "cli")


class AudienceDestination(TenantScoped, Timestamped, Base):
    """One account and list of an email tool. The API key is Fernet-encrypted (portal.crypto), never shown again."""

    __tablename__ = "audience_destinations"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # mailchimp | klaviyo
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    base_url: Mapped[str] = mapped_column(String(255), nullable=False)
    list_id: Mapped[str] = mapped_column(String(64), nullable=False)
    api_key_enc: Mapped[str] = mapped_column(Text, nullable=False)
    # Pacing is per destination account across every worker: the key's fingerprint names the account.
    account_key: Mapped[str] = mapped_column(String(64), nullable=False)
    # The path segment of /webhooks/mailchimp/<token>: unguessable, names the destination without a session.
    webhook_token: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    status: Mapped[str] = mapped_column(String(16), default=DESTINATION_ACTIVE, nullable=False)
    status_reason: Mapped[str | None] = mapped_column(Text)
    # Klaviyo: suppressions newer than this have been read back into the suppression list.
    suppressions_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    @property
    def label(self) -> str:
        return f"{KIND_LABELS.get(self.kind, self.kind)}: {self.name}"


class AudienceSync(TenantScoped, Timestamped, Base):
    """A segment mirrored into a destination list, with the guest fields it sends (JSON list of field keys)."""

    __tablename__ = "audience_syncs"
    __table_args__ = (UniqueConstraint("segment_id", "destination_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id", ondelete="CASCADE"), nullable=False, index=True)
    destination_id: Mapped[int] = mapped_column(ForeignKey("audience_destinations.id", ondelete="CASCADE"),
                                                nullable=False, index=True)
    fields_json: Mapped[str] = mapped_column(Text, nullable=False, default="[]")
    # Mailchimp: the static segment (tag) that carries membership, created on the first run.
    remote_segment_id: Mapped[str | None] = mapped_column(String(64))
    # Merge fields known to exist in the destination (JSON list), so they are created only once.
    remote_fields_json: Mapped[str] = mapped_column(Text, nullable=False, default="[]")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    segment: Mapped[Segment] = relationship()
    destination: Mapped[AudienceDestination] = relationship()


class AudienceMember(Base):
    """What a sync last sent for one guest: its destination id (Mailchimp subscriber hash, Klaviyo profile id), the
    fingerprint of the fields sent, the status the destination holds, and whether this sync created the member and
    put it in the list/tag (only then may it take it out). No guest identifiers beyond the destination's own id."""

    __tablename__ = "audience_members"

    sync_id: Mapped[int] = mapped_column(ForeignKey("audience_syncs.id", ondelete="CASCADE"), primary_key=True)
    # No foreign key: a guest erased or merged away must still be taken out of the destination.
    guest_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    remote_id: Mapped[str | None] = mapped_column(String(64))
    fingerprint: Mapped[str | None] = mapped_column(String(32))
    # subscribed | transactional | unsubscribed | cleaned | unknown (the member existed before this sync)
    remote_status: Mapped[str | None] = mapped_column(String(16))
    created_by_sync: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    in_list: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    # A write was sent whose answer was not stored (a run killed mid-chunk): its echo is our own write.
    pending: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


Index("ix_audience_members_remote", AudienceMember.sync_id, AudienceMember.remote_id)


class AudienceRun(TenantScoped, Base):
    """One run of a sync: what it found, what it sent, what it cost, who or what started it."""

    __tablename__ = "audience_runs"
    __table_args__ = (Index("ix_audience_runs_sync_started", "sync_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sync_id: Mapped[int] = mapped_column(ForeignKey("audience_syncs.id", ondelete="CASCADE"), nullable=False)
    status: Mapped[str] = mapped_column(String(16), default=RUN_QUEUED, nullable=False)
    trigger: Mapped[str] = mapped_column(String(16), nullable=False)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    members: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    to_send: Mapped[int] = mapped_column(Integer, default=0, nullable=False)  # planned adds+updates+removals
    added: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    updated: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    removed: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    unchanged: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    rejected: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    # Members whose only address is a delivery marketplace's relay: they cannot receive marketing, never sent.
    relay_skipped: Mapped[int] = mapped_column(Integer, default=0, server_default="0", nullable=False)
    api_calls: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    write_calls: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    error: Mapped[str | None] = mapped_column(Text)

    sync: Mapped[AudienceSync] = relationship()
    started_by: Mapped[User | None] = relationship()

    @property
    def done(self) -> int:
        return self.added + self.updated + self.removed + self.rejected

    @property
    def seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    @property
    def active(self) -> bool:
        return self.status in RUN_ACTIVE


class AudienceRejection(TenantScoped, Base):
    """A record the destination refused, with its reason (downloadable from the run history)."""

    __tablename__ = "audience_rejections"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("audience_runs.id", ondelete="CASCADE"), nullable=False, index=True)
    guest_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    code: Mapped[str] = mapped_column(String(64), nullable=False)
    reason: Mapped[str] = mapped_column(String(500), nullable=False)
