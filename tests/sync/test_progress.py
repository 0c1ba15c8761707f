"""Backfill progress: windows and pages done, orders stored and the time left, per location and for the group,
on the connections page (which polls itself while a run is active) and from the same estimate as the CLI."""
import re
from datetime import timedelta

from sqlalchemy.exc import IntegrityError

from portal.models import SyncRun
from portal.models.base import utcnow
from portal.sync import bookmarks, progress, runs
from portal.sync.steps import serve
from portal.sync.orders import BACKFILL, RunStopped, describe_error
from portal.toast.errors import AuthError, FatalAPIError
from tests import factories
from tests.conftest import Browserless
from tests.jobs import work


def test_the_estimate_scales_the_pages_of_the_windows_done_to_the_windows_left():
    end = utcnow()
    start = end - timedelta(days=84)
    cursor = {"start": bookmarks.text(start), "end": bookmarks.text(end),
              "window_start": bookmarks.text(start + timedelta(days=31)), "page": 1}
    run = SyncRun(kind=BACKFILL, pages=6, orders=540)
    estimate = progress.estimate(run, cursor, spacing=5.0)
    assert (estimate.windows_done, estimate.windows_total) == (1, 3)
    assert estimate.seconds_left == 12 * 5.0  # 6 pages a window, 2 windows left, 5 s apart
    assert estimate.text() == "1 of 3 windows · 6 pages · 540 orders · about 1 min left"
    assert progress.estimate(SyncRun(kind=BACKFILL, pages=0, orders=0), cursor | {"window_start": cursor["start"]},
                             5.0).seconds_left is None  # nothing to scale from yet


def test_the_connections_page_shows_each_backfill_and_the_group_while_it_runs(app, committed, connected,
                                                                             redis_conn):
    owner = factories.UserFactory(role="owner", organization=connected["org"])
    committed.commit()
    web = Browserless(app.test_client())
    web.login(owner)
    location_ids = [location.id for location in connected["locations"]]
    for location in connected["locations"]:
        runs.start(location, runs.BACKFILL, days=40)  # two windows of at most a month
    order_scheduler = runs.scheduler()
    while True:  # serve pages until every location has finished its first window
        going = progress.of_runs(runs.active_runs(location_ids), 5.0)
        if len(going) == 2 and all(p.windows_done == 1 for p in going.values()):
            break
        for task in order_scheduler.dispatch():
            serve(order_scheduler, task)
        committed.rollback()

    page = web.client.get("/connections/").get_data(as_text=True)
    assert 'hx-trigger="every 2s"' in page
    lines = re.findall(r'data-testid="progress">([^<]+)<', page)
    assert len(lines) == 2 and all(line.startswith("1 of 2 windows") and "left" in line for line in lines)
    group = re.search(r'data-testid="group-backfill">.*?<progress[^>]*max="(\d+)" value="(\d+)"', page, re.S)
    assert group.groups() == ("4", "2")

    work(redis_conn)
    page = web.client.get("/connections/").get_data(as_text=True)
    assert 'data-testid="progress"' not in page and 'data-testid="group-backfill"' not in page
    assert "every 2s" not in page  # done: the page stops polling


def test_a_run_failed_by_anything_but_toast_shows_no_exception_text():
    raw = IntegrityError("INSERT INTO orders (guid) VALUES (?)", ("x",), Exception("UNIQUE constraint failed"))
    assert describe_error(raw) == "a database error stopped this run (logged for the Tablecloth team)"
    assert "KeyError" not in describe_error(KeyError("checks")) and "checks" not in describe_error(KeyError("checks"))
    assert describe_error(AuthError("client secret expired")) == "Toast refused access: client secret expired"
    assert describe_error(FatalAPIError("GET /ordersBulk answered 400")) == "GET /ordersBulk answered 400"
    assert describe_error(RunStopped("the location was disconnected")) == "the location was disconnected"
