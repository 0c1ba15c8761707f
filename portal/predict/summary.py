"""Per-guest purchase summaries (frequency, recency, T, monetary_value) from transaction lines.

Conventions follow ``lifetimes`` and Fader & Hardie: one purchase per guest per calendar day (same-day orders are
merged and their amounts summed); the first purchase day is the guest's "birth" and is not counted;
``frequency`` = number of repeat purchase days, ``recency`` = first to last purchase day, ``T`` = first purchase
day to the end of the calibration period, ``monetary_value`` = mean spend of the repeat days (0 without repeats).
Times are in weeks by default (``unit_days=7``).

In the portal the same figures come straight from SQL aggregates; the model modules take those arrays directly.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ._checks import as_float_array, check_rft, check_same_length

DAYS_PER_WEEK = 7.0


@dataclass(frozen=True, slots=True)
class CustomerSummary:
    """One row per guest with a purchase on or before the calibration end, sorted by ``customer_id``."""

    customer_id: np.ndarray
    frequency: np.ndarray
    recency: np.ndarray
    T: np.ndarray
    monetary_value: np.ndarray


@dataclass(frozen=True, slots=True)
class HoldoutSummary:
    """Calibration summary plus purchase days each guest made after it (for the calibration chart)."""

    calibration: CustomerSummary
    frequency_holdout: np.ndarray
    duration_holdout: float


@dataclass(frozen=True, slots=True)
class Compressed:
    """Distinct (frequency, recency, T) rows with ``weights`` = how many guests share each row.

    ``inverse`` maps every original guest to its row: ``compressed.frequency[compressed.inverse]`` rebuilds them.
    """

    frequency: np.ndarray
    recency: np.ndarray
    T: np.ndarray
    weights: np.ndarray
    inverse: np.ndarray


def to_days(dates) -> np.ndarray:
    """Dates as ``datetime64[D]``: accepts numpy datetimes, ``datetime.date``/naive ``datetime`` or ISO strings.

    Timestamps are floored to their calendar day as given, so pass local business dates. Raises ValueError for
    missing values (None/NaT), unparseable values or timezone-aware datetimes (ambiguous calendar day).
    """
    array = np.asarray(dates)
    if array.ndim != 1:
        raise ValueError(f"dates must be one-dimensional, got shape {array.shape}")
    if array.size == 0:
        return np.empty(0, dtype="datetime64[D]")
    try:
        with warnings.catch_warnings():
            # numpy only warns when it silently converts an aware datetime to UTC; refuse instead.
            warnings.simplefilter("error", UserWarning)
            days = array.astype("datetime64[D]") if array.dtype.kind == "M" else _parse_days(array)
    except (TypeError, ValueError, UserWarning) as exc:
        raise ValueError(f"dates must be naive dates or datetimes: {exc}") from None
    missing = np.isnat(days)
    if missing.any():
        raise ValueError(f"dates has {int(missing.sum())} missing values (first at index {np.argmax(missing)})")
    return days


def _parse_days(array: np.ndarray) -> np.ndarray:
    if array.dtype.kind in "OUS":
        # Going through microseconds lets datetimes with a time of day floor to their date.
        return array.astype("datetime64[us]").astype("datetime64[D]")
    raise TypeError(f"unsupported dtype {array.dtype}")


def summarize_transactions(
    customer_ids, dates, amounts=None, *, calibration_end=None, unit_days: float = DAYS_PER_WEEK
) -> CustomerSummary:
    """Summarize transaction lines into per-guest (frequency, recency, T, monetary_value).

    Lines after ``calibration_end`` (a date, inclusive; default the last date) are ignored, and guests whose
    first purchase is after it are left out. ``amounts`` defaults to zeros; negative lines (refunds) are summed
    into their day. Raises ValueError for mismatched lengths, bad dates or amounts, or no line on or before
    ``calibration_end``.
    """
    ids, codes, days, spend = _prepare(customer_ids, dates, amounts)
    end = days.max() if calibration_end is None else _one_day("calibration_end", calibration_end)
    cust, frequency, recency, age, monetary = _summarize(codes, days, spend, end, unit_days)
    return CustomerSummary(ids[cust], frequency, recency, age, monetary)


def summarize_with_holdout(
    customer_ids, dates, amounts=None, *, calibration_end, observation_end, unit_days: float = DAYS_PER_WEEK
) -> HoldoutSummary:
    """Calibration summary up to ``calibration_end`` plus holdout purchase days in (calibration_end, observation_end].

    Only guests already acquired in the calibration period appear (the models say nothing about the others).
    Raises ValueError as ``summarize_transactions`` does, and when ``observation_end`` <= ``calibration_end``.
    """
    ids, codes, days, spend = _prepare(customer_ids, dates, amounts)
    cal_end = _one_day("calibration_end", calibration_end)
    obs_end = _one_day("observation_end", observation_end)
    if obs_end <= cal_end:
        raise ValueError(f"observation_end {obs_end} must be after calibration_end {cal_end}")
    cust, frequency, recency, age, monetary = _summarize(codes, days, spend, cal_end, unit_days)
    in_holdout = (days > cal_end) & (days <= obs_end)
    holdout_codes, _, _ = _purchase_days(codes[in_holdout], days[in_holdout], spend[in_holdout])
    holdout_days = np.bincount(holdout_codes, minlength=len(ids))[cust].astype(float)
    calibration = CustomerSummary(ids[cust], frequency, recency, age, monetary)
    duration = float(obs_end - cal_end) / unit_days
    return HoldoutSummary(calibration, holdout_days, duration)


def summary_from_aggregates(
    first_day, last_day, purchase_days, repeat_spend, *, calibration_end, unit_days: float = DAYS_PER_WEEK
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(frequency, recency, T, monetary_value) from per-guest SQL aggregates, with the same conventions.

    Inputs per guest: first and last purchase day, number of distinct purchase days (>= 1) and total spend of
    the days after the first, all over the calibration period. Raises ValueError for mismatched lengths, bad
    dates, purchase_days < 1 or not whole, last_day before first_day, or first/last day after calibration_end.
    """
    first, last = to_days(first_day).astype(np.int64), to_days(last_day).astype(np.int64)
    days = as_float_array("purchase_days", purchase_days)
    spend = as_float_array("repeat_spend", repeat_spend)
    check_same_length(first_day=first, last_day=last, purchase_days=days, repeat_spend=spend)
    end = _one_day("calibration_end", calibration_end)
    if (days < 1).any() or (days != np.round(days)).any():
        raise ValueError("purchase_days must be whole numbers >= 1 (the first purchase day counts)")
    if (last < first).any() or (last > end).any():
        raise ValueError("need first_day <= last_day <= calibration_end for every guest")
    frequency = days - 1
    monetary = np.divide(spend, frequency, out=np.zeros_like(spend), where=frequency > 0)
    recency, age = (last - first) / unit_days, (end - first) / unit_days
    check_rft(frequency, recency, age)
    return frequency, recency.astype(float), age.astype(float), monetary


def compress(frequency, recency, T, *, resolution: float | None = 1 / DAYS_PER_WEEK) -> Compressed:
    """Group guests with the same (frequency, recency, T) so a fit evaluates each pattern once, with a weight.

    ``resolution`` rounds recency and T to a grid first (default one day when times are in weeks; None keeps
    exact values). Rounding is monotone, so recency <= T still holds. Raises ValueError like ``bgnbd.fit``.
    """
    x, t_x, age = check_rft(frequency, recency, T)
    if resolution is not None and resolution <= 0:
        raise ValueError(f"resolution must be positive or None, got {resolution}")
    if resolution is None:
        rows = np.stack([x, t_x, age], axis=1)
        unique, inverse, counts = np.unique(rows, axis=0, return_inverse=True, return_counts=True)
        return Compressed(unique[:, 0], unique[:, 1], unique[:, 2], counts.astype(float), inverse.reshape(-1))
    steps_x, steps_age = np.round(t_x / resolution).astype(np.int64), np.round(age / resolution).astype(np.int64)
    span = int(steps_age.max()) + 1
    if (int(x.max()) + 1) * span * span >= 2**62:
        raise ValueError("resolution too fine for these T values; use a coarser one or None")
    # One int64 key per guest sorts ~5x faster than np.unique over rows.
    key = (x.astype(np.int64) * span + steps_x) * span + steps_age
    unique, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    frequency, rest = np.divmod(unique, span * span)
    recency_steps, age_steps = np.divmod(rest, span)
    return Compressed(frequency.astype(float), recency_steps * resolution, age_steps * resolution,
                      counts.astype(float), inverse.reshape(-1))


def _prepare(customer_ids, dates, amounts) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(distinct ids, id code per line, day number per line, amount per line), validated."""
    raw_ids = np.asarray(customer_ids)
    if raw_ids.ndim != 1:
        raise ValueError(f"customer_ids must be one-dimensional, got shape {raw_ids.shape}")
    days = to_days(dates).astype(np.int64)
    spend = np.zeros(len(days)) if amounts is None else as_float_array("amounts", amounts)
    if check_same_length(customer_ids=raw_ids, dates=days, amounts=spend) == 0:
        raise ValueError("no transactions given")
    try:
        ids, codes = np.unique(raw_ids, return_inverse=True)
    except TypeError as exc:
        raise ValueError(f"customer_ids must be comparable values of one type: {exc}") from None
    return ids, codes.reshape(-1), days, spend


def _one_day(name: str, value) -> np.int64:
    return to_days(np.asarray([value]))[0].astype(np.int64)


def _summarize(codes, days, spend, end, unit_days: float):
    """Vectorized core: (customer codes, frequency, recency, T, monetary) for lines on or before day ``end``."""
    if unit_days <= 0:
        raise ValueError(f"unit_days must be positive, got {unit_days}")
    keep = days <= end
    if not keep.any():
        raise ValueError(f"no transaction on or before the calibration end {np.datetime64(int(end), 'D')}")
    day_codes, day_numbers, day_spend = _purchase_days(codes[keep], days[keep], spend[keep])
    # Purchase days are sorted by (customer, day): each customer's run starts with their first day.
    starts = np.flatnonzero(np.r_[True, day_codes[1:] != day_codes[:-1]])
    counts = np.diff(np.r_[starts, len(day_codes)])
    first, last = day_numbers[starts], day_numbers[starts + counts - 1]
    frequency = (counts - 1).astype(float)
    repeat_spend = np.add.reduceat(day_spend, starts) - day_spend[starts]
    monetary = np.divide(repeat_spend, frequency, out=np.zeros_like(repeat_spend), where=frequency > 0)
    recency = (last - first) / unit_days
    age = (end - first) / unit_days
    return day_codes[starts], frequency, recency.astype(float), age.astype(float), monetary


def _purchase_days(codes, days, spend) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (customer, day) pairs sorted by customer then day, with the day's summed spend."""
    if len(codes) == 0:
        return codes, days, spend
    order = np.lexsort((days, codes))
    codes, days, spend = codes[order], days[order], spend[order]
    starts = np.flatnonzero(np.r_[True, (codes[1:] != codes[:-1]) | (days[1:] != days[:-1])])
    return codes[starts], days[starts], np.add.reduceat(spend, starts)
