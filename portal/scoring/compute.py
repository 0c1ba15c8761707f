"""From per-guest visit summaries to scores: RFM always, the BG/NBD and Gamma-Gamma figures when backed.

Pure numpy/scipy (no database): ``portal.scoring.service`` feeds it the SQL aggregates and writes the result.
Every step is vectorized over guests; the BG/NBD fit runs on the distinct (frequency, recency, age) rows with
weights (``portal.predict.summary.compress``), which is what lets a million guests fit in seconds.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from portal.predict import bgnbd, clv, diagnostics, gamma_gamma, rfm, summary
from portal.scoring.store import ScoreColumns
from portal.scoring.summaries import VisitSummaries

WEEK_DAYS = summary.DAYS_PER_WEEK
HORIZON_DAYS = 90  # "expected visits in the next 90 days"
VALUE_MONTHS = 12  # "predicted 12-month value"
# Past two years the median wait says "not coming back" better than a date would.
MAX_NEXT_VISIT_DAYS = 730
# Quality check: the model is fitted again on all but the last quarter of the history (at least four weeks)
# and its predictions for that held-out period are compared with the visits guests actually made.
HOLDOUT_SHARE = 0.25
MIN_HOLDOUT_DAYS = 28
# Below half a year of history the 12-month value extrapolates past anything observed: the page says so.
SHORT_HISTORY_DAYS = 182


@dataclass(frozen=True, slots=True)
class Thresholds:
    """When the model figures are shown at all (defaults: 200 repeat guests and 56 days, see diagnostics)."""

    min_repeat_guests: int = diagnostics.MIN_REPEAT_GUESTS
    min_history_days: int = diagnostics.MIN_HISTORY_DAYS


@dataclass
class Scored:
    """Everything a fit produces: per-guest columns to store, plus what the organization page shows."""

    columns: ScoreColumns
    guests: int
    repeat_guests: int
    history_days: int
    backed: bool
    reason: str
    params: dict | None = None
    log_likelihood: float | None = None
    calibration: dict | None = None
    notes: list[str] = field(default_factory=list)


def holdout_days(history_days: int) -> int:
    """Length of the quality check's held-out period: the last quarter of the history, at least four weeks."""
    return max(MIN_HOLDOUT_DAYS, math.ceil(HOLDOUT_SHARE * history_days))


def score(data: VisitSummaries, as_of_day: int, history_days: int, calibration_end_day: int, *,
          annual_discount_rate: float = clv.DEFAULT_ANNUAL_DISCOUNT_RATE,
          thresholds: Thresholds = Thresholds()) -> Scored:
    """Scores of every guest in ``data`` as of day ``as_of_day`` (days since 1970-01-01).

    RFM always; P(alive), expected visits, next visit and churn band when the data back a BG/NBD fit (enough
    repeat guests and history, and the fit converged); predicted value when the Gamma-Gamma fit converged too.
    Raises ValueError only for inconsistent summaries (a day after as_of, visits < 1).
    """
    if len(data) == 0:
        adequacy = _adequacy(0, history_days, thresholds)
        empty = np.zeros(0, dtype=np.int64)
        return Scored(ScoreColumns(empty, empty, empty, empty, np.zeros(0, dtype=object)), 0, 0, history_days,
                      False, adequacy.reason)
    frequency, recency, age, monetary = _rft(data, as_of_day)
    columns = _rfm_columns(data, as_of_day)
    repeat = int((frequency > 0).sum())
    adequacy = _adequacy(repeat, history_days, thresholds)
    scored = Scored(columns, len(data), repeat, history_days, adequacy.backed, adequacy.reason)
    if not adequacy.backed:
        return scored
    rows = summary.compress(frequency, recency, age)
    visits = bgnbd.fit(rows.frequency, rows.recency, rows.T, rows.weights)
    if not visits.converged:
        scored.backed = False
        scored.reason = ("The visit model did not settle on stable figures with this data "
                         f"({visits.message}); showing RFM groups only until the next fit.")
        return scored
    _visit_columns(scored, visits.params, frequency, recency, age, as_of_day)
    scored.params = {"r": visits.params.r, "alpha": visits.params.alpha, "a": visits.params.a, "b": visits.params.b,
                     "p": None, "q": None, "v": None}
    scored.log_likelihood = visits.log_likelihood
    _value_column(scored, visits.params, frequency, recency, age, monetary, annual_discount_rate)
    if history_days < SHORT_HISTORY_DAYS:
        scored.notes.append(f"With {history_days} days of history, the 12-month value extends what guests did so far "
                            "over a whole year: read it as a ranking more than an amount; it firms up every night.")
    scored.calibration = calibration(data, calibration_end_day, as_of_day)
    return scored


def _adequacy(repeat: int, history_days: int, thresholds: Thresholds) -> diagnostics.Adequacy:
    return diagnostics.model_adequacy(repeat, history_days, min_repeat_guests=thresholds.min_repeat_guests,
                                      min_history_days=thresholds.min_history_days)


def _rft(data: VisitSummaries, as_of_day: int):
    """(frequency, recency, T, monetary) in weeks / cents, as portal.predict.summary defines them."""
    return summary.summary_from_aggregates(
        data.first_day.astype("datetime64[D]"), data.last_day.astype("datetime64[D]"), data.visits,
        data.repeat_spend.astype(float), calibration_end=np.datetime64(int(as_of_day), "D"), unit_days=WEEK_DAYS)


def _rfm_columns(data: VisitSummaries, as_of_day: int) -> ScoreColumns:
    """R = days since the last order day, F = visits (order days), M = net spend: quintiles within the org."""
    scores = rfm.rfm_scores(as_of_day - data.last_day, data.visits, data.spend)
    group = rfm.segment(scores.recency, scores.fm)
    return ScoreColumns(data.guest_id, scores.recency, scores.frequency, scores.monetary, group)


def _visit_columns(scored: Scored, params, frequency, recency, age, as_of_day: int) -> None:
    nxt = bgnbd.next_visit(params, frequency, recency, age, horizon_days=HORIZON_DAYS, unit_days=WEEK_DAYS)
    p_alive = np.clip(nxt.p_alive, 0.0, 1.0)
    expected = bgnbd.conditional_expected_purchases(params, HORIZON_DAYS / WEEK_DAYS, frequency, recency, age)
    wait = np.where(nxt.days_if_alive <= MAX_NEXT_VISIT_DAYS, np.round(nxt.days_if_alive), np.nan)
    next_day = np.full(len(wait), np.datetime64("NaT"), dtype="datetime64[D]")
    known = ~np.isnan(wait)
    next_day[known] = (as_of_day + np.maximum(wait[known], 1).astype(np.int64)).astype("datetime64[D]")
    scored.columns = replace(scored.columns, p_alive=p_alive, expected_visits_90d=expected,
                             churn_band=rfm.churn_band(p_alive), expected_next_visit_on=next_day)


def _value_column(scored: Scored, visits, frequency, recency, age, monetary, rate: float) -> None:
    """Predicted 12-month value (cents) from a Gamma-Gamma fit on repeat guests with a positive spend."""
    spenders = (frequency > 0) & (monetary > 0)
    why = None
    if not spenders.any():
        why = "no returning guest has a recorded spend"
    else:
        spend = gamma_gamma.fit(frequency[spenders], monetary[spenders])
        if not spend.converged:
            why = f"the spend model did not settle on stable figures ({spend.message})"
        elif spend.params.q <= 1:
            why = "spend per visit varies too wildly between guests for an average to mean anything"
        else:
            scored.params.update(p=spend.params.p, q=spend.params.q, v=spend.params.v)
            value = clv.customer_value(visits, spend.params, frequency, recency, age, monetary,
                                       months=VALUE_MONTHS, annual_discount_rate=rate)
            scored.columns = replace(scored.columns, predicted_value_12m_cents=value)
            return
    scored.notes.append(f"Predicted value is not shown: {why}.")


def calibration(data: VisitSummaries, calibration_end_day: int, as_of_day: int) -> dict | None:
    """Refit on the calibration period and compare predicted with actual visits in the holdout period.

    Returns the chart's buckets plus totals, or None when the calibration period cannot be fitted (no guest
    with a repeat visit before it ends, or the fit did not converge).
    """
    born = data.calibration_visits > 0
    duration_days = as_of_day - calibration_end_day
    if not born.any() or duration_days <= 0:
        return None
    first = data.first_day[born]
    frequency = (data.calibration_visits[born] - 1).astype(float)
    recency = (data.calibration_last_day[born] - first) / WEEK_DAYS
    age = (calibration_end_day - first) / WEEK_DAYS
    if not (frequency > 0).any():
        return None
    rows = summary.compress(frequency, recency, age)
    fitted = bgnbd.fit(rows.frequency, rows.recency, rows.T, rows.weights)
    if not fitted.converged:
        return None
    actual = data.holdout_visits[born].astype(float)
    chart = diagnostics.calibration_chart(fitted.params, frequency, recency, age, actual, duration_days / WEEK_DAYS)
    predicted_total = float(np.nansum(chart.predicted * chart.guests))
    return {
        "labels": list(chart.labels),
        "guests": [int(n) for n in chart.guests],
        "actual": [None if np.isnan(v) else float(v) for v in chart.actual],
        "predicted": [None if np.isnan(v) else float(v) for v in chart.predicted],
        "calibration_end_day": int(calibration_end_day),
        "holdout_days": int(duration_days),
        "actual_total": int(actual.sum()),
        "predicted_total": predicted_total,
        "guests_total": int(born.sum()),
    }
