import re

import pytest

from tests import factories
from tests.browser.conftest import screenshot, sign_in

pytestmark = pytest.mark.browser


def test_support_views_as_an_organization_sees_the_banner_and_stops(live_server, committed, page):
    factories.bind(committed)
    org = factories.OrganizationFactory(name="Harbor Restaurant Group", slug="harbor")
    factories.UserFactory(email="owner@harbor.example", organization=org)
    support = factories.SupportUserFactory(email="help@tablecloth.example")
    committed.commit()
    csp_violations = []
    page.on("console", lambda message: csp_violations.append(message.text)
            if "Content Security Policy" in message.text else None)

    sign_in(page, live_server, support.email)
    page.wait_for_url("**/support/tenants")

    page.click("[data-testid=view-as-harbor]")
    page.click("button:has-text('Start viewing')")  # no reason: refused inline
    assert "give a reason" in page.inner_text(".field-error")
    page.fill("input[name=reason]", "TICKET-4242 guest sync question")
    page.click("button:has-text('Start viewing')")
    page.wait_for_url(f"{live_server}/")

    banner = page.locator("[data-testid=impersonation-banner]")
    assert page.inner_text("h1") == "Harbor Restaurant Group"
    assert "help@tablecloth.example" in banner.inner_text()
    assert banner.locator("[data-testid=impersonated-org]").inner_text() == "Harbor Restaurant Group"
    assert re.search(r"Expires at \w{3} \d{1,2}, \d{4}, \d{1,2}:\d\d [AP]M UTC \((30|29) min left\)", banner.inner_text())

    page.click("a:has-text('Password')")
    page.wait_for_url("**/account/password")
    assert page.locator("[data-testid=impersonation-banner]").is_visible()
    assert page.evaluate("typeof htmx") == "object", "htmx did not load under the CSP"
    assert screenshot(page, "impersonation-banner").stat().st_size > 0

    page.click("[data-testid=stop-impersonation]")
    page.wait_for_url("**/support/tenants")
    assert page.locator("[data-testid=impersonation-banner]").count() == 0
    assert "You stopped viewing Harbor Restaurant Group" in page.inner_text("main")
    assert csp_violations == []
