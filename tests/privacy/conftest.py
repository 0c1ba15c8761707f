"""Privacy tests reuse the guest tests' restaurant group (two locations, menu, dining options)."""
import pytest

from tests import factories
from tests.guests.conftest import make_world


@pytest.fixture
def world(session):
    return make_world(session)


@pytest.fixture
def owner(world):
    return factories.UserFactory(organization=world.org, role="owner")


@pytest.fixture
def marketer(world):
    return factories.UserFactory(organization=world.org, role="marketer")
