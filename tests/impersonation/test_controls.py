"""Support sessions see no control they could only have refused: no write controls in a read-only session, no
export links in any session; members see them all."""
import pytest

from tests import factories
from tests.guest_rows import guest
from tests.impersonation.conftest import view_as

WRITE_CONTROLS = {
    "guest": ["Add tag", "Add note", "Opt out of marketing"],
    "list": ['data-testid="bulk-bar"'],
    "segment": ["Edit rules", "Delete segment"],
    "segments": ["New segment"],
}
EXPORT_CONTROLS = {"list": ['data-testid="export-csv"'], "segment": ['data-testid="export-csv"']}


@pytest.fixture
def pages(two_orgs, session):
    org = two_orgs["a"]
    row = guest(org)
    segment = factories.SegmentFactory(organization=org)
    session.commit()
    return {"guest": f"/guests/{row.id}", "list": "/guests/", "segment": f"/segments/{segment.id}",
            "segments": "/segments/"}


def _shown(web, url, controls):
    page = web.client.get(url).get_data(as_text=True)
    return [control for control in controls if control in page]


def test_a_read_only_session_shows_no_write_or_export_control(web, two_orgs, support, pages):
    view_as(web, support, two_orgs["a"])
    for name, url in pages.items():
        assert _shown(web, url, WRITE_CONTROLS.get(name, []) + EXPORT_CONTROLS.get(name, [])) == [], name


def test_a_session_that_allows_changes_shows_write_controls_but_no_export(web, two_orgs, writer, pages):
    view_as(web, writer, two_orgs["a"], allow_changes=True)
    for name, url in pages.items():
        assert _shown(web, url, WRITE_CONTROLS.get(name, [])) == WRITE_CONTROLS.get(name, []), name
        assert _shown(web, url, EXPORT_CONTROLS.get(name, [])) == [], name


def test_members_see_every_control(web, two_orgs, pages):
    web.login(two_orgs["marketer_a"])
    for name, url in pages.items():
        controls = WRITE_CONTROLS.get(name, []) + EXPORT_CONTROLS.get(name, [])
        assert _shown(web, url, controls) == controls, name
