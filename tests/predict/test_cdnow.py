"""Validation on the real CDNOW sample against the published figures (see /work/shared/cdnow-reference.md).

"Match to 2 decimals" = absolute difference below 0.01, never a comparison of rounded values.
"""
import numpy as np
import pytest

from portal.predict import bgnbd, clv, diagnostics, gamma_gamma, summary

CALIBRATION_END = np.datetime64("1997-09-30")
OBSERVATION_END = np.datetime64("1998-06-30")
# The summary files print 2 decimals, so a correct value is within half a cent of the printed one.
PRINTED_2DP = 0.005 + 1e-9

PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
MLE_BGNBD = {"r": 0.242593, "alpha": 4.413532, "a": 0.792886, "b": 2.425752}
PUBLISHED_GG = {"p": 6.25, "q": 3.74, "v": 15.44}
MLE_GG = {"p": 6.248802, "q": 3.744588, "v": 15.447748}


@pytest.fixture(scope="module")
def our_summary(cdnow_transactions):
    ids, dates, amounts = cdnow_transactions
    return summary.summarize_transactions(ids, dates, amounts, calibration_end=CALIBRATION_END)


@pytest.fixture(scope="module")
def our_fit(our_summary):
    return bgnbd.fit(our_summary.frequency, our_summary.recency, our_summary.T)


@pytest.fixture(scope="module")
def published_repeaters(cdnow_monetary):
    repeat = cdnow_monetary["x"] > 0
    return cdnow_monetary["x"][repeat], cdnow_monetary["zbar"][repeat]


def assert_params_close(params, expected: dict, tolerance: float) -> None:
    for name, value in expected.items():
        got = getattr(params, name)
        assert abs(got - value) < tolerance, f"{name} = {got:.6f}, expected {value} ± {tolerance}"


def test_raw_sample_has_2357_customers(cdnow_transactions):
    ids, dates, _ = cdnow_transactions
    assert len(np.unique(ids)) == 2357
    assert dates.min() == np.datetime64("1997-01-01") and dates.max() == OBSERVATION_END


def test_summary_from_raw_transactions_matches_published(our_summary, cdnow_summary):
    assert len(our_summary.customer_id) == len(cdnow_summary) == 2357
    np.testing.assert_array_equal(our_summary.customer_id, cdnow_summary["ID"].astype(np.int64))
    np.testing.assert_array_equal(our_summary.frequency, cdnow_summary["frequency"])
    np.testing.assert_allclose(our_summary.recency, cdnow_summary["recency"], rtol=0, atol=PRINTED_2DP)
    np.testing.assert_allclose(our_summary.T, cdnow_summary["T"], rtol=0, atol=PRINTED_2DP)


def test_monetary_value_from_raw_transactions_matches_published(our_summary, cdnow_monetary):
    np.testing.assert_array_equal(our_summary.frequency, cdnow_monetary["x"])
    np.testing.assert_allclose(our_summary.monetary_value, cdnow_monetary["zbar"], rtol=0, atol=PRINTED_2DP)


def test_summary_from_sql_style_aggregates_matches_transactions(cdnow_transactions, our_summary):
    # What the portal's SQL will hand over: first/last day, distinct purchase days, spend after the first day.
    ids, dates, amounts = cdnow_transactions
    keep = dates <= CALIBRATION_END
    ids, dates, amounts = ids[keep], dates[keep], amounts[keep]
    guests = np.unique(ids)
    first = np.array([dates[ids == g].min() for g in guests])
    last = np.array([dates[ids == g].max() for g in guests])
    purchase_days = np.array([len(np.unique(dates[ids == g])) for g in guests])
    repeat_spend = np.array([amounts[(ids == g) & (dates > first[i])].sum() for i, g in enumerate(guests)])
    frequency, recency, T, monetary = summary.summary_from_aggregates(
        first, last, purchase_days, repeat_spend, calibration_end=CALIBRATION_END)
    np.testing.assert_array_equal(frequency, our_summary.frequency)
    np.testing.assert_allclose(recency, our_summary.recency)
    np.testing.assert_allclose(T, our_summary.T)
    np.testing.assert_allclose(monetary, our_summary.monetary_value)


def test_bgnbd_fit_on_our_summary_matches_published(our_fit):
    assert our_fit.converged, our_fit.message
    assert our_fit.n == 2357
    assert_params_close(our_fit.params, PUBLISHED_BGNBD, 0.01)


def test_bgnbd_fit_on_published_summary_reaches_the_maximum_likelihood(cdnow_summary):
    fitted = bgnbd.fit(cdnow_summary["frequency"], cdnow_summary["recency"], cdnow_summary["T"])
    assert fitted.converged, fitted.message
    assert_params_close(fitted.params, MLE_BGNBD, 1e-4)
    assert fitted.log_likelihood == pytest.approx(-9582.4, abs=0.05)  # the paper's LL


def test_bgnbd_conditional_expectation_for_published_customer(our_fit):
    expected = bgnbd.conditional_expected_purchases(our_fit.params, 39, 2, 30.43, 38.86)
    assert abs(expected[0] - 1.226) < 0.01


def test_gamma_gamma_on_946_repeat_customers_matches_published(published_repeaters):
    frequency, monetary = published_repeaters
    assert len(frequency) == 946
    fitted = gamma_gamma.fit(frequency, monetary)
    assert fitted.converged, fitted.message
    assert fitted.n == 946
    assert_params_close(fitted.params, PUBLISHED_GG, 0.01)
    assert_params_close(fitted.params, MLE_GG, 1e-3)


def test_gamma_gamma_ignores_non_repeat_rows(cdnow_monetary, published_repeaters):
    all_rows = gamma_gamma.fit(cdnow_monetary["x"], cdnow_monetary["zbar"])
    repeat_only = gamma_gamma.fit(*published_repeaters)
    assert all_rows.params == repeat_only.params


def test_holdout_calibration_chart_tracks_actual_visits(cdnow_transactions, our_fit):
    ids, dates, amounts = cdnow_transactions
    split = summary.summarize_with_holdout(
        ids, dates, amounts, calibration_end=CALIBRATION_END, observation_end=OBSERVATION_END)
    assert split.duration_holdout == pytest.approx(39.0)
    cal = split.calibration
    chart = diagnostics.calibration_chart(
        our_fit.params, cal.frequency, cal.recency, cal.T, split.frequency_holdout, split.duration_holdout)
    assert chart.labels == ("0", "1", "2", "3", "4", "5", "6", "7+")
    assert chart.guests.sum() == 2357 and chart.guests[0] == 1411
    # Fader, Hardie & Lee (2005) fig. 4: the model follows actual holdout visits across frequency buckets.
    np.testing.assert_allclose(chart.predicted, chart.actual, rtol=0.3, atol=0.05)
    assert np.all(np.diff(chart.predicted) > 0)


def test_twelve_month_value_is_positive_and_ordered(our_summary, our_fit, published_repeaters):
    spend = gamma_gamma.fit(*published_repeaters).params
    s = our_summary
    value = clv.customer_value(our_fit.params, spend, s.frequency, s.recency, s.T, s.monetary_value)
    assert value.shape == (2357,) and np.all(value > 0)
    # Customer ID 1 (x=2, still buying in August) is worth more than ID 2 (x=1, last seen in January).
    assert value[0] > value[1]
