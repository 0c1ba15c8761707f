"""The Guest value page and a guest's value section in Chromium: rendered under the CSP, no console errors."""
from datetime import date

import numpy as np
import pytest

from portal.scoring import compute, service
from tests import factories
from tests.browser.conftest import screenshot, sign_in
from tests.scoring.builders import insert_guests, simulated

pytestmark = pytest.mark.browser


def test_the_guest_value_page_and_a_guest_page(live_server, committed, page):
    from playwright.sync_api import expect

    factories.bind(committed)
    owner = factories.UserFactory(email="owner@harbor.example", organization__name="Harbor Group", role="owner")
    location = factories.LocationFactory(connection__organization=owner.organization, name="Harbor")
    ids = insert_guests(committed, owner.organization, location,
                        simulated(1200, date(2025, 6, 30), 365, np.random.default_rng(9)))
    service.fit_and_score(committed, owner.org_id, date(2025, 6, 30),
                          options=service.Settings(0.10, compute.Thresholds()))
    committed.commit()
    errors, failed = [], []
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" and not message.text.startswith("Failed to load resource") else None)
    page.on("response", lambda response: failed.append(response.url)
            if response.status >= 400 and not response.url.endswith("/favicon.ico") else None)

    sign_in(page, live_server, owner.email)
    page.wait_for_selector("[data-testid=current-org]")
    page.click("text=Guest value")
    expect(page.locator("h1")).to_have_text("Guest value")
    expect(page.locator("[data-testid=parameters] tbody tr")).to_have_count(3)
    expect(page.locator("[data-testid=quality] rect.bar")).to_have_count(16)
    expect(page.locator("[data-testid=rfm-grid] td")).to_have_count(25)
    screenshot(page, "insights-page")
    page.click("[data-testid=refit]")
    expect(page.locator(".flash")).to_contain_text("queued")

    page.goto(f"{live_server}/guests/{ids[0]}")
    expect(page.locator("[data-testid=guest-value] [data-figure=rfm_group]")).not_to_be_empty()
    screenshot(page, "insights-guest")
    assert errors == [] and failed == []  # a CSP violation (inline style or script) would show in errors
