"""Every page a member, an owner or support opens, in Chromium at 1366 and 390 px: nothing wider than a phone's
screen, no Content-Security-Policy violation, a screenshot of each (tests/artifacts/pages/)."""
from datetime import timedelta

import pytest
from flask import url_for
from sqlalchemy import select

from portal.models import Guest, GuestDuplicate, SyncRun
from portal.privacy import consent
from tests import factories
from tests.browser.conftest import ARTIFACTS, sign_in
from tests.guests.builders import BASE, ingest, simple
from tests.guests.conftest import configure
from tests.impersonation.conftest import REASON

pytestmark = pytest.mark.browser
LONG = "Wednesday-Night-Chefs-Counter-Tasting-Menu-With-Wine-Pairing"


@pytest.fixture
def harbor(app, committed):
    owner = factories.UserFactory(email="owner@harbor.example", organization__name="Harbor Restaurant Group",
                                  organization__slug="harbor")
    org = owner.organization
    location = factories.LocationFactory(connection__organization=org, name="Harbor Seaport Flagship Dining Room")
    configure(committed, location)
    ingest(location,
           simple(email="ann.archer.with.a.very.long.address@example-restaurant-group.com", first="Ann",
                  last="Archer", phone="617 555 0101", amount=40, opened=BASE),
           simple(email="ben@example.com", first="Ben", last="Baker", phone="617 555 0101", amount=15,
                  opened=BASE + timedelta(days=1)))
    committed.add(SyncRun(job_id="sync:every-page", org_id=org.id, location_id=location.id, kind="backfill",
                          status="failed", error=f"Toast answered 400 for GET /ordersBulk?page=9 {LONG}"))
    segment = factories.SegmentFactory(organization=org, name="Regulars of the Seaport Flagship Dining Room")
    committed.commit()
    guest = committed.get(Guest, committed.scalar(select(GuestDuplicate.guest_id)))
    with app.test_request_context():
        import_url = url_for("privacy.import_list")
    return {
        "owner": owner, "org": org,
        "pages": {
            "dashboard": "/", "guests": "/guests/", "guest": f"/guests/{guest.id}", "duplicates": "/guests/duplicates",
            "segments": "/segments/", "segment": f"/segments/{segment.id}", "segment-new": "/segments/new",
            "guest-value": "/insights/", "toast": "/connections/", "toast-new": "/connections/new",
            "users": "/settings/users/", "audit": "/settings/audit", "password": "/account/password",
            "unsubscribe-import": import_url,
        },
        "unsubscribe": f"/u/{consent.unsubscribe_token(guest)}",
    }


def _check(page, url: str, name: str, width: int, problems: list[str]) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    if page.evaluate("document.documentElement.scrollWidth") > width:
        wide = page.evaluate("""(width) => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > width + 1 && !e.closest('.table, .table-scroll, .table-fit'))
            .slice(0, 3).map(e => e.tagName + '.' + e.className)""", width)
        problems.append(f"{name} at {width} px is {page.evaluate('document.documentElement.scrollWidth')} px wide: {wide}")
    folder = ARTIFACTS / "pages"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)


@pytest.mark.parametrize("width", [1366, 390])
def test_every_page_fits_the_screen_without_csp_violations(live_server, harbor, browser, width):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    violations, problems = [], []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text or "favicon" in message.text else None)
    page.on("response", lambda response: violations.append(f"{response.status} {response.url}")
            if response.status == 404 and "favicon" in response.url else None)
    try:
        page.goto(f"{live_server}/login")
        _check(page, f"{live_server}/login", "login", width, problems)
        sign_in(page, live_server, harbor["owner"].email)
        for name, path in harbor["pages"].items():
            _check(page, f"{live_server}{path}", name, width, problems)
        context.clear_cookies()  # a guest following the link in an email: no session
        _check(page, f"{live_server}{harbor['unsubscribe']}", "unsubscribe", width, problems)
    finally:
        context.close()
    assert problems == [], "\n".join(problems)
    assert violations == []


@pytest.mark.parametrize("width", [1366, 390])
def test_support_pages_fit_the_screen(live_server, harbor, browser, committed, width):
    support = factories.SupportUserFactory(email="help@tablecloth.example")
    committed.commit()
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    problems = []
    try:
        sign_in(page, live_server, support.email)
        _check(page, f"{live_server}/support/tenants", "support-tenants", width, problems)
        page.click("[data-testid=view-as-harbor]")
        page.fill("input[name=reason]", REASON)
        page.click("button:has-text('Start viewing')")
        page.wait_for_url(f"{live_server}/")
        for name in ("toast", "guest", "segment"):
            _check(page, f"{live_server}{harbor['pages'][name]}", f"support-{name}", width, problems)
        assert LONG in page.goto(f"{live_server}/connections/").text()  # the sync error, read-only
    finally:
        context.close()
    assert problems == [], "\n".join(problems)
