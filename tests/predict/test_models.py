"""Unit tests of the model library: behaviour the papers imply, numerical edge cases and input errors."""
import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import approx_fprime
from scipy.integrate import quad
from scipy.special import betaln, hyp2f1

from portal.predict import bgnbd, clv, diagnostics, gamma_gamma, summary
from portal.predict.bgnbd import BGNBDParams
from portal.predict.gamma_gamma import GammaGammaParams
from portal.predict.simulate import simulate_spend, simulate_visits

CDNOW = BGNBDParams(r=0.242593, alpha=4.413532, a=0.792886, b=2.425752)
SPEND = GammaGammaParams(p=6.248802, q=3.744588, v=15.447748)


@pytest.fixture(scope="module")
def synthetic():
    """20,000 guests from known parameters: (truth, frequency, recency, T, monetary)."""
    rng = np.random.default_rng(11)
    truth = BGNBDParams(r=0.9, alpha=5.0, a=0.7, b=3.0)
    age = rng.integers(7, 365, size=20_000) / 7.0
    frequency, recency = simulate_visits(truth, age, rng)
    return truth, frequency, recency, age, simulate_spend(SPEND, frequency, rng)


def eq10_untransformed(p: BGNBDParams, t, x, t_x, T):
    """Eq. 10 exactly as printed in the paper (fine for small x), to check our transformed version."""
    z = t / (p.alpha + T + t)
    bracket = 1 - ((p.alpha + T) / (p.alpha + T + t)) ** (p.r + x) * hyp2f1(p.r + x, p.b + x, p.a + p.b + x - 1, z)
    denominator = 1 + (x > 0) * p.a / (p.b + x - 1) * ((p.alpha + T) / (p.alpha + t_x)) ** (p.r + x)
    return (p.a + p.b + x - 1) / (p.a - 1) * bracket / denominator


# --- BG/NBD -------------------------------------------------------------------------------------------------


def test_p_alive_lower_when_purchases_stopped():
    stopped, still_buying = bgnbd.probability_alive(CDNOW, [3, 3], [5.0, 35.0], [39.0, 39.0])
    assert stopped < still_buying


def test_p_alive_is_one_without_repeat_visits():
    np.testing.assert_array_equal(bgnbd.probability_alive(CDNOW, [0, 0, 0], [0, 0, 0], [0.0, 10.0, 500.0]), 1.0)


def test_p_alive_stays_finite_for_very_frequent_guests():
    p = bgnbd.probability_alive(CDNOW, [400, 400], [100.0, 1.0], [100.0, 100.0])
    assert p[0] > 0.99 and 0 <= p[1] < 1e-10


def test_expected_purchases_increase_with_t():
    horizons = np.array([0.0, 1.0, 4.0, 13.0, 26.0, 52.0, 104.0])
    conditional = bgnbd.conditional_expected_purchases(CDNOW, horizons, np.full(7, 2), np.full(7, 30.43),
                                                       np.full(7, 38.86))
    assert conditional[0] == 0 and np.all(np.diff(conditional) > 0)
    new = bgnbd.expected_purchases_new(CDNOW, horizons)
    assert new[0] == 0 and np.all(np.diff(new) > 0)


def test_expected_purchases_new_is_eq10_at_birth():
    np.testing.assert_allclose(bgnbd.expected_purchases_new(CDNOW, 39.0),
                               bgnbd.conditional_expected_purchases(CDNOW, 39.0, 0, 0, 0), rtol=1e-12)


@pytest.mark.parametrize("params", [CDNOW, BGNBDParams(0.8, 6, 1.5, 3.5), BGNBDParams(2, 3, 0.3, 10)])
def test_transformed_eq10_equals_the_printed_formula(params):
    x = np.array([0, 1, 2, 5, 10, 20])
    t_x, T = np.array([0, 3.0, 10.0, 20.0, 30.0, 38.0]), np.full(6, 39.0)
    for t in (0.5, 39.0, 200.0):
        np.testing.assert_allclose(bgnbd.conditional_expected_purchases(params, t, x, t_x, T),
                                   eq10_untransformed(params, t, x, t_x, T), rtol=1e-9)


def eq10_by_integration(p: BGNBDParams, t, x, t_x, T):
    """Eq. 10 derived independently: given alive, λ ~ Gamma(r+x, α+T) and p ~ Beta(a, b+x), and
    E[X(t) | λ, p] = (1 - exp(-λpt))/p; the λ-average is closed form, the p-average is done by quadrature
    (after u = p^a, which removes the p^(a-1) singularity)."""
    shape_b, scale, k = p.b + x, p.alpha + T, p.r + x
    log_norm = np.log(p.a) + betaln(p.a, shape_b)

    def integrand(u):
        dropout = u ** (1 / p.a)
        if dropout == 0:
            return k * t / scale * np.exp(-log_norm)
        gain = -np.expm1(-k * np.log1p(dropout * t / scale)) / dropout
        return gain * np.exp((shape_b - 1) * np.log1p(-dropout) - log_norm)

    value, _ = quad(integrand, 0, 1, limit=500, epsabs=0, epsrel=1e-10, points=[min(1e-6, shape_b ** -p.a)])
    return bgnbd.probability_alive(p, x, t_x, T)[0] * value


@pytest.mark.parametrize("t, x, t_x, T", [
    (39, 0, 0, 38.86), (39, 2, 30.43, 38.86), (200, 5, 3, 10), (1, 300, 99.9, 100),
    # Guests this frequent overflow the printed eq. 10 (NaN with scipy's hyp2f1): the #NUM! problem.
    (52, 3000, 99.9, 100), (52, 10000, 99.9, 100),
])
def test_eq10_matches_independent_integral_even_for_very_frequent_guests(t, x, t_x, T):
    expected = bgnbd.conditional_expected_purchases(CDNOW, t, x, t_x, T)[0]
    assert expected == pytest.approx(eq10_by_integration(CDNOW, t, x, t_x, T), rel=1e-8)


def test_eq10_is_continuous_at_a_equal_one():
    values = [bgnbd.conditional_expected_purchases(BGNBDParams(0.5, 5, a, 2.0), 20.0, 3, 10.0, 30.0)[0]
              for a in (1 - 1e-4, 1.0, 1 + 1e-4)]
    assert np.all(np.isfinite(values)) and np.ptp(values) < 1e-4


def test_next_visit_composes_wait_with_p_alive():
    estimate = bgnbd.next_visit(CDNOW, [2, 2], [30.43, 5.0], [38.86, 38.86], horizon_days=30)
    shape, scale = CDNOW.r + 2, CDNOW.alpha + 38.86
    assert estimate.days_if_alive[0] == pytest.approx(7 * scale * (2 ** (1 / shape) - 1))
    np.testing.assert_allclose(estimate.p_alive, bgnbd.probability_alive(CDNOW, [2, 2], [30.43, 5.0], [38.86] * 2))
    assert np.all(estimate.p_visit_within < estimate.p_alive)
    assert estimate.p_visit_within[1] < estimate.p_visit_within[0]
    zero_horizon = bgnbd.next_visit(CDNOW, [2], [30.43], [38.86], horizon_days=0)
    assert zero_horizon.p_visit_within[0] == 0


def test_fit_is_deterministic(synthetic):
    _, x, t_x, T, _ = synthetic
    assert bgnbd.fit(x, t_x, T) == bgnbd.fit(x, t_x, T)


def test_fit_recovers_generating_parameters(synthetic):
    truth, x, t_x, T, _ = synthetic
    fitted = bgnbd.fit(x, t_x, T)
    assert fitted.converged
    for name in ("r", "alpha", "a", "b"):
        assert getattr(fitted.params, name) == pytest.approx(getattr(truth, name), rel=0.15), name


def test_weighted_fit_on_compressed_rows_equals_fit_on_every_guest(synthetic):
    _, x, t_x, T, _ = synthetic
    rows = summary.compress(x, t_x, T, resolution=1 / 7)
    rounded_t_x, rounded_T = rows.recency[rows.inverse], rows.T[rows.inverse]
    full = bgnbd.fit(x, rounded_t_x, rounded_T)
    compressed = bgnbd.fit(rows.frequency, rows.recency, rows.T, weights=rows.weights)
    assert compressed.n == len(x) and len(rows.weights) < len(x)
    assert compressed.log_likelihood == pytest.approx(full.log_likelihood, rel=1e-9)
    for name in ("r", "alpha", "a", "b"):
        assert getattr(compressed.params, name) == pytest.approx(getattr(full.params, name), rel=1e-5)


def test_bgnbd_gradient_matches_finite_differences(synthetic):
    _, x, t_x, T, _ = synthetic
    data = bgnbd._prepare(x[:500], t_x[:500], T[:500], None)
    for point in (np.log([0.3, 4, 0.8, 2.4]), np.log([2, 0.5, 3, 0.2])):
        numeric = approx_fprime(point, lambda v: bgnbd._mean_nll_and_grad(v, data)[0], 1e-7)
        np.testing.assert_allclose(bgnbd._mean_nll_and_grad(point, data)[1], numeric, rtol=1e-4, atol=1e-6)


def test_fit_without_repeat_guests_is_refused():
    with pytest.raises(ValueError, match="at least one guest with a repeat visit"):
        bgnbd.fit([0, 0, 0], [0, 0, 0], [5, 6, 7])


@pytest.mark.parametrize("frequency, recency, T, message", [
    ([1, -1], [1, 0], [2, 2], "frequency must be >= 0"),
    ([1, 1], [-1, 1], [2, 2], "recency must be >= 0"),
    ([1, 1], [1, 1], [2, -2], "T must be >= 0"),
    ([1, 1], [1, 1], [2], "same length"),
    ([1, 1], [3, 1], [2, 2], "recency must be <= T"),
    ([1.5, 1], [1, 1], [2, 2], "whole numbers"),
    ([0, 1], [1, 1], [2, 2], "recency must be 0 when frequency is 0"),
    ([1, np.nan], [1, 1], [2, 2], "non-finite"),
    ([], [], [], "empty"),
    (["a"], [1], [2], "numeric"),
])
def test_bad_input_raises_clear_value_error(frequency, recency, T, message):
    for call in (lambda: bgnbd.fit(frequency, recency, T),
                 lambda: bgnbd.probability_alive(CDNOW, frequency, recency, T),
                 lambda: bgnbd.conditional_expected_purchases(CDNOW, 10, frequency, recency, T)):
        with pytest.raises(ValueError, match=message):
            call()


def test_bad_weights_and_horizons_raise():
    with pytest.raises(ValueError, match="weights must be >= 0"):
        bgnbd.fit([1, 2], [1, 2], [3, 3], weights=[1, -1])
    with pytest.raises(ValueError, match="same length"):
        bgnbd.fit([1, 2], [1, 2], [3, 3], weights=[1])
    with pytest.raises(ValueError, match="t must be finite and >= 0"):
        bgnbd.conditional_expected_purchases(CDNOW, -1, [1], [1], [2])
    with pytest.raises(ValueError, match="shapes do not match"):
        bgnbd.conditional_expected_purchases(CDNOW, [1, 2, 3], [1, 1], [1, 1], [2, 2])


@settings(max_examples=200, deadline=None)
@given(x=st.integers(0, 500), t_x_share=st.floats(0, 1), T=st.floats(0, 520), t=st.floats(0, 520))
def test_predictions_are_probabilities_and_non_negative_counts(x, t_x_share, T, t):
    t_x = 0.0 if x == 0 else t_x_share * T
    p = bgnbd.probability_alive(CDNOW, x, t_x, T)[0]
    expected = bgnbd.conditional_expected_purchases(CDNOW, t, x, t_x, T)[0]
    assert 0 <= p <= 1
    assert np.isfinite(expected) and expected >= -1e-12


# --- Gamma-Gamma ---------------------------------------------------------------------------------------------


def test_gamma_gamma_shrinks_towards_population_mean():
    expected = gamma_gamma.conditional_expected_average_profit(SPEND, [0, 1, 50], [999.0, 100.0, 100.0])
    population = SPEND.p * SPEND.v / (SPEND.q - 1)
    assert expected[0] == pytest.approx(population)  # x = 0: own spend ignored
    assert population < expected[1] < expected[2] < 100.0


def test_gamma_gamma_recovers_parameters_and_is_deterministic(synthetic):
    _, x, _, _, monetary = synthetic
    first, second = gamma_gamma.fit(x, monetary), gamma_gamma.fit(x, monetary)
    assert first == second and first.converged
    assert first.n == (x > 0).sum()
    assert first.params.population_mean_spend == pytest.approx(SPEND.population_mean_spend, rel=0.1)


def test_gamma_gamma_gradient_matches_finite_differences(synthetic):
    _, x, _, _, monetary = synthetic
    repeat = x > 0
    x, m = x[repeat][:500], monetary[repeat][:500]
    args = (x, m, np.ones_like(x), (np.log(x), np.log(m)))
    point = np.log([2.0, 3.0, 10.0])
    numeric = approx_fprime(point, lambda v: gamma_gamma._mean_nll_and_grad(v, *args)[0], 1e-7)
    np.testing.assert_allclose(gamma_gamma._mean_nll_and_grad(point, *args)[1], numeric, rtol=1e-4, atol=1e-6)


def test_gamma_gamma_bad_input():
    with pytest.raises(ValueError, match="monetary_value must be > 0"):
        gamma_gamma.fit([1, 2], [10.0, 0.0])
    with pytest.raises(ValueError, match="at least one guest with a repeat visit"):
        gamma_gamma.fit([0, 0], [0.0, 0.0])
    with pytest.raises(ValueError, match="same length"):
        gamma_gamma.fit([1, 2], [10.0])
    with pytest.raises(ValueError, match="frequency must be >= 0"):
        gamma_gamma.fit([-1, 2], [10.0, 10.0])
    with pytest.raises(ValueError, match="q = 0.9 <= 1"):
        gamma_gamma.conditional_expected_average_profit(GammaGammaParams(2, 0.9, 10), [1], [10.0])


# --- 12-month value ------------------------------------------------------------------------------------------


def test_undiscounted_value_is_expected_visits_times_expected_spend():
    value = clv.customer_value(CDNOW, SPEND, [2], [30.43], [38.86], [22.35], annual_discount_rate=0.0)
    visits = bgnbd.conditional_expected_purchases(CDNOW, 12 * clv.WEEKS_PER_MONTH, 2, 30.43, 38.86)
    spend = gamma_gamma.conditional_expected_average_profit(SPEND, [2], [22.35])
    assert value[0] == pytest.approx(visits[0] * spend[0], rel=1e-12)


def test_discounting_lowers_value_and_longer_horizons_raise_it():
    args = (CDNOW, SPEND, [2, 0], [30.43, 0.0], [38.86, 38.86], [22.35, 0.0])
    undiscounted = clv.customer_value(*args, annual_discount_rate=0.0)
    default = clv.customer_value(*args)
    assert np.all(default < undiscounted) and np.all(default > undiscounted / 1.1)
    assert np.all(clv.customer_value(*args, months=24) > default)


@pytest.mark.parametrize("options, message", [
    ({"months": 0}, "months"), ({"months": 1.5}, "months"),
    ({"annual_discount_rate": -1.0}, "annual_discount_rate"), ({"weeks_per_month": 0}, "weeks_per_month"),
])
def test_value_options_are_validated(options, message):
    with pytest.raises(ValueError, match=message):
        clv.customer_value(CDNOW, SPEND, [1], [1.0], [2.0], [10.0], **options)


def test_value_rejects_mismatched_monetary():
    with pytest.raises(ValueError, match="same length"):
        clv.customer_value(CDNOW, SPEND, [1, 2], [1.0, 1.0], [2.0, 2.0], [10.0])


# --- transaction summaries -----------------------------------------------------------------------------------


def test_summary_merges_same_day_purchases_and_ignores_after_calibration():
    ids = ["b", "a", "a", "a", "a", "a", "c"]
    dates = ["2024-01-03", "2024-01-01", "2024-01-01", "2024-01-08", "2024-01-15", "2024-02-01", "2024-02-01"]
    amounts = [5.0, 10.0, 2.0, 20.0, 30.0, 99.0, 7.0]
    s = summary.summarize_transactions(ids, dates, amounts, calibration_end="2024-01-29")
    assert list(s.customer_id) == ["a", "b"]  # "c" first came after the calibration end
    np.testing.assert_array_equal(s.frequency, [2, 0])
    np.testing.assert_allclose(s.recency, [2.0, 0.0])
    np.testing.assert_allclose(s.T, [4.0, 26 / 7])
    np.testing.assert_allclose(s.monetary_value, [25.0, 0.0])


def test_summary_accepts_python_dates_datetimes_and_numpy_days():
    as_dates = [dt.date(2024, 1, 1), dt.date(2024, 1, 8)]
    as_datetimes = [dt.datetime(2024, 1, 1, 23, 59), dt.datetime(2024, 1, 8, 0, 1)]
    as_numpy = np.array(["2024-01-01T10", "2024-01-08T11"], dtype="datetime64[h]")
    results = [summary.summarize_transactions([1, 1], d, calibration_end=dt.date(2024, 1, 15))
               for d in (as_dates, as_datetimes, as_numpy)]
    for s in results:
        assert (s.frequency[0], s.recency[0], s.T[0]) == (1.0, 1.0, 2.0)


def test_summary_with_holdout_counts_distinct_holdout_days():
    ids = [1, 1, 1, 1, 2, 3]
    dates = ["2024-01-01", "2024-01-10", "2024-01-20", "2024-01-20", "2024-01-05", "2024-01-25"]
    split = summary.summarize_with_holdout(ids, dates, calibration_end="2024-01-14", observation_end="2024-01-28")
    assert list(split.calibration.customer_id) == [1, 2]
    np.testing.assert_array_equal(split.frequency_holdout, [1, 0])
    assert split.duration_holdout == 2.0


@pytest.mark.parametrize("ids, dates, amounts, message", [
    ([1, 2], ["2024-01-01"], None, "same length"),
    ([1], ["2024-13-01"], None, "dates"),
    ([1], [None], None, "dates"),
    ([1], [dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)], None, "naive"),
    ([1], ["2024-01-01"], [np.inf], "non-finite"),
    ([1], ["2024-02-01"], None, "no transaction on or before"),
    ([], [], None, "no transactions"),
])
def test_summary_bad_input(ids, dates, amounts, message):
    with pytest.raises(ValueError, match=message):
        summary.summarize_transactions(ids, dates, amounts, calibration_end="2024-01-15")


def test_holdout_end_must_follow_calibration_end():
    with pytest.raises(ValueError, match="must be after calibration_end"):
        summary.summarize_with_holdout([1], ["2024-01-01"], calibration_end="2024-02-01",
                                       observation_end="2024-01-15")


def test_summary_from_aggregates_validates():
    ok = summary.summary_from_aggregates(["2024-01-01", "2024-01-01"], ["2024-01-01", "2024-01-15"], [1, 3],
                                         [0.0, 40.0], calibration_end="2024-01-29")
    np.testing.assert_allclose(np.stack(ok), [[0, 2], [0, 2], [4, 4], [0, 20]])
    with pytest.raises(ValueError, match="purchase_days must be whole numbers >= 1"):
        summary.summary_from_aggregates(["2024-01-01"], ["2024-01-01"], [0], [0.0], calibration_end="2024-01-29")
    with pytest.raises(ValueError, match="first_day <= last_day <= calibration_end"):
        summary.summary_from_aggregates(["2024-01-09"], ["2024-01-01"], [2], [5.0], calibration_end="2024-01-29")
    with pytest.raises(ValueError, match="same length"):
        summary.summary_from_aggregates(["2024-01-01"], ["2024-01-01"], [1, 2], [0.0], calibration_end="2024-01-29")


def test_compress_groups_identical_guests_and_rebuilds_them():
    rows = summary.compress([0, 2, 2, 2], [0, 1.0, 1.01, 3.0], [5.0, 5.0, 5.0, 5.0])
    assert rows.weights.sum() == 4 and len(rows.weights) == 3  # 1.0 and 1.01 weeks are the same day
    np.testing.assert_array_equal(rows.frequency[rows.inverse], [0, 2, 2, 2])
    exact = summary.compress([0, 2, 2, 2], [0, 1.0, 1.01, 3.0], [5.0, 5.0, 5.0, 5.0], resolution=None)
    assert len(exact.weights) == 4


# --- adequacy and calibration chart --------------------------------------------------------------------------


@pytest.mark.parametrize("repeat_guests, days, backed, fragment", [
    (200, 56, True, "200 returning guests over 56 days"),
    (199, 365, False, "at least 200 guests who came back (have 199)"),
    (5000, 55, False, "at least 56 days of order history (have 55)"),
    (10, 10, False, "have 10) and at least 56 days"),
])
def test_model_adequacy(repeat_guests, days, backed, fragment):
    verdict = diagnostics.model_adequacy(repeat_guests, days)
    assert verdict.backed is backed and fragment in verdict.reason


def test_model_adequacy_rejects_negative_counts():
    with pytest.raises(ValueError):
        diagnostics.model_adequacy(-1, 100)


def test_calibration_chart_buckets_and_empty_buckets():
    chart = diagnostics.calibration_chart(CDNOW, [0, 1, 9, 12], [0, 1, 5, 6], [10, 10, 10, 10], [0, 2, 5, 7], 10,
                                          max_frequency=3)
    assert chart.labels == ("0", "1", "2", "3+")
    np.testing.assert_array_equal(chart.guests, [1, 1, 0, 2])
    assert chart.actual[3] == 6.0 and np.isnan(chart.actual[2]) and np.isnan(chart.predicted[2])
