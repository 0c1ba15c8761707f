"""Starting, showing and ending "view as" through the web."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.models import Impersonation
from portal.models.base import utcnow
from portal.passwords import verify_password
from tests.conftest import TEST_PASSWORD, Browserless
from tests.impersonation.conftest import REASON, events, last, start_view_as, view_as
from tests.url_rules import fill, page_rules


def test_support_starts_from_the_tenant_list_and_acts_for_the_organization(web, two_orgs, support):
    web.login(support)
    tenants = web.client.get("/support/tenants").get_data(as_text=True)
    assert f'/support/tenants/{two_orgs["a"].id}/view-as' in tenants
    form = web.client.get(f"/support/tenants/{two_orgs['a'].id}/view-as")
    assert form.status_code == 200 and two_orgs["a"].name in form.get_data(as_text=True)
    assert "allow_changes" not in form.get_data(as_text=True)  # not granted: no such choice offered

    response = start_view_as(web, two_orgs["a"])
    assert response.status_code == 303 and response.headers["Location"] == "/"
    page = web.client.get("/").get_data(as_text=True)
    assert f'<h1>{two_orgs["a"].name}</h1>' in page
    assert two_orgs["b"].name not in page
    impersonation = last(Impersonation)
    assert (impersonation.support_user_id, impersonation.org_id, impersonation.reason) == (
        support.id, two_orgs["a"].id, REASON)
    assert impersonation.can_write is False
    assert impersonation.expires_at - impersonation.started_at == timedelta(minutes=30)


def test_the_banner_names_the_real_user_the_organization_and_the_time_left(web, two_orgs, support):
    view_as(web, support, two_orgs["a"])
    page = web.client.get("/").get_data(as_text=True)
    banner = re.search(r'<div class="impersonation-banner".*?</div>', page, re.S).group(0)
    assert support.email in banner and two_orgs["a"].name in banner and "read-only" in banner
    assert re.search(r"Expires at \w{3} \d{1,2}, \d{4}, \d{1,2}:\d\d [AP]M UTC\s+\(<span[^>]*>(30|29)</span> min left\)", banner)
    assert 'action="/support/view-as/stop"' in banner and 'name="csrf_token"' in banner


# Assets are not pages; the login page sends signed-in users on.
NOT_PAGES = {"static", "htmx_asset", "auth.login"}


@pytest.mark.parametrize(("endpoint", "path", "arguments"), page_rules(skip=NOT_PAGES.__contains__))
def test_the_banner_is_on_every_page(web, two_orgs, support, endpoint, path, arguments):
    url = fill(path, arguments, two_orgs["a"])
    view_as(web, support, two_orgs["a"])
    response = web.client.get(url)
    if response.status_code in (301, 302, 303, 308):
        pytest.skip(f"{url} redirects ({response.status_code})")
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    if "<html" not in html:
        pytest.skip(f"{url} is a fragment, swapped into a page that has the banner")
    assert 'data-testid="impersonation-banner"' in html, f"no banner on {url}"


def test_reason_is_required_with_an_inline_error(web, two_orgs, support, session):
    web.login(support)
    for reason in ("", "  ", "ab", "x" * 201):
        response = start_view_as(web, two_orgs["a"], reason=reason)
        assert response.status_code == 400, reason
        assert 'class="field-error"' in response.get_data(as_text=True) or 'role="alert"' in response.get_data(
            as_text=True)
    assert session.scalar(select(func.count(Impersonation.id))) == 0
    assert web.client.get("/").headers["Location"] == "/support/tenants"


def test_members_never_reach_view_as(web, two_orgs, session):
    web.login(two_orgs["owner_a"])
    assert web.client.get(f"/support/tenants/{two_orgs['a'].id}/view-as").status_code == 404
    assert start_view_as(web, two_orgs["a"]).status_code == 404
    assert web.post("/support/view-as/stop").status_code == 404
    assert session.scalar(select(func.count(Impersonation.id))) == 0


def test_an_unknown_organization_is_404(web, support):
    web.login(support)
    assert web.client.get("/support/tenants/999999/view-as").status_code == 404


def test_changes_cannot_be_allowed_without_the_grant(web, two_orgs, support, session):
    web.login(support)
    response = start_view_as(web, two_orgs["a"], allow_changes=True)
    assert response.status_code == 400 and "not been granted" in response.get_data(as_text=True)
    assert session.scalar(select(func.count(Impersonation.id))) == 0


def test_a_granted_support_user_may_allow_changes(web, two_orgs, writer):
    web.login(writer)
    assert "allow_changes" in web.client.get(f"/support/tenants/{two_orgs['a'].id}/view-as").get_data(as_text=True)
    assert start_view_as(web, two_orgs["a"], allow_changes=True).status_code == 303
    assert last(Impersonation).can_write is True
    assert "changes allowed" in web.client.get("/").get_data(as_text=True)


def test_nested_impersonation_is_refused(web, two_orgs, support, session):
    view_as(web, support, two_orgs["a"])
    assert "already viewing" in web.client.get(f"/support/tenants/{two_orgs['b'].id}/view-as").get_data(as_text=True)
    assert start_view_as(web, two_orgs["b"]).status_code == 403  # a read-only session makes no changes at all
    assert session.scalar(select(func.count(Impersonation.id))) == 1
    assert web.client.get("/").get_data(as_text=True).count(two_orgs["b"].name) == 0


def test_nested_impersonation_is_refused_in_a_session_that_allows_changes(web, two_orgs, writer, session):
    view_as(web, writer, two_orgs["a"], allow_changes=True)
    response = start_view_as(web, two_orgs["b"])
    assert response.status_code == 400 and "already viewing" in response.get_data(as_text=True)
    assert session.scalar(select(func.count(Impersonation.id))) == 1


def test_stop_returns_to_the_tenant_list(web, two_orgs, support):
    impersonation = view_as(web, support, two_orgs["a"])
    response = web.post("/support/view-as/stop")
    assert response.status_code == 303 and response.headers["Location"] == "/support/tenants"
    page = web.client.get("/support/tenants").get_data(as_text=True)
    assert "You stopped viewing" in page and 'data-testid="impersonation-banner"' not in page
    assert web.client.get("/").headers["Location"] == "/support/tenants"
    assert impersonation.ended_at is not None and impersonation.end_reason == "stopped"


def test_an_expired_session_ends_on_the_next_request(web, two_orgs, support, session):
    impersonation = view_as(web, support, two_orgs["a"])
    impersonation.expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    response = web.client.get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/support/tenants"
    assert "expired" in web.client.get("/support/tenants").get_data(as_text=True)
    session.refresh(impersonation)
    assert impersonation.end_reason == "expired" and impersonation.ended_at is not None
    assert [e.action for e in events(two_orgs["a"])] == ["impersonation.started", "impersonation.expired"]
    assert web.client.get("/").headers["Location"] == "/support/tenants"  # no organization any more


def test_a_write_after_expiry_is_sent_back_with_303_and_changes_nothing(web, two_orgs, writer, session):
    impersonation = view_as(web, writer, two_orgs["a"], allow_changes=True)
    impersonation.expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    new = "another long passphrase 77"
    response = web.post("/account/password", {"current_password": TEST_PASSWORD, "new_password": new, "confirm": new})
    assert response.status_code == 303 and response.headers["Location"] == "/support/tenants"
    session.refresh(writer)
    assert verify_password(writer.password_hash, TEST_PASSWORD)
    assert [e.action for e in events(two_orgs["a"])] == ["impersonation.started", "impersonation.expired"]


def test_an_htmx_request_after_expiry_is_redirected_by_htmx(web, two_orgs, support, session):
    impersonation = view_as(web, support, two_orgs["a"])
    impersonation.expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    response = web.client.get("/", headers={"HX-Request": "true"})
    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/support/tenants"


def test_the_length_comes_from_the_setting_and_never_extends_the_login(app, web, two_orgs, support, monkeypatch):
    monkeypatch.setitem(app.config, "IMPERSONATION_MINUTES", 5)
    web.login(support)
    response = start_view_as(web, two_orgs["a"])
    cookie = response.headers["Set-Cookie"]
    assert "Expires=" not in cookie and "Max-Age" not in cookie  # still a browser-session login
    impersonation = last(Impersonation)
    assert impersonation.expires_at - impersonation.started_at == timedelta(minutes=5)
    assert "(<span data-testid=\"impersonation-minutes-left\">5</span> min left)" in web.client.get("/").get_data(
        as_text=True)


def test_signing_out_ends_the_impersonation(web, two_orgs, support):
    impersonation = view_as(web, support, two_orgs["a"])
    assert web.post("/logout").status_code == 303
    assert impersonation.end_reason == "logout"
    stopped = events(two_orgs["a"], "impersonation.stopped")
    assert len(stopped) == 1 and stopped[0].details["end_reason"] == "logout"
    assert stopped[0].actor_user_id == support.id


def test_a_new_impersonation_elsewhere_supersedes_the_old_one(app, web, two_orgs, support):
    first = view_as(web, support, two_orgs["a"])
    other = Browserless(app.test_client())
    view_as(other, support, two_orgs["b"])
    assert first.end_reason == "superseded"
    assert web.client.get("/").headers["Location"] == "/support/tenants"  # the first browser lost it
    assert two_orgs["b"].name in other.client.get("/").get_data(as_text=True)


def test_revoking_the_grant_applies_to_an_open_session(web, two_orgs, writer, session):
    view_as(web, writer, two_orgs["a"], allow_changes=True)
    writer.can_write_as_support = False
    session.commit()  # a savepoint: the refused request's rollback must not undo it
    response = web.post("/account/password", {"current_password": "x", "new_password": "y", "confirm": "y"})
    assert response.status_code == 403
    assert "read-only" in web.client.get("/").get_data(as_text=True)


def test_the_banner_is_on_error_pages(web, two_orgs, support):
    view_as(web, support, two_orgs["a"])
    response = web.client.get("/no-such-page")
    assert response.status_code == 404 and 'data-testid="impersonation-banner"' in response.get_data(as_text=True)
