"""Guest privacy: keyed hashes of identifiers that belonged to erased guests.

Only an HMAC of each identifier is kept (``portal.privacy.erasure.digest``), never the identifier itself: enough to
recognise it when later orders carry it again, useless to anyone reading the table without the key.
"""
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, TenantScoped, UTCDateTime, utcnow

ERASED_KINDS = ("email", "phone", "guid")


class ErasedIdentifier(TenantScoped, Base):
    __tablename__ = "erased_identifiers"
    __table_args__ = (UniqueConstraint("org_id", "kind", "digest"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)  # email | phone | guid
    digest: Mapped[str] = mapped_column(String(64), nullable=False)  # hex HMAC-SHA256
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class MarketingSuppression(TenantScoped, Base):
    """An email or phone that said no to marketing, as a keyed hash: every guest carrying it is opted out,
    including guests who first order after an unsubscribe list naming them was imported."""

    __tablename__ = "marketing_suppressions"
    __table_args__ = (UniqueConstraint("org_id", "kind", "digest"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)  # email | phone
    digest: Mapped[str] = mapped_column(String(64), nullable=False)  # hex HMAC-SHA256
    source: Mapped[str] = mapped_column(String(16), nullable=False)  # import | manual | link
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class MarketingOptIn(TenantScoped, Base):
    """A guest's recorded "yes" to marketing (when and where it was given). Toast carries none: without a row here a
    guest is never sent to an email tool as subscribed, only as a contact without a subscription."""

    __tablename__ = "marketing_opt_ins"
    __table_args__ = (UniqueConstraint("org_id", "guest_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    guest_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("guests.id", ondelete="CASCADE"), nullable=False)
    source: Mapped[str] = mapped_column(String(32), nullable=False)  # e.g. "signup form", "import"
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
