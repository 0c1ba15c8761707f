"""The owners' audit log at /settings/audit."""
import re

from portal.audit.service import PER_PAGE, record
from tests import factories
from tests.impersonation.conftest import view_as


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr data-action="([^"]+)">', html)


def test_owner_sees_their_organizations_events_newest_first(web, two_orgs, session):
    record("user.created", org_id=two_orgs["a"].id, target=two_orgs["marketer_a"], details={"role": "marketer"})
    record("guest.erased", org_id=two_orgs["a"].id, target=("guest", 7))
    record("other.secret_action", org_id=two_orgs["b"].id, details={"rows": 99})
    session.flush()
    web.login(two_orgs["owner_a"])
    response = web.client.get("/settings/audit")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert _rows(page) == ["user.signed_in", "guest.erased", "user.created"]
    assert two_orgs["marketer_a"].email in page  # the target user is named
    assert "other.secret_action" not in page and "rows: 99" not in page  # not even in the filter choices


def test_marketers_get_403_and_support_cannot_read_it_while_viewing_as(web, two_orgs, app):
    web.login(two_orgs["marketer_a"])
    assert web.client.get("/settings/audit").status_code == 403
    from tests.conftest import Browserless

    support_web = Browserless(app.test_client())
    view_as(support_web, factories.SupportUserFactory(), two_orgs["a"])
    assert support_web.client.get("/settings/audit").status_code == 403


def test_anonymous_users_are_sent_to_sign_in(client):
    assert client.get("/settings/audit").headers["Location"].startswith("/login")


def test_filter_by_action(web, two_orgs, session):
    for action in ("user.created", "user.removed", "user.created"):
        record(action, org_id=two_orgs["a"].id)
    session.flush()
    web.login(two_orgs["owner_a"])
    page = web.client.get("/settings/audit?action=user.created").get_data(as_text=True)
    assert _rows(page) == ["user.created", "user.created"]
    assert '<option value="user.created" selected>' in page
    assert len(_rows(web.client.get("/settings/audit?action=nonsense").get_data(as_text=True))) == 4  # + sign-in


def test_htmx_pages_through_a_fragment(web, two_orgs, session):
    for number in range(PER_PAGE + 3):
        record("guest.merged", org_id=two_orgs["a"].id, details={"kept_id": number})
    session.flush()
    web.login(two_orgs["owner_a"])
    first = web.client.get("/settings/audit").get_data(as_text=True)
    assert len(_rows(first)) == PER_PAGE and "kept_id: 27" in first and "Older" in first
    second = web.client.get("/settings/audit?page=2", headers={"HX-Request": "true"})
    html = second.get_data(as_text=True)
    assert "<html" not in html and len(_rows(html)) == 4 and "kept_id: 0" in html and "Newer" in html  # + sign-in
    assert 'hx-get="/settings/audit?page=1"' in html


def test_a_history_restore_gets_the_whole_page(web, two_orgs, session):
    """The list pushes its URLs: when the back button misses htmx's history cache, htmx asks for the URL again
    and replaces the whole body with the answer, so it must be the page (menu, filter), not the bare rows."""
    record("user.created", org_id=two_orgs["a"].id)
    session.flush()
    web.login(two_orgs["owner_a"])
    restore = web.client.get("/settings/audit?page=1",
                             headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    html = restore.get_data(as_text=True)
    assert restore.status_code == 200 and "<html" in html and 'id="audit-events"' in html
    assert _rows(html) == ["user.signed_in", "user.created"]


def test_odd_page_numbers_do_not_fail(web, two_orgs):
    web.login(two_orgs["owner_a"])
    for page in ("0", "-3", "abc", "99999999999999999999999"):
        assert web.client.get(f"/settings/audit?page={page}").status_code == 200


def test_values_are_escaped(web, two_orgs, session):
    record("guest.merged", org_id=two_orgs["a"].id, details={"note": "<script>alert(1)</script>"})
    session.flush()
    web.login(two_orgs["owner_a"])
    page = web.client.get("/settings/audit").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page


def test_owners_find_the_audit_log_in_the_menu(web, two_orgs):
    web.login(two_orgs["owner_a"])
    assert 'href="/settings/audit"' in web.client.get("/").get_data(as_text=True)
