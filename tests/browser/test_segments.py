"""The segment builder in Chromium: a two-group rule built with htmx alone, the live count, save, CSV download."""
import csv
import io

import pytest

from portal.segments.service import create_presets
from tests import factories
from tests.browser.conftest import screenshot, sign_in
from tests.segments.conftest import GUESTS
from tests.segments.data import insert, make_locations

pytestmark = pytest.mark.browser


def count(page):
    return page.locator("#preview [data-testid=member-count]")


def condition(page, group: int, index: int):
    return page.locator("[data-testid=group]").nth(group).locator("[data-testid=condition]").nth(index)


def set_condition(row, field_label: str, operator_label: str, value: str):
    """Pick the field (the row is redrawn by htmx), then the operator (redrawn again), then type the value."""
    row.locator("[data-testid=condition-field]").select_option(label=field_label)
    row.page.wait_for_function("() => !document.querySelector('.htmx-request')")
    row.locator("[data-testid=condition-operator]").select_option(label=operator_label)
    row.page.wait_for_function("() => !document.querySelector('.htmx-request')")
    row.locator("[data-testid=condition-value]").fill(value)


def test_build_a_two_group_rule_see_the_count_save_and_export(live_server, committed, page):
    from playwright.sync_api import expect

    factories.bind(committed)
    owner = factories.UserFactory(email="marketing@harbor.example", organization__name="Harbor Group",
                                  role="marketer")
    create_presets(owner.org_id)
    insert(committed, owner.organization, make_locations(owner.organization, 2), GUESTS)
    committed.commit()

    sign_in(page, live_server, owner.email)
    page.wait_for_selector("[data-testid=current-org]")
    page.goto(f"{live_server}/segments/new")
    expect(count(page)).to_have_text("6")  # the starting condition: at least 1 order

    page.fill("[data-testid=segment-name]", "Delivery or new, $15+")
    page.locator("#rules-root > [data-testid=condition] button", has_text="Remove").click()
    page.click("[data-testid=add-group]")
    expect(page.locator("[data-testid=group]")).to_have_count(1)
    set_condition(condition(page, 0, 0), "Delivery orders", "at least", "1")
    expect(count(page)).to_have_text("3")  # Lena, Rita, Olga

    page.locator("[data-testid=group-add-condition]").nth(0).click()
    expect(page.locator("[data-testid=group]").nth(0).locator("[data-testid=condition]")).to_have_count(2)
    set_condition(condition(page, 0, 1), "Days since first order", "less than", "30")
    page.locator("[data-testid=group-op]").nth(0).select_option(label="any")
    expect(count(page)).to_have_text("4")  # + Ned

    page.click("[data-testid=add-group]")
    expect(page.locator("[data-testid=group]")).to_have_count(2)
    set_condition(condition(page, 1, 0), "Net spend", "at least", "100")
    expect(count(page)).to_have_text("2")  # Rita $125, Olga $180
    condition(page, 1, 0).locator("[data-testid=condition-value]").fill("15")
    expect(count(page)).to_have_text("4")  # Lena $50, Ned $15, Rita, Olga

    condition(page, 1, 0).locator("[data-testid=condition-value]").fill("fifteen")
    expect(page.locator("[data-testid=rules-invalid]")).to_be_visible()
    expect(condition(page, 1, 0).locator(".field-error")).to_contain_text("must be an amount")
    condition(page, 1, 0).locator("[data-testid=condition-value]").fill("15")
    expect(count(page)).to_have_text("4")
    assert screenshot(page, "segment-builder").stat().st_size > 0

    page.click("[data-testid=save-segment]")
    page.wait_for_selector("[data-testid=definition]")
    assert page.inner_text("h1").startswith("Delivery or new, $15+")
    assert page.inner_text("[data-testid=member-count]") == "4"
    assert "1 who opted out of marketing are left out" in page.inner_text("[data-testid=export-note]")

    with page.expect_download() as download_info:
        page.click("[data-testid=export-csv]")
    download = download_info.value
    assert download.suggested_filename.startswith("delivery-or-new-15-")
    rows = list(csv.DictReader(io.StringIO(open(download.path(), encoding="utf-8").read())))
    assert sorted(r["first_name"] for r in rows) == ["Lena", "Ned", "Rita"]  # Olga opted out
