"""The guest list: search by any part of a name or email and by a phone's last digits, the total count, bulk tag /
opt-out / add to a segment with their confirmation, on both databases."""
import json
import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from portal.guests import detail, queries
from portal.models import AuditEvent, Guest, GuestTag, Segment
from portal.segments import service
from tests import factories
from tests.guests.builders import BASE, ingest, simple
from tests.guests.conftest import make_world


def names_in(html: str) -> list[str]:
    return re.findall(r'<a href="/guests/\d+">([^<]+)</a>', html)


@pytest.fixture
def member(world):
    return factories.UserFactory(organization=world.org, role="marketer")


@pytest.fixture
def people(world):
    day = timedelta(days=1)
    ingest(world.location,
           simple(email="ann.archer@harbor.example", first="Ann", last="Archer", phone="617 555 0101", opened=BASE),
           simple(email="bob@example.com", first="Bob", last="Johnson", phone="617 555 7788", opened=BASE + day),
           simple(email="cat_cole@example.com", first="Cat", last="Cole", phone="+44 20 7946 0101",
                  opened=BASE + 2 * day),
           simple(email="dan@example.com", first="Dan", last="Dunn", opened=BASE + 3 * day))
    return world


@pytest.mark.parametrize(("q", "expected"), [
    ("hnso", ["Bob Johnson"]),  # the middle of a last name
    ("n arch", ["Ann Archer"]),  # across first and last name
    ("harbor.exa", ["Ann Archer"]),  # the middle of an email
    ("_cole", ["Cat Cole"]),  # "_" is a character, not a wildcard
    ("%", []),  # nor is "%"
    ("0101", ["Cat Cole", "Ann Archer"]),  # the last 4 digits, whatever the country
    ("7788", ["Bob Johnson"]),
    ("55-0101", ["Ann Archer"]),  # more of the end, typed with a dash
    ("7946 0101", ["Cat Cole"]),
    ("617555", ["Bob Johnson", "Ann Archer"]),  # still the start of a US number
    ("+44 20", ["Cat Cole"]),
    ("101", []),  # 3 digits match the start of a phone only
    ("johnson bob", ["Bob Johnson"]),  # "last first"
])
@pytest.mark.parametrize("pinned", [0, 2000])  # 0: every search is read along the sort's index (a broad search)
def test_the_list_searches_any_part_of_names_and_emails_and_the_end_of_phones(web, member, people, monkeypatch,
                                                                              pinned, q, expected):
    monkeypatch.setattr(queries, "SEARCH_PINNED", pinned)
    web.login(member)
    assert names_in(web.client.get("/guests/", query_string={"q": q}).get_data(as_text=True)) == expected


def test_the_total_count_follows_the_search_and_groups_thousands(web, member, people):
    web.login(member)
    everyone = web.client.get("/guests/_count").get_data(as_text=True)
    assert 'data-total="4"' in everyone and "4 guests" in everyone
    matching = web.client.get("/guests/_count?q=0101").get_data(as_text=True)
    assert 'data-total="2"' in matching and "2 guests match" in matching
    page = web.client.get("/guests/?q=0101").get_data(as_text=True)
    assert 'hx-get="/guests/_count?' in page and "q=0101" in page


def ids_of(world, *emails):
    return [g.id for g in world.guests() if g.email in emails]


def test_a_bulk_tag_asks_first_then_tags_the_ticked_guests(web, member, people, session):
    web.login(member)
    ann, bob = ids_of(people, "ann.archer@harbor.example", "bob@example.com")
    form = {"action": "tag", "guest": [str(ann), str(bob)], "sort": "name", "dir": "asc"}
    asked = web.htmx_post("/guests/bulk", form)
    html = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "Tag 2 guests" in html and 'name="expected" value="2"' in html
    assert session.scalars(select(GuestTag)).all() == []  # nothing happens before the confirmation
    done = web.htmx_post("/guests/bulk", {**form, "confirm": "1", "expected": "2", "tag": "  VIP  Brunch "})
    assert done.status_code == 200 and "Tagged 2 guests with “vip brunch”" in done.get_data(as_text=True)
    assert 'id="guest-list" hx-swap-oob="true"' in done.get_data(as_text=True)
    assert sorted(t.guest_id for t in session.scalars(select(GuestTag).where(GuestTag.tag == "vip brunch"))) == [ann, bob]
    again = web.htmx_post("/guests/bulk", {**form, "confirm": "1", "expected": "2", "tag": "vip brunch"})
    assert "Tagged 0 guests" in again.get_data(as_text=True) and "2 already had it" in again.get_data(as_text=True)


def test_a_bulk_action_on_all_matching_guests_and_a_count_that_changed(web, member, people, session):
    web.login(member)
    form = {"action": "opt_out", "scope": "all", "q": "0101", "sort": "name", "dir": "asc"}
    assert "Opt out 2 guests" in web.htmx_post("/guests/bulk", form).get_data(as_text=True)
    stale = web.htmx_post("/guests/bulk", {**form, "confirm": "1", "expected": "3"})
    assert stale.status_code == 409 and "changed meanwhile" in stale.get_data(as_text=True)
    assert not any(g.marketing_opt_out for g in people.guests())
    done = web.htmx_post("/guests/bulk", {**form, "confirm": "1", "expected": "2"})
    assert "Opted 2 guests out of marketing" in done.get_data(as_text=True)
    session.expire_all()
    assert sorted(g.last_name for g in people.guests() if g.marketing_opt_out) == ["Archer", "Cole"]
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "guest.opt_outs_bulk"))
    assert event.details == {"guests": 2, "source": "bulk"}


def test_bulk_actions_refuse_nothing_ticked_a_bad_tag_and_other_organizations_guests(web, member, people, session):
    web.login(member)
    nothing = web.htmx_post("/guests/bulk", {"action": "tag"})
    assert nothing.status_code == 422 and "Tick at least one guest" in nothing.get_data(as_text=True)
    ann = ids_of(people, "ann.archer@harbor.example")[0]
    bad = web.htmx_post("/guests/bulk", {"action": "tag", "guest": str(ann), "confirm": "1", "expected": "1", "tag": " "})
    assert bad.status_code == 422 and "a tag is 1 to 64 characters" in bad.get_data(as_text=True)
    stranger = make_world(session)
    ingest(stranger.location, simple(email="zed@example.com", first="Zed", last="Zu"))
    foreign = stranger.guests()[0].id
    asked = web.htmx_post("/guests/bulk", {"action": "tag", "guest": str(foreign)})
    assert "No guest to change" in asked.get_data(as_text=True)
    web.htmx_post("/guests/bulk", {"action": "tag", "guest": str(foreign), "confirm": "1", "expected": "0", "tag": "x"})
    assert session.scalars(select(GuestTag)).all() == []


def test_adding_guests_to_a_new_then_an_existing_list_segment(web, member, people, session):
    web.login(member)
    ann, bob = ids_of(people, "ann.archer@harbor.example", "bob@example.com")
    asked = web.htmx_post("/segments/from-guests", {"guest": [str(ann)]})
    assert "Add 1 guest" in asked.get_data(as_text=True)
    done = web.htmx_post("/segments/from-guests", {"guest": [str(ann)], "confirm": "1", "expected": "1",
                                                   "name": "Patio regulars"})
    assert "Added 1 guest to" in done.get_data(as_text=True)
    segment = session.scalar(select(Segment).where(Segment.name == "Patio regulars"))
    assert segment.rules == {"op": "and", "rules": [{"field": "tag", "operator": "any_of",
                                                     "value": ["patio regulars"]}]}
    more = web.htmx_post("/segments/from-guests", {"guest": [str(ann), str(bob)], "confirm": "1", "expected": "2",
                                                   "segment": str(segment.id)})
    assert "Added 1 guest to" in more.get_data(as_text=True) and "1 already in it" in more.get_data(as_text=True)
    members = web.client.get(f"/segments/{segment.id}").get_data(as_text=True)
    assert "Ann Archer" in members and "Bob Johnson" in members
    preset = session.scalar(select(Segment).where(Segment.org_id == people.org.id, Segment.is_preset.is_(False),
                                                  Segment.id != segment.id))
    assert preset is None  # only the list segment was created


def test_a_segment_built_from_rules_takes_no_hand_picked_guests(web, member, people, session):
    web.login(member)
    ruled = service.create_segment(people.org.id, "Big", {"op": "and", "rules": [
        {"field": "order_count", "operator": "gte", "value": 1}]})
    session.flush()
    ann = ids_of(people, "ann.archer@harbor.example")[0]
    refused = web.htmx_post("/segments/from-guests", {"guest": str(ann), "confirm": "1", "expected": "1",
                                                      "segment": str(ruled.id)})
    assert refused.status_code == 422 and "built from rules" in refused.get_data(as_text=True)


def test_phone_reversed_is_kept_with_the_phone(people, session):
    ann = session.scalar(select(Guest).where(Guest.email == "ann.archer@harbor.example"))
    assert (ann.phone, ann.phone_reversed) == ("+16175550101", "10105557161")


def test_make_a_segment_from_an_rfm_group_or_a_segment_and_members_link_to_guests(web, member, people, session):
    web.login(member)
    rules = {"op": "and", "rules": [{"field": "order_count", "operator": "gte", "value": 1}]}
    segment = service.create_segment(people.org.id, "Ones", rules)
    session.flush()
    shown = web.client.get(f"/segments/{segment.id}").get_data(as_text=True)
    assert re.search(r'<a href="/guests/\d+">Ann Archer</a>', shown)  # members link to their guest pages
    assert "(617) 555-0101" in shown and 'data-testid="copy-segment"' in shown
    builder = web.client.get("/segments/new", query_string={"rules": json.dumps(rules), "name": "Copy of Ones"})
    html = builder.get_data(as_text=True)
    assert builder.status_code == 200 and 'value="Copy of Ones"' in html and "Ann Archer" in html
    insights = web.client.get("/insights/").get_data(as_text=True)
    assert 'data-testid="rfm-guests"' in insights and "rfm_group" in insights
    broken = web.client.get("/segments/new", query_string={"rules": "{not json"})
    assert broken.status_code == 200  # an empty builder, never an error


def test_the_guest_page_flags_a_marketplace_relay_address_and_formats_the_phone(web, member, world):
    ingest(world.location, simple(email="dd-0a1b2c3d4e@relay.example.com", first="Rita", last="R.",
                                  phone="+44 20 7946 0958"))
    web.login(member)
    html = web.client.get(f"/guests/{world.guests()[0].id}").get_data(as_text=True)
    assert 'data-testid="relay-email"' in html and "left out of exports" in html
    assert "+44 20 7946 0958 (United Kingdom)" in html  # foreign: international, with the country


def test_times_are_local_a_late_dinner_belongs_to_its_local_day_and_month(web, member, world, session):
    world.location.time_zone = "America/New_York"
    session.flush()
    late = datetime(2026, 3, 1, 0, 40, tzinfo=timezone.utc)  # Feb 28, 7:40 PM in Boston
    ingest(world.location, simple(email="nia@example.com", first="Nia", last="Night", opened=late))
    guest = world.guests()[0]
    assert [bar.label for bar in detail.spend_chart(guest).bars] == ["Feb 2026"]
    web.login(member)
    html = web.client.get(f"/guests/{guest.id}").get_data(as_text=True)
    assert "Feb 28, 2026, 7:40 PM EST" in html  # the order, in its location's time
    listed = web.client.get("/guests/?q=nia").get_data(as_text=True)
    assert "Feb 28, 2026" in listed and "Mar 1, 2026" not in listed
