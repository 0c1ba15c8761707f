from sqlalchemy import func, select

from portal.models import CheckPayment, Order, OrderCheck
from portal.sync.store import store_orders
from tests import factories
from tests.toast_payloads import order_dict, to_order


def location(session):
    return factories.LocationFactory()


def test_sample_order_is_stored_with_exact_cents_and_customer(session):
    loc = location(session)
    data = order_dict()
    result = store_orders(loc, [to_order(data)])
    order = session.get(Order, result.written[0])
    check = order.checks[0]
    assert (order.guid, order.business_date, order.dining_option_guid) == (data["guid"], 20190224, data["diningOption"]["guid"])
    assert (check.amount_cents, check.tax_cents, check.total_cents) == (100, 6, 106)
    assert (check.customer_first_name, check.customer_email) == ("Jack", "jack@example.com")
    payment = check.payments[0]
    assert (payment.card_type, payment.last4, payment.amount_cents, payment.tip_cents) == ("VISA", "1111", 106, 0)
    assert check.selections[0].display_name == "test" and check.selections[0].price_cents == 100
    assert order.delivery_info["city"] == "Boston" and order.curbside_info["transport_color"] == "blue"


def test_newer_copy_replaces_and_older_copy_is_ignored(session):
    loc = location(session)
    data = order_dict(modifiedDate="2019-02-25T11:05:00.024+0000")
    store_orders(loc, [to_order(data)])

    newer = {**data, "modifiedDate": "2019-02-26T09:00:00.000+0000", "voided": True}
    newer["checks"] = [{**data["checks"][0], "amount": 2.5}]
    assert len(store_orders(loc, [to_order(newer)]).written) == 1

    older = {**data, "modifiedDate": "2019-02-24T13:50:00.000+0000", "voided": False}
    result = store_orders(loc, [to_order(older)])
    assert (result.written, result.stale) == ([], 1)

    order = session.scalar(select(Order).where(Order.guid == data["guid"]))
    assert order.voided is True
    assert [check.amount_cents for check in order.checks] == [250]
    assert session.scalar(select(func.count(OrderCheck.id)).where(OrderCheck.order_id == order.id)) == 1
    assert session.scalar(select(func.count(CheckPayment.id)).where(CheckPayment.org_id == loc.org_id)) == 1


def test_replaying_the_same_copy_changes_nothing(session):
    loc = location(session)
    order = to_order(order_dict())
    store_orders(loc, [order])
    assert store_orders(loc, [order]).stale == 1
    assert session.scalar(select(func.count(Order.id)).where(Order.location_id == loc.id)) == 1


def test_refund_amounts_are_kept_per_payment(session):
    loc = location(session)
    data = order_dict()
    payment = {**data["checks"][0]["payments"][0], "refundStatus": "PARTIAL", "tipAmount": 0.2,
               "refund": {"refundAmount": 0.33, "tipRefundAmount": 0.1}}
    data["checks"] = [{**data["checks"][0], "payments": [payment]}]
    store_orders(loc, [to_order(data)])
    stored = session.scalar(select(CheckPayment).where(CheckPayment.org_id == loc.org_id))
    assert (stored.refund_cents, stored.tip_refund_cents, stored.tip_cents) == (33, 10, 20)
