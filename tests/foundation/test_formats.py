"""One style of dates, times, numbers and phones across the app (portal.templating), time zones from the locations
(portal.localtime), and marketplace relay addresses (portal.contacts)."""
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from portal import templating
from portal.contacts import display_phone, is_phone_number, is_relay_email
from portal.extensions import db
from portal.localtime import UTC, location_zones, organization_zone, zone_named
from tests import factories

BOSTON, LA = ZoneInfo("America/New_York"), ZoneInfo("America/Los_Angeles")


def test_a_boston_dinner_is_shown_on_its_evening_in_boston_time():
    moment = datetime(2026, 3, 3, 0, 40, tzinfo=timezone.utc)  # 7:40 PM the evening before, in Boston
    assert templating.when(moment, BOSTON) == "Mar 2, 2026, 7:40 PM EST"
    assert templating.day(moment, BOSTON) == "Mar 2, 2026"
    assert templating.when(moment, LA) == "Mar 2, 2026, 4:40 PM PST"
    summer = datetime(2026, 7, 4, 16, 5, tzinfo=timezone.utc)
    assert templating.when(summer, BOSTON) == "Jul 4, 2026, 12:05 PM EDT"  # daylight saving time
    assert templating.day(date(2026, 12, 25)) == "Dec 25, 2026"  # a date stays the date it is
    assert templating.when(None) == templating.day(None) == "—"


def test_numbers_are_grouped_and_money_keeps_cents():
    assert templating.number(1234567) == "1,234,567" and templating.number(0) == "0"
    assert templating.number(None) == "—" and templating.number(2.25) == "2.2"
    assert templating.money(208500) == "$2,085.00" and templating.money(-5) == "-$0.05"


@pytest.mark.parametrize(("e164", "home", "shown"), [
    ("+16175550101", "US", "(617) 555-0101"),
    ("+14165550101", "US", "(416) 555-0101"),  # Canada shares +1: at home for a US group
    ("+442079460958", "US", "+44 20 7946 0958 (United Kingdom)"),
    ("+16175550101", "GB", "+1 617-555-0101 (United States)"),
    ("+442079460958", "GB", "020 7946 0958"),
    ("not a phone", "US", "not a phone"),
    (None, "US", ""),
])
def test_phones_are_national_at_home_and_international_with_the_country_abroad(e164, home, shown):
    assert display_phone(e164, home) == shown


@pytest.mark.parametrize(("email", "relay"), [
    ("dd-0a1b2c3d4e@relay.example.com", True),  # as the sandbox's DoorDash orders carry them
    ("x7@relay.grubhub.com", True),
    ("order-123@doordash.com", True),
    ("someone@eats.ubereats.com", True),
    ("hidden@privaterelay.appleid.com", False),  # Apple's relay forwards to the guest for good: a real address
    ("ann@relay.com", False),  # a mailbox at a domain named relay
    ("ann@example.com", False),
    (None, False), ("", False),
])
def test_marketplace_relay_addresses_are_recognised(email, relay):
    assert is_relay_email(email) is relay


def test_a_phone_number_is_told_from_formula_text():
    assert is_phone_number("+16175550101") and is_phone_number("+442079460958")
    assert not is_phone_number("+1=cmd") and not is_phone_number("=1+2") and not is_phone_number("16175550101")


def test_the_organization_zone_is_the_one_most_of_its_locations_report(session):
    org = factories.OrganizationFactory()
    assert organization_zone(db.session, org.id) == UTC  # no location yet
    boston = factories.LocationFactory(connection__organization=org, time_zone="America/New_York")
    factories.LocationFactory(connection=boston.connection, time_zone="America/New_York")
    la = factories.LocationFactory(connection=boston.connection, time_zone="America/Los_Angeles")
    silent = factories.LocationFactory(connection=boston.connection, time_zone=None)
    session.flush()
    assert organization_zone(db.session, org.id) == BOSTON
    assert location_zones(db.session, org.id) == {boston.id: BOSTON, la.id: LA, silent.id: BOSTON,
                                      **{loc.id: BOSTON for loc in boston.connection.locations
                                         if loc.id not in (boston.id, la.id, silent.id)}}
    assert zone_named("Not/AZone") == UTC and zone_named(None) == UTC
