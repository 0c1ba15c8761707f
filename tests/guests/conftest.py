"""A restaurant group with two locations, dining options of every channel, a menu and a server."""
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from portal.models import DiningOption, Employee, Guest, Location, MenuItem, Organization
from tests import factories
from tests.guests.builders import DINING

BEHAVIORS = {"delivery": ("DELIVERY", False), "takeout": ("TAKE_OUT", False), "curbside": ("TAKE_OUT", True),
             "dine_in": ("DINE_IN", False)}
ITEM_BURGER = "10000000-0000-4000-8000-000000000001"
ITEM_FRIES = "10000000-0000-4000-8000-000000000002"
SERVER = "e0000000-0000-4000-8000-000000000001"


@dataclass
class World:
    org: Organization
    location: Location
    other_location: Location
    session: object

    def guests(self) -> list[Guest]:
        return self.session.scalars(select(Guest).where(Guest.org_id == self.org.id).order_by(Guest.key)).all()

    def guest(self, key: str) -> Guest:
        guest = self.session.scalar(select(Guest).where(Guest.org_id == self.org.id, Guest.key == key))
        assert guest is not None, f"no guest {key}; have {[g.key for g in self.guests()]}"
        return guest


def configure(session, location: Location) -> None:
    for channel, guid in DINING.items():
        behavior, curbside = BEHAVIORS[channel]
        session.add(DiningOption(org_id=location.org_id, location_id=location.id, guid=guid, name=channel,
                                 behavior=behavior, curbside=curbside))
    session.add(MenuItem(org_id=location.org_id, location_id=location.id, guid=ITEM_BURGER, name="Smash Burger"))
    session.add(MenuItem(org_id=location.org_id, location_id=location.id, guid=ITEM_FRIES, name="Fries"))
    session.add(Employee(org_id=location.org_id, location_id=location.id, guid=SERVER, first_name="Sam",
                         last_name="Server"))
    session.flush()


def make_world(session, org=None) -> World:
    org = org or factories.OrganizationFactory()
    first = factories.LocationFactory(connection__organization=org, name="Harbor")
    second = factories.LocationFactory(connection=first.connection, name="Uptown")
    configure(session, first)
    configure(session, second)
    return World(org=org, location=first, other_location=second, session=session)


@pytest.fixture
def world(session) -> World:
    return make_world(session)
