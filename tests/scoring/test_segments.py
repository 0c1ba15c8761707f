"""Segment conditions on guest value: SQL (portal.segments.scored) against the plain-Python reference; the builder
disables what the last fit cannot answer."""
import json
import re
from datetime import date

import pytest

from portal.models import ModelFit
from portal.segments.presets import describe
from portal.segments.rules import RulesError, validate
from tests import factories
from tests.segments.data import NOW, GuestSpec, OrderSpec, ScoreSpec, insert, make_locations
from tests.segments.test_compile import check, cond, rules

DAY = NOW.replace(hour=12)
GUESTS = [
    GuestSpec(name="Cam Champion", orders=[OrderSpec(DAY)], score=ScoreSpec("Champions", 0.95, 2.5, 25000)),
    GuestSpec(name="Lou Loyal", orders=[OrderSpec(DAY)], score=ScoreSpec("Loyal", 0.7, 1.0, 9000)),
    GuestSpec(name="Mia Medium", orders=[OrderSpec(DAY)], score=ScoreSpec("At risk", 0.3, 0.4, 1250)),
    GuestSpec(name="Hal High", orders=[OrderSpec(DAY)], score=ScoreSpec("Lost", 0.2999, 0.05, 0)),
    GuestSpec(name="Rue Rough", orders=[OrderSpec(DAY)], score=ScoreSpec("New")),  # model not backed: RFM only
    GuestSpec(name="Una Unscored", orders=[OrderSpec(DAY)]),  # no score at all
]
CASES = [
    (rules(cond("p_alive", "lt", 30)), ["Hal High"]),
    (rules(cond("p_alive", "gte", 30)), ["Cam Champion", "Lou Loyal", "Mia Medium"]),
    (rules(cond("p_alive", "between", [30, 70])), ["Lou Loyal", "Mia Medium"]),
    (rules(cond("expected_visits_90d", "gt", 0.4)), ["Cam Champion", "Lou Loyal"]),
    (rules(cond("expected_visits_90d", "lte", 0.05)), ["Hal High"]),
    (rules(cond("predicted_value_12m", "gte", 90)), ["Cam Champion", "Lou Loyal"]),
    (rules(cond("predicted_value_12m", "neq", 0)), ["Cam Champion", "Lou Loyal", "Mia Medium"]),
    (rules(cond("rfm_group", "any_of", ["Champions", "New"])), ["Cam Champion", "Rue Rough"]),
    (rules(cond("rfm_group", "none_of", ["Champions"])), ["Hal High", "Lou Loyal", "Mia Medium", "Rue Rough"]),
    (rules(cond("rfm_group", "all_of", ["Champions", "Loyal"])), []),
    (rules(cond("churn_band", "any_of", ["high"])), ["Hal High"]),
    (rules(cond("churn_band", "any_of", ["medium"])), ["Mia Medium"]),
    (rules(cond("churn_band", "none_of", ["high", "medium"])), ["Cam Champion", "Lou Loyal"]),
    (rules(cond("churn_band", "any_of", ["unknown"])), []),
    (rules(cond("rfm_group", "any_of", ["At risk"]), cond("order_count", "gte", 1)), ["Mia Medium"]),
    (rules(cond("churn_band", "any_of", ["high"]), cond("p_alive", "gte", 90), op="or"), ["Cam Champion", "Hal High"]),
]


@pytest.fixture
def population(session):
    org = factories.OrganizationFactory()
    population = insert(session, org, make_locations(org, 1), GUESTS)
    other = factories.OrganizationFactory()  # another organization's scores never match
    insert(session, other, make_locations(other, 1), [GuestSpec(orders=[OrderSpec(DAY)],
                                                                score=ScoreSpec("Champions", 0.5, 9.0, 99999))])
    return population


@pytest.mark.parametrize(("tree", "names"), CASES, ids=[str(i) for i in range(len(CASES))])
def test_value_conditions_match_the_reference_and_the_known_answers(session, population, tree, names):
    by_id = {gid: spec.name for gid, spec in population.guests.items()}
    assert sorted(by_id[g] for g in check(session, population, tree)) == names


def test_value_conditions_are_validated_and_described():
    with pytest.raises(RulesError, match="must be a number with at most two decimals"):
        validate(rules(cond("p_alive", "lt", 1.234)))
    with pytest.raises(RulesError, match="unknown operator 'eq' for p_alive"):
        validate(rules(cond("p_alive", "eq", 30)))
    assert describe(validate(rules(cond("rfm_group", "any_of", ["Champions"]), cond("predicted_value_12m", "gte", 50)))) \
        == "in RFM group Champions and predicted 12-month value at least $50.00"


def test_the_builder_offers_the_value_fields_and_their_choices(web, session):
    org = factories.OrganizationFactory()
    web.login(factories.UserFactory(organization=org, role="marketer"))
    page = web.client.get("/segments/new").get_data(as_text=True)
    for label in ("Chance still a guest (%)", "Expected visits, next 90 days", "Predicted 12-month value",
                  "RFM group", "Churn risk"):
        assert label in page
    form = {"name": "Slipping regulars", "node": ["k1:root:condition", "k2:root:condition"],
            "k1.field": "p_alive", "k1.operator": "lt", "k1.value": "30.5",
            "k2.field": "rfm_group", "k2.operator": "any_of", "k2.value": ["Loyal", "Champions"]}
    response = web.post("/segments/", form)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    shown = web.client.get(response.headers["Location"]).get_data(as_text=True)
    # (the segment page capitalizes the sentence with Jinja's capitalize, which lower-cases the rest)
    assert "chance still a guest (%) less than 30.5 and in rfm group any of: champions, loyal" in shown.lower()


def test_the_builder_disables_figures_the_last_fit_did_not_produce_and_says_when(web, session):
    org = factories.OrganizationFactory()
    web.login(factories.UserFactory(organization=org, role="marketer"))
    page = web.client.get("/segments/new").get_data(as_text=True)
    # No fit yet: every guest-value figure is disabled, with the reason in its tooltip.
    for name in ("p_alive", "expected_visits_90d", "predicted_value_12m", "rfm_group", "churn_band"):
        assert re.search(rf'<option value="{name}" disabled title="Guest value is not computed yet', page), name
    session.add(ModelFit(org_id=org.id, as_of=date(2026, 3, 1), guests=900, repeat_guests=150, history_days=40,
                         backed=False, reason="Predictions are rough guesses until there are more.",
                         discount_rate=0.1))
    session.flush()
    page = web.client.get("/segments/new").get_data(as_text=True)
    assert '<option value="rfm_group" >' in page.replace("  ", " ")  # RFM groups come with any fit
    assert ('disabled title="Predictions appear once the order history reaches 56 days (the nightly fit of '
            'Mar 17, 2026) and 200 guests have come back on another day (150 so far)."') in page
    segment = factories.SegmentFactory(organization=org,
                                       rules_json=json.dumps(validate(rules(cond("p_alive", "lt", 30)))))
    shown = web.client.get(f"/segments/{segment.id}").get_data(as_text=True)
    assert "Chance still a guest (%) matches nobody yet: Predictions appear once the order history" in shown
    edit = web.client.get(f"/segments/{segment.id}/edit").get_data(as_text=True)
    assert 'data-testid="condition-unavailable">Matches nobody yet: Predictions appear once' in edit
