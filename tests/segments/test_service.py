"""Member pages: every sort, both directions, guests without dates last, and the same pages from both query plans."""
import pytest
from sqlalchemy import select

from portal.dialects import dialect_of
from portal.models import Guest
from portal.segments import service
from tests.segments.data import GuestSpec, OrderSpec, insert, make_locations
from tests.segments.conftest import ago

ALL = {"op": "and", "rules": []}


def expected_ids(session, org_id: int, sort: str, direction: str) -> list[int]:
    guests = session.scalars(select(Guest).where(Guest.org_id == org_id)).all()
    column = service.SORTS[sort].key
    dated = [g for g in guests if getattr(g, column) is not None]
    undated = [g for g in guests if getattr(g, column) is None]
    reverse = direction == "desc"
    dated.sort(key=lambda g: (getattr(g, column), g.id), reverse=reverse)
    undated.sort(key=lambda g: g.id, reverse=reverse)
    return [g.id for g in dated + undated]


@pytest.fixture
def crowd(session, shop):
    """The shop's guests, plus some without any counted order (no dates) and ties."""
    extra = [GuestSpec(name=f"Zed Nobody{n}", orders=[]) for n in range(3)]
    extra += [GuestSpec(name=f"Tia Tied{n}", orders=[OrderSpec(ago(10).replace(microsecond=0), 1000)])
              for n in range(3)]
    insert(session, shop.org, make_locations(shop.org, 1), extra)
    return shop


@pytest.mark.parametrize("direction", ["desc", "asc"])
@pytest.mark.parametrize("sort", sorted(service.SORTS))
def test_pages_follow_the_sort_with_undated_guests_last_in_both_plans(session, crowd, monkeypatch, sort, direction):
    monkeypatch.setattr(service, "PER_PAGE", 4)
    expected = expected_ids(session, crowd.org.id, sort, direction)

    def pages():
        return [guest.id for number in (1, 2, 3, 4)
                for guest in service.members_page(crowd.org.id, ALL, page=number, sort=sort, direction=direction).rows]

    dialect = dialect_of(session)
    monkeypatch.setattr(dialect, "sort_found_members_below", 0)  # walk the sort index
    assert pages() == expected
    monkeypatch.setattr(dialect, "sort_found_members_below", 10**9)  # find the members, then sort them
    assert pages() == expected


def test_page_numbers_are_clamped_and_totals_come_with_the_page(crowd):
    page = service.members_page(crowd.org.id, ALL, page=-3, sort="nonsense")
    assert (page.number, page.total, len(page.rows)) == (1, 12, service.PER_PAGE if service.PER_PAGE < 12 else 12)
    far = service.members_page(crowd.org.id, ALL, page=10**9)
    assert far.number == service.MAX_PAGE and far.rows == []
