"""The guest list in Chromium: a guest found by the last 4 digits of a phone, filters that Back and a shared link
restore, a bulk tag and a bulk opt-out with their confirmation, and the list at 1366 and 390 px."""
from datetime import timedelta

import pytest

from tests import factories
from tests.browser.conftest import screenshot, sign_in
from tests.guests.builders import BASE, ingest, simple
from tests.guests.conftest import configure

pytestmark = pytest.mark.browser
ROWS = "[data-testid=guest-list] tbody tr"


def names(page):
    return page.locator("[data-testid=guest-list] tbody td.col-name > a")


@pytest.fixture
def harbor(committed):
    owner = factories.UserFactory(email="owner@harbor.example", organization__name="Harbor Group")
    harbor = factories.LocationFactory(connection__organization=owner.organization, name="Harbor",
                                       time_zone="America/New_York")
    uptown = factories.LocationFactory(connection=harbor.connection, name="Uptown", time_zone="America/New_York")
    configure(committed, harbor)
    configure(committed, uptown)
    day = timedelta(days=1)
    ingest(harbor,
           simple(email="ann.archer@example.com", first="Ann", last="Archer", phone="617 555 0101", opened=BASE),
           simple(email="bob@example.com", first="Bob", last="Johnson", phone="617 555 7788", opened=BASE + day),
           simple(email="dd-0a1b2c3d4e@relay.example.com", first="Rita", last="R.", phone="857 555 0199",
                  opened=BASE + 2 * day))
    ingest(uptown, simple(email="cat@example.com", first="Cat", last="Cole", phone="+44 20 7946 0101",
                          opened=BASE + 3 * day))
    committed.commit()
    return {"owner": owner, "harbor": harbor, "uptown": uptown}


def backend(database_url: str) -> str:
    return "postgresql" if database_url.startswith("postgresql") else "sqlite"


def test_last_four_digits_and_filters_that_back_and_a_shared_link_restore(live_server, harbor, page, browser,
                                                                          database_url):
    from playwright.sync_api import expect

    sign_in(page, live_server, harbor["owner"].email)
    page.goto(f"{live_server}/guests/")
    expect(page.locator(ROWS)).to_have_count(4)
    expect(page.locator("[data-testid=guest-count]")).to_have_text("4 guests")

    page.fill("#guest-q", "0101")  # the last 4 digits, as Toast Guestbook users look guests up
    expect(names(page)).to_have_text(["Cat Cole", "Ann Archer"])  # last order first
    expect(page.locator("[data-testid=guest-count]")).to_have_text("2 guests match")
    page.select_option("#guest-location", label="Harbor")
    expect(names(page)).to_have_text(["Ann Archer"])
    filtered_url = page.url
    assert "q=0101" in filtered_url and f"location={harbor['harbor'].id}" in filtered_url
    page.fill("#guest-q", "johns")  # any part of a name
    expect(names(page)).to_have_text(["Bob Johnson"])

    page.go_back()  # the list and the filters that made it, together
    expect(names(page)).to_have_text(["Ann Archer"])
    expect(page.locator("#guest-q")).to_have_value("0101")
    expect(page.locator("#guest-location")).to_have_value(str(harbor["harbor"].id))

    page.click("text=Ann Archer")  # a full page away and back again
    page.wait_for_selector("[data-testid=guest-figures]")
    page.go_back()
    expect(page.locator("#guest-q")).to_have_value("0101")
    expect(names(page)).to_have_text(["Ann Archer"])

    shared = browser.new_context().new_page()  # a colleague opens the link
    sign_in(shared, live_server, harbor["owner"].email)
    shared.goto(filtered_url)
    expect(shared.locator("#guest-q")).to_have_value("0101")
    expect(shared.locator("#guest-location")).to_have_value(str(harbor["harbor"].id))
    expect(names(shared)).to_have_text(["Ann Archer"])
    shared.context.close()


def test_bulk_tag_and_opt_out_with_a_confirmation_at_1366_and_390_px(live_server, harbor, page, database_url):
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, live_server, harbor["owner"].email)
    page.goto(f"{live_server}/guests/?sort=name&dir=asc")
    expect(page.locator(ROWS)).to_have_count(4)
    page.check("input[name=guest][aria-label='Tick Ann Archer']")
    page.check("input[name=guest][aria-label='Tick Bob Johnson']")
    page.click("[data-testid=bulk-tag]")
    expect(page.locator("[data-testid=bulk-confirm-button]")).to_have_text("Tag 2 guests")
    page.fill("[data-testid=bulk-tag-name]", "Patio")
    screenshot(page, f"guest-list-bulk-1366-{backend(database_url)}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366  # every column fits
    page.click("[data-testid=bulk-confirm-button]")
    expect(page.locator("[data-testid=bulk-done]")).to_contain_text("Tagged 2 guests with “patio”")
    expect(page.locator("input[name=guest]:checked")).to_have_count(0)  # the list was redrawn, ticks cleared

    page.fill("#guest-q", "0101")
    expect(page.locator(ROWS)).to_have_count(2)
    page.check("[data-testid=scope-all]")
    page.click("[data-testid=bulk-opt-out]")
    expect(page.locator("[data-testid=bulk-confirm-button]")).to_have_text("Opt out 2 guests")
    page.click("[data-testid=bulk-confirm-button]")
    expect(page.locator("[data-testid=bulk-done]")).to_contain_text("Opted 2 guests out of marketing")
    expect(page.locator(f"{ROWS} .badge:has-text('opted out')")).to_have_count(2)

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/guests/?sort=name&dir=asc")
    expect(page.locator(ROWS)).to_have_count(4)
    page.check("input[name=guest][aria-label='Tick Cat Cole']")
    page.click("[data-testid=bulk-segment]")
    page.fill("[data-testid=bulk-segment-name]", "Window seats")
    screenshot(page, f"guest-list-bulk-390-{backend(database_url)}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the page is wider than the phone"
    page.click("[data-testid=bulk-confirm-button]")
    expect(page.locator("[data-testid=bulk-done]")).to_contain_text("Added 1 guest to")
    page.click("[data-testid=bulk-done] a")
    expect(page.locator("[data-testid=members]")).to_contain_text("Cat Cole")

    page.goto(f"{live_server}/guests/?q=rita")
    page.click("text=Rita R.")
    expect(page.locator("[data-testid=relay-email]")).to_be_visible()
    expect(page.locator("[data-testid=timeline-order] strong").first).to_contain_text("EST")
    screenshot(page, f"guest-detail-390-{backend(database_url)}")
