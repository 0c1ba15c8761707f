"""Who did what to an organization: audit events, and the support sessions that view an organization as it."""
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, TenantScoped, Timestamped, UTCDateTime, utcnow
from portal.models.tenant import Organization
from portal.models.user import User

# The actions the portal records, with the label the audit log shows. Others may be recorded (features add
# their own); they appear under their raw name.
ACTIONS = {
    "impersonation.started": "Support started viewing as",
    "impersonation.stopped": "Support stopped viewing as",
    "impersonation.expired": "Support view-as expired",
    "impersonation.write": "Change made by support",
    "impersonation.write_blocked": "Change refused to support",
    "user.created": "User created",
    "user.removed": "User removed",
    "user.role_changed": "Role changed",
    "user.password_changed": "Password changed",
    "user.signed_in": "Signed in",
    "user.sign_in_failed": "Sign-in failed",
    "credentials.changed": "Toast credentials changed",
    "export.downloaded": "Export downloaded",
    "guest.merged": "Guests merged",
    "guest.unmerged": "Guest merge undone",
    "guest.duplicate_dismissed": "Guests marked as different people",
    "guest.erased": "Guest erased",
    "guest.opted_out": "Guest opted out of marketing",
    "guest.opted_in": "Guest opted back in to marketing",
    "guest.opt_outs_imported": "Unsubscribe list imported",
    "audience.destination_connected": "Email tool connected",
    "audience.destination_disconnected": "Email tool disconnected",
    "audience.sync_created": "Audience sync set up",
    "audience.sync_started": "Audience sync started",
    "audience.synced": "Audience synced",
    "audience.sync_failed": "Audience sync failed",
}
END_REASONS = ("stopped", "expired", "logout")


class Impersonation(TenantScoped, Base):
    """A support user viewing one organization as its members see it, for a limited time."""

    __tablename__ = "impersonations"

    id: Mapped[int] = mapped_column(primary_key=True)
    # No ON DELETE: support users are disabled, never deleted, and this history must not vanish with one.
    support_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    reason: Mapped[str] = mapped_column(String(200), nullable=False)
    can_write: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(16))

    organization: Mapped[Organization] = relationship()
    support_user: Mapped[User] = relationship()

    def is_open(self, now: datetime) -> bool:
        return self.ended_at is None and now < self.expires_at

    def __repr__(self) -> str:
        return f"<Impersonation {self.id} org={self.org_id}>"


class AuditEvent(TenantScoped, Timestamped, Base):
    """One recorded action. ``details`` holds ids, counts and codes only, never guest PII."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_org_id_created_at", "org_id", "created_at"),
        Index("ix_audit_events_org_id_action", "org_id", "action"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The email is copied: the actor may later be removed, and the log must still say who it was.
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_email: Mapped[str | None] = mapped_column(String(254))
    impersonation_id: Mapped[int | None] = mapped_column(
        ForeignKey("impersonations.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict] = mapped_column(JSON, default=dict, nullable=False)
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    request_method: Mapped[str | None] = mapped_column(String(10))
    request_path: Mapped[str | None] = mapped_column(String(255))
    request_id: Mapped[str | None] = mapped_column(String(64))

    impersonation: Mapped[Impersonation | None] = relationship()

    @property
    def label(self) -> str:
        return ACTIONS.get(self.action, self.action)

    def __repr__(self) -> str:
        return f"<AuditEvent {self.id} {self.action}>"
