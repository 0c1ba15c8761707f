import uuid

import pytest

from portal.models import Organization, WebhookEvent
from portal.models.base import utcnow
from tests import factories
from tests.browser.conftest import screenshot, sign_in

pytestmark = pytest.mark.browser

WIDTHS = (1366, 390)


def test_failed_webhook_events_reach_support_and_the_owner_on_wide_and_narrow_screens(live_server, committed, page):
    factories.bind(committed)
    location = factories.LocationFactory()
    org = committed.get(Organization, location.org_id)
    owner = factories.UserFactory(email="owner@harbor.example", organization=org)
    support = factories.SupportUserFactory(email="help@tablecloth.example")
    committed.add_all([
        WebhookEvent(org_id=org.id, connection_id=location.connection_id, event_guid=str(uuid.uuid4()),
                     event_type="order_updated", order_guid=str(uuid.uuid4()), body="{}", status="failed",
                     failed_attempts=5, error="FatalAPIError: Toast answered HTTP 404 to the order fetch",
                     created_at=utcnow(), processed_at=utcnow())
        for _ in range(2)])
    committed.commit()

    sign_in(page, live_server, support.email)
    page.click(f"[data-testid=failed-webhooks-{org.slug}] a")  # the count on the tenant list leads to the reasons
    page.wait_for_url(f"**/support/tenants/{org.id}/webhook-failures")
    readable_at_every_width(page, "support")
    page.context.clear_cookies()

    sign_in(page, live_server, owner.email)
    page.goto(f"{live_server}/connections/")
    readable_at_every_width(page, "connections")


def readable_at_every_width(page, name):
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        failures = page.locator("[data-testid=webhook-failures]")
        assert "2 webhook events failed" in failures.inner_text()
        assert "HTTP 404 to the order fetch" in failures.inner_text()
        assert failures.evaluate("e => e.getBoundingClientRect().right <= window.innerWidth"), \
            f"the failures on the {name} page run off a {width} px screen"
        assert screenshot(page, f"webhook-failures-{name}-{width}").stat().st_size > 0
