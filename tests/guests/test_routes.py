"""Guest pages: list (search, sort, filter, pages, fragments), detail and timeline, tags, notes, merges, dashboard."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.models import AuditEvent, GuestDuplicate, GuestMerge, GuestTag
from tests import factories
from tests.guests.builders import BASE, check, customer, ingest, order, payment, selection, simple
from tests.guests.conftest import SERVER, make_world


def names_in(html: str) -> list[str]:
    return re.findall(r'<a href="/guests/\d+">([^<]+)</a>', html)


@pytest.fixture
def member(world):
    return factories.UserFactory(organization=world.org, role="marketer")


@pytest.fixture
def owner(world):
    return factories.UserFactory(organization=world.org, role="owner")


@pytest.fixture
def people(world):
    day = timedelta(days=1)
    ingest(world.location,
           simple(email="ann@example.com", first="Ann", last="Archer", phone="617 555 0101", amount=30, opened=BASE),
           simple(email="bob@example.com", first="Bob", last="Baker", amount=10, opened=BASE + day),
           simple(email="cat@example.com", first="Cat", last="Cole", amount=20, opened=BASE + 2 * day))
    ingest(world.other_location, simple(email="dan@example.com", first="Dan", last="Dunn", amount=5, opened=BASE + 3 * day))
    ingest(world.location, simple(email="eve@example.com", first="Eve", last="Ess", amount=50, voided=True))
    return world


def test_the_list_sorts_by_last_order_with_guests_without_orders_last(web, member, people):
    web.login(member)
    page = web.client.get("/guests/")
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True)
    assert names_in(page.get_data(as_text=True)) == ["Dan Dunn", "Cat Cole", "Bob Baker", "Ann Archer", "Eve Ess"]
    ascending = web.client.get("/guests/?sort=last_order&dir=asc").get_data(as_text=True)
    assert names_in(ascending) == ["Ann Archer", "Bob Baker", "Cat Cole", "Dan Dunn", "Eve Ess"]


@pytest.mark.parametrize(("args", "expected"), [
    ("sort=net_spend&dir=desc", ["Ann Archer", "Cat Cole", "Bob Baker", "Dan Dunn", "Eve Ess"]),
    ("sort=net_spend&dir=asc", ["Eve Ess", "Dan Dunn", "Bob Baker", "Cat Cole", "Ann Archer"]),
    ("sort=name&dir=asc", ["Ann Archer", "Bob Baker", "Cat Cole", "Dan Dunn", "Eve Ess"]),
    ("q=ca", ["Cat Cole"]),
    ("q=baker", ["Bob Baker"]),
    ("q=dan%40exa", ["Dan Dunn"]),
    ("q=(617)%20555-01", ["Ann Archer"]),
    ("q=%2B1617555", ["Ann Archer"]),
    ("q=zzz", []),
])
def test_the_list_searches_and_sorts(web, member, people, args, expected):
    web.login(member)
    assert names_in(web.client.get(f"/guests/?{args}").get_data(as_text=True)) == expected


def test_the_location_filter_and_a_location_of_another_organization(web, member, people, session):
    web.login(member)
    html = web.client.get(f"/guests/?location={people.other_location.id}").get_data(as_text=True)
    assert names_in(html) == ["Dan Dunn"]
    stranger = make_world(session)
    assert web.client.get(f"/guests/?location={stranger.location.id}").status_code == 404


def test_htmx_gets_the_list_fragment_only(web, member, people):
    web.login(member)
    response = web.client.get("/guests/?q=bob", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert "<html" not in html and names_in(html) == ["Bob Baker"]
    assert 'name="sort" value="last_order"' in html  # the list's state travels with the fragment
    restore = web.client.get("/guests/?q=bob", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in restore.get_data(as_text=True)


def test_the_list_is_paginated(web, member, world, session):
    from tests import guest_rows

    for number in range(53):
        guest = guest_rows.guest(world.org, email=f"g{number:02d}@example.com")
        guest.sort_name = f"g{number:02d}"
        guest.first_name, guest.last_name = f"G{number:02d}", ""
    session.flush()
    web.login(member)
    first = web.client.get("/guests/?sort=name&dir=asc").get_data(as_text=True)
    second = web.client.get("/guests/?sort=name&dir=asc&page=2").get_data(as_text=True)
    assert len(names_in(first)) == 50 and names_in(second) == ["G50", "G51", "G52"]
    assert 'rel="next"' in first and 'rel="next"' not in second and 'rel="prev"' in second


def test_a_date_sort_continues_into_guests_without_a_date_on_later_pages(web, member, world, session):
    from tests import guest_rows

    for number in range(55):
        guest = guest_rows.guest(world.org)
        guest.first_name, guest.last_name = f"N{number:02d}", ""
        if number < 48:
            guest.last_order_at = BASE + timedelta(days=number)
    session.flush()
    web.login(member)
    first = names_in(web.client.get("/guests/?sort=last_order&dir=desc").get_data(as_text=True))
    second = names_in(web.client.get("/guests/?sort=last_order&dir=desc&page=2").get_data(as_text=True))
    assert first[:48] == [f"N{n:02d}" for n in range(47, -1, -1)]
    assert sorted(first[48:] + second) == [f"N{n:02d}" for n in range(48, 55)] and len(first) == 50


def test_the_detail_page_shows_figures_timeline_and_facts(web, member, world):
    ingest(world.location, order(
        check(25, customer(email="liz@example.com", first="Liz", last="Lane"),
              selections=[selection("Burger", 2, price=20, modifiers=[selection("Extra cheese", 1, price=1.5)]),
                          selection("Soda", 1, price=5, voided=True)],
              payments=[payment(25, tip=4, card="AMEX", last4="0005", refund=3)]),
        check(40, customer(email="someone-else@example.com"), selections=[selection("Lobster", 1, price=40)]),
        channel="delivery", server=SERVER, delivery={"address1": "9 Elm St", "city": "Salem"}))
    guest = world.guest("e:liz@example.com")
    web.login(member)
    html = web.client.get(f"/guests/{guest.id}").get_data(as_text=True)
    assert 'data-figure="net_spend">$22.00<' in html and 'data-figure="total_tips">$4.00<' in html
    assert 'data-figure="delivery_orders">1<' in html and 'data-figure="favorite_item">Burger<' in html
    for text in ("Extra cheese", "AMEX ····0005", "$3.00", "Sam Server", "9 Elm St, Salem", "Harbor"):
        assert text in html, text
    assert "Lobster" not in html  # another guest's check of the same order
    assert "Distinct orders with at least one counted check" in html  # definitions shown as help


def test_the_timeline_pages_through_older_orders(web, member, world):
    ingest(world.location, *[simple(email="max@example.com", amount=n + 1, opened=BASE + timedelta(days=n))
                             for n in range(23)])
    guest = world.guest("e:max@example.com")
    web.login(member)
    first = web.client.get(f"/guests/{guest.id}").get_data(as_text=True)
    assert first.count('data-testid="timeline-order"') == 20 and f"/guests/{guest.id}/timeline?page=2" in first
    more = web.client.get(f"/guests/{guest.id}/timeline?page=2", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert more.count('data-testid="timeline-order"') == 3 and "timeline?page=3" not in more


def test_marketers_add_and_remove_tags_and_notes(web, member, people, session):
    guest = people.guest("e:ann@example.com")
    web.login(member)
    response = web.htmx_post(f"/guests/{guest.id}/tags", {"tag": "  VIP  Guest "})
    assert response.status_code == 200 and "vip guest" in response.get_data(as_text=True)
    tag = session.scalar(select(GuestTag).where(GuestTag.guest_id == guest.id))
    assert web.htmx_post(f"/guests/{guest.id}/tags", {"tag": ""}).status_code == 400
    assert web.htmx_post(f"/guests/{guest.id}/tags/{tag.id}/delete").status_code == 200
    assert session.scalar(select(GuestTag).where(GuestTag.guest_id == guest.id)) is None
    note = web.htmx_post(f"/guests/{guest.id}/notes", {"body": "Allergic to <b>nuts</b>"})
    assert note.status_code == 200 and "Allergic to &lt;b&gt;nuts&lt;/b&gt;" in note.get_data(as_text=True)
    assert member.email in note.get_data(as_text=True)


def _duplicate_pair(world):
    ingest(world.location, simple(email="ann@example.com", phone="617 555 0101", opened=BASE),
           simple(email="ben@example.com", phone="617 555 0101", opened=BASE + timedelta(days=1)))


def test_owners_merge_possible_duplicates_and_undo_the_merge(web, owner, world, session):
    _duplicate_pair(world)
    web.login(owner)
    listing = web.client.get("/guests/duplicates").get_data(as_text=True)
    assert "same phone +16175550101" in listing
    duplicate = session.scalar(select(GuestDuplicate))
    response = web.post(f"/guests/duplicates/{duplicate.id}/merge")
    merged = world.guest("e:ann@example.com")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/guests/{merged.id}")
    assert [(g.key, g.order_count) for g in world.guests()] == [("e:ann@example.com", 2)]
    # Later orders respect the merge.
    ingest(world.location, simple(email="ben@example.com", opened=BASE + timedelta(days=2)))
    assert [(g.key, g.order_count) for g in world.guests()] == [("e:ann@example.com", 3)]
    assert session.scalar(select(AuditEvent.action).where(AuditEvent.org_id == world.org.id,
                                                          AuditEvent.action != "user.signed_in")) == "guest.merged"

    record = session.scalar(select(GuestMerge))
    assert "Unmerge" in web.client.get(f"/guests/{merged.id}").get_data(as_text=True)
    assert web.htmx_post(f"/guests/merges/{record.id}/undo").headers["HX-Redirect"] == "/guests/duplicates"
    assert [(g.key, g.order_count) for g in world.guests()] == [("e:ann@example.com", 1), ("e:ben@example.com", 2)]
    assert session.scalar(select(GuestDuplicate)) is not None
    assert web.htmx_post(f"/guests/merges/{record.id}/undo").status_code == 400


def test_marketers_cannot_merge(web, member, world, session):
    _duplicate_pair(world)
    web.login(member)
    duplicate = session.scalar(select(GuestDuplicate))
    assert web.post(f"/guests/duplicates/{duplicate.id}/merge").status_code == 403
    assert len(world.guests()) == 2


def test_another_organizations_guest_is_a_404(web, people, session):
    stranger = make_world(session)
    outsider = factories.UserFactory(organization=stranger.org, role="owner")
    guest = people.guest("e:ann@example.com")
    web.login(outsider)
    assert web.client.get(f"/guests/{guest.id}").status_code == 404
    assert names_in(web.client.get("/guests/").get_data(as_text=True)) == []


@pytest.mark.parametrize("pinned", [0, 2000])
def test_narrow_and_broad_searches_give_the_same_page(web, member, people, monkeypatch, pinned):
    from portal.guests import queries

    monkeypatch.setattr(queries, "SEARCH_PINNED", pinned)  # 0: every search walks the sort index
    web.login(member)
    assert names_in(web.client.get("/guests/?q=b&sort=net_spend").get_data(as_text=True)) == ["Bob Baker"]
    assert names_in(web.client.get("/guests/?q=e&sort=name&dir=asc").get_data(as_text=True)) == ["Eve Ess"]
