"""Synthetic guests drawn from the BG/NBD and Gamma-Gamma processes, for tests and benchmarks.

Vectorized: no loop over guests or purchases, so a million guests take about a second.
"""
from __future__ import annotations

import numpy as np

from ._checks import as_float_array, check_non_negative
from .bgnbd import BGNBDParams
from .gamma_gamma import GammaGammaParams


def simulate_visits(params: BGNBDParams, T, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(frequency, recency) of guests observed for T weeks each, drawn from the BG/NBD story.

    λ ~ Gamma(r, α) and p ~ Beta(a, b) per guest; while alive, visits are Poisson(λ). The guest drops out at
    their D-th repeat visit with D ~ Geometric(p), so x = min(N, D) where N ~ Poisson(λT) counts the visits a
    never-dying guest would make. Given N, visit times are N uniform points in (0, T], and the x-th of them is
    T·Beta(x, N-x+1) (order statistic), which is t_x. Raises ValueError for negative or non-finite T.
    """
    age = as_float_array("T", T)
    check_non_negative("T", age)
    n = len(age)
    rate = rng.gamma(params.r, 1.0 / params.alpha, size=n)
    # A Beta draw can underflow to 0, which Geometric rejects; 1e-12 is "never drops out" in practice.
    dropout = np.clip(rng.beta(params.a, params.b, size=n), 1e-12, 1.0)
    would_visit = rng.poisson(rate * age)
    visits = np.minimum(would_visit, rng.geometric(dropout))
    recency = np.zeros(n)
    repeat = visits > 0
    recency[repeat] = age[repeat] * rng.beta(visits[repeat], would_visit[repeat] - visits[repeat] + 1)
    return visits.astype(float), recency


def simulate_spend(params: GammaGammaParams, frequency, rng: np.random.Generator) -> np.ndarray:
    """Mean spend of the repeat visits (0 where frequency is 0), drawn from the Gamma-Gamma story.

    ν ~ Gamma(q, rate v) per guest, each visit's spend ~ Gamma(p, rate ν), so the mean of x visits is
    Gamma(p·x, rate ν·x). Raises ValueError for negative or non-finite frequencies.
    """
    x = as_float_array("frequency", frequency)
    check_non_negative("frequency", x)
    spend_rate = rng.gamma(params.q, 1.0 / params.v, size=len(x))
    mean_spend = np.zeros(len(x))
    repeat = x > 0
    mean_spend[repeat] = rng.gamma(params.p * x[repeat], 1.0 / (spend_rate[repeat] * x[repeat]))
    return mean_spend
