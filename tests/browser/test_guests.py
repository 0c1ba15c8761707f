"""Guest pages in Chromium: search and sort swap the list in place (no reload), the detail page, a tag via htmx."""
from datetime import timedelta

import pytest

from tests import factories
from tests.browser.conftest import screenshot, sign_in
from tests.guests.builders import BASE, ingest, simple
from tests.guests.conftest import configure

pytestmark = pytest.mark.browser


def names(page) -> list[str]:
    return page.locator("[data-testid=guest-list] tbody td.col-name > a").all_inner_texts()


def test_search_sort_and_open_a_guest_without_reloading_the_list(live_server, committed, page, database_url):
    from playwright.sync_api import expect

    owner = factories.UserFactory(email="owner@harbor.example", organization__name="Harbor Group")
    location = factories.LocationFactory(connection__organization=owner.organization, name="Harbor")
    configure(committed, location)
    ingest(location,
           simple(email="ann@example.com", first="Ann", last="Archer", amount=40, opened=BASE),
           simple(email="bob@example.com", first="Bob", last="Baker", amount=15, opened=BASE + timedelta(days=1)),
           simple(email="bea@example.com", first="Bea", last="Brook", phone="617 555 0101", amount=25,
                  opened=BASE + timedelta(days=2)))
    committed.commit()

    sign_in(page, live_server, owner.email)
    page.wait_for_selector("[data-testid=current-org]")
    page.goto(f"{live_server}/guests/")
    expect(page.locator("[data-testid=guest-list] tbody tr")).to_have_count(3)
    page.evaluate("window.__sameDocument = true")
    backend = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    assert screenshot(page, f"guest-list-{backend}").stat().st_size > 0

    page.fill("#guest-q", "b")
    expect(page.locator("[data-testid=guest-list] tbody tr")).to_have_count(2)
    assert sorted(names(page)) == ["Bea Brook", "Bob Baker"]
    assert "q=b" in page.url  # the search is in the address bar (htmx pushed it)
    page.click("[data-testid=guest-list] th a:has-text('Net spend')")
    expect(page.locator("[data-testid=guest-list] tbody tr").first).to_contain_text("Bea Brook")
    page.wait_for_load_state("networkidle")  # Bea may lead before the sort's swap: the next click needs its header
    page.click("[data-testid=guest-list] th a:has-text('Net spend')")
    expect(page.locator("[data-testid=guest-list] tbody tr").first).to_contain_text("Bob Baker")
    assert page.evaluate("window.__sameDocument === true"), "the list was reloaded instead of swapped"

    page.click("text=Bea Brook")
    page.wait_for_selector("[data-testid=guest-figures]")
    expect(page.locator("[data-figure=net_spend]")).to_have_text("$25.00")
    expect(page.locator("[data-testid=guest-phone]")).to_have_text("(617) 555-0101")
    page.fill("input[name=tag]", "Regular")
    page.click("button:has-text('Add tag')")
    expect(page.locator("[data-testid=guest-tags]")).to_contain_text("regular")
    assert screenshot(page, f"guest-detail-{backend}").stat().st_size > 0
