"""Predicted guest value: BG/NBD visits × Gamma-Gamma spend per visit, discounted month by month.

Same construction as ``lifetimes``' ``customer_lifetime_value``: for each month i of the horizon,
(E[X(month_i)] - E[X(month_{i-1})]) × E[spend per visit] / (1 + d)^i, where E[X(t)] is the BG/NBD conditional
expectation (eq. 10) and d the monthly discount rate.

Units: the models run in weeks, so month i ends at i × WEEKS_PER_MONTH weeks, with a month = 365.25/12 days
= 4.348 weeks (lifetimes rounds it to 4.345). The discount rate is given per year and converted to the equivalent
monthly compound rate d = (1 + annual)^(1/12) - 1, so 12 monthly discounts equal one annual discount
(lifetimes instead takes the monthly rate directly).
"""
from __future__ import annotations

import numpy as np

from . import bgnbd, gamma_gamma
from ._checks import check_rft
from .bgnbd import BGNBDParams
from .gamma_gamma import GammaGammaParams
from .summary import DAYS_PER_WEEK

WEEKS_PER_MONTH = 365.25 / 12 / DAYS_PER_WEEK
DEFAULT_ANNUAL_DISCOUNT_RATE = 0.10


def customer_value(
    visits: BGNBDParams,
    spend: GammaGammaParams,
    frequency,
    recency,
    T,
    monetary_value,
    *,
    months: int = 12,
    annual_discount_rate: float = DEFAULT_ANNUAL_DISCOUNT_RATE,
    weeks_per_month: float = WEEKS_PER_MONTH,
) -> np.ndarray:
    """Discounted expected spend of each guest over the next ``months`` months (currency of monetary_value).

    ``frequency``, ``recency``, ``T`` in weeks as for ``bgnbd``; ``monetary_value`` is the mean spend of the
    repeat days (ignored where frequency is 0). Raises ValueError on invalid input, months < 1,
    annual_discount_rate <= -1, weeks_per_month <= 0, or a Gamma-Gamma fit with q <= 1.
    """
    if int(months) != months or months < 1:
        raise ValueError(f"months must be a whole number >= 1, got {months}")
    if not annual_discount_rate > -1:
        raise ValueError(f"annual_discount_rate must be > -1, got {annual_discount_rate}")
    if not weeks_per_month > 0:
        raise ValueError(f"weeks_per_month must be > 0, got {weeks_per_month}")
    x, t_x, age = check_rft(frequency, recency, T)
    per_visit = gamma_gamma.conditional_expected_average_profit(spend, x, monetary_value)
    if len(per_visit) != len(x):
        raise ValueError(f"monetary_value has {len(per_visit)} values for {len(x)} guests")
    value = np.zeros_like(x)
    previous = np.zeros_like(x)
    # One vectorized pass per month (not per guest) keeps memory at a few arrays of n guests.
    for month in range(1, int(months) + 1):
        cumulative = bgnbd._conditional_expected(visits, month * weeks_per_month, x, t_x, age)
        value += (cumulative - previous) * per_visit / (1.0 + annual_discount_rate) ** (month / 12.0)
        previous = cumulative
    return value
