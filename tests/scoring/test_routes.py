"""The Guest value page, the guest page's value section, the refit button, and the export's value columns."""
import csv
import io
from datetime import date

import numpy as np
import pytest
from rq import Queue

from portal.scoring import compute, service
from tests import factories
from tests.conftest import Browserless
from tests.scoring.builders import insert_guests, simulated
from tests.scoring.conftest import make_shop

AS_OF = date(2025, 6, 30)
RATE = service.Settings(annual_discount_rate=0.10, thresholds=compute.Thresholds())


@pytest.fixture
def fitted(session):
    """An organization with a backed fit, an owner and a marketer, and another organization."""
    shop = make_shop()
    ids = insert_guests(session, shop.org, shop.location, simulated(1200, AS_OF, 365, np.random.default_rng(9)))
    fit = service.fit_and_score(session, shop.org.id, AS_OF, options=RATE)
    assert fit.backed
    return {"shop": shop, "ids": ids, "fit": fit,
            "owner": factories.UserFactory(organization=shop.org, role="owner"),
            "marketer": factories.UserFactory(organization=shop.org, role="marketer"),
            "stranger": factories.UserFactory(organization=make_shop("Other Group").org, role="owner")}


def test_members_see_the_fit_its_parameters_quality_check_and_rfm_boxes(web, fitted):
    web.login(fitted["marketer"])
    page = web.client.get("/insights/").get_data(as_text=True)
    fit = fitted["fit"]
    assert f"{fit.repeat_guests:,} of them came back" in page and "365 days of history" in page
    assert fit.reason in page
    assert 'data-testid="parameters"' in page and "visits a month" in page and "stops coming for good" in page
    assert "Fitted again on the orders up to" in page and '<rect class="bar actual"' in page
    assert "R 4–5, FM 4–5" in page and "Champions" in page and "Can&#39;t lose them" in page
    assert "Less than a 30% chance" in page and "At least a 70% chance" in page
    assert 'data-testid="refit"' not in page  # owners only
    assert "style=" not in page and "<script>" not in page  # the CSP allows neither


def test_without_enough_data_the_page_says_so_and_shows_rfm_only(web, session):
    shop = make_shop()
    insert_guests(session, shop.org, shop.location, simulated(40, AS_OF, 365, np.random.default_rng(4)))
    service.fit_and_score(session, shop.org.id, AS_OF, options=RATE)
    web.login(factories.UserFactory(organization=shop.org, role="marketer"))
    page = web.client.get("/insights/").get_data(as_text=True)
    assert "Predictions are rough guesses until there are at least 200 guests who came back" in page
    assert "show RFM groups only" in page
    assert 'data-testid="parameters"' not in page and 'data-testid="quality"' not in page
    assert 'data-testid="rfm-groups"' in page


def test_before_any_fit_and_for_another_organization(web, fitted):
    web.login(fitted["stranger"])
    page = web.client.get("/insights/").get_data(as_text=True)
    assert "have not been fitted for this organization yet" in page
    assert f"{fitted['fit'].repeat_guests:,} of them came back" not in page


def test_owners_refit_once_at_a_time_and_marketers_may_not(app, web, fitted, redis_conn):
    org_id = fitted["shop"].org.id
    marketer = Browserless(app.test_client())
    marketer.login(fitted["marketer"])
    assert marketer.post("/insights/refit").status_code == 403
    web.login(fitted["owner"])
    response = web.post("/insights/refit")
    assert response.status_code == 303 and response.headers["Location"].endswith("/insights/")
    assert Queue("models", connection=redis_conn).job_ids == [f"models-fit-{org_id}"]
    again = web.post("/insights/refit", follow_redirects=True).get_data(as_text=True)
    assert "already queued or running" in again
    assert len(Queue("models", connection=redis_conn).job_ids) == 1


def test_the_guest_page_shows_the_guests_value(web, fitted, session):
    guest_id = fitted["ids"][0]
    score = service.score_of(session, fitted["shop"].org.id, guest_id)
    web.login(fitted["marketer"])
    page = web.client.get(f"/guests/{guest_id}").get_data(as_text=True)
    assert 'data-testid="guest-value"' in page and f">{score.rfm_group.replace(chr(39), '&#39;')}<" in page
    assert f"{score.p_alive * 100:.0f}%" in page and f"{score.churn_band} churn risk" in page
    assert f"{score.expected_visits_90d:.1f}" in page


def test_the_export_has_the_value_columns_after_marketing_opt_out(web, fitted, session):
    web.login(fitted["owner"])
    body = web.client.get("/guests/export.csv").get_data(as_text=True)
    header = body.splitlines()[0].split(",")
    assert header[header.index("marketing_opt_out") + 1:] == [
        "email_is_marketplace_relay", "unsubscribe_url", "rfm_group", "p_alive", "expected_visits_90d",
        "predicted_value_12m"]
    rows = {int(row["guest_id"]): row for row in csv.DictReader(io.StringIO(body))}
    assert set(rows) == set(fitted["ids"])
    for guest_id in fitted["ids"][:50]:
        score, row = service.score_of(session, fitted["shop"].org.id, guest_id), rows[guest_id]
        assert row["rfm_group"] == score.rfm_group
        assert float(row["p_alive"]) == pytest.approx(score.p_alive, abs=5e-5)
        assert float(row["expected_visits_90d"]) == pytest.approx(score.expected_visits_90d, abs=5e-3)
        assert row["predicted_value_12m"] == f"{score.predicted_value_12m_cents / 100:.2f}"


def test_an_unscored_guest_exports_empty_value_cells(web, session):
    shop = make_shop()
    insert_guests(session, shop.org, shop.location, simulated(3, AS_OF, 100, np.random.default_rng(5)))
    web.login(factories.UserFactory(organization=shop.org, role="owner"))
    rows = list(csv.DictReader(io.StringIO(web.client.get("/guests/export.csv").get_data(as_text=True))))
    assert len(rows) == 3
    assert {(r["rfm_group"], r["p_alive"], r["expected_visits_90d"], r["predicted_value_12m"]) for r in rows} == {
        ("", "", "", "")}
