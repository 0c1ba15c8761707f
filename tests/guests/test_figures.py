"""Each figure's definition on hand-built orders, and its correction when an order changes later."""
from datetime import timedelta

from sqlalchemy import event, select

from portal.guests.service import apply_orders
from portal.models import GuestFact, GuestItem, GuestLocation, GuestOrder
from tests.guests.builders import BASE, check, customer, ingest, order, payment, selection, simple
from tests.guests.conftest import ITEM_BURGER, ITEM_FRIES, SERVER

EMAIL = "zoe@example.com"


def zoe(**kwargs):
    return customer(email=EMAIL, **kwargs)


def figures(world) -> dict:
    guest = world.guest(f"e:{EMAIL}")
    names = ("order_count", "check_count", "net_spend_cents", "avg_check_cents", "total_tips_cents",
             "delivery_orders", "takeout_orders", "curbside_orders", "dine_in_orders", "delivery_spend_cents",
             "location_count", "favorite_item")
    return {name: getattr(guest, name) for name in names}


def test_only_counted_checks_of_counted_orders_count(world):
    day = timedelta(days=1)
    ingest(world.location,
           order(check(10, zoe()), opened=BASE),
           order(check(20, zoe(), voided=True), opened=BASE + day),
           order(check(30, zoe(), deleted=True), opened=BASE + 2 * day),
           order(check(40, zoe()), voided=True, opened=BASE + 3 * day),
           order(check(50, zoe()), deleted=True, opened=BASE + 4 * day),
           order(check(1, zoe()), check(2, zoe(), voided=True), opened=BASE + 5 * day))
    result = figures(world)
    assert (result["order_count"], result["check_count"], result["net_spend_cents"]) == (2, 2, 1100)
    guest = world.guest(f"e:{EMAIL}")
    assert (guest.first_order_at, guest.last_order_at) == (BASE, BASE + 5 * day)


def test_net_spend_subtracts_refunds_and_never_goes_below_zero_per_check(world):
    ingest(world.location,
           order(check(30, zoe(), payments=[payment(32.1, refund=5.55)])),
           order(check(10, zoe(), payments=[payment(10.6, refund=25.0)]), opened=BASE + timedelta(hours=1)),
           order(check(7.77, zoe(), payments=[payment(4, refund=1), payment(4, refund=1.01)]),
                 opened=BASE + timedelta(hours=2)))
    # 3000 - 555 = 2445; 1000 - 2500 -> 0; 777 - 201 = 576
    assert figures(world)["net_spend_cents"] == 2445 + 0 + 576
    assert figures(world)["avg_check_cents"] == round((2445 + 576) / 3)


def test_average_check_divides_by_counted_checks_including_split_checks(world):
    ingest(world.location,
           order(check(10, zoe()), check(5, zoe()), check(99, zoe(), voided=True)),
           order(check(0.01, zoe()), opened=BASE + timedelta(days=1)))
    result = figures(world)
    assert (result["order_count"], result["check_count"], result["net_spend_cents"]) == (2, 3, 1501)
    assert result["avg_check_cents"] == 500  # 1501 / 3 = 500.33


def test_tips_subtract_tip_refunds_and_ignore_voided_payments(world):
    ingest(world.location, order(check(20, zoe(), payments=[
        payment(10, tip=3.25, tip_refund=1.00), payment(10, tip=2.00), payment(10, tip=9.99, status="VOIDED")])))
    assert figures(world)["total_tips_cents"] == 325 - 100 + 200


def test_channels_come_from_the_dining_option_behavior(world):
    hour = timedelta(hours=1)
    ingest(world.location,
           order(check(10, zoe()), channel="delivery", opened=BASE),
           order(check(15, zoe(), payments=[payment(15, refund=2)]), channel="delivery", opened=BASE + hour),
           order(check(1, zoe()), channel="takeout", opened=BASE + 2 * hour),
           order(check(1, zoe()), channel="curbside", opened=BASE + 3 * hour),
           order(check(1, zoe()), channel="curbside", opened=BASE + 4 * hour),
           order(check(1, zoe()), channel="dine_in", opened=BASE + 5 * hour),
           order(check(1, zoe()), channel=None, opened=BASE + 6 * hour),
           order(check(100, zoe()), channel="delivery", voided=True, opened=BASE + 7 * hour))
    result = figures(world)
    assert (result["delivery_orders"], result["takeout_orders"], result["curbside_orders"],
            result["dine_in_orders"], result["order_count"]) == (2, 1, 2, 1, 7)
    assert result["delivery_spend_cents"] == 1000 + 1300


def test_locations_count_where_the_guest_has_counted_orders(world, session):
    ingest(world.location, simple(email=EMAIL))
    ingest(world.other_location, simple(email=EMAIL, opened=BASE + timedelta(days=1)))
    ingest(world.other_location, simple(email=EMAIL, voided=True, opened=BASE + timedelta(days=2)))
    guest = world.guest(f"e:{EMAIL}")
    rows = session.execute(select(GuestLocation.location_id, GuestLocation.order_count)
                           .where(GuestLocation.guest_id == guest.id).order_by(GuestLocation.location_id)).all()
    assert rows == [(world.location.id, 1), (world.other_location.id, 1)]
    assert guest.location_count == 2


def test_favorite_item_is_the_highest_quantity_over_non_voided_selections_of_counted_checks(world, session):
    ingest(world.location,
           order(check(30, zoe(), selections=[
               selection("burger (typed)", 2, item=ITEM_BURGER),
               selection("Fries", 1, item=ITEM_FRIES),
               selection("Fries", 5, item=ITEM_FRIES, voided=True),
               selection("Shake", 1.5)])),
           order(check(30, zoe(), selections=[selection("Shake", 2)]), opened=BASE + timedelta(days=1)),
           order(check(30, zoe(), selections=[selection("Fries", 9, item=ITEM_FRIES)], voided=True),
                 opened=BASE + timedelta(days=2)))
    # Shake 3.5 > Smash Burger (menu name) 2 > Fries 1; the voided line and the voided check do not count.
    assert figures(world)["favorite_item"] == "Shake"
    guest = world.guest(f"e:{EMAIL}")
    items = session.execute(select(GuestItem.name, GuestItem.quantity, GuestItem.order_count, GuestItem.last_ordered_at)
                            .where(GuestItem.guest_id == guest.id).order_by(GuestItem.name)).all()
    assert items == [("Fries", 1.0, 1, BASE), ("Shake", 3.5, 2, BASE + timedelta(days=1)), ("Smash Burger", 2.0, 1, BASE)]


def test_favorite_item_ties_are_broken_by_name(world):
    ingest(world.location, order(check(10, zoe(), selections=[selection("Tacos", 2), selection("Nachos", 2)])))
    assert figures(world)["favorite_item"] == "Nachos"


def test_servers_addresses_vehicles_and_card_types_are_recorded(world, session):
    ingest(world.location,
           order(check(10, zoe(), payments=[payment(10, card="AMEX", last4="0005")]), channel="delivery",
                 server=SERVER, delivery={"address1": "1 Main St", "city": "Boston", "state": "MA", "zipCode": "02110"}),
           order(check(10, zoe()), channel="curbside", opened=BASE + timedelta(days=1),
                 curbside={"transportColor": "Red", "transportDescription": "Honda Civic"}))
    guest = world.guest(f"e:{EMAIL}")
    facts = session.execute(select(GuestFact.kind, GuestFact.value, GuestFact.label, GuestFact.count)
                            .where(GuestFact.guest_id == guest.id).order_by(GuestFact.kind, GuestFact.value)).all()
    assert facts == [
        ("address", "1 Main St, Boston, MA, 02110", None, 1),
        ("card_type", "AMEX", None, 1), ("card_type", "VISA", None, 1),
        ("server", SERVER, "Sam Server", 1),
        ("vehicle", "Red Honda Civic", None, 1),
    ]


def test_guest_orders_rows_hold_each_orders_contribution(world, session):
    (first,) = ingest(world.location, order(check(10, zoe()), check(5, zoe()), channel="delivery"))
    (second,) = ingest(world.location, simple(email=EMAIL, voided=True, opened=BASE + timedelta(days=1)))
    rows = session.execute(select(GuestOrder.order_id, GuestOrder.channel, GuestOrder.counted, GuestOrder.check_count,
                                  GuestOrder.net_spend_cents, GuestOrder.location_id)
                           .order_by(GuestOrder.opened_at)).all()
    assert rows == [(first, "delivery", True, 2, 1500, world.location.id),
                    (second, "takeout", False, 0, 0, world.location.id)]


# --- later changes correct the figures ------------------------------------------------------------------


def test_reopened_voided_refunded_and_deleted_orders_correct_the_figures(world, session):
    data = order(check(20, zoe(), payments=[payment(20, tip=4)], selections=[selection("Shake", 1)]))
    other = simple(email=EMAIL, amount=5, opened=BASE + timedelta(days=1))
    ingest(world.location, data, other)
    assert (figures(world)["net_spend_cents"], figures(world)["order_count"]) == (2500, 2)

    # Re-opened: an item is added and the amount grows (the check rows come back with new ids).
    data["checks"][0]["amount"] = 32
    data["checks"][0]["selections"].append(selection("Burger", 3, item=ITEM_BURGER))
    data["checks"][0]["paymentStatus"] = "OPEN"
    ingest(world.location, data)
    assert (figures(world)["net_spend_cents"], figures(world)["favorite_item"]) == (3700, "Smash Burger")

    # Refunded later.
    data["checks"][0]["payments"] = [payment(32, tip=4, refund=12, tip_refund=4)]
    ingest(world.location, data)
    assert (figures(world)["net_spend_cents"], figures(world)["total_tips_cents"]) == (2500, 0)

    # Voided.
    ingest(world.location, dict(data, voided=True))
    assert (figures(world)["net_spend_cents"], figures(world)["order_count"], figures(world)["favorite_item"]) == (
        500, 1, "Burger")

    # Un-voided, then deleted (combined into another order).
    ingest(world.location, dict(data, voided=False))
    assert figures(world)["order_count"] == 2
    ingest(world.location, dict(other, deleted=True))
    assert (figures(world)["net_spend_cents"], figures(world)["order_count"]) == (2000, 1)
    assert world.guest(f"e:{EMAIL}").last_order_at == BASE


def test_an_order_change_touches_only_the_guests_involved(world):
    ingest(world.location, simple(email="a@example.com"), simple(email="b@example.com"))
    untouched = world.guest("e:b@example.com")
    before = untouched.updated_at
    ingest(world.location, simple(email="a@example.com", opened=BASE + timedelta(days=2)))
    assert world.guest("e:a@example.com").order_count == 2
    assert untouched.updated_at == before


def test_an_update_that_changes_nothing_the_profile_shows_writes_nothing(world):
    data = simple(email="a@example.com", amount=12)
    ingest(world.location, data)
    guest = world.guest("e:a@example.com")
    before = (guest.updated_at, guest.profile_digest)
    data["checks"][0]["paymentStatus"] = "CLOSED"  # a nightly closeout: a newer copy, same figures
    ingest(world.location, data)
    assert (guest.updated_at, guest.profile_digest) == before
    data["checks"][0]["amount"] = 13
    ingest(world.location, data)
    assert guest.net_spend_cents == 1300 and guest.profile_digest != before[1]


def test_orders_of_another_organization_are_ignored(world, session):
    from tests.guests.conftest import make_world

    other = make_world(session)
    (order_id,) = ingest(other.location, simple(email=EMAIL))
    apply_orders(world.org.id, [order_id])
    assert world.guests() == [] and [g.key for g in other.guests()] == [f"e:{EMAIL}"]


def test_a_change_rewrites_only_the_parts_of_the_profile_it_moves(world, session):
    data = order(check(20, zoe(), payments=[payment(20)], selections=[selection("Shake", 1)]))
    ingest(world.location, data)
    written = []
    engine = session.connection().engine

    def record(conn, cursor, statement, *args):
        if statement.startswith(("DELETE", "INSERT")):
            written.append(statement.split()[2])

    event.listen(engine, "before_cursor_execute", record)
    try:
        data["checks"][0]["payments"] = [payment(20, refund=5)]  # moves the figures only
        ingest(world.location, data)
        refund = [table for table in written if table.startswith("guest")]
        written.clear()
        data["checks"][0]["selections"] = [selection("Fries", 2, item=ITEM_FRIES)]  # and the items
        ingest(world.location, data)
        items = [table for table in written if table.startswith("guest")]
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert refund == ["guest_orders", "guest_orders"]
    assert items == ["guest_orders", "guest_orders", "guest_items", "guest_items"]  # delete + insert each
    assert figures(world)["net_spend_cents"] == 1500 and figures(world)["favorite_item"] == "Fries"
    guest = world.guest(f"e:{EMAIL}")
    assert session.scalars(select(GuestItem.name).where(GuestItem.guest_id == guest.id)).all() == ["Fries"]
    assert session.scalars(select(GuestLocation.location_id).where(GuestLocation.guest_id == guest.id)).all() == [
        world.location.id]


def test_the_location_mask_holds_a_bit_per_location_with_a_counted_order(world):
    ingest(world.location, simple(email=EMAIL))
    ingest(world.other_location, simple(email=EMAIL, voided=True, opened=BASE + timedelta(days=1)))
    guest = world.guest(f"e:{EMAIL}")
    assert guest.location_mask == 1 << world.location.slot  # the voided order's location does not count
    ingest(world.other_location, simple(email=EMAIL, opened=BASE + timedelta(days=2)))
    assert guest.location_mask == (1 << world.location.slot) | (1 << world.other_location.slot)


def _written_rows(session) -> tuple[list, callable]:
    """Record (verb, table, rows) of every DELETE and INSERT of guest link tables; returns (log, stop)."""
    written = []
    engine = session.connection().engine

    def record(conn, cursor, statement, parameters, context, executemany):
        verb, table = statement.split()[0], statement.split()[2]
        if verb in ("DELETE", "INSERT") and table.startswith("guest_") and table != "guest_checks":
            written.append((verb, table, len(parameters) if executemany else 1))

    event.listen(engine, "before_cursor_execute", record)
    return written, lambda: event.remove(engine, "before_cursor_execute", record)


def test_a_known_guests_new_order_writes_only_the_rows_it_contributes_to(world, session):
    ingest(world.location, order(
        check(20, zoe(), payments=[payment(20, card="VISA")],
              selections=[selection("Shake", 1), selection("Fries", 1, item=ITEM_FRIES), selection("Salad", 1)]),
        server=SERVER))
    written, stop = _written_rows(session)
    try:
        ingest(world.location, order(check(8, zoe(), payments=[payment(8, card="AMEX")],
                                           selections=[selection("Shake", 2)]), opened=BASE + timedelta(days=1)))
    finally:
        stop()
    # Nothing deleted; one guest_orders row, the location's row, the Shake row and the new card type.
    assert sorted(written) == [("INSERT", "guest_facts", 1), ("INSERT", "guest_items", 1),
                               ("INSERT", "guest_locations", 1), ("INSERT", "guest_orders", 1)]
    guest = world.guest(f"e:{EMAIL}")
    items = session.execute(select(GuestItem.name, GuestItem.quantity, GuestItem.order_count)
                            .where(GuestItem.guest_id == guest.id).order_by(GuestItem.name)).all()
    assert items == [("Fries", 1.0, 1), ("Salad", 1.0, 1), ("Shake", 3.0, 2)]
    facts = session.execute(select(GuestFact.kind, GuestFact.value, GuestFact.count)
                            .where(GuestFact.guest_id == guest.id).order_by(GuestFact.kind, GuestFact.value)).all()
    assert facts == [("card_type", "AMEX", 1), ("card_type", "VISA", 1), ("server", SERVER, 1)]
    assert session.execute(select(GuestLocation.order_count, GuestLocation.last_order_at)
                           .where(GuestLocation.guest_id == guest.id)).one() == (2, BASE + timedelta(days=1))


def _applying(session, monkeypatch, location, data) -> list[str]:
    """The first words of the statements ``apply_orders`` runs while the sync store ingests ``data``."""
    from portal.sync import store

    statements, applying = [], []
    engine, apply = session.connection().engine, store.apply_orders

    def applied(org_id, ids):
        applying.append(True)
        try:
            apply(org_id, ids)
        finally:
            applying.clear()

    def record(conn, cursor, statement, *args):
        if applying:
            statements.append(" ".join(statement.split()[:3]))

    monkeypatch.setattr(store, "apply_orders", applied)
    event.listen(engine, "before_cursor_execute", record)
    try:
        ingest(location, data)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return statements


def test_a_known_guests_new_order_takes_four_reads_then_one_write_round_trip(world, session, monkeypatch):
    """The webhook hot path: the order (with its screenings), its items and payments, who holds its identifiers,
    the guest's checks; then the new check and the figures are written together (one pipeline on PostgreSQL)."""
    ingest(world.location, simple(email=EMAIL))
    statements = _applying(session, monkeypatch, world.location,
                           simple(email=EMAIL.upper(), opened=BASE + timedelta(days=1)))
    verbs = [statement.split()[0] for statement in statements]
    assert verbs[:4] == ["SELECT"] * 4 and "SELECT" not in verbs[4:], statements
    assert statements[4] == "INSERT INTO guest_checks" and verbs[5] == "UPDATE"
    assert world.guest(f"e:{EMAIL}").order_count == 2


def test_a_refund_takes_four_reads_then_one_write_round_trip(world, session, monkeypatch):
    """The order, its guest_checks row, its items and payments, the guest's checks; then the changed check and
    the figures are written together."""
    data = order(check(20, zoe(), payments=[payment(20)]))
    ingest(world.location, data)
    data["checks"][0]["payments"] = [payment(20, refund=5)]
    statements = _applying(session, monkeypatch, world.location, data)
    verbs = [statement.split()[0] for statement in statements]
    assert verbs[:4] == ["SELECT"] * 4 and "SELECT" not in verbs[4:], statements
    assert statements[4] == "UPDATE guest_checks SET" and statements[5] == "UPDATE guests SET"
    assert figures(world)["net_spend_cents"] == 1500


def _profiles(world, session) -> dict:
    """Everything derived for the world's guests, with ids replaced by what names them in any world (guest key,
    order GUID, location name), so that two worlds built from the same orders compare equal."""
    from portal.models import Guest, Order

    keys = {g.id: g.key for g in world.guests()}
    orders = dict(session.execute(select(Order.id, Order.guid).where(Order.org_id == world.org.id)).all())
    locations = {world.location.id: world.location.name, world.other_location.id: world.other_location.name}
    names = {"guest_id": keys, "order_id": orders, "location_id": locations}
    skip = {"id", "org_id", "created_at", "updated_at", "profile_digest"}  # the digest hashes ids
    snapshot = {"guests": {g.key: {c.name: getattr(g, c.name) for c in Guest.__table__.c if c.name not in skip}
                           for g in world.guests()}}
    for model in (GuestOrder, GuestLocation, GuestItem, GuestFact):
        rows = session.execute(select(model.__table__).where(model.org_id == world.org.id)).mappings()
        snapshot[model.__tablename__] = sorted(
            (tuple(sorted((k, names[k][v] if k in names else v) for k, v in row.items() if k != "org_id"))
             for row in rows), key=repr)
    return snapshot


def test_profiles_built_order_by_order_equal_profiles_built_at_once_and_rebuilt(session):
    import random

    from portal.guests.service import rebuild
    from tests.guests.conftest import make_world

    day = timedelta(days=1)
    bea = customer(phone="617 555 0142", first="Bea")
    delivered = order(check(12, zoe(), selections=[selection("Shake", 1)], payments=[payment(12, card="AMEX")]),
                      channel="delivery", opened=BASE + day,
                      delivery={"address1": "1 Main St", "city": "Boston", "state": "MA", "zipCode": "02110"})
    orders = [  # (at the second location?, order)
        (False, order(check(20, zoe(), selections=[selection("Shake", 1), selection("Fries", 2, item=ITEM_FRIES)],
                            payments=[payment(20, tip=3, card="VISA")]), server=SERVER, opened=BASE)),
        (False, delivered),
        (True, order(check(9, zoe(), selections=[selection("Tacos", 3)]), opened=BASE + 2 * day,
                     channel="curbside", curbside={"transportColor": "Red"})),
        (False, order(check(30, bea, selections=[selection("Salad", 1)]), server=SERVER, opened=BASE + day)),
        (True, order(check(15, bea, selections=[selection("Shake", 2)], payments=[payment(15, refund=4)]),
                     opened=BASE + 3 * day)),
        (False, order(check(5, zoe(), voided=True, selections=[selection("Pie", 1)]), opened=BASE + 4 * day)),
        (False, order(check(7, zoe(), selections=[selection("Pie", 1)]), check(8, bea), opened=BASE + 5 * day)),
    ]
    voided_later = delivered | {"voided": True}  # corrects the profile: its address, item and spend go

    def place(world, second: bool):
        return world.other_location if second else world.location

    at_once = make_world(session)
    for second in (False, True):
        ingest(place(at_once, second), *[voided_later if data is delivered else data
                                         for where, data in orders if where == second])
    expected = _profiles(at_once, session)
    assert len(expected["guests"]) == 2 and len(expected["guest_items"]) == 7
    assert not any(row for row in expected["guest_facts"] if ("kind", "address") in row)
    rng = random.Random(6)
    for attempt in range(3):
        world = make_world(session)
        for second, data in rng.sample(orders, len(orders)):  # one sync (one apply) per order
            ingest(place(world, second), data)
        ingest(world.location, voided_later)
        assert _profiles(world, session) == expected, f"attempt {attempt}"
        digests = {g.key: g.profile_digest for g in world.guests()}
        rebuild(world.org.id)
        session.flush()
        session.expire_all()
        assert _profiles(world, session) == expected, f"attempt {attempt}, rebuilt"
        assert {g.key: g.profile_digest for g in world.guests()} == digests


def test_a_refund_and_a_new_order_of_the_same_guest_in_one_batch_equal_a_rebuild(world, session):
    from portal.guests.service import rebuild

    first = order(check(20, zoe(), payments=[payment(20, card="VISA")], selections=[selection("Shake", 1)]))
    ingest(world.location, first)
    first["checks"][0]["payments"] = [payment(20, refund=5, card="VISA")]
    ingest(world.location, first, order(check(8, zoe(), selections=[selection("Fries", 2, item=ITEM_FRIES)]),
                                        opened=BASE + timedelta(days=1)))
    assert (figures(world)["order_count"], figures(world)["net_spend_cents"]) == (2, 1500 + 800)
    batched = _profiles(world, session)
    rebuild(world.org.id)
    session.flush()
    session.expire_all()
    assert _profiles(world, session) == batched
