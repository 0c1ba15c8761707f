"""The SQL helpers of the hot paths behave the same on SQLite and PostgreSQL."""
import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.dbutil import pipelined, upsert
from portal.models import GuestItem
from tests import factories


def _guest(session):
    from portal.models import Guest

    org = factories.OrganizationFactory()
    guest = Guest(org_id=org.id, key="e:a@example.com")
    session.add(guest)
    session.flush()
    return guest


def _item(guest, name: str, quantity: float) -> dict:
    return {"guest_id": guest.id, "org_id": guest.org_id, "name": name, "item_guid": None, "quantity": quantity,
            "order_count": 1, "last_ordered_at": None}


def _items(session, guest) -> list:
    return session.execute(select(GuestItem.name, GuestItem.quantity).where(GuestItem.guest_id == guest.id)
                           .order_by(GuestItem.name)).all()


def test_upsert_inserts_new_rows_and_updates_existing_ones(session):
    guest = _guest(session)
    conn = session.connection()
    conn.execute(upsert(conn, GuestItem), [_item(guest, "Fries", 1), _item(guest, "Shake", 2)])
    conn.execute(upsert(conn, GuestItem), [_item(guest, "Shake", 5), _item(guest, "Tacos", 1)])
    assert _items(session, guest) == [("Fries", 1.0), ("Shake", 5.0), ("Tacos", 1.0)]


def test_pipelined_writes_are_all_applied_when_the_block_ends(session):
    guest = _guest(session)
    conn = session.connection()
    with pipelined(conn):
        conn.execute(GuestItem.__table__.insert(), [_item(guest, "Fries", 1)])
        conn.execute(GuestItem.__table__.update().values(quantity=3))
        conn.execute(upsert(conn, GuestItem), [_item(guest, "Shake", 2)])
    assert _items(session, guest) == [("Fries", 3.0), ("Shake", 2.0)]


def test_a_failing_pipelined_write_raises_sqlalchemys_error_and_rolls_back_cleanly(session):
    guest = _guest(session)
    session.connection().execute(GuestItem.__table__.insert(), [_item(guest, "Fries", 1)])
    savepoint = session.begin_nested()
    conn = session.connection()  # inside the savepoint
    with pytest.raises(IntegrityError):
        with pipelined(conn):
            conn.execute(GuestItem.__table__.update().values(quantity=9))
            conn.execute(GuestItem.__table__.insert(), [_item(guest, "Fries", 1)])  # the same key again
    savepoint.rollback()
    assert _items(session, guest) == [("Fries", 1.0)]  # nothing of the block stayed; the connection still works
