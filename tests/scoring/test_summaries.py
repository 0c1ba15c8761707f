"""The SQL summaries give exactly what portal.predict.summary computes from the same order lines."""
from datetime import date, timedelta

import numpy as np
import pytest

from portal.extensions import db
from portal.predict import summary
from portal.scoring import compute, summaries
from tests.scoring.builders import Visit, at, insert_guests
from tests.scoring.conftest import make_shop

AS_OF = date(2026, 6, 30)
CALIBRATION_END = date(2026, 5, 1)


def ago(days: int, hour: int = 18, minute: int = 0):
    return at(AS_OF - timedelta(days=days), hour, minute)


GUESTS = [
    [Visit(ago(100), 1000)],  # one visit
    [Visit(ago(100), 1000), Visit(ago(100, 21), 500), Visit(ago(50), 700)],  # two orders on the first day
    [Visit(ago(80, 23, 59), 100), Visit(ago(79, 0, 1), 200),  # two minutes apart, two UTC days
     Visit(ago(10), 300, counted=False), Visit(None, 50)],  # not counted / never opened: ignored
    [Visit(ago(40), 1000), Visit(at(AS_OF + timedelta(days=1), 0, 30), 999)],  # after as_of: ignored
    [Visit(ago(200), 2500), Visit(ago(150), 1500), Visit(ago(150, 20), 100), Visit(ago(20), 900), Visit(ago(3), 0)],
    [Visit(ago(0, 23, 59), 4200)],  # born on the last day
    [Visit(ago(30), 700), Visit(ago(12), 800)],  # born after the calibration end
]


@pytest.fixture
def hand_built(session):
    shop = make_shop()
    ids = insert_guests(session, shop.org, shop.location, GUESTS)
    make_shop_other = make_shop("Other Group")  # another organization's orders must not leak in
    insert_guests(session, make_shop_other.org, make_shop_other.location, GUESTS[:3])
    return shop, ids


def library_lines(ids):
    """(guest id, UTC date, cents) of the counted, opened orders on or before AS_OF."""
    lines = [(gid, v.opened_at.date(), v.cents) for gid, visits in zip(ids, GUESTS) for v in visits
             if v.counted and v.opened_at is not None and v.opened_at.date() <= AS_OF]
    gid, day, cents = zip(*lines)
    return np.array(gid), np.array(day, dtype="datetime64[D]"), np.array(cents, dtype=float)


def test_sql_summaries_equal_the_library(hand_built):
    shop, ids = hand_built
    data = summaries.visit_summaries(db.session.connection(), shop.org.id, AS_OF, CALIBRATION_END)
    expected = summary.summarize_transactions(*library_lines(ids), calibration_end=AS_OF)
    np.testing.assert_array_equal(data.guest_id, expected.customer_id)
    assert data.guest_id.tolist() == sorted(ids)  # every guest has a counted order
    frequency, recency, age, monetary = compute._rft(data, summaries.day_number(AS_OF))
    np.testing.assert_array_equal(frequency, expected.frequency)
    np.testing.assert_allclose(recency, expected.recency, rtol=0, atol=1e-12)
    np.testing.assert_allclose(age, expected.T, rtol=0, atol=1e-12)
    np.testing.assert_allclose(monetary, expected.monetary_value, rtol=0, atol=1e-9)
    by_id = dict(zip(data.guest_id.tolist(), zip(data.visits.tolist(), data.spend.tolist())))
    assert by_id[ids[1]] == (2, 2200) and by_id[ids[2]] == (2, 300) and by_id[ids[3]] == (1, 1000)


def test_sql_holdout_split_equals_the_library(hand_built):
    shop, ids = hand_built
    data = summaries.visit_summaries(db.session.connection(), shop.org.id, AS_OF, CALIBRATION_END)
    expected = summary.summarize_with_holdout(*library_lines(ids), calibration_end=CALIBRATION_END,
                                              observation_end=AS_OF)
    born = data.calibration_visits > 0
    np.testing.assert_array_equal(data.guest_id[born], expected.calibration.customer_id)
    np.testing.assert_array_equal(data.calibration_visits[born] - 1, expected.calibration.frequency)
    recency = (data.calibration_last_day[born] - data.first_day[born]) / 7.0
    np.testing.assert_allclose(recency, expected.calibration.recency, atol=1e-12)
    np.testing.assert_array_equal(data.holdout_visits[born], expected.frequency_holdout)
    assert data.calibration_visits[data.guest_id == ids[6]].tolist() == [0]  # born after the split


def test_first_order_day_and_an_empty_organization(hand_built, session):
    shop, _ = hand_built
    connection = db.session.connection()
    assert summaries.first_order_day(connection, shop.org.id, AS_OF) == AS_OF - timedelta(days=200)
    assert summaries.first_order_day(connection, shop.org.id, AS_OF - timedelta(days=201)) is None
    empty = make_shop("Empty")
    assert len(summaries.visit_summaries(connection, empty.org.id, AS_OF, AS_OF)) == 0
    with pytest.raises(ValueError, match="after as_of"):
        summaries.visit_summaries(connection, shop.org.id, AS_OF, AS_OF + timedelta(days=1))
