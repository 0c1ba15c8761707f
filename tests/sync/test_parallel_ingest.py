"""Pages of one organization stored at the same moment by two workers: both succeed, nothing is doubled."""
import threading

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Guest, Location, Order
from portal.sync.store import store_orders
from tests import factories
from tests.toast_payloads import order_dict, to_order

OTHER_WAITS_S = 1.0  # how long a worker that has stored waits for the other to have stored too before committing


@pytest.mark.parametrize("case", ["two locations share a guest", "a webhook and a backfill page store one order"])
def test_two_workers_storing_at_once_both_succeed_with_one_guest(app, committed, case):
    first = factories.LocationFactory()
    second = factories.LocationFactory(connection=first.connection) if case.startswith("two") else first
    committed.commit()
    same_order = order_dict()  # every copy of the sample order has the same customer (jack@example.com)
    pages = [(first.id, same_order), (second.id, order_dict() if second is not first else same_order)]
    org_id = first.org_id
    stored, errors = [threading.Event(), threading.Event()], []

    def worker(index: int, location_id: int, data: dict) -> None:
        with app.app_context():
            try:
                store_orders(db.session.get(Location, location_id), [to_order(data)])
                stored[index].set()
                # Without the organization's lock both would now hold an uncommitted guest (or order): wait for the
                # other so that the race is certain, not left to timing. With it the other is still waiting.
                stored[1 - index].wait(OTHER_WAITS_S)
                db.session.commit()
            except Exception as exc:  # noqa: BLE001 - reported by the test below
                errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(index, *page)) for index, page in enumerate(pages)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    committed.rollback()
    assert committed.scalar(select(func.count()).select_from(Guest).where(Guest.org_id == org_id)) == 1
    orders = committed.scalar(select(func.count()).select_from(Order).where(Order.org_id == org_id))
    assert orders == (2 if second is not first else 1)
