"""Benchmark: fit and score the guest-value models on N synthetic guests (default 1,000,000).

Usage: .venv/bin/python bench/predict_fit.py [--guests N] [--seed S]

Guests are drawn from known BG/NBD and Gamma-Gamma parameters (first visits spread over two years, times
rounded to whole days like real order dates), so the fit can be checked against the truth. Timed: compression
to distinct (x, t_x, T) rows, BG/NBD fit, Gamma-Gamma fit, and scoring every guest (P(alive), expected visits
in 90 days, 12-month value). Peak memory is the process's maximum resident set size.
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from portal.predict import bgnbd, clv, gamma_gamma, summary  # noqa: E402
from portal.predict.simulate import simulate_spend, simulate_visits  # noqa: E402

TRUE_VISITS = bgnbd.BGNBDParams(r=0.8, alpha=6.0, a=0.6, b=3.5)
TRUE_SPEND = gamma_gamma.GammaGammaParams(p=6.0, q=3.5, v=20.0)
TARGET_SECONDS = 60.0
TARGET_MIB = 2048.0
HISTORY_DAYS = 730


def generate(n: int, seed: int):
    """(frequency, recency, T, monetary_value) for n guests, times in weeks on a whole-day grid."""
    rng = np.random.default_rng(seed)
    age = rng.integers(1, HISTORY_DAYS + 1, size=n) / 7.0
    frequency, recency = simulate_visits(TRUE_VISITS, age, rng)
    recency = np.round(recency * 7.0) / 7.0
    return frequency, recency, age, simulate_spend(TRUE_SPEND, frequency, rng)


def fit_and_score(frequency, recency, age, monetary) -> dict:
    """Run the timed pipeline; returns wall times per step, fits and score summaries."""
    times, started = {}, time.perf_counter()
    rows = summary.compress(frequency, recency, age)
    times["compress"] = time.perf_counter() - started
    visits = bgnbd.fit(rows.frequency, rows.recency, rows.T, rows.weights)
    times["bgnbd fit"] = time.perf_counter() - started - sum(times.values())
    spend = gamma_gamma.fit(frequency, monetary)
    times["gamma-gamma fit"] = time.perf_counter() - started - sum(times.values())
    p_alive = bgnbd.probability_alive(visits.params, frequency, recency, age)
    visits_90d = bgnbd.conditional_expected_purchases(visits.params, 90 / 7.0, frequency, recency, age)
    value = clv.customer_value(visits.params, spend.params, frequency, recency, age, monetary)
    times["scoring"] = time.perf_counter() - started - sum(times.values())
    return {"times": times, "rows": len(rows.weights), "visits": visits, "spend": spend,
            "p_alive": p_alive, "visits_90d": visits_90d, "value": value}


def report(n: int, generate_seconds: float, result: dict) -> None:
    total = sum(result["times"].values())
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux reports KiB
    print(f"generated {n:,} guests in {generate_seconds:.1f} s (not timed below)")
    print(f"compressed to {result['rows']:,} distinct (x, t_x, T) rows")
    for step, seconds in result["times"].items():
        print(f"  {step:<16} {seconds:6.2f} s")
    print(f"fit+score {n:,} guests: {total:.1f} s (target < {TARGET_SECONDS:.0f} s) "
          f"{'OK' if total < TARGET_SECONDS else 'OVER'}")
    print(f"peak memory: {peak_mib:,.0f} MiB (target < {TARGET_MIB:.0f} MiB) "
          f"{'OK' if peak_mib < TARGET_MIB else 'OVER'}")
    fits = (("BG/NBD", result["visits"], TRUE_VISITS), ("Gamma-Gamma", result["spend"], TRUE_SPEND))
    for label, fitted, truth in fits:
        shown = ", ".join(f"{name}={getattr(fitted.params, name):.3f} (true {getattr(truth, name):g})"
                          for name in truth.__dataclass_fields__)
        print(f"{label}: {shown}; converged={fitted.converged}, {fitted.iterations} iterations")
    print(f"scores: mean P(alive) {result['p_alive'].mean():.3f}, mean visits in 90 days "
          f"{result['visits_90d'].mean():.3f}, mean 12-month value {result['value'].mean():.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guests", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20240501)
    args = parser.parse_args(argv)
    if args.guests < 1000:
        parser.error("--guests must be at least 1000 for a meaningful fit")
    started = time.perf_counter()
    data = generate(args.guests, args.seed)
    generate_seconds = time.perf_counter() - started
    report(args.guests, generate_seconds, fit_and_score(*data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
