"""The segment page's "Sync to" panel: last run, live progress while a run is active (htmx polling), run history,
readable at 1366 and 390 px; and the Destinations page."""
import json

import pytest
from sqlalchemy import select

from portal.audiences import runs, service
from portal.models import User
from tests import factories
from tests.audiences.conftest import SEGMENT_RULES, Sandbox, add_guest
from tests.browser.conftest import screenshot, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def mailchimp():
    box = Sandbox("mailchimp")
    yield box
    box.stop()


def test_the_panel_shows_progress_then_the_finished_run_and_its_history(live_server, committed, redis_conn, page,
                                                                       mailchimp):
    factories.bind(committed)
    org = factories.OrganizationFactory(name="Harbor Group")
    factories.UserFactory(email="owner@harbor.example", organization=org, role="owner")
    segment = factories.SegmentFactory(organization=org, name="Lapsed regulars", slug="lapsed-regulars",
                                       rules_json=json.dumps(SEGMENT_RULES))
    for n in range(1, 41):
        add_guest(org, n, opted_in=n % 4 == 0)
    add_guest(org, 41, email="typo@mail.invalid")
    add_guest(org, 42, email="dd-5c1e@relay.doordash.com")  # a delivery app's relay: never sent
    destination = service.connect(org.id, kind="mailchimp", base_url=mailchimp.base_url,
                                  api_key=mailchimp.state.api_key, list_id=mailchimp.state.list_id)
    sync = service.sync_for(segment, destination, ["first_name", "last_name", "visits"])
    committed.commit()
    runs.execute(service.start_run(sync, "nightly", enqueue=False).id)  # history: one finished run
    owner = committed.scalar(select(User).where(User.email == "owner@harbor.example"))
    queued = service.start_run(sync, "manual", owner, enqueue=False)  # a run waiting for a worker

    sign_in(page, live_server, "owner@harbor.example")
    page.goto(f"{live_server}/segments/{segment.id}")
    panel = page.locator("[data-testid=audience-panel]")
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        progress = panel.locator("[data-testid=run-progress]")
        assert "Run queued" in progress.inner_text()
        assert panel.evaluate("e => e.getBoundingClientRect().right <= window.innerWidth"), \
            f"the panel runs off a {width} px screen"
        screenshot(page, f"audience-panel-running-{width}")

    runs.execute(queued.id)  # the worker's part; the page polls every 2 s and sees it finish
    last = panel.locator("[data-testid=last-run]")
    last.wait_for(timeout=10_000)
    assert "41 members" in last.inner_text() and "0 added" in last.inner_text()  # nothing changed since the first
    assert "1 not sent (delivery-app relay address)" in last.inner_text()
    history = panel.locator("[data-testid=run-history] tbody tr")
    assert history.count() == 2
    assert "nightly" in history.nth(1).inner_text() and "+1 relay, not sent" in history.nth(1).inner_text()
    assert "manual" in history.nth(0).inner_text() and "owner@harbor.example" in history.nth(0).inner_text()
    rejected = history.nth(1).locator("a")
    assert rejected.inner_text() == "1"  # the typo'd address, downloadable with its reason
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        assert panel.evaluate("e => e.getBoundingClientRect().right <= window.innerWidth")
        screenshot(page, f"audience-panel-done-{width}")

    page.goto(f"{live_server}/audiences/destinations")
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        assert "Mailchimp: Sandbox audience" in page.locator("[data-testid=destinations]").inner_text()
        page.locator("[data-testid=destinations] button", has_text="Test connection").click()
        page.locator("[data-testid=test-result]").wait_for()
        screenshot(page, f"audience-destinations-{width}")
