"""Possible duplicates as owners review them: a count, one entry per group side by side, "not the same person"
remembered across later orders, a confirmation after a merge and after its undo."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.models import AuditEvent, GuestDistinctPair, GuestDuplicate, GuestMerge
from tests import factories
from tests.conftest import Browserless
from tests.guests.builders import BASE, ingest, simple

PHONE = "617 555 0101"


@pytest.fixture
def owner(world):
    return factories.UserFactory(organization=world.org, role="owner")


def _three_sharing_a_phone(world):
    ingest(world.location, *(simple(email=f"{name}@example.com", phone=PHONE, first=name.title(), last="Archer",
                                    opened=BASE + timedelta(days=number))
                             for number, name in enumerate(("ann", "ben", "cat"))))


def test_guests_in_several_pairs_are_one_entry_shown_side_by_side(web, owner, world, session):
    _three_sharing_a_phone(world)
    assert session.scalar(select(func.count(GuestDuplicate.id))) >= 2
    web.login(owner)
    page = web.client.get("/guests/duplicates").get_data(as_text=True)
    assert page.count('data-testid="duplicate-group"') == 1
    assert '<span class="badge" data-testid="duplicate-count">1</span>' in page
    for name in ("Ann Archer", "Ben Archer", "Cat Archer"):
        assert f">{name}</a></th>" in page  # a column each
    assert page.count('<th scope="row">Spend</th>') == 1


def test_not_the_same_person_is_remembered_after_later_orders(web, owner, world, session):
    ingest(world.location, simple(email="ann@example.com", phone=PHONE, first="Ann", opened=BASE),
           simple(email="ben@example.com", phone=PHONE, first="Ben", opened=BASE + timedelta(days=1)))
    duplicate = session.scalar(select(GuestDuplicate))
    web.login(owner)
    response = web.htmx_post(f"/guests/duplicates/{duplicate.id}/dismiss")
    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/guests/duplicates"
    page = web.client.get("/guests/duplicates").get_data(as_text=True)
    assert "are marked as different people: they will not be listed again." in page
    assert 'data-testid="no-duplicates"' in page and 'data-testid="duplicate-count">0<' in page
    assert session.scalar(select(func.count(GuestDistinctPair.id))) == 1
    [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == "guest.duplicate_dismissed")).all()
    assert len(event.details["guest_ids"]) == 2
    # Ben orders again with the same phone: the pair is still found by resolution, still not listed.
    ingest(world.location, simple(email="ben@example.com", phone=PHONE, opened=BASE + timedelta(days=2)))
    assert session.scalar(select(GuestDuplicate)) is not None
    assert 'data-testid="no-duplicates"' in web.client.get("/guests/duplicates").get_data(as_text=True)
    ann = world.guest("e:ann@example.com")
    assert "Possible duplicates" not in web.client.get(f"/guests/{ann.id}").get_data(as_text=True)
    # Twice is harmless (two owners at once): one row.
    again = session.scalar(select(GuestDuplicate))
    assert web.htmx_post(f"/guests/duplicates/{again.id}/dismiss").status_code == 204
    assert session.scalar(select(func.count(GuestDistinctPair.id))) == 1


def test_marketers_cannot_dismiss_and_other_organizations_get_404(web, world, session, app):
    _three_sharing_a_phone(world)
    duplicate = session.scalar(select(GuestDuplicate))
    web.login(factories.UserFactory(organization=world.org, role="marketer"))
    assert web.htmx_post(f"/guests/duplicates/{duplicate.id}/dismiss").status_code == 403
    stranger = Browserless(app.test_client())
    stranger.login(factories.UserFactory(role="owner"))
    assert stranger.htmx_post(f"/guests/duplicates/{duplicate.id}/dismiss").status_code == 404
    assert session.scalar(select(func.count(GuestDistinctPair.id))) == 0


def test_a_merge_and_its_undo_each_say_what_happened(web, owner, world, session):
    ingest(world.location, simple(email="ann@example.com", phone=PHONE, first="Ann", last="Archer", opened=BASE),
           simple(email="ben@example.com", phone=PHONE, opened=BASE + timedelta(days=1)))
    duplicate = session.scalar(select(GuestDuplicate))
    web.login(owner)
    merged = web.htmx_post(f"/guests/duplicates/{duplicate.id}/merge")
    page = web.client.get(merged.headers["HX-Redirect"]).get_data(as_text=True)
    assert "Merged into one guest: Ann Archer. If they are different people, Unmerge on this page undoes it." in page
    record = session.scalar(select(GuestMerge))
    undone = web.htmx_post(f"/guests/merges/{record.id}/undo")
    page = web.client.get(undone.headers["HX-Redirect"]).get_data(as_text=True)
    assert "The merge was undone: ann@example.com and ben@example.com are two guests again." in page
