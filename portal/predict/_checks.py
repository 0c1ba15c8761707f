"""Input validation shared by the models: every public function fails with a ValueError that names the problem."""
from __future__ import annotations

import numpy as np

# Recency and T computed from the same day counts can differ by float rounding only; allow that much.
_TIME_TOLERANCE = 1e-9


def as_float_array(name: str, values) -> np.ndarray:
    """``values`` as a 1-d float array; ValueError when not numeric, not 1-d, or not finite."""
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from None
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    bad = ~np.isfinite(array)
    if bad.any():
        raise ValueError(f"{name} has {int(bad.sum())} non-finite values (first at index {_first(bad)})")
    return array


def check_same_length(**arrays: np.ndarray) -> int:
    """Common length of the arrays; ValueError listing the lengths when they differ."""
    lengths = {name: len(array) for name, array in arrays.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{name}={n}" for name, n in lengths.items())
        raise ValueError(f"arrays must have the same length, got {shown}")
    return next(iter(lengths.values()))


def check_non_negative(name: str, array: np.ndarray) -> None:
    """ValueError when any value is negative."""
    bad = array < 0
    if bad.any():
        raise ValueError(f"{name} must be >= 0; {int(bad.sum())} negative values (first at index {_first(bad)})")


def check_rft(frequency, recency, T) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated (frequency, recency, T) float arrays of equal length.

    Raises ValueError for: empty or mismatched arrays, non-finite or negative values, non-integer frequency,
    recency > T, or recency != 0 where frequency == 0 (a guest without repeat days has no repeat span).
    """
    x = as_float_array("frequency", frequency)
    t_x = as_float_array("recency", recency)
    age = as_float_array("T", T)
    if check_same_length(frequency=x, recency=t_x, T=age) == 0:
        raise ValueError("frequency, recency and T are empty")
    for name, array in (("frequency", x), ("recency", t_x), ("T", age)):
        check_non_negative(name, array)
    fractional = x != np.round(x)
    if fractional.any():
        raise ValueError(f"frequency must be whole numbers of repeat days (first bad index {_first(fractional)})")
    late = t_x > age + _TIME_TOLERANCE
    if late.any():
        raise ValueError(f"recency must be <= T; {int(late.sum())} guests have recency > T "
                         f"(first at index {_first(late)})")
    orphan = (x == 0) & (t_x != 0)
    if orphan.any():
        raise ValueError(f"recency must be 0 when frequency is 0 (first bad index {_first(orphan)})")
    return x, np.minimum(t_x, age), age


def check_weights(weights, n: int) -> np.ndarray:
    """Validated weights (customer counts per row), ones when None; ValueError if negative, mismatched or all 0."""
    if weights is None:
        return np.ones(n)
    w = as_float_array("weights", weights)
    check_same_length(weights=w, frequency=np.empty(n))
    check_non_negative("weights", w)
    if w.sum() <= 0:
        raise ValueError("weights sum to zero: nothing to fit")
    return w


def broadcast(**arrays) -> list[np.ndarray]:
    """Float arrays broadcast together (scalars allowed); ValueError naming the shapes when they don't fit."""
    converted = {name: np.asarray(value, dtype=float) for name, value in arrays.items()}
    try:
        return list(np.broadcast_arrays(*converted.values()))
    except ValueError:
        shown = ", ".join(f"{name}{array.shape}" for name, array in converted.items())
        raise ValueError(f"array shapes do not match: {shown}") from None


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])
