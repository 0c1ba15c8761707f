"""Recording audit events: actor and request data, outside requests too, and no guest PII in details."""
import re

import pytest
from sqlalchemy import select
from werkzeug.local import LocalProxy

from portal.audit.service import record
from portal.models import AuditEvent, User
from tests import factories
from tests.conftest import TEST_PASSWORD, Browserless, csrf_token_from
from tests.impersonation.conftest import events, start_view_as, view_as


def test_record_works_without_a_request(session, two_orgs):
    event = record("guest.erased", org_id=two_orgs["a"].id, target=("guest", 42), details={"orders": 3})
    session.flush()
    assert (event.actor_user_id, event.ip, event.request_path, event.impersonation_id) == (None, None, None, None)
    assert (event.target_type, event.target_id, event.details) == ("guest", "42", {"orders": 3})


def test_record_takes_an_explicit_actor_outside_requests(session, two_orgs):
    event = record("export.downloaded", org_id=two_orgs["a"].id, actor=two_orgs["owner_a"], details={"rows": 10})
    assert (event.actor_user_id, event.actor_email) == (two_orgs["owner_a"].id, two_orgs["owner_a"].email)


@pytest.mark.parametrize(
    "details",
    [{"email": "guest@example.com"}, {"Phone": "+15550100"}, {"guest": {"id": 1}}, {"note": "x" * 201}, {1: "x"}],
)
def test_details_refuse_pii_keys_and_anything_but_short_scalars(session, two_orgs, details):
    with pytest.raises(ValueError):
        record("guest.merged", org_id=two_orgs["a"].id, details=details)


def test_details_take_id_lists_and_counts(session, two_orgs):
    event = record("guest.merged", org_id=two_orgs["a"].id, details={"merged_ids": [4, 5], "kept_id": 3})
    session.flush()
    session.expire(event)
    assert event.details == {"merged_ids": [4, 5], "kept_id": 3}


def test_an_event_needs_an_organization(session):
    with pytest.raises(ValueError):
        record("user.created", org_id=None)


def test_user_management_is_audited_with_actor_and_request(web, two_orgs, session):
    owner, marketer = two_orgs["owner_a"], two_orgs["marketer_a"]
    web.login(owner)
    web.htmx_post("/settings/users/", {"email": "new.person@example.com", "role": "marketer"})
    web.htmx_post(f"/settings/users/{marketer.id}/role", {"role": "owner"})
    web.htmx_post(f"/settings/users/{marketer.id}/remove")
    created = session.scalar(select(User).where(User.email == "new.person@example.com"))
    changes = [e for e in events(two_orgs["a"]) if e.action != "user.signed_in"]
    logged = [(e.action, e.target_type, e.target_id, e.details) for e in changes]
    assert logged == [
        ("user.created", "user", str(created.id), {"role": "marketer"}),
        ("user.role_changed", "user", str(marketer.id), {"from": "marketer", "to": "owner"}),
        ("user.removed", "user", str(marketer.id), {"role": "owner"}),
    ]
    for event in changes:
        assert (event.actor_user_id, event.actor_email, event.request_method, event.ip) == (
            owner.id, owner.email, "POST", "127.0.0.1")
        assert event.request_path.startswith("/settings/users/") and event.request_id
    assert not events(two_orgs["b"])


def test_refused_user_changes_leave_no_event(web, two_orgs):
    web.login(two_orgs["owner_a"])
    web.htmx_post(f"/settings/users/{two_orgs['owner_a'].id}/role", {"role": "marketer"})  # last owner
    web.htmx_post(f"/settings/users/{two_orgs['owner_a'].id}/remove")  # self
    assert [event.action for event in events(two_orgs["a"])] == ["user.signed_in"]


def test_password_change_is_audited_without_the_password(web, two_orgs):
    user = two_orgs["marketer_a"]
    web.login(user)
    new = "a brand new passphrase 42"
    web.post("/account/password", {"current_password": TEST_PASSWORD, "new_password": new, "confirm": new})
    [event] = events(two_orgs["a"], "user.password_changed")
    assert (event.action, event.target_id, event.actor_user_id, event.details) == (
        "user.password_changed", str(user.id), user.id, {})


def test_users_created_from_the_cli_are_audited_with_no_actor(app, session, two_orgs):
    result = app.test_cli_runner().invoke(
        args=["user", "create", "--email", "cli.made@example.com", "--org", two_orgs["a"].slug, "--role", "owner"])
    assert result.exit_code == 0
    [event] = events(two_orgs["a"], "user.created")
    assert (event.actor_user_id, event.request_method) == (None, None)


def test_impersonation_start_and_stop_carry_actor_org_reason_and_request(web, two_orgs, session):
    support = factories.SupportUserFactory()
    impersonation = view_as(web, support, two_orgs["a"])
    web.post("/support/view-as/stop")
    started, stopped = events(two_orgs["a"])
    assert (started.action, stopped.action) == ("impersonation.started", "impersonation.stopped")
    for event in (started, stopped):
        assert (event.actor_user_id, event.actor_email, event.impersonation_id) == (
            support.id, support.email, impersonation.id)
        assert event.details["reason"] == impersonation.reason
        assert (event.target_type, event.target_id) == ("organization", str(two_orgs["a"].id))
        assert event.ip == "127.0.0.1" and event.user_agent and event.request_id
    assert (started.request_path, stopped.request_path) == (
        f"/support/tenants/{two_orgs['a'].id}/view-as", "/support/view-as/stop")
    assert started.details["can_write"] is False and stopped.details["end_reason"] == "stopped"


def test_a_refused_start_records_nothing(web, two_orgs, session):
    web.login(factories.SupportUserFactory())
    start_view_as(web, two_orgs["a"], reason="no")
    assert session.scalars(select(AuditEvent)).all() == []


def _try_sign_in(client, email, password):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def test_sign_ins_and_failed_ones_are_audited_with_the_account_only(web, two_orgs, session, app):
    marketer = two_orgs["marketer_a"]
    assert _try_sign_in(web.client, marketer.email, "not the password").status_code == 400
    assert _try_sign_in(web.client, "nobody@example.com", "whatever").status_code == 400
    web.login(marketer)
    failed, signed_in = events(two_orgs["a"])
    assert (failed.action, failed.target_type, failed.target_id, failed.actor_user_id, failed.details) == (
        "user.sign_in_failed", "user", str(marketer.id), None, {"reason": "wrong password"})
    assert (signed_in.action, signed_in.target_id, signed_in.actor_user_id) == (
        "user.signed_in", str(marketer.id), marketer.id)
    assert failed.request_path == "/login" and failed.ip == "127.0.0.1"
    assert session.scalar(select(AuditEvent.id).where(AuditEvent.org_id == two_orgs["b"].id)) is None
    owner_web = Browserless(app.test_client())
    owner_web.login(two_orgs["owner_a"])
    page = owner_web.client.get("/settings/audit").get_data(as_text=True)
    assert "Sign-in failed" in page and "reason: wrong password" in page and "nobody@example.com" not in page
    assert f"<td>{marketer.email}</td>" in page  # the target is named by the account's email


def test_a_support_users_sign_in_goes_to_no_organizations_trail(web, session):
    web.login(factories.SupportUserFactory())
    assert session.scalar(select(AuditEvent.id)) is None


def test_targets_are_named_not_numbered_by_class(web, two_orgs, session):
    owner = two_orgs["owner_a"]
    connection = factories.ToastConnectionFactory(organization=two_orgs["a"], host="https://ws-api.toasttab.com")
    session.flush()
    record("credentials.changed", org_id=two_orgs["a"].id, target=connection, details={"change": "reconnected"})
    record("guest.erased", org_id=two_orgs["a"].id, target=("guest", 7))
    proxied = record("user.password_changed", org_id=two_orgs["a"].id, target=LocalProxy(lambda: owner))
    assert (proxied.target_type, proxied.target_id) == ("user", str(owner.id))  # as current_user is passed
    web.login(owner)
    page = web.client.get("/settings/audit").get_data(as_text=True)
    assert "<td>Toast connection https://ws-api.toasttab.com</td>" not in page
    assert "<td>https://ws-api.toasttab.com</td>" in page and "<td>guest #7</td>" in page
    assert "localproxy" not in page and "toastconnection" not in page
    assert re.search(r"· \d+ events</span>", page)
