"""The connections page while a backfill runs: each location's bar and the group's, readable at 1366 and 390 px."""
import pytest

from portal.models import Organization
from portal.sync import runs
from portal.sync.steps import serve
from tests import factories
from tests.browser.conftest import screenshot, sign_in
from tests.sync.conftest import connected, sandbox  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser


def test_backfill_progress_on_wide_and_narrow_screens(live_server, committed, connected, redis_conn, page):
    org = committed.get(Organization, connected["org"].id)
    factories.bind(committed)
    factories.UserFactory(email="owner@harbor.example", organization=org)
    committed.commit()
    for location in connected["locations"]:
        runs.start(location, runs.BACKFILL, days=40)  # two windows
    order_scheduler = runs.scheduler()
    for _ in range(2):  # each location's first page
        for task in order_scheduler.dispatch():
            serve(order_scheduler, task)

    sign_in(page, live_server, "owner@harbor.example")
    page.goto(f"{live_server}/connections/")
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        group = page.locator("[data-testid=group-backfill]")
        assert "History backfill: 50% done" in group.inner_text()
        lines = page.locator("[data-testid=progress]").all_inner_texts()
        assert len(lines) == 2 and all("windows" in line and "pages" in line for line in lines)
        assert group.evaluate("e => e.getBoundingClientRect().right <= window.innerWidth"), \
            f"the group's progress runs off a {width} px screen"
        assert screenshot(page, f"sync-progress-{width}").stat().st_size > 0
