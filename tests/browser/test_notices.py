"""Refused htmx actions are never silent: validation beside the field, other refusals as a dismissible notice;
role changes ask first. Checked in Chromium at 1366 and 390 px."""
import pytest

from portal.audit.service import PER_PAGE, record
from portal.models import User
from tests import factories
from tests.browser.conftest import screenshot, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def harbor(committed):
    org = factories.OrganizationFactory(name="Harbor Restaurant Group", slug="harbor")
    owner = factories.UserFactory(email="owner@harbor.example", organization=org, role="owner")
    factories.UserFactory(email="second@harbor.example", organization=org, role="owner")
    factories.UserFactory(email="marketer@harbor.example", organization=org, role="marketer")
    committed.commit()
    return owner


def _watch_csp(page) -> list[str]:
    violations = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    return violations


@pytest.mark.parametrize("width", [1366, 390])
def test_a_bad_or_taken_email_on_add_a_user_is_shown_beside_the_field(live_server, harbor, page, width):
    violations = _watch_csp(page)
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server, harbor.email)
    page.goto(f"{live_server}/settings/users/")
    assert page.input_value("select[name=role] >> nth=-1") == "marketer"  # the Add a user form's default

    page.fill("input[name=email]", "not-an-address")
    page.click("button:has-text('Add user')")
    error = page.locator("form:has(button:has-text('Add user')) .field-error")
    error.wait_for()
    assert error.inner_text() == "Enter a valid email address."

    page.fill("input[name=email]", "marketer@harbor.example")
    page.click("button:has-text('Add user')")
    page.wait_for_selector("text=A user with this email already exists.")
    assert page.input_value("input[name=email]") == "marketer@harbor.example"  # what was typed stays
    screenshot(page, f"add-user-taken-email-{width}")
    assert violations == []


@pytest.mark.parametrize("width", [1366, 390])
def test_a_refused_action_shows_a_notice_that_can_be_dismissed(live_server, harbor, committed, page, width):
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server, harbor.email)
    page.goto(f"{live_server}/settings/users/")
    # Another owner makes this one a marketer while the page is open: the next change is refused (403).
    committed.get(User, harbor.id).role = "marketer"
    committed.commit()
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("tr:has-text('marketer@harbor.example') button:has-text('Remove')")
    notice = page.locator("#notices .notice")
    notice.wait_for()
    assert notice.locator("[role=alert]").inner_text() == "You don't have permission to do that."
    assert page.locator("text=marketer@harbor.example").count() == 1  # the list was left as it was
    screenshot(page, f"notice-permission-{width}")
    notice.locator("button:has-text('Dismiss')").click()
    assert page.locator("#notices .notice").count() == 0


def test_a_role_change_asks_first_and_a_cancelled_one_changes_nothing(live_server, harbor, committed, page):
    sign_in(page, live_server, harbor.email)
    page.goto(f"{live_server}/settings/users/")
    select = "select[aria-label='Role of marketer@harbor.example']"
    questions = []

    def dismiss(dialog):
        questions.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.select_option(select, "owner")
    page.wait_for_timeout(300)
    assert questions == ["Change the role of marketer@harbor.example?"]
    assert page.input_value(select) == "marketer"  # put back: the page shows what is stored
    page.once("dialog", lambda dialog: dialog.accept())
    page.select_option(select, "owner")
    page.wait_for_selector("text=marketer@harbor.example is now an owner.")
    assert page.locator(f"select[aria-label='Role of {harbor.email}']").count() == 0  # one's own: no control
    committed.rollback()  # a new transaction sees the change
    assert committed.scalar(User.__table__.select().with_only_columns(User.role)
                            .where(User.email == "marketer@harbor.example")) == "owner"


def test_the_phone_menu_opens_from_its_button(live_server, harbor, page):
    page.set_viewport_size({"width": 390, "height": 800})
    sign_in(page, live_server, harbor.email)
    page.goto(f"{live_server}/settings/users/")
    nav_link = page.locator("#site-menu a:has-text('Guests')")
    assert not nav_link.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.click("button:has-text('Menu')")
    assert nav_link.is_visible()
    assert page.get_attribute("[data-menu-toggle]", "aria-expanded") == "true"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "menu-open-390")
    nav_link.click()
    page.wait_for_url("**/guests/")
    page.set_viewport_size({"width": 1366, "height": 800})
    assert page.locator("#site-menu a:has-text('Guests')").is_visible()
    assert not page.locator("[data-menu-toggle]").is_visible()


def test_history_restores_raise_no_csp_violation_and_no_404(live_server, harbor, committed, page):
    """The back button restores a pushed page from htmx's cache, and from the server once the cache is gone."""
    for number in range(PER_PAGE + 5):
        record("guest.merged", org_id=harbor.org_id, details={"kept_id": number})
    committed.commit()
    violations, missing = _watch_csp(page), []
    page.on("response", lambda response: missing.append(response.url) if response.status == 404 else None)
    sign_in(page, live_server, harbor.email)
    page.goto(f"{live_server}/settings/audit")
    page.click("text=Older")
    page.wait_for_url("**/settings/audit?page=2")
    page.go_back()
    page.wait_for_selector("text=Older")
    page.go_forward()
    page.wait_for_url("**/settings/audit?page=2")
    restores = []
    page.on("request", lambda request: restores.append(request.url)
            if request.headers.get("hx-history-restore-request") else None)
    page.evaluate("sessionStorage.removeItem('htmx-history-cache')")  # the next restore asks the server
    page.go_back()
    page.wait_for_selector("text=Older")
    assert page.locator("[data-testid=current-org]").is_visible()  # the whole page came back, menu included
    assert restores == [f"{live_server}/settings/audit"]
    assert violations == [] and missing == []
