"""Every location takes the lowest free bit of its organization's guests.location_mask, up to 63 locations."""
from portal.models.integration import MASK_SLOTS
from tests import factories


def test_locations_take_distinct_slots_per_organization_and_none_past_the_last(session):
    first = factories.LocationFactory()
    in_one_flush = [factories.LocationFactory.build(connection=first.connection) for _ in range(MASK_SLOTS)]
    session.add_all(in_one_flush)
    session.flush()
    slots = [first.slot, *(location.slot for location in in_one_flush)]
    assert slots[:MASK_SLOTS] == list(range(MASK_SLOTS)) and slots[MASK_SLOTS] is None
    assert factories.LocationFactory().slot == 0  # another organization starts again
