"""Webhook events given up on are shown, read-only: a count per organization on the support tenant list, and on
the Toast connections page the count with the latest reasons (never another organization's)."""
import re
import uuid
from datetime import timedelta

from portal.models import Organization, WebhookEvent
from portal.models.base import utcnow
from tests import factories
from tests.conftest import Browserless


def failed_events(location, count, reason="FatalAPIError: Toast answered HTTP 404 to the order fetch"):
    now = utcnow()
    return [WebhookEvent(org_id=location.org_id, connection_id=location.connection_id, event_guid=str(uuid.uuid4()),
                         event_type="order_updated", order_guid=f"order-{location.org_id}-{n}", body="{}",
                         status="failed", failed_attempts=5, error=f"{reason} #{n}",
                         created_at=now, processed_at=now - timedelta(minutes=count - n))
            for n in range(count)]


def signed_in(app, user):
    web = Browserless(app.test_client())
    web.login(user)
    return web


def test_support_sees_failed_webhook_events_per_organization_and_their_reasons(app, session):
    harbor, quiet = factories.LocationFactory(), factories.LocationFactory()
    session.add_all(failed_events(harbor, 3) + [
        WebhookEvent(org_id=quiet.org_id, connection_id=quiet.connection_id, event_guid=str(uuid.uuid4()),
                     event_type="order_updated", body="{}", status=status, created_at=utcnow())
        for status in ("received", "processed")])  # pending or done: not failures
    owner = factories.UserFactory(organization=session.get(Organization, harbor.org_id), role="owner")
    session.flush()
    support = signed_in(app, factories.SupportUserFactory()).client
    page = support.get("/support/tenants").get_data(as_text=True)
    cells = dict(re.findall(r'data-testid="failed-webhooks-([^"]+)">(.*?)</td>', page))
    details = f"/support/tenants/{harbor.org_id}/webhook-failures"
    assert cells[session.get(Organization, harbor.org_id).slug] == f'<a href="{details}" class="badge bad">3</a>'
    assert cells[session.get(Organization, quiet.org_id).slug] == "0"
    reasons = support.get(details).get_data(as_text=True)
    assert "3 webhook events failed" in reasons and "HTTP 404 to the order fetch #2" in reasons
    assert support.get("/support/tenants/999999/webhook-failures").status_code == 404
    assert signed_in(app, owner).client.get(details).status_code == 404  # support only


def test_the_connections_page_shows_the_count_and_latest_reasons_of_its_own_organization_only(app, session):
    mine, theirs = factories.LocationFactory(), factories.LocationFactory()
    session.add_all(failed_events(mine, 7) + failed_events(theirs, 2, reason="PayloadError: elsewhere"))
    owner = factories.UserFactory(organization=session.get(Organization, mine.org_id), role="owner")
    session.flush()
    page = signed_in(app, owner).client.get("/connections/").get_data(as_text=True)
    assert "7 webhook events failed" in page
    shown = re.findall(r"FatalAPIError: Toast answered HTTP 404 to the order fetch #(\d)", page)
    assert shown == ["6", "5", "4", "3", "2"]  # the latest five, newest first
    assert "The latest 5:" in page
    assert "elsewhere" not in page and f"order-{theirs.org_id}-" not in page
