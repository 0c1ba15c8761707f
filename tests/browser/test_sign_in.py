import pytest

from tests import factories
from tests.browser.conftest import screenshot
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.browser


def test_owner_signs_in_sees_the_dashboard_and_signs_out(live_server, committed, page, database_url):
    factories.bind(committed)
    owner = factories.UserFactory(email="owner@harbor.example", organization__name="Harbor Restaurant Group")
    committed.commit()

    page.goto(f"{live_server}/")
    assert "/login" in page.url
    page.fill("input[name=email]", owner.email)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")

    page.wait_for_selector("[data-testid=current-org]")
    assert page.inner_text("[data-testid=current-org]") == "Harbor Restaurant Group"
    assert page.inner_text("h1") == "Harbor Restaurant Group"
    assert page.evaluate("typeof htmx") == "object", "htmx did not load (SRI or URL wrong)"
    backend = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    assert screenshot(page, f"dashboard-{backend}").stat().st_size > 0

    page.click("text=Sign out")
    page.wait_for_url("**/login")
    page.goto(f"{live_server}/")
    assert "/login" in page.url
