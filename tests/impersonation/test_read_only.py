"""While support views as an organization: every write is refused unless granted, some pages never open.

The matrices walk app.url_map, so routes added later are covered without touching this file.
"""
import pytest
from flask import Blueprint, request
from sqlalchemy import func, select

from portal import create_app
from portal.access import blocked_while_impersonating, is_blocked_while_impersonating
from portal.extensions import db
from portal.impersonation.guard import EXEMPT_ENDPOINTS
from portal.models import AuditEvent, SyncRun
from portal.tenancy import current_org
from tests import factories
from tests.conftest import test_config as config_for
from tests.impersonation.conftest import events, start_view_as, view_as
from tests.url_rules import fill, form_field_names, listing_app, snapshot, write_rules

# Plausible values for every form field, so a refusal is the guard's doing and not a validation error.
PLAUSIBLE = {name: "valid-looking value" for name in form_field_names()} | {
    "email": "someone.new@example.com", "role": "marketer", "reason": "TICKET-77",
}


def _send(web, url, method):
    return web.client.open(url, method=method, data={"csrf_token": web.token, **PLAUSIBLE})


@pytest.mark.parametrize(("endpoint", "path", "arguments", "method"), write_rules(skip=EXEMPT_ENDPOINTS.__contains__))
def test_a_read_only_session_refuses_every_write(web, two_orgs, support, session, endpoint, path, arguments, method):
    url = fill(path, arguments, two_orgs["a"])
    view_as(web, support, two_orgs["a"])
    before = snapshot(session, exclude={"audit_events"})
    response = _send(web, url, method)
    assert response.status_code == 403, f"{method} {url} answered {response.status_code} in a read-only session"
    assert "support session" in response.get_data(as_text=True)
    assert snapshot(session, exclude={"audit_events"}) == before
    refused = events(two_orgs["a"], "impersonation.write_blocked")
    assert [(e.details["endpoint"], e.details["status"]) for e in refused] == [(endpoint, 403)]


BLOCKED = write_rules(
    skip=lambda endpoint: not is_blocked_while_impersonating(endpoint, listing_app().view_functions.get(endpoint))
)


@pytest.mark.parametrize(("endpoint", "path", "arguments", "method"), BLOCKED)
def test_users_and_credentials_stay_blocked_even_when_changes_are_allowed(
    web, two_orgs, writer, session, endpoint, path, arguments, method
):
    url = fill(path, arguments, two_orgs["a"])
    view_as(web, writer, two_orgs["a"], allow_changes=True)
    before = snapshot(session, exclude={"audit_events"})
    response = _send(web, url, method)
    assert response.status_code == 403, f"{method} {url} answered {response.status_code}"
    assert snapshot(session, exclude={"audit_events"}) == before


def test_blocked_pages_do_not_open_for_reading_either(web, two_orgs, writer):
    view_as(web, writer, two_orgs["a"], allow_changes=True)
    response = web.client.get("/settings/users/")
    assert response.status_code == 403 and "not available in a support session" in response.get_data(as_text=True)
    assert web.client.get("/connections/new").status_code == 403


def test_support_reads_the_toast_status_and_sync_errors_without_write_controls(web, two_orgs, support, session):
    location = factories.LocationFactory(connection=factories.ToastConnectionFactory(organization=two_orgs["a"]))
    session.add(SyncRun(job_id="sync:failed-run", org_id=location.org_id, location_id=location.id, kind="backfill",
                        status="failed", error="Toast refused access: client secret expired"))
    session.commit()
    view_as(web, support, two_orgs["a"])
    page = web.client.get("/connections/").get_data(as_text=True)
    assert "Toast refused access: client secret expired" in page
    assert "Toast</a>" in page  # in the menu
    for control in ("Connect Toast credentials", "Sync now", "Add locations", "Reconnect", "Save webhook secret",
                    location.connection.webhook_token):
        assert control not in page, control
    assert web.client.get("/connections/_status", headers={"HX-Request": "true"}).status_code == 200


def test_stop_and_sign_out_stay_possible_in_a_read_only_session(web, two_orgs, support):
    view_as(web, support, two_orgs["a"])
    assert web.post("/support/view-as/stop").status_code == 303
    assert start_view_as(web, two_orgs["a"]).status_code == 303
    assert web.post("/logout").status_code == 303
    assert [e.details["end_reason"] for e in events(two_orgs["a"], "impersonation.stopped")] == ["stopped", "logout"]


# A second app with two extra routes: an ordinary write, and one marked like a bulk guest export.
probe = Blueprint("probe", __name__)


@probe.post("/probe/rename")
def rename():
    current_org().name = request.form["name"]
    db.session.commit()
    return "renamed"


@probe.post("/probe/export")
@blocked_while_impersonating
def export():
    return "guest rows"


@pytest.fixture
def probe_web(app, database_url, session):
    from tests.conftest import Browserless

    probe_app = create_app(config_for(database_url))
    probe_app.register_blueprint(probe)
    probe_app.test_client_class = app.test_client_class
    return Browserless(probe_app.test_client())


def test_a_session_that_allows_changes_makes_them_and_each_is_audited(probe_web, two_orgs, writer, session):
    impersonation = view_as(probe_web, writer, two_orgs["a"], allow_changes=True)
    response = probe_web.post("/probe/rename", {"name": "Renamed by support"})
    assert response.status_code == 200
    session.refresh(two_orgs["a"])
    assert two_orgs["a"].name == "Renamed by support"
    [write] = events(two_orgs["a"], "impersonation.write")
    assert (write.actor_user_id, write.actor_email) == (writer.id, writer.email)
    assert write.impersonation_id == impersonation.id
    assert write.details == {"method": "POST", "path": "/probe/rename", "endpoint": "probe.rename", "status": 200}
    assert (write.request_method, write.request_path, write.ip) == ("POST", "/probe/rename", "127.0.0.1")
    assert write.request_id and write.user_agent


def test_a_read_only_session_cannot_make_the_same_change(probe_web, two_orgs, support, session):
    name = two_orgs["a"].name
    view_as(probe_web, support, two_orgs["a"])
    assert probe_web.post("/probe/rename", {"name": "Renamed by support"}).status_code == 403
    session.refresh(two_orgs["a"])
    assert two_orgs["a"].name == name


def test_views_marked_blocked_refuse_even_when_changes_are_allowed(probe_web, two_orgs, writer, session):
    view_as(probe_web, writer, two_orgs["a"], allow_changes=True)
    response = probe_web.post("/probe/export")
    assert response.status_code == 403 and "guest rows" not in response.get_data(as_text=True)


def test_marked_views_work_for_members(probe_web, two_orgs):
    probe_web.login(two_orgs["owner_a"])
    assert probe_web.post("/probe/export").get_data(as_text=True) == "guest rows"


def test_no_audit_rows_for_writes_outside_impersonation(web, two_orgs, session):
    web.login(two_orgs["owner_a"])
    web.htmx_post(f"/settings/users/{two_orgs['marketer_a'].id}/role", {"role": "owner"})
    actions = session.scalars(select(AuditEvent.action)).all()
    assert sorted(actions) == ["user.role_changed", "user.signed_in"]
    assert session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.impersonation_id.is_not(None))) == 0
