"""Predicted guest value: one score row per guest, and a record of each model fit per organization.

Both are written only by ``portal.scoring.service.fit_and_score`` (an RQ job): ``guest_scores`` is replaced in
bulk for the whole organization at each fit; ``model_fits`` keeps the recent fits (the page shows the latest).
Model figures are NULL when the fit is not backed by enough data (``ModelFit.backed``): RFM is always there.
"""
from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Boolean, Date, Float, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, TenantScoped, UTCDateTime, utcnow
from portal.models.orders import BigId


class GuestScore(Base):
    """RFM scores and model predictions of one guest, as of ``scored_at``."""

    __tablename__ = "guest_scores"
    __table_args__ = (
        # Segment conditions: a range or equality on one figure within the organization.
        Index("ix_guest_scores_org_p_alive", "org_id", "p_alive"),
        Index("ix_guest_scores_org_rfm_group", "org_id", "rfm_group"),
        Index("ix_guest_scores_org_value", "org_id", "predicted_value_12m_cents"),
    )

    guest_id: Mapped[int] = mapped_column(BigId, ForeignKey("guests.id", ondelete="CASCADE"), primary_key=True)
    # Indexed only as the leading column of the composite indexes above (as on the other per-guest tables).
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False)
    recency_score: Mapped[int] = mapped_column(SmallInteger, nullable=False)  # 1-5, 5 = most recent
    frequency_score: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    monetary_score: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    rfm_group: Mapped[str] = mapped_column(String(32), nullable=False)  # portal.predict.rfm SEGMENT_RULES names
    p_alive: Mapped[float | None] = mapped_column(Float)
    expected_visits_90d: Mapped[float | None] = mapped_column(Float)
    predicted_value_12m_cents: Mapped[int | None] = mapped_column(BigInteger)
    churn_band: Mapped[str | None] = mapped_column(String(8))  # low | medium | high
    # A calendar date (UTC), not an instant: the median wait if the guest still comes, from the fit's as-of date.
    expected_next_visit_on: Mapped[date | None] = mapped_column(Date)
    scored_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class ModelFit(TenantScoped, Base):
    """One fit of the guest-value models for an organization: data used, parameters, quality check."""

    __tablename__ = "model_fits"

    id: Mapped[int] = mapped_column(primary_key=True)
    fitted_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    as_of: Mapped[date] = mapped_column(Date, nullable=False)  # last order day included (UTC)
    guests: Mapped[int] = mapped_column(Integer, nullable=False)  # guests with at least one counted order
    repeat_guests: Mapped[int] = mapped_column(Integer, nullable=False)  # ... on two days or more
    history_days: Mapped[int] = mapped_column(Integer, nullable=False)  # first order day to as_of
    backed: Mapped[bool] = mapped_column(Boolean, nullable=False)  # P(alive) etc. stored and shown
    reason: Mapped[str] = mapped_column(Text, nullable=False)  # the plain-words adequacy sentence
    # {"r", "alpha", "a", "b"} (BG/NBD, weeks) and {"p", "q", "v"} (Gamma-Gamma, cents); null values when not fitted.
    params: Mapped[dict | None] = mapped_column(JSON)
    log_likelihood: Mapped[float | None] = mapped_column(Float)
    # {"labels", "guests", "actual", "predicted", "calibration_end", "holdout_days"} or null.
    calibration: Mapped[dict | None] = mapped_column(JSON)
    discount_rate: Mapped[float] = mapped_column(Float, nullable=False)
    seconds: Mapped[float | None] = mapped_column(Float)  # wall time of the whole fit and write-back
