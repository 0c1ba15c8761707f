"""Possible duplicates in Chromium: side by side, "Not the same person" and a merge, each confirmed on the page."""
from datetime import timedelta

import pytest

from tests import factories
from tests.browser.conftest import screenshot, sign_in
from tests.guests.builders import BASE, ingest, simple
from tests.guests.conftest import configure

pytestmark = pytest.mark.browser
PHONE = "617 555 0101"


@pytest.mark.parametrize("width", [1366, 390])
def test_an_owner_compares_dismisses_and_merges_possible_duplicates(live_server, committed, page, width):
    owner = factories.UserFactory(email="owner@harbor.example", organization__name="Harbor Group")
    location = factories.LocationFactory(connection__organization=owner.organization, name="Harbor")
    configure(committed, location)
    ingest(location,
           simple(email="ann@example.com", first="Ann", last="Archer", phone=PHONE, amount=40, opened=BASE),
           simple(email="ann.work@example.com", first="Ann", last="Archer", phone=PHONE, amount=25,
                  opened=BASE + timedelta(days=1)),
           simple(email="dan@example.com", first="Dan", last="Dunn", phone="617 555 0199", amount=12,
                  opened=BASE + timedelta(days=2)),
           simple(email="dana@example.com", first="Dana", last="Dunn", phone="617 555 0199", amount=30,
                  opened=BASE + timedelta(days=3)))
    committed.commit()
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server, owner.email)
    page.goto(f"{live_server}/guests/duplicates")
    assert page.inner_text("[data-testid=duplicate-count]") == "2"
    assert page.locator("[data-testid=duplicate-group]").count() == 2
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(page, f"duplicates-{width}")

    dunns = page.locator("[data-testid=duplicate-group]", has_text="Dana Dunn")
    dunns.locator("button:has-text('Not the same person')").click()
    page.wait_for_selector("text=are marked as different people")
    assert page.inner_text("[data-testid=duplicate-count]") == "1"
    assert page.locator("[data-testid=duplicate-group]", has_text="Dana Dunn").count() == 0

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-testid=duplicate-group] button:has-text('Merge')")
    page.wait_for_selector("text=Merged into one guest: Ann Archer.")
    screenshot(page, f"duplicates-merged-{width}")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button:has-text('Unmerge')")
    page.wait_for_selector("text=The merge was undone")
    assert page.inner_text("[data-testid=duplicate-count]") == "1"
