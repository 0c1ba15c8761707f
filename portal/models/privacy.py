"""Guest privacy: keyed hashes of identifiers that belonged to erased guests.

Only an HMAC of each identifier is kept (``portal.privacy.erasure.digest``), never the identifier itself: enough to
recognise it when later orders carry it again, useless to anyone reading the table without the key.
"""
from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.models.base import TenantScoped, UTCDateTime, utcnow

ERASED_KINDS = ("email", "phone", "guid")


class ErasedIdentifier(TenantScoped, db.Model):
    __tablename__ = "erased_identifiers"
    __table_args__ = (UniqueConstraint("org_id", "kind", "digest"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)  # email | phone | guid
    digest: Mapped[str] = mapped_column(String(64), nullable=False)  # hex HMAC-SHA256
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class MarketingSuppression(TenantScoped, db.Model):
    """An email or phone that said no to marketing, as a keyed hash: every guest carrying it is opted out,
    including guests who first order after an unsubscribe list naming them was imported."""

    __tablename__ = "marketing_suppressions"
    __table_args__ = (UniqueConstraint("org_id", "kind", "digest"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)  # email | phone
    digest: Mapped[str] = mapped_column(String(64), nullable=False)  # hex HMAC-SHA256
    source: Mapped[str] = mapped_column(String(16), nullable=False)  # import | manual | link
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
