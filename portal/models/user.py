"""People who sign in: organization members (owner, marketer) and platform support staff."""
import secrets
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, Timestamped, UTCDateTime
from portal.models.tenant import Organization

ROLES = ("owner", "marketer")


def new_session_token() -> str:
    return secrets.token_urlsafe(16)


class User(Timestamped, Base):
    __tablename__ = "users"
    __table_args__ = (
        # Support staff belong to no organization; everyone else belongs to exactly one, with a role.
        CheckConstraint(
            "(is_support AND org_id IS NULL AND role IS NULL)"
            " OR (NOT is_support AND org_id IS NOT NULL AND role IN ('owner', 'marketer'))",
            name="membership",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True, nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    role: Mapped[str | None] = mapped_column(String(16))
    is_support: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    # Support staff may make changes while viewing as an organization only when granted this
    # (`flask user grant-support-write`) and only in a session started with "allow changes".
    can_write_as_support: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false(), nullable=False
    )
    # Rotated on password change: it is part of the login id, so older sessions stop loading.
    session_token: Mapped[str] = mapped_column(String(32), default=new_session_token, nullable=False)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organization: Mapped[Organization | None] = relationship()

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    # What Flask-Login asks of a user (its UserMixin, written out: the models import no Flask).
    @property
    def is_active(self) -> bool:
        return self.disabled_at is None

    @property
    def is_authenticated(self) -> bool:
        return self.is_active

    @property
    def is_anonymous(self) -> bool:
        return False

    @property
    def is_owner(self) -> bool:
        return self.role == "owner"

    def __repr__(self) -> str:
        return f"<User {self.id}>"
