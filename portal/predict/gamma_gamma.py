"""Gamma-Gamma model of spend per visit: Fader & Hardie, "The Gamma-Gamma Model of Monetary Value" (note 025).

Each visit's spend is Gamma(p, ν) around a guest-specific rate ν ~ Gamma(q, v) (v is γ in the note), independent
of the visit process. It is fitted on repeat guests only: ``monetary_value`` is the mean spend of their repeat
visit days (z̄ in the note) and ``frequency`` the number of those days (x).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import digamma, gammaln

from ._checks import as_float_array, check_non_negative, check_same_length, check_weights
from ._optim import FitResult, fit_log_params


@dataclass(frozen=True, slots=True)
class GammaGammaParams:
    """Shape p of spend per visit, and Gamma(q, v) heterogeneity of its rate across guests (v in currency)."""

    p: float
    q: float
    v: float

    @property
    def population_mean_spend(self) -> float:
        """E[spend per visit] of a new guest, p·v/(q-1); infinite when q <= 1 (spend too heavy-tailed)."""
        return self.p * self.v / (self.q - 1) if self.q > 1 else float("inf")


def fit(frequency, monetary_value, weights=None) -> FitResult[GammaGammaParams]:
    """Maximum-likelihood (p, q, v) from the guests with frequency > 0 (others are ignored, they carry no z̄).

    ``weights`` optionally counts guests per row. Deterministic. Raises ValueError on mismatched, negative or
    non-integer frequencies, a non-positive monetary_value for a repeat guest, or no repeat guest at all.
    """
    x, m = _check(frequency, monetary_value)
    w = check_weights(weights, len(x))
    repeat = (x > 0) & (w > 0)
    if not repeat.any():
        raise ValueError("Gamma-Gamma needs at least one guest with a repeat visit (frequency > 0)")
    x, m, w = x[repeat], m[repeat], w[repeat]
    if (m <= 0).any():
        raise ValueError("monetary_value must be > 0 for every guest with frequency > 0")
    total = float(w.sum())
    # Start from p = 1, q = 2 and v = mean spend, i.e. a population mean p·v/(q-1) equal to the observed one.
    start = np.array([1.0, 2.0, float(w @ m) / total])
    logs = (np.log(x), np.log(m))  # data-only logs, computed once rather than at every iteration
    values, log_lik, converged, iterations, message = fit_log_params(
        lambda log_params: _mean_nll_and_grad(log_params, x, m, w, logs), start, total)
    return FitResult(GammaGammaParams(*map(float, values)), log_lik, converged, total, iterations, message)


def conditional_expected_average_profit(params: GammaGammaParams, frequency, monetary_value) -> np.ndarray:
    """E[spend per future visit | x, z̄] (note 025, eq. 5): a credibility-weighted mean of z̄ and the population.

    Weight on the guest's own average: p·x/(p·x+q-1); guests with x = 0 get the population mean p·v/(q-1)
    (their monetary_value is ignored). Raises ValueError on invalid input or when q <= 1 (mean undefined).
    """
    x, m = _check(frequency, monetary_value)
    if params.q <= 1:
        raise ValueError(f"Gamma-Gamma q = {params.q:.3g} <= 1: the population mean spend is undefined")
    own = params.p * x / (params.p * x + params.q - 1)
    return (1.0 - own) * params.population_mean_spend + own * np.where(x > 0, m, 0.0)


def _check(frequency, monetary_value) -> tuple[np.ndarray, np.ndarray]:
    x = as_float_array("frequency", frequency)
    m = as_float_array("monetary_value", monetary_value)
    check_same_length(frequency=x, monetary_value=m)
    check_non_negative("frequency", x)
    if (x != np.round(x)).any():
        raise ValueError("frequency must be whole numbers of repeat days")
    return x, m


def _mean_nll_and_grad(log_params, x, m, w, logs) -> tuple[float, np.ndarray]:
    """Mean negative log-likelihood of z̄ and its gradient with respect to log(p, q, v).

    z̄ | ν ~ Gamma(p·x, ν·x) and ν ~ Gamma(q, v) give the marginal density (note 025)
    f(z̄) = Γ(px+q) / (Γ(px) Γ(q)) · v^q · x^(px) · z̄^(px-1) / (v + x·z̄)^(px+q).
    """
    p, q, v = np.exp(log_params)
    log_x, log_m = logs
    total = w.sum()
    px = p * x
    log_xm_v = np.log(x * m + v)
    ll = gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(v) + (px - 1) * log_m \
        + px * log_x - (px + q) * log_xm_v
    common = digamma(px + q)
    grad = np.array([
        w @ (x * (common - digamma(px) + log_m + log_x - log_xm_v)),
        w @ (common - digamma(q) + np.log(v) - log_xm_v),
        w @ (q / v - (px + q) / (x * m + v)),
    ])
    return -float(w @ ll) / total, -grad * np.array([p, q, v]) / total
