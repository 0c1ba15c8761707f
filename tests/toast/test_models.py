"""Payload model: every shared Toast sample, tolerance, exact cents, PayloadError messages, speed."""
import copy
import json
from datetime import datetime, timedelta, timezone

import pytest

from portal.toast import decoding
from portal.toast.errors import PayloadError
from portal.toast.models import Employee, PartnerRestaurant, RestaurantInfo, to_cents
from tests.toast.conftest import SAMPLES, sample_bytes, sample_json

UTC = timezone.utc
ORDER_SAMPLE = "order-get-single-example.json"
WEBHOOK_SAMPLE = "webhook-order_updated-example.json"
EMPLOYEES_SAMPLE = "labor-employees-example.json"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

DECODERS = {
    ORDER_SAMPLE: decoding.decode_order,
    WEBHOOK_SAMPLE: decoding.decode_order_webhook,
    EMPLOYEES_SAMPLE: lambda data: decoding.decode_list(data, Employee, "employee"),
}


def test_every_shared_sample_has_a_decoder():
    names = {path.name for path in SAMPLES.glob("*.json")}
    assert names, f"no samples found in {SAMPLES}"
    assert names == set(DECODERS), "a new sample needs a decoder (and assertions) here"


@pytest.mark.parametrize("name", sorted(DECODERS))
def test_every_sample_parses(name):
    assert DECODERS[name](sample_bytes(name))


def test_sample_order_values():
    order = decoding.decode_order(sample_bytes(ORDER_SAMPLE))
    assert order.guid == "017fdd94-4a30-4657-9475-b1a684758531"
    assert order.business_date == 20190224 and order.source == "In Store"
    assert order.opened_date == datetime(2019, 2, 24, 13, 48, 44, 206000, tzinfo=UTC)
    assert order.deleted is False and order.deleted_date == EPOCH  # placeholder kept, flag says not deleted
    assert order.voided is False and order.void_date is None and order.promised_date is None
    assert order.server.guid == "5c305143-183f-49cf-b4d5-49a610826822"
    assert order.server.entity_type == "RestaurantUser"
    assert order.dining_option.guid == "d527b5cf-96d2-41dc-92e6-8e9ca1ed36bd"
    assert order.revenue_center.guid == "9ab6a5cf-32e0-47ee-9fd3-c73507ef3c01"
    assert order.table is None and order.number_of_guests == 1 and order.duration == 54
    assert order.required_prep_time == "PT0S"

    check = order.checks[0]
    assert check.amount == 1.0 and check.amount_cents == 100
    assert check.tax_amount_cents == 6 and check.total_amount_cents == 106
    assert check.payment_status == "CLOSED" and check.tab_name == "Toasty Toaster"
    assert check.closed_date == datetime(2019, 2, 25, 11, 5, 0, 24000, tzinfo=UTC)

    payment = check.payments[0]
    assert (payment.type, payment.card_type, payment.last4_digits) == ("CREDIT", "VISA", "1111")
    assert payment.amount_cents == 106 and payment.tip_amount_cents == 0
    assert payment.paid_business_date == 20190224 and payment.payment_status == "CAPTURED"
    assert payment.refund is None and payment.refund_status == "NONE"
    assert payment.paid_date.tzinfo is not None and payment.paid_date.utcoffset() == timedelta(0)

    customer = check.customer
    assert customer.guid is None  # the sample lacks the "required" guid: accepted
    assert (customer.first_name, customer.last_name) == ("Jack", "Jones")
    assert (customer.phone, customer.email) == ("333-555-5555", "jack@example.com")

    selection = check.selections[0]
    assert selection.display_name == "test" and selection.quantity == 1.0 and selection.price == 1.0
    assert selection.item.guid == "a7b9ee4d-e41b-46ac-9ba4-d56dd7b2fb20"
    assert selection.modifiers == [] and selection.fulfillment_status == "SENT"
    tax = selection.applied_taxes[0]
    assert tax.guid is None and tax.tax_rate.guid == "d5b88c05-1348-42ef-b1d3-577a83d70a80"
    assert (tax.name, tax.rate, tax.tax_amount) == ("State Tax", 0.0625, 0.06)

    delivery = order.delivery_info
    assert (delivery.address1, delivery.city, delivery.state, delivery.zip_code) == (
        "401 Park Drive", "Boston", "MA", "02215")
    assert delivery.latitude == pytest.approx(42.3446671)
    curbside = order.curbside_pickup_info
    assert (curbside.transport_color, curbside.transport_description) == ("blue", "Street Cruiser")
    assert curbside.guid is None


def test_webhook_sample_values():
    event = decoding.decode_order_webhook(sample_bytes(WEBHOOK_SAMPLE))
    assert event.guid == "534bf25a-b657-45aa-9a63-47f8f35400d6"
    assert event.event_type == "order_updated" and event.event_category == "order_updated"
    assert event.timestamp == datetime(2024, 3, 28, 15, 11, 1, 50000, tzinfo=UTC)
    assert event.details.restaurant_guid == "0cd990c9-fd74-461d-8468-de2a0919ccbba"  # not a valid UUID: kept
    order = event.details.order
    assert order.guid == "f6d98b95-2816-4f54-b1ab-7a5d71e83769"
    assert order.approval_status == "APPROVED" and order.pricing_features == ["TAXESV2"]
    assert order.revenue_center is None and order.delivery_info is None and order.duration is None
    assert [c.display_number for c in order.checks] == ["2", "1"]
    assert all(c.customer is None and c.amount_cents == 0 and c.payments == [] for c in order.checks)
    assert order.estimated_fulfillment_date == datetime(2024, 4, 1, 15, 9, 30, 223000, tzinfo=UTC)


def test_employees_sample_values():
    first, second = decoding.decode_list(sample_bytes(EMPLOYEES_SAMPLE), Employee, "employee")
    assert (first.guid, first.first_name, first.chosen_name, first.last_name) == (
        "b7946411-7d45-4beb-9bfc-0ec731da7b45", "Jean-Guy", "Jean", "Mercier")
    assert first.deleted is False and first.deleted_date == EPOCH and first.disabled is False
    assert first.external_employee_id == "1234567890" and first.email == "jmercier@arestaurant.com"
    assert first.job_references[0].guid == "34ff8f6e-15e6-4ec1-b496-f57fc18fa0c6"
    assert first.wage_overrides == []
    assert second.deleted is True
    assert second.deleted_date == datetime(2016, 11, 23, 15, 54, 23, 634000, tzinfo=UTC)
    assert second.external_employee_id == ""


@pytest.mark.parametrize(
    ("amount", "cents"),
    [(1.0, 100), (1.06, 106), (19.99, 1999), (0.125, 12), (0.135, 14), (0.1 + 0.2, 30), (2, 200),
     (-4.5, -450), (1234567.89, 123456789), (None, None)],
)
def test_to_cents_is_exact_with_half_even_rounding(amount, cents):
    assert to_cents(amount) == cents


def test_nulls_missing_fields_and_unknown_fields_are_accepted():
    body = {"guid": "o-1", "checks": [{"selections": None, "payments": None, "customer": None,
                                        "amount": None, "newToastField": {"x": 1}}],
            "pricingFeatures": None, "deliveryInfo": None, "someFutureField": [1, 2]}
    order = decoding.decode_order(json.dumps(body).encode())
    check = order.checks[0]
    assert check.selections == [] and check.payments == [] and check.applied_discounts == []
    assert check.amount is None and check.amount_cents is None and check.guid is None
    assert order.pricing_features == [] and order.voided is False and order.deleted is False
    assert decoding.decode_order(b'{"checks": null}').checks == []


def test_modifiers_nest_recursively_and_refunds_parse():
    leaf = {"displayName": "extra cheese", "price": 0.5, "modifiers": None}
    middle = {"displayName": "cheese", "price": 1.0, "modifiers": [leaf]}
    payment = {"type": "CREDIT", "amount": 10.0, "tipAmount": 2.0, "refundStatus": "PARTIAL",
               "refund": {"refundAmount": 5.5, "tipRefundAmount": 1.25, "refundDate": "2024-02-01T10:00:00.000+0000",
                          "refundBusinessDate": 20240201}}
    body = {"guid": "o-2", "checks": [{"selections": [{"displayName": "pizza", "modifiers": [middle]}],
                                       "payments": [payment]}]}
    check = decoding.decode_order(json.dumps(body).encode()).checks[0]
    assert check.selections[0].modifiers[0].modifiers[0].display_name == "extra cheese"
    assert check.selections[0].modifiers[0].modifiers[0].modifiers == []
    refund = check.payments[0].refund
    assert (refund.refund_amount_cents, refund.tip_refund_amount_cents) == (550, 125)
    assert refund.refund_date == datetime(2024, 2, 1, 10, tzinfo=UTC)


def test_timestamps_in_other_spellings_stay_aware():
    body = {"openedDate": "2024-01-01T10:00:00Z", "closedDate": "2024-01-01T10:00:00.123456+00:00",
            "paidDate": "2024-01-01T14:00:00.000+0400"}
    order = decoding.decode_order(json.dumps(body).encode())
    assert order.opened_date == datetime(2024, 1, 1, 10, tzinfo=UTC)
    assert order.closed_date.microsecond == 123456
    assert order.paid_date == datetime(2024, 1, 1, 10, tzinfo=UTC)  # same instant, still aware


def _bad_order(mutate):
    body = copy.deepcopy(sample_json(ORDER_SAMPLE))
    mutate(body)
    return body


def test_bad_amount_names_field_path_and_order_guid():
    body = _bad_order(lambda o: o["checks"][0].__setitem__("amount", "abc"))
    with pytest.raises(PayloadError) as info:
        decoding.decode_order(json.dumps(body).encode())
    assert str(info.value) == "order 017fdd94-4a30-4657-9475-b1a684758531: checks[0].amount: expected a number, got 'abc'"
    assert info.value.path == "checks[0].amount"
    assert info.value.order_guid == "017fdd94-4a30-4657-9475-b1a684758531"


def test_bad_field_in_a_bulk_page_names_the_right_order():
    good = sample_json(ORDER_SAMPLE)
    bad = _bad_order(lambda o: o["checks"][0]["selections"][0].__setitem__("modifiers", [{"price": [1]}]))
    bad["guid"] = "bad-order-guid"
    with pytest.raises(PayloadError) as info:
        decoding.decode_orders(json.dumps([good, bad]).encode())
    assert str(info.value) == ("order bad-order-guid: checks[0].selections[0].modifiers[0].price: "
                               "expected a number, got [1]")
    assert info.value.order_guid == "bad-order-guid"


def test_bad_order_without_guid_is_named_by_position():
    with pytest.raises(PayloadError, match=r"^order \(no guid, #1\): businessDate: expected an integer, got '2024'$"):
        decoding.decode_orders(b'[{"guid": "ok"}, {"businessDate": "2024"}]')


def test_pii_values_never_appear_in_the_message():
    body = _bad_order(lambda o: o["checks"][0]["customer"].__setitem__("email", ["jack@example.com"]))
    with pytest.raises(PayloadError) as info:
        decoding.decode_order(json.dumps(body).encode())
    assert "checks[0].customer.email: expected a string, got an array (value not shown)" in str(info.value)
    assert "jack@example.com" not in str(info.value)


def test_timestamp_without_offset_is_rejected():
    body = _bad_order(lambda o: o.__setitem__("openedDate", "2019-02-24T13:48:44"))
    with pytest.raises(PayloadError, match="openedDate: expected a timestamp with a UTC offset, got '2019-02-24T13:48:44'"):
        decoding.decode_order(json.dumps(body).encode())


def test_bad_type_in_webhook_names_the_order_and_other_payloads_name_the_item():
    event = sample_json(WEBHOOK_SAMPLE)
    event["details"]["order"]["checks"][1]["voided"] = "no"
    with pytest.raises(PayloadError, match=r"^order f6d98b95-\S+: checks\[1\]\.voided: expected a boolean, got 'no'$"):
        decoding.decode_order_webhook(json.dumps(event).encode())
    employees = sample_json(EMPLOYEES_SAMPLE)
    employees[1]["createdDate"] = 5
    with pytest.raises(PayloadError, match=r"^employee abbafa20-\S+: createdDate: expected a timestamp, got 5$") as info:
        decoding.decode_list(json.dumps(employees).encode(), Employee, "employee")
    assert info.value.order_guid is None


def test_invalid_json_is_a_payload_error():
    with pytest.raises(PayloadError, match="ordersBulk: not valid JSON"):
        decoding.decode_orders(b'[{"guid": ')
    with pytest.raises(PayloadError, match=r"ordersBulk: \(whole body\): expected an array, got"):
        decoding.decode_orders(b'{"guid": "x"}')


def test_restaurant_and_partner_payloads():
    info = decoding.decode(json.dumps({
        "guid": "r-1", "general": {"name": "Bistro", "locationName": "Back Bay", "timeZone": "America/New_York",
                                   "closeoutHour": 4, "managementGroupGuid": "mg-1", "archived": False},
        "location": {"address1": "1 Main St", "city": "Boston", "stateCode": "MA", "administrativeArea": "MA",
                     "zipCode": "02116", "country": "US"}, "schedules": {"daySchedules": {}}}).encode(),
        RestaurantInfo, "restaurant")
    assert (info.general.name, info.general.time_zone, info.general.closeout_hour) == ("Bistro", "America/New_York", 4)
    assert (info.general.management_group_guid, info.location.administrative_area) == ("mg-1", "MA")
    partners = decoding.decode_list(json.dumps([{
        "restaurantGuid": "r-1", "managementGroupGuid": "mg-1", "restaurantName": "Bistro", "deleted": False,
        "createdDate": 1678823073353, "isoCreatedDate": "2023-03-14T19:44:33.353Z",
        "isoModifiedDate": "2023-03-12T08:32:34.008000Z"}]).encode(), PartnerRestaurant, "partner restaurant")
    assert partners[0].restaurant_guid == "r-1" and partners[0].created_date == 1678823073353
    assert partners[0].iso_modified_date == datetime(2023, 3, 12, 8, 32, 34, 8000, tzinfo=UTC)
