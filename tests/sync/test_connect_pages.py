"""The owner's connect flow in the portal, against the sandbox over HTTP."""
import re

from sqlalchemy import func, select

from portal.crypto import decrypt
from portal.models import AuditEvent, Location, SyncRun, ToastConnection
from tests import factories
from tests.conftest import Browserless
from toast_sandbox.clients import GROUP_CLIENT, LIMITED_CLIENT


def owner_web(app, committed, role="owner"):
    user = factories.UserFactory(role=role)
    committed.commit()
    web = Browserless(app.test_client())
    web.login(user)
    return web, user


def test_owner_connects_credentials_picks_locations_and_syncs_start(app, committed, sandbox, redis_conn):
    web, owner = owner_web(app, committed)
    credentials = sandbox.credentials(GROUP_CLIENT)
    response = web.post("/connections/new", {
        "host": sandbox.base_url, "client_id": credentials["client_id"],
        "client_secret": credentials["client_secret"], "webhook_secret": sandbox.webhook_secret,
    })
    assert response.status_code == 303
    discover_url = response.headers["Location"]
    page = web.htmx_post(discover_url, {"guids": sandbox.restaurant_guids[0]}).get_data(as_text=True)
    for guid in sandbox.restaurant_guids:
        assert guid in page  # the group endpoint lists every location once one is known
    connection_id = int(re.search(r"/connections/(\d+)/", discover_url).group(1))
    response = web.post(f"/connections/{connection_id}/connect", {"guid": sandbox.restaurant_guids})
    assert response.status_code == 303
    committed.rollback()
    assert committed.scalar(select(func.count(Location.id)).where(Location.org_id == owner.org_id)) == 2
    assert sorted(committed.scalars(select(SyncRun.kind))) == ["backfill", "backfill", "config", "config"]
    status = web.client.get("/connections/").get_data(as_text=True)
    assert "All eight CRM scopes granted" in status
    assert 'hx-trigger="every 2s"' in status  # polls itself while runs are active
    webhook = committed.scalar(select(ToastConnection.webhook_token))
    assert f"/webhooks/toast/{webhook}" in status
    actions = committed.scalars(select(AuditEvent.action).where(AuditEvent.org_id == owner.org_id)).all()
    assert actions.count("credentials.changed") == 2  # connected, then locations connected


def test_missing_scopes_are_named_with_what_they_cost(app, committed, sandbox):
    web, _ = owner_web(app, committed)
    credentials = sandbox.credentials(LIMITED_CLIENT)
    web.post("/connections/new", {"host": sandbox.base_url, "client_id": credentials["client_id"],
                                  "client_secret": credentials["client_secret"]})
    page = web.client.get("/connections/").get_data(as_text=True)
    assert "guest.pi:read" in page and "no guest names" in page
    assert "delivery_info.address:read" in page
    assert "webhooks are refused until you add one" in page


def test_refused_credentials_are_an_inline_error_and_nothing_is_stored(app, committed, sandbox):
    web, _ = owner_web(app, committed)
    response = web.post("/connections/new", {"host": sandbox.base_url, "client_id": GROUP_CLIENT,
                                             "client_secret": "wrong"})
    assert response.status_code == 400
    assert "Toast refused these credentials" in response.get_data(as_text=True)
    committed.rollback()
    assert committed.scalar(select(func.count(ToastConnection.id))) == 0


def test_plain_http_is_refused_for_anything_but_a_local_sandbox(app, committed):
    web, _ = owner_web(app, committed)
    response = web.post("/connections/new", {"host": "http://ws-api.example.com", "client_id": "a", "client_secret": "b"})
    assert response.status_code == 400 and "https://" in response.get_data(as_text=True)


def test_marketers_cannot_see_or_change_toast_credentials(app, committed):
    web, _ = owner_web(app, committed, role="marketer")
    assert web.client.get("/connections/").status_code == 403
    assert web.post("/connections/new", {"host": "https://x.example", "client_id": "a", "client_secret": "b"}).status_code == 403


def test_a_location_of_another_organization_cannot_be_connected(app, committed, sandbox):
    other = factories.LocationFactory(guid=sandbox.restaurant_guids[0])
    committed.commit()
    web, owner = owner_web(app, committed)
    credentials = sandbox.credentials(GROUP_CLIENT)
    response = web.post("/connections/new", {"host": sandbox.base_url, "client_id": credentials["client_id"],
                                             "client_secret": credentials["client_secret"]})
    connection_id = int(re.search(r"/connections/(\d+)/", response.headers["Location"]).group(1))
    page = web.htmx_post(f"/connections/{connection_id}/locations", {"guids": sandbox.restaurant_guids[1]})
    assert "connected to another organization" in page.get_data(as_text=True)
    response = web.post(f"/connections/{connection_id}/connect", {"guid": [sandbox.restaurant_guids[0]]})
    assert response.status_code == 400
    committed.rollback()
    assert committed.scalar(select(Location.org_id).where(Location.guid == sandbox.restaurant_guids[0])) == other.org_id


def test_a_failed_check_keeps_what_was_typed_but_the_secrets_and_names_each_secret_to_enter_again(app, committed, sandbox):
    web, _ = owner_web(app, committed)
    response = web.post("/connections/new", {"host": sandbox.base_url, "client_id": GROUP_CLIENT,
                                             "client_secret": "wrong-secret", "webhook_secret": "typed-webhook-secret"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "Toast refused these credentials" in page
    assert f'value="{sandbox.base_url}"' in page and f'value="{GROUP_CLIENT}"' in page
    assert "wrong-secret" not in page and "typed-webhook-secret" not in page
    assert "Enter the client secret again: secrets are never shown back." in page
    assert "Enter the webhook secret again: secrets are never shown back." in page


def _connect_without_webhook_secret(app, committed, sandbox):
    web, owner = owner_web(app, committed)
    credentials = sandbox.credentials(GROUP_CLIENT)
    response = web.post("/connections/new", {"host": sandbox.base_url, "client_id": credentials["client_id"],
                                             "client_secret": credentials["client_secret"]})
    return web, owner, int(re.search(r"/connections/(\d+)/", response.headers["Location"]).group(1))


def test_a_webhook_secret_is_added_then_rotated_from_the_toast_page(app, committed, sandbox):
    web, owner, connection_id = _connect_without_webhook_secret(app, committed, sandbox)
    page = web.client.get("/connections/").get_data(as_text=True)
    assert "webhooks are refused until you add one" in page and "Save webhook secret" in page
    refused = web.htmx_post(f"/connections/{connection_id}/webhook-secret", {"webhook_secret": "  "})
    assert refused.status_code == 400 and "Enter the webhook secret Toast gave you." in refused.get_data(as_text=True)
    for secret in ("first-secret", "rotated-secret"):
        response = web.htmx_post(f"/connections/{connection_id}/webhook-secret", {"webhook_secret": secret})
        assert response.status_code == 200 and "Webhook secret saved" in response.get_data(as_text=True)
        assert secret not in response.get_data(as_text=True)
        committed.rollback()
        assert decrypt(committed.get(ToastConnection, connection_id).webhook_secret_enc) == secret
    changes = committed.scalars(select(AuditEvent.details).where(
        AuditEvent.org_id == owner.org_id, AuditEvent.action == "credentials.changed").order_by(AuditEvent.id)).all()
    assert [c["change"] for c in changes][-2:] == ["webhook secret added", "webhook secret replaced"]
    assert "webhooks are refused" not in web.client.get("/connections/").get_data(as_text=True)


def test_add_locations_opens_without_an_error_once_a_location_is_connected(app, committed, sandbox):
    web, _, connection_id = _connect_without_webhook_secret(app, committed, sandbox)
    first = web.client.get(f"/connections/{connection_id}/locations").get_data(as_text=True)
    assert "Toast needs one location GUID" in first  # nothing known yet: Toast needs one to list the group
    web.post(f"/connections/{connection_id}/connect", {"guid": [sandbox.restaurant_guids[0]]})
    page = web.client.get(f"/connections/{connection_id}/locations").get_data(as_text=True)
    assert 'class="error"' not in page
    for guid in sandbox.restaurant_guids:
        assert guid in page
