"""An organization with presets and a handful of guests whose segment answers are known."""
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from portal.models.base import utcnow
from portal.segments.service import create_presets
from tests import factories
from tests.segments.data import GuestSpec, OrderSpec, Population, insert, make_locations

DAY = timedelta(days=1)


def ago(days: float) -> datetime:
    return utcnow() - timedelta(days=days)


@dataclass
class Shop:
    population: Population
    owner: object
    marketer: object

    @property
    def org(self):
        return self.population.org

    def guest_id(self, name: str) -> int:
        return next(gid for gid, spec in self.population.guests.items() if spec.name == name)


# name -> spec; the presets' answers (today) are in test_presets.py
GUESTS = [
    GuestSpec(name="Lena Lapsed", orders=[OrderSpec(ago(120), 3000), OrderSpec(ago(70), 2000, "delivery")]),
    GuestSpec(name="Ned New", orders=[OrderSpec(ago(3), 1500, "dine_in")]),
    GuestSpec(name="Rita Regular", phone=True,
              orders=[OrderSpec(ago(d), 2500, "delivery", items=("Fries",)) for d in (5, 20, 40, 80, 200)]),
    GuestSpec(name="Otto Once", orders=[OrderSpec(ago(45), 1200, "takeout")]),
    GuestSpec(name="Olga Optout", opt_out=True,
              orders=[OrderSpec(ago(100), 9000, "delivery"), OrderSpec(ago(65), 9000, "delivery")]),
    GuestSpec(name="=HYPERLINK(\"http://x\") Evil", orders=[OrderSpec(ago(90), 100), OrderSpec(ago(61), 100)]),
]


@pytest.fixture
def shop(session) -> Shop:
    org = factories.OrganizationFactory(name="Harbor Group")
    create_presets(org.id)
    population = insert(session, org, make_locations(org, 2), GUESTS)
    return Shop(population=population, owner=factories.UserFactory(organization=org, role="owner"),
                marketer=factories.UserFactory(organization=org, role="marketer"))
