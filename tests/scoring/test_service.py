"""fit_and_score on synthetic organizations: every guest scored, thresholds respected, refits replace."""
from datetime import date, timedelta

import numpy as np
import pytest
from sqlalchemy import delete, func, select, update

from portal.extensions import current_settings
from portal.models import Guest, GuestOrder, GuestScore, ModelFit
from portal.predict.rfm import HIGH_RISK_BELOW, MEDIUM_RISK_BELOW, SEGMENT_DESCRIPTIONS
from portal.scoring import compute, service, store
from tests.scoring.builders import VISITS, Visit, at, insert_guests, simulated
from tests.scoring.conftest import make_shop

AS_OF = date(2025, 6, 30)  # in the past whenever the suite runs (a future as_of is refused)
RATE = service.Settings(annual_discount_rate=0.10, thresholds=compute.Thresholds())


def scores(session, org) -> list[GuestScore]:
    return session.scalars(select(GuestScore).where(GuestScore.org_id == org.id).order_by(GuestScore.guest_id)).all()


def regular(first: date, every: int, visits: int, cents: int = 2500) -> list[Visit]:
    return [Visit(at(first + timedelta(days=every * n)), cents) for n in range(visits)]


@pytest.fixture(scope="module")
def population():
    return simulated(1500, AS_OF, 365, np.random.default_rng(20250630))


def test_a_backed_fit_scores_every_guest(session, shop, population):
    ids = insert_guests(session, shop.org, shop.location, population)
    fit = service.fit_and_score(session, shop.org.id, AS_OF, options=RATE)
    assert fit.backed and fit.repeat_guests >= 200 and fit.history_days >= 300
    assert fit.reason.startswith(f"Predictions are based on {fit.repeat_guests} returning guests")
    assert (fit.guests, fit.as_of, fit.discount_rate) == (1500, AS_OF, 0.10)
    for name, truth in (("r", VISITS.r), ("alpha", VISITS.alpha), ("a", VISITS.a), ("b", VISITS.b)):
        assert fit.params[name] == pytest.approx(truth, rel=0.5), name
    assert fit.params["q"] > 1 and fit.log_likelihood < 0
    rows = scores(session, shop.org)
    assert [row.guest_id for row in rows] == sorted(ids)
    assert {row.rfm_group for row in rows} <= set(SEGMENT_DESCRIPTIONS)
    for row in rows:
        assert 1 <= min(row.recency_score, row.frequency_score, row.monetary_score) <= 5
        assert 0 <= row.p_alive <= 1 and row.expected_visits_90d >= 0 and row.predicted_value_12m_cents >= 0
        band = "high" if row.p_alive < HIGH_RISK_BELOW else "medium" if row.p_alive < MEDIUM_RISK_BELOW else "low"
        assert row.churn_band == band
        assert row.expected_next_visit_on is None or AS_OF < row.expected_next_visit_on <= AS_OF + timedelta(730)
    calibration = fit.calibration
    assert calibration["labels"] == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert calibration["holdout_days"] == compute.holdout_days(fit.history_days) >= 28
    assert calibration["predicted_total"] == pytest.approx(calibration["actual_total"], rel=0.25)


def test_too_few_repeat_guests_gives_rfm_only(session, shop):
    rng = np.random.default_rng(1)
    insert_guests(session, shop.org, shop.location, simulated(80, AS_OF, 365, rng))
    fit = service.fit_and_score(session, shop.org.id, AS_OF, options=RATE)
    assert not fit.backed and fit.params is None and fit.calibration is None
    assert "at least 200 guests who came back (have" in fit.reason
    rows = scores(session, shop.org)
    assert len(rows) == 80 and all(row.rfm_group for row in rows)
    assert {(row.p_alive, row.expected_visits_90d, row.predicted_value_12m_cents, row.churn_band,
             row.expected_next_visit_on) for row in rows} == {(None,) * 5}


def test_too_short_a_history_gives_rfm_only_and_says_when_predictions_come(session, shop):
    insert_guests(session, shop.org, shop.location, simulated(2000, AS_OF, 40, np.random.default_rng(2)))
    fit = service.fit_and_score(session, shop.org.id, AS_OF, options=RATE)
    assert not fit.backed and fit.history_days <= 40
    assert f"at least 56 days of order history (have {fit.history_days})" in fit.reason
    assert session.scalar(select(func.count()).where(GuestScore.org_id == shop.org.id, GuestScore.p_alive.is_not(None))) == 0
    ready = AS_OF + timedelta(days=56 - fit.history_days)
    waiting = service.unavailable(fit, RATE.thresholds)
    assert set(waiting) == {"p_alive", "expected_visits_90d", "churn_band", "predicted_value_12m", "expected_next_visit"}
    assert waiting["p_alive"] == ("Predictions appear once the order history reaches 56 days (the nightly fit of "
                                  f"{ready:%b} {ready.day}, {ready.year}).")


def test_a_new_tenants_twelve_week_backfill_is_enough_for_predictions(session, shop):
    """84 days of history (the default backfill): P(alive), expected visits and value from the first fit, with the
    caveat on the 12-month value; the quality check holds out the last 28 days."""
    insert_guests(session, shop.org, shop.location, simulated(3000, AS_OF, 84, np.random.default_rng(84)))
    fit = service.fit_and_score(session, shop.org.id, AS_OF, options=RATE)
    assert fit.backed and 80 <= fit.history_days <= 84 and fit.repeat_guests >= 200, fit.reason
    assert "the 12-month value extends what guests did so far" in fit.reason
    assert fit.calibration["holdout_days"] == 28
    rows = scores(session, shop.org)
    assert all(row.p_alive is not None and row.expected_visits_90d is not None for row in rows)
    assert sum(row.predicted_value_12m_cents is not None for row in rows) == len(rows)
    assert service.unavailable(fit, RATE.thresholds) == {}
    assert service.unavailable(None, RATE.thresholds)["rfm_group"].startswith("Guest value is not computed yet")


def test_lowered_thresholds_come_from_the_settings(app, session, shop):
    insert_guests(session, shop.org, shop.location, simulated(300, AS_OF, 365, np.random.default_rng(3)))
    low = service.Settings(0.10, compute.Thresholds(min_repeat_guests=20, min_history_days=30))
    assert service.fit_and_score(session, shop.org.id, AS_OF, options=low).backed
    assert service.Settings.of(current_settings()).thresholds == compute.Thresholds(200, 56)  # the app's defaults (diagnostics)


def test_stopped_guests_have_a_lower_p_alive_than_guests_still_coming_as_often(session, shop, population):
    insert_guests(session, shop.org, shop.location, population)
    start = AS_OF - timedelta(days=300)
    stopped = insert_guests(session, shop.org, shop.location, [regular(start, 14, 6) for _ in range(5)])
    still = insert_guests(session, shop.org, shop.location, [regular(start, 14, 22) for _ in range(5)])
    # Same visits and same age, only the last visit differs: 6 visits over the first 10 weeks vs spread to now.
    early = insert_guests(session, shop.org, shop.location, [regular(start, 14, 6)])
    spread = insert_guests(session, shop.org, shop.location, [regular(start, 60, 6)])
    fit = service.fit_and_score(session, shop.org.id, AS_OF, options=RATE)
    assert fit.backed
    p = {row.guest_id: row.p_alive for row in scores(session, shop.org)}
    assert max(p[g] for g in stopped) < 0.05 < 0.9 < min(p[g] for g in still)
    assert p[early[0]] < p[spread[0]]
    bands = {row.guest_id: row.churn_band for row in scores(session, shop.org)}
    assert {bands[g] for g in stopped} == {"high"} and {bands[g] for g in still} == {"low"}


def test_a_refit_replaces_the_scores_and_leaves_other_organizations_alone(session, shop, population):
    ids = insert_guests(session, shop.org, shop.location, population[:300])
    other = make_shop("Other Group")
    other_ids = insert_guests(session, other.org, other.location, population[300:400])
    service.fit_and_score(session, other.org.id, AS_OF, options=RATE)
    service.fit_and_score(session, shop.org.id, AS_OF, options=RATE)
    # One guest's only orders are voided: no counted order, no score after the next fit.
    session.execute(update(GuestOrder).where(GuestOrder.guest_id == ids[0]).values(counted=False))
    service.fit_and_score(session, shop.org.id, AS_OF, options=RATE)
    assert [row.guest_id for row in scores(session, shop.org)] == sorted(ids[1:])
    assert [row.guest_id for row in scores(session, other.org)] == sorted(other_ids)
    assert session.scalar(select(func.count()).where(ModelFit.org_id == shop.org.id)) == 2


def test_a_guest_merged_away_during_the_fit_gets_no_score(session, shop, population, monkeypatch):
    ids = insert_guests(session, shop.org, shop.location, population[:300])
    score = compute.score

    def merged_meanwhile(*args, **kwargs):
        scored = score(*args, **kwargs)
        session.execute(delete(Guest).where(Guest.id == ids[0]))  # as a merge that committed while the models fitted
        return scored

    monkeypatch.setattr(compute, "score", merged_meanwhile)
    fit = service.fit_and_score(session, shop.org.id, AS_OF, options=RATE)
    assert fit.guests == 300
    assert [row.guest_id for row in scores(session, shop.org)] == sorted(ids[1:])


def test_the_discount_rate_lowers_the_predicted_value(session, shop, population):
    insert_guests(session, shop.org, shop.location, population)
    values = []
    for rate in (0.0, 0.5):
        fit = service.fit_and_score(session, shop.org.id, AS_OF, options=service.Settings(rate, compute.Thresholds()))
        assert fit.discount_rate == rate
        values.append(sum(row.predicted_value_12m_cents for row in scores(session, shop.org)))
    assert values[1] < values[0]


def test_an_organization_without_orders_and_a_future_as_of(session, shop):
    fit = service.fit_and_score(session, shop.org.id, AS_OF, options=RATE)
    assert (fit.guests, fit.repeat_guests, fit.history_days, fit.backed) == (0, 0, 0, False)
    assert scores(session, shop.org) == []
    with pytest.raises(ValueError, match="in the future"):
        service.fit_and_score(session, shop.org.id, date.today() + timedelta(days=2), options=RATE)


def test_old_fit_records_are_pruned(session, shop):
    insert_guests(session, shop.org, shop.location, [regular(AS_OF - timedelta(days=30), 7, 3)])
    fits = [service.fit_and_score(session, shop.org.id, AS_OF, options=RATE) for _ in range(3)]
    store.prune_fits(session.connection(), shop.org.id, keep=2)
    kept = session.scalars(select(ModelFit.id).where(ModelFit.org_id == shop.org.id).order_by(ModelFit.id)).all()
    assert kept == [fits[1].id, fits[2].id]
    assert service.latest_fit(session, shop.org.id).id == fits[2].id
