"""Maximum-likelihood fitting on log-parameters, shared by the BG/NBD and Gamma-Gamma models."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Generic, TypeVar

import numpy as np
from scipy.optimize import minimize

P = TypeVar("P")

# exp(±20) spans 2e-9 .. 5e8: wider than any sensible parameter in weeks or currency units, and it keeps
# exp() and gammaln() finite while the optimizer explores.
LOG_BOUND = 20.0


@dataclass(frozen=True, slots=True)
class FitResult(Generic[P]):
    """A fitted model: its parameters plus what the optimizer reported.

    ``log_likelihood`` is the total over guests (weights included); ``n`` is the number of guests (sum of weights);
    ``converged`` is False when the optimizer stopped early or a parameter ran into the search bounds.
    """

    params: P
    log_likelihood: float
    converged: bool
    n: float
    iterations: int
    message: str


def fit_log_params(
    mean_nll_and_grad: Callable[[np.ndarray], tuple[float, np.ndarray]],
    start: np.ndarray,
    total_weight: float,
) -> tuple[np.ndarray, float, bool, int, str]:
    """Minimize a mean negative log-likelihood over log-parameters with L-BFGS-B and an analytic gradient.

    Returns (parameters, total log-likelihood, converged, iterations, message). Deterministic: no random starts,
    and numpy reductions over the same arrays give the same sums on every run.
    """
    log_start = np.clip(np.log(start), -LOG_BOUND + 1, LOG_BOUND - 1)
    result = minimize(
        mean_nll_and_grad,
        log_start,
        jac=True,
        method="L-BFGS-B",
        bounds=[(-LOG_BOUND, LOG_BOUND)] * len(start),
        # The objective is a per-guest mean (order 1), so these tolerances sit near float precision; the
        # CDNOW check needs the parameters to a few 1e-4, which a looser ftol would not guarantee.
        options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-9, "maxcor": 20},
    )
    at_bound = bool(np.any(np.abs(result.x) >= LOG_BOUND - 1e-6))
    # With tolerances this tight L-BFGS-B sometimes ends in a failed line search at the optimum itself;
    # a vanishing gradient still means the maximum was found.
    stationary = bool(np.max(np.abs(mean_nll_and_grad(result.x)[1])) < 1e-6)
    converged = (bool(result.success) or stationary) and not at_bound and bool(np.isfinite(result.fun))
    message = str(result.message).strip()
    if at_bound:
        message += " (a parameter reached the search bound)"
    elif stationary and not result.success:
        message += " (stopped at a point with zero gradient: accepted)"
    log_likelihood = -float(result.fun) * total_weight
    return np.exp(result.x), log_likelihood, converged, int(result.nit), message
