"""A change refused because the database stayed busy shows a notice in Chromium, leaving the page as it was."""
import threading

import pytest
from werkzeug.serving import make_server

from portal.errorpages import MESSAGES
from portal.extensions import db
from portal.models import Organization
from tests import factories
from tests.browser.conftest import ARTIFACTS, sign_in
from tests.db_locks import WriteLockHolder, impatient_portal
from tests.guest_rows import guest

pytestmark = pytest.mark.browser


@pytest.fixture
def impatient_server(app, database_url):
    portal = impatient_portal(app, database_url)
    server = make_server("127.0.0.1", 0, portal, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    with portal.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("width", [1366, 390])
def test_a_tag_refused_by_a_busy_database_shows_a_notice(impatient_server, committed, page, database_url, width):
    location = factories.LocationFactory()
    org = committed.get(Organization, location.org_id)
    marketer = factories.UserFactory(organization=org, role="marketer")
    guest_id = guest(org).id
    committed.commit()
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, impatient_server, marketer.email)
    page.goto(f"{impatient_server}/guests/{guest_id}")
    address = page.url
    holder = WriteLockHolder(database_url).hold()
    try:
        page.fill("input[name=tag]", "vip")
        page.click("text=Add tag")
        page.wait_for_selector("#notices [role=alert]")
    finally:
        holder.release()
    assert page.inner_text("#notices [role=alert]") == MESSAGES[503]
    assert page.locator("#notices [role=alert]").is_visible()
    box = page.locator("#notices [role=alert]").bounding_box()
    assert 0 <= box["y"] < 200, "the notice is out of sight"  # it sticks to the top of the scrolled page
    assert page.url == address and page.input_value("input[name=tag]") == "vip"  # nothing lost, nothing swapped
    backend = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"busy-notice-{width}-{backend}.png"))  # the viewport: what one sees
