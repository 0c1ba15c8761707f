"""Before the data back a fit, the Guest value page says when predictions appear and the segment builder shows the
value figures disabled with that reason (Chromium, 1366 and 390 px screenshots)."""
from datetime import date

import pytest

from portal.models import ModelFit
from tests import factories
from tests.browser.conftest import screenshot, sign_in

pytestmark = pytest.mark.browser


def test_pending_predictions_say_when_and_cannot_be_picked(live_server, committed, page, database_url):
    from playwright.sync_api import expect

    owner = factories.UserFactory(email="owner@harbor.example", organization__name="Harbor Group")
    committed.add(ModelFit(org_id=owner.org_id, as_of=date(2026, 3, 1), guests=1200, repeat_guests=310,
                           history_days=41, backed=False, discount_rate=0.1,
                           reason="Predictions are rough guesses until there are at least 56 days of order history "
                                  "(have 41)."))
    committed.commit()
    backend = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    sign_in(page, live_server, owner.email)
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server}/insights/")
        expect(page.locator("[data-testid=predictions-when]")).to_have_text(
            "Predictions appear once the order history reaches 56 days (the nightly fit of Mar 16, 2026).")
        screenshot(page, f"predictions-pending-{width}-{backend}")
        page.goto(f"{live_server}/segments/new")
        option = page.locator("[data-testid=condition-field] option[value=p_alive]")
        expect(option).to_be_disabled()
        expect(option).to_have_text("Chance still a guest (%) (not yet available)")
        expect(page.locator("[data-testid=condition-field] option[value=rfm_group]")).to_be_enabled()
        expect(page.locator("[data-testid=unavailable-figures]")).to_have_text(
            "Not available yet: Chance still a guest (%), Expected visits, next 90 days, Churn risk, "
            "Predicted 12-month value. Predictions appear once the order history reaches 56 days (the nightly fit of Mar 16, 2026).")
        screenshot(page, f"segment-builder-pending-{width}-{backend}")
