"""Saved guest segments: a named rule tree (portal.segments.rules) over the guest figures, per organization."""
import json
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, TenantScoped, Timestamped, UTCDateTime, utcnow
from portal.models.guest import Guest

# Segments test any combination of figures. This index holds them (except the dates, which are wide in SQLite),
# led by the most common range (last order): counting members is an index-only scan on both databases instead
# of a row lookup per guest. Cost (README, "Segments performance"): about 90 bytes per guest on SQLite, one more
# index entry rewritten per figure update.
SEGMENT_FIGURES = (
    "org_id", "last_order_at", "id", "order_count", "net_spend_cents", "avg_check_cents", "total_tips_cents",
    "delivery_orders", "takeout_orders", "curbside_orders", "dine_in_orders", "delivery_spend_cents",
    "has_email", "has_phone", "marketing_opt_out", "location_mask",
)
Index("ix_guests_segment_figures", *(Guest.__table__.c[name] for name in SEGMENT_FIGURES))
# "At least n orders in the last N days" (n = 2..5) is a range on the n-th most recent order time; guests with
# fewer orders have none and stay out of the index.
for _n in range(2, 6):
    _column = Guest.__table__.c[f"last_order_{_n}_at"]
    Index(f"ix_guests_org_last_order_{_n}_at", Guest.__table__.c.org_id, _column,
          sqlite_where=_column.is_not(None), postgresql_where=_column.is_not(None))

class Segment(TenantScoped, Timestamped, Base):
    __tablename__ = "segments"
    __table_args__ = (UniqueConstraint("org_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    # Stable handle for the CLI (`flask guests export --segment SLUG`); presets keep theirs when edited.
    slug: Mapped[str] = mapped_column(String(64), nullable=False)
    # The rule tree as JSON text, always validated (portal.segments.rules.validate) before it is stored.
    rules_json: Mapped[str] = mapped_column(Text, nullable=False)
    is_preset: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)

    @property
    def rules(self) -> dict:
        return json.loads(self.rules_json)

    @rules.setter
    def rules(self, tree: dict) -> None:
        self.rules_json = json.dumps(tree, sort_keys=True, separators=(",", ":"))

    def __repr__(self) -> str:
        return f"<Segment {self.org_id}:{self.slug}>"
