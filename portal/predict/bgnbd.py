"""BG/NBD model of repeat visits: Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way".

While alive, a guest visits as a Poisson process with rate λ ~ Gamma(r, α); after each repeat visit they drop out
with probability p ~ Beta(a, b). Inputs per guest: x = frequency (repeat purchase days), t_x = recency and
T = age, both in weeks since the first purchase. All functions are vectorized over guests and raise ValueError
on invalid input (see ``_checks.check_rft``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from ._checks import broadcast, check_rft, check_weights
from ._optim import FitResult, fit_log_params
from .summary import DAYS_PER_WEEK


@dataclass(frozen=True, slots=True)
class BGNBDParams:
    """Gamma(r, α) heterogeneity of visit rates (α in weeks) and Beta(a, b) of dropout probabilities."""

    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True, slots=True)
class NextVisit:
    """When a guest should come back, composed with whether they are still a guest at all.

    ``days_if_alive``: median days until the next visit if the guest is alive; ``p_alive``: P(alive now);
    ``p_visit_within``: P(at least one visit in the next ``horizon_days``) = p_alive × P(wait <= horizon | alive).
    """

    days_if_alive: np.ndarray
    p_alive: np.ndarray
    p_visit_within: np.ndarray
    horizon_days: float


@dataclass(frozen=True, slots=True)
class _Data:
    """Fit inputs, with the distinct frequencies pre-aggregated: half the likelihood depends on x alone."""

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    w: np.ndarray
    x_values: np.ndarray
    x_weight: np.ndarray
    total: float


def fit(frequency, recency, T, weights=None) -> FitResult[BGNBDParams]:
    """Maximum-likelihood BG/NBD parameters (eqs. 6-7 of the paper) by L-BFGS-B on log-parameters.

    ``weights`` counts the guests sharing each (frequency, recency, T) row (see ``summary.compress``); that is
    how a million guests fit in seconds. Deterministic. Raises ValueError on invalid input or when no guest has
    a repeat visit (the dropout process is then not identified).
    """
    data = _prepare(frequency, recency, T, weights)
    if data.x_weight[data.x_values > 0].sum() == 0:
        raise ValueError("BG/NBD needs at least one guest with a repeat visit (frequency > 0)")
    # Start at r = 1 with α matching the observed mean repeat rate (E[λ] = r/α), and a flat Beta(1, 1): the
    # optimizer then only has to move a few units in log space on real data.
    rate = float(data.w @ data.x) / float(data.w @ data.T)
    start = np.array([1.0, 1.0 / rate, 1.0, 1.0])
    values, log_lik, converged, iterations, message = fit_log_params(
        lambda log_params: _mean_nll_and_grad(log_params, data), start, data.total)
    return FitResult(BGNBDParams(*map(float, values)), log_lik, converged, data.total, iterations, message)


def log_likelihood(params: BGNBDParams, frequency, recency, T, weights=None) -> float:
    """Total log-likelihood of the guests under ``params`` (eq. 7: the weighted sum of eq. 6 logs)."""
    data = _prepare(frequency, recency, T, weights)
    mean_nll, _ = _mean_nll_and_grad(np.log([params.r, params.alpha, params.a, params.b]), data)
    return -mean_nll * data.total


def probability_alive(params: BGNBDParams, frequency, recency, T) -> np.ndarray:
    """P(guest still alive at T | x, t_x, T) (Fader, Hardie & Lee, note 021); exactly 1 when x = 0.

    1 / (1 + δ(x>0) · a/(b+x-1) · ((α+T)/(α+t_x))^(r+x)), computed as a logistic of the log-odds so it
    neither overflows for frequent guests nor loses precision near 0 or 1.
    """
    x, t_x, age = check_rft(frequency, recency, T)
    return _p_alive(params, x, t_x, age)


def conditional_expected_purchases(params: BGNBDParams, t, frequency, recency, T) -> np.ndarray:
    """E[visits in (T, T+t] | x, t_x, T], eq. 10 of the paper; ``t`` in weeks, scalar or one per guest."""
    x, t_x, age = check_rft(frequency, recency, T)
    horizon, x = broadcast(t=t, frequency=x)
    if (horizon < 0).any() or not np.isfinite(horizon).all():
        raise ValueError("t must be finite and >= 0")
    return _conditional_expected(params, horizon, x, t_x, age)


def expected_purchases_new(params: BGNBDParams, t) -> np.ndarray:
    """E[repeat visits in (0, t]] for a guest just acquired, eq. 9 (eq. 10 with x = t_x = T = 0)."""
    horizon = np.atleast_1d(np.asarray(t, dtype=float))
    if (horizon < 0).any() or not np.isfinite(horizon).all():
        raise ValueError("t must be finite and >= 0")
    zeros = np.zeros_like(horizon)
    return _conditional_expected(params, horizon, zeros, zeros, zeros)


def next_visit(
    params: BGNBDParams, frequency, recency, T, *, horizon_days: float = 30.0, unit_days: float = DAYS_PER_WEEK
) -> NextVisit:
    """Median wait to the next visit for an alive guest, with P(alive) and P(visit within ``horizon_days``).

    Definition: if alive at T, the guest's rate has posterior Gamma(r+x, α+T) (no dropout can happen before the
    next visit), so the wait W is Lomax: P(W > w) = ((α+T)/(α+T+w))^(r+x). We report its median
    (α+T)(2^(1/(r+x)) - 1) converted to days. Not the mean: E[W] = E[1/λ | data] = (α+T)/(r+x-1) is infinite
    whenever r+x <= 1, i.e. for most one-visit guests. Raises ValueError on invalid input or horizon < 0.
    """
    if not horizon_days >= 0:
        raise ValueError(f"horizon_days must be >= 0, got {horizon_days}")
    x, t_x, age = check_rft(frequency, recency, T)
    shape, scale = params.r + x, params.alpha + age
    median_weeks = scale * np.expm1(np.log(2.0) / shape)
    p_alive = _p_alive(params, x, t_x, age)
    horizon = horizon_days / unit_days
    # P(W <= h | alive) = 1 - (scale/(scale+h))^shape, via expm1/log1p for precision with small h.
    p_wait = -np.expm1(-shape * np.log1p(horizon / scale))
    return NextVisit(median_weeks * unit_days, p_alive, p_alive * p_wait, float(horizon_days))


def _prepare(frequency, recency, T, weights) -> _Data:
    x, t_x, age = check_rft(frequency, recency, T)
    w = check_weights(weights, len(x))
    x_values, inverse = np.unique(x, return_inverse=True)
    x_weight = np.bincount(inverse.reshape(-1), weights=w, minlength=len(x_values))
    return _Data(x, t_x, age, w, x_values, x_weight, float(w.sum()))


def _mean_nll_and_grad(log_params: np.ndarray, d: _Data) -> tuple[float, np.ndarray]:
    """Mean negative log-likelihood (eq. 6) and its gradient with respect to log(r, α, a, b).

    ln L = ln A1 + ln A2 + ln(A3 + δ(x>0) A4) with, as in Hardie's note 004,
    A1 = Γ(r+x)α^r/Γ(r), A2 = B(a, b+x)/B(a, b), A3 = (α+T)^-(r+x), A4 = a/(b+x-1) (α+t_x)^-(r+x).
    A1 and A2 depend on x only, so they are summed once per distinct x; the mixture uses logaddexp.
    """
    r, alpha, a, b = np.exp(log_params)
    xv, wx, x, w = d.x_values, d.x_weight, d.x, d.w
    ll_x = wx @ (gammaln(r + xv) - gammaln(r) + betaln(a, b + xv) - betaln(a, b)) + d.total * r * np.log(alpha)
    log_at_T, log_at_tx = np.log(alpha + d.T), np.log(alpha + d.t_x)
    repeat = x > 0
    b_x1 = b + np.maximum(x, 1) - 1  # b + x - 1, kept away from 0 for rows where A4 is absent anyway
    ln_a3 = -(r + x) * log_at_T
    ln_a4 = np.where(repeat, np.log(a) - np.log(b_x1) - (r + x) * log_at_tx, -np.inf)
    ln_mix = np.logaddexp(ln_a3, ln_a4)
    share4 = np.exp(ln_a4 - ln_mix)  # A4's share of the mixture; 0 where x = 0
    share3 = 1.0 - share4
    grad = np.array([
        wx @ (digamma(r + xv) - digamma(r)) + d.total * np.log(alpha)
        - w @ (share3 * log_at_T + share4 * log_at_tx),
        d.total * r / alpha - w @ ((r + x) * (share3 / (alpha + d.T) + share4 / (alpha + d.t_x))),
        wx @ (digamma(a + b) - digamma(a + b + xv)) + (w @ share4) / a,
        wx @ (digamma(b + xv) - digamma(b) + digamma(a + b) - digamma(a + b + xv)) - w @ (share4 / b_x1),
    ])
    mean_ll = (ll_x + w @ ln_mix) / d.total
    # Chain rule to log-parameters (d/dlnθ = θ d/dθ), negated for minimization.
    return -float(mean_ll), -grad * np.array([r, alpha, a, b]) / d.total


def _p_alive(params: BGNBDParams, x, t_x, age) -> np.ndarray:
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    log_odds_dead = np.log(a) - np.log(b + np.maximum(x, 1) - 1) + (r + x) * np.log((alpha + age) / (alpha + t_x))
    return np.where(x > 0, expit(-log_odds_dead), 1.0)


def _conditional_expected(params: BGNBDParams, t, x, t_x, age) -> np.ndarray:
    """Eq. 10 after Euler's transformation 2F1(A,B;C;z) = (1-z)^(C-A-B) 2F1(C-A, C-B; C; z).

    Eq. 10's 2F1(r+x, b+x; a+b+x-1; z) overflows for frequent guests (the #NUM! problem of Fader & Hardie
    note 027). Transformed, its prefactor ((α+T)/(α+T+t))^(r+x) and (1-z)^(C-A-B) collapse to (1-z)^(a-1),
    leaving 2F1(a+b-1-r, a-1; a+b+x-1; z), whose first two parameters do not grow with x.
    """
    r, alpha, b = params.r, params.alpha, params.b
    # The formula is continuous in a but 0/0 at a = 1 exactly; nudge (bias ~1e-7 relative).
    a = params.a if abs(params.a - 1.0) > 1e-7 else 1.0 + 1e-7
    c = a + b + x - 1
    one_minus_z = (alpha + age) / (alpha + age + t)
    hyp = hyp2f1(a + b - 1 - r, a - 1, c, 1.0 - one_minus_z)
    bracket = -np.expm1((a - 1) * np.log(one_minus_z)) + one_minus_z ** (a - 1) * (1.0 - hyp)
    return _p_alive(params, x, t_x, age) * c / (a - 1) * bracket
