"""Is a fitted model worth showing? Data-sufficiency rule and the calibration (holdout) chart."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import bgnbd
from ._checks import as_float_array, broadcast, check_non_negative, check_rft, check_same_length
from .bgnbd import BGNBDParams

# Product thresholds, not figures from the papers: with fewer repeat guests or a shorter history the fitted
# heterogeneity parameters swing widely between samples, and the figures would look more precise than they are.
# 56 days: the quality check holds out the last 28 days (at least four weeks) and refits on the rest, which must be
# at least as long; a new tenant's 12-week backfill (84 days) clears it, so predictions come with the first fit.
# What a short history cannot show well (lapsing over months) is carried by the repeat-guest threshold and said
# on the page (portal.scoring.compute, SHORT_HISTORY_DAYS).
MIN_REPEAT_GUESTS = 200
MIN_HISTORY_DAYS = 56


@dataclass(frozen=True, slots=True)
class Adequacy:
    """Whether the BG/NBD and Gamma-Gamma figures are backed by enough data, with a sentence for the UI."""

    backed: bool
    reason: str


@dataclass(frozen=True, slots=True)
class CalibrationChart:
    """Mean holdout visits per guest, actual vs predicted, by calibration frequency bucket ("0" … "7+").

    Buckets without guests have ``guests`` 0 and NaN means (nothing to plot).
    """

    labels: tuple[str, ...]
    guests: np.ndarray
    actual: np.ndarray
    predicted: np.ndarray


def model_adequacy(
    n_repeat_guests: int,
    history_days: float,
    *,
    min_repeat_guests: int = MIN_REPEAT_GUESTS,
    min_history_days: float = MIN_HISTORY_DAYS,
) -> Adequacy:
    """Backed when there are >= ``min_repeat_guests`` repeat guests and >= ``min_history_days`` days of history
    (defaults: MIN_REPEAT_GUESTS and MIN_HISTORY_DAYS).

    Raises ValueError for negative or non-finite inputs.
    """
    if not (np.isfinite(n_repeat_guests) and np.isfinite(history_days)) or n_repeat_guests < 0 or history_days < 0:
        raise ValueError("n_repeat_guests and history_days must be finite and >= 0")
    missing = []
    if n_repeat_guests < min_repeat_guests:
        missing.append(f"at least {min_repeat_guests} guests who came back (have {int(n_repeat_guests)})")
    if history_days < min_history_days:
        missing.append(f"at least {int(min_history_days)} days of order history (have {int(history_days)})")
    if missing:
        return Adequacy(False, "Predictions are rough guesses until there are " + " and ".join(missing) + ".")
    return Adequacy(True, f"Predictions are based on {int(n_repeat_guests)} returning guests "
                          f"over {int(history_days)} days of order history.")


def calibration_chart(
    params: BGNBDParams,
    frequency_cal,
    recency_cal,
    T_cal,
    frequency_holdout,
    duration_holdout,
    *,
    max_frequency: int = 7,
) -> CalibrationChart:
    """Bucket guests by calibration frequency (0 … max_frequency-1, then "max_frequency+") and compare the mean
    actual holdout visits with the BG/NBD expectation (eq. 10) over ``duration_holdout`` weeks.

    ``duration_holdout`` is a scalar or one value per guest. Raises ValueError on invalid input.
    """
    if int(max_frequency) != max_frequency or max_frequency < 1:
        raise ValueError(f"max_frequency must be a whole number >= 1, got {max_frequency}")
    x, t_x, age = check_rft(frequency_cal, recency_cal, T_cal)
    actual = as_float_array("frequency_holdout", frequency_holdout)
    check_same_length(frequency_cal=x, frequency_holdout=actual)
    check_non_negative("frequency_holdout", actual)
    (duration,) = broadcast(duration_holdout=duration_holdout)
    if (duration < 0).any():
        raise ValueError("duration_holdout must be >= 0")
    predicted = bgnbd.conditional_expected_purchases(params, duration, x, t_x, age)
    bucket = np.minimum(x, max_frequency).astype(np.int64)
    size = int(max_frequency) + 1
    guests = np.bincount(bucket, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        actual_mean = np.bincount(bucket, weights=actual, minlength=size) / guests
        predicted_mean = np.bincount(bucket, weights=predicted, minlength=size) / guests
    labels = tuple(str(i) for i in range(size - 1)) + (f"{size - 1}+",)
    return CalibrationChart(labels, guests, actual_mean, predicted_mean)
