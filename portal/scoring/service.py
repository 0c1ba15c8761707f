"""Guest value for one organization: fit the models on its own visits, score every guest, store both.

``fit_and_score`` is what the RQ job runs (nightly, after a backfill, on an owner's "Refit now"): one grouped SQL
read of per-guest summaries (portal.scoring.summaries), vectorized fitting and scoring (portal.scoring.compute),
and a bulk replace of the organization's ``guest_scores`` plus a ``model_fits`` record. The read and the fitting
happen before anything is written, so the write transaction (and SQLite's write lock) lasts only for the
delete + insert. The caller commits.

The other functions read what was stored, for pages and exports. Every function takes the session it works on
and its settings as values (no Flask: the RQ job, pages and the benchmark pass them).
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal import config
from portal.dates import date_text
from portal.dbutil import lock_organization
from portal.dialects import dialect_of
from portal.models.base import utcnow
from portal.models.scores import GuestScore, ModelFit
from portal.predict.rfm import CHURN_BAND_DESCRIPTIONS, SEGMENT_DESCRIPTIONS, SEGMENT_RULES
from portal.scoring import compute, store, summaries

CHURN_BANDS = ("high", "medium", "low")
RFM_GROUPS = tuple(dict.fromkeys(rule.name for rule in SEGMENT_RULES))  # table order, each name once

DEFINITIONS = {
    "rfm_group": ("RFM group", "From quintiles within your organization: R = days since the last order day, "
                  "F = visits (days with an order), M = net spend; each scored 1 (lowest fifth) to 5 (highest)."),
    "p_alive": ("Chance still a guest", "P(alive): the BG/NBD model's probability that the guest has not stopped "
                "coming, from how often they came and how long it has been. A guest seen on one day only has 1 by "
                "construction (the model cannot see someone drop out before a second visit): look at their "
                "expected visits instead."),
    "expected_visits_90d": ("Expected visits, next 90 days", "Visits (days with an order) the model expects in "
                            "the next 90 days, already weighted by the chance the guest is still coming."),
    "predicted_value_12m": ("Predicted 12-month value", "Expected visits over the next 12 months times expected "
                            "spend per visit (Gamma-Gamma model of repeat guests' spend), discounted month by "
                            "month at the yearly rate shown on the Guest value page."),
    "churn_band": ("Churn risk", "High below a 30% chance of still being a guest, medium below 70%, low otherwise."),
    "expected_next_visit": ("Next visit, if still coming", "The median wait until the next visit for a guest who "
                            "has not stopped coming, from the day of the last fit; blank beyond two years."),
}


@dataclass(frozen=True)
class Settings:
    annual_discount_rate: float
    thresholds: compute.Thresholds

    @classmethod
    def of(cls, settings: config.Settings) -> Settings:
        """The app's settings for a fit (portal.config: CLV_ANNUAL_DISCOUNT_RATE, PREDICT_MIN_*)."""
        return cls(settings.clv_annual_discount_rate,
                   compute.Thresholds(settings.predict_min_repeat_guests, settings.predict_min_history_days))


def fit_and_score(session: Session, org_id: int, as_of: date | None = None, *, options: Settings,
                  timings: dict | None = None) -> ModelFit:
    """Fit the organization's models on its orders up to ``as_of`` (a UTC date, default today) and replace
    every guest's score; returns the new ModelFit (flushed, not committed; on SQLite the read is committed
    first, see below). ``timings``, when given, receives
    the seconds of each step ("read", "fit and score", "write").

    Raises ValueError when ``as_of`` is in the future (nothing is written then), and database errors as they come.
    """
    started = time.perf_counter()
    timings = {} if timings is None else timings
    today = utcnow().date()
    as_of = as_of or today
    if as_of > today:
        raise ValueError(f"as_of {as_of} is in the future")
    connection = session.connection()
    first = summaries.first_order_day(connection, org_id, as_of)
    history = (as_of - first).days if first else 0
    calibration_end = as_of - timedelta(days=min(compute.holdout_days(history), history))
    data = summaries.visit_summaries(connection, org_id, as_of, calibration_end)
    if dialect_of(connection).releases_read_lock_early:
        session.commit()  # nothing is written yet: syncs must not wait on this transaction during the fit
    timings["read"] = time.perf_counter() - started
    scored = compute.score(data, summaries.day_number(as_of), history, summaries.day_number(calibration_end),
                           annual_discount_rate=options.annual_discount_rate, thresholds=options.thresholds)
    timings["fit and score"] = time.perf_counter() - started - timings["read"]
    # Only now the write transaction (on SQLite it takes the write lock as it begins), serialized with ingest:
    # guests merged away since the read get no score.
    lock_organization(session, org_id)
    connection = session.connection()
    now = utcnow()
    store.replace_scores(connection, org_id, scored.columns, now)
    fit = ModelFit(
        org_id=org_id, fitted_at=now, as_of=as_of, guests=scored.guests, repeat_guests=scored.repeat_guests,
        history_days=history, backed=scored.backed, reason=" ".join([scored.reason, *scored.notes]),
        params=scored.params, log_likelihood=scored.log_likelihood, calibration=scored.calibration,
        discount_rate=options.annual_discount_rate,
    )
    session.add(fit)
    session.flush()
    store.prune_fits(connection, org_id)
    fit.seconds = round(time.perf_counter() - started, 3)
    timings["write"] = fit.seconds - timings["read"] - timings["fit and score"]
    session.flush()
    return fit


def latest_fit(session: Session, org_id: int) -> ModelFit | None:
    return session.scalar(
        select(ModelFit).where(ModelFit.org_id == org_id).order_by(ModelFit.fitted_at.desc(), ModelFit.id.desc())
        .limit(1))


def score_of(session: Session, org_id: int, guest_id: int) -> GuestScore | None:
    return session.scalar(select(GuestScore).where(GuestScore.org_id == org_id, GuestScore.guest_id == guest_id))


def scores_for(session: Session, org_id: int, guest_ids: list[int]) -> dict[int, GuestScore]:
    """Guest id -> score, for a chunk of guests (exports)."""
    if not guest_ids:
        return {}
    rows = session.scalars(
        select(GuestScore).where(GuestScore.org_id == org_id, GuestScore.guest_id.in_(guest_ids)))
    return {row.guest_id: row for row in rows}


def group_counts(session: Session, org_id: int) -> Counter:
    """RFM group -> scored guests in it."""
    return Counter(dict(session.execute(
        select(GuestScore.rfm_group, func.count()).where(GuestScore.org_id == org_id)
        .group_by(GuestScore.rfm_group)).all()))


def band_counts(session: Session, org_id: int) -> Counter:
    """Churn band -> scored guests in it (empty when the model is not backed)."""
    return Counter(dict(session.execute(
        select(GuestScore.churn_band, func.count())
        .where(GuestScore.org_id == org_id, GuestScore.churn_band.is_not(None))
        .group_by(GuestScore.churn_band)).all()))


def group_rules() -> list[dict]:
    """Each RFM group with its description and the (R, FM) score boxes that make it up."""
    boxes: dict[str, list] = {name: [] for name in RFM_GROUPS}
    for rule in SEGMENT_RULES:
        boxes[rule.name].append((rule.recency, rule.fm))
    return [{"name": name, "description": SEGMENT_DESCRIPTIONS[name], "boxes": boxes[name]} for name in RFM_GROUPS]


def band_rules() -> list[tuple[str, str]]:
    return [(band, CHURN_BAND_DESCRIPTIONS[band]) for band in CHURN_BANDS]


def unavailable(fit: ModelFit | None, thresholds: compute.Thresholds) -> dict[str, str]:
    """Figure (a ``DEFINITIONS`` key) -> why the stored scores cannot answer it yet and when they will, for the
    figures the organization's last fit (``latest_fit``) did not produce; empty when every figure is there."""
    if fit is None:
        reason = ("Guest value is not computed yet: the models are first fitted when the Toast history download "
                  "finishes, then every night.")
        return dict.fromkeys(DEFINITIONS, reason)
    missing = {}
    if not fit.backed:
        missing = dict.fromkeys(("p_alive", "expected_visits_90d", "churn_band", "predicted_value_12m",
                                 "expected_next_visit"), _when_backed(fit, thresholds))
    elif not (fit.params or {}).get("p"):
        note = next((part for part in fit.reason.split(". ") if part.startswith("Predicted value is not shown")),
                    "Predicted value is not shown after the last fit.")
        missing["predicted_value_12m"] = note.rstrip(".") + "."
    return missing


def _when_backed(fit: ModelFit, thresholds: compute.Thresholds) -> str:
    """Why the last fit gave no predictions, and when they will appear (fits run every night)."""
    waits = []
    if fit.history_days < thresholds.min_history_days:
        ready = fit.as_of + timedelta(days=thresholds.min_history_days - fit.history_days)
        waits.append(f"the order history reaches {thresholds.min_history_days} days (the nightly fit of "
                     f"{date_text(ready)})")
    if fit.repeat_guests < thresholds.min_repeat_guests:
        waits.append(f"{thresholds.min_repeat_guests:,} guests have come back on another day "
                     f"({fit.repeat_guests:,} so far)")
    if not waits:  # enough data, the fit did not settle
        return fit.reason
    return "Predictions appear once " + " and ".join(waits) + "."


def guest_value(session: Session, org_id: int, guest_id: int, thresholds: compute.Thresholds) -> dict:
    """What the guest page shows: the guest's score (None before the first fit or without a counted order),
    whether the model figures are backed, and the definitions."""
    fit = latest_fit(session, org_id)
    return {"score": score_of(session, org_id, guest_id), "fit": fit, "definitions": DEFINITIONS,
            "unavailable": unavailable(fit, thresholds)}
