"""An organization with one location, for writing synthetic guests (tests/scoring/builders.py)."""
from dataclasses import dataclass

import pytest

from portal.models import Location, Organization
from tests import factories


@dataclass
class Shop:
    org: Organization
    location: Location


def make_shop(name: str = "Harbor Group") -> Shop:
    org = factories.OrganizationFactory(name=name)
    return Shop(org, factories.LocationFactory(connection__organization=org, name="Harbor"))


@pytest.fixture
def shop(session) -> Shop:
    return make_shop()
