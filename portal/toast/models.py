"""Typed, tolerant model of Toast payloads (msgspec Structs, snake_case attributes).

Tolerant: unknown fields are ignored, every field is optional, nulls are accepted (null lists become
[]), enums stay plain strings so a new Toast value never breaks a sync. Strict on types: a wrong type
raises PayloadError naming the field path and the order GUID (see ``portal.toast.decoding``).

Amounts are floats as Toast sends them; ``to_cents`` converts exactly for the CRM. Timestamps are
aware datetimes (Toast sends UTC; a timestamp without an offset is a PayloadError). A not-deleted
entity carries Toast's placeholder ``deletedDate`` 1970-01-01: trust ``deleted``, not the date.
"""
from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated, ClassVar

import msgspec
from msgspec.structs import force_setattr

Timestamp = Annotated[datetime, msgspec.Meta(tz=True)]
_CENT = Decimal(1)


def to_cents(amount: float | int | None) -> int | None:
    """Money as integer cents, exactly: round half-even on ``Decimal(str(amount)) * 100``."""
    if amount is None:
        return None
    return int((Decimal(str(amount)) * 100).quantize(_CENT, rounding=ROUND_HALF_EVEN))


class Model(msgspec.Struct, rename="camel", omit_defaults=True, frozen=True, gc=False):
    """Base of every payload struct. Toast sometimes sends null for a collection: the fields named
    in ``_lists`` / ``_maps`` then become [] / {} so callers can iterate without guards."""

    _lists: ClassVar[tuple[str, ...]] = ()
    _maps: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        for name in self._lists:
            if getattr(self, name) is None:
                force_setattr(self, name, [])
        for name in self._maps:
            if getattr(self, name) is None:
                force_setattr(self, name, {})


class ToastReference(Model):
    guid: str | None = None
    entity_type: str | None = None


class ExternalReference(ToastReference):
    external_id: str | None = None


class ConfigReference(ExternalReference):
    multi_location_id: str | None = None


class Customer(ToastReference):
    """Guest on a check: only on TAKE_OUT/DELIVERY orders, needs ``guest.pi:read``; may hold only a guid."""

    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    phone_country_code: str | None = None
    email: str | None = None


class DeliveryInfo(Model):
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    administrative_area: str | None = None
    state: str | None = None
    zip_code: str | None = None
    country: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    notes: str | None = None
    delivered_date: Timestamp | None = None
    dispatched_date: Timestamp | None = None
    delivery_employee: ExternalReference | None = None
    delivery_state: str | None = None


class CurbsidePickupInfo(ToastReference):
    transport_color: str | None = None
    transport_description: str | None = None
    notes: str | None = None


class AppliedTax(ToastReference):
    tax_rate: ToastReference | None = None
    name: str | None = None
    rate: float | None = None
    tax_amount: float | None = None
    type: str | None = None


class AppliedDiscount(ExternalReference):
    name: str | None = None
    discount_amount: float | None = None
    non_tax_discount_amount: float | None = None
    discount: ExternalReference | None = None
    discount_type: str | None = None
    discount_percent: float | None = None
    processing_state: str | None = None
    applied_promo_code: str | None = None


class AppliedServiceCharge(ExternalReference):
    _lists = ("applied_taxes",)
    name: str | None = None
    charge_amount: float | None = None
    service_charge: ExternalReference | None = None
    charge_type: str | None = None
    gratuity: bool | None = None
    taxable: bool | None = None
    dine_in: bool | None = None
    takeout: bool | None = None
    delivery: bool | None = None
    service_charge_category: str | None = None
    service_charge_calculation: str | None = None
    applied_taxes: list[AppliedTax] | None = []


class AppliedLoyaltyInfo(ToastReference):
    loyalty_identifier: str | None = None
    masked_loyalty_identifier: str | None = None
    vendor: str | None = None
    accrual_family_guid: str | None = None
    accrual_text: str | None = None


class RefundDetails(Model):
    refund_amount: float | None = None
    tax_refund_amount: float | None = None
    refund_transaction: ToastReference | None = None


class Selection(ExternalReference):
    """A line on a check; ``modifiers`` are Selections too and nest arbitrarily deep."""

    _lists = ("modifiers", "applied_discounts", "applied_taxes")
    display_name: str | None = None
    item: ExternalReference | None = None
    item_group: ExternalReference | None = None
    option_group: ExternalReference | None = None
    pre_modifier: ExternalReference | None = None
    sales_category: ExternalReference | None = None
    dining_option: ExternalReference | None = None
    quantity: float | None = None
    unit_of_measure: str | None = None
    price: float | None = None
    pre_discount_price: float | None = None
    receipt_line_price: float | None = None
    tax: float | None = None
    tax_inclusion: str | None = None
    voided: bool | None = False
    void_date: Timestamp | None = None
    void_business_date: int | None = None
    void_reason: ExternalReference | None = None
    deferred: bool | None = None
    selection_type: str | None = None
    fulfillment_status: str | None = None
    option_group_pricing_mode: str | None = None
    plu: str | None = None
    seat_number: int | None = None
    created_date: Timestamp | None = None
    modified_date: Timestamp | None = None
    refund_details: RefundDetails | None = None
    modifiers: list[Selection] | None = []
    applied_discounts: list[AppliedDiscount] | None = []
    applied_taxes: list[AppliedTax] | None = []


class Refund(Model):
    refund_amount: float | None = None
    tip_refund_amount: float | None = None
    refund_date: Timestamp | None = None
    refund_business_date: int | None = None
    refund_transaction: ToastReference | None = None

    @property
    def refund_amount_cents(self) -> int | None:
        return to_cents(self.refund_amount)

    @property
    def tip_refund_amount_cents(self) -> int | None:
        return to_cents(self.tip_refund_amount)


class VoidInfo(Model):
    void_user: ExternalReference | None = None
    void_approver: ExternalReference | None = None
    void_date: Timestamp | None = None
    void_business_date: int | None = None
    void_reason: ExternalReference | None = None


class Payment(ExternalReference):
    """``amount`` excludes the tip; ``tip_amount`` is the tip (checks have no tip field)."""

    type: str | None = None
    amount: float | None = None
    tip_amount: float | None = None
    amount_tendered: float | None = None
    card_type: str | None = None
    card_entry_mode: str | None = None
    last4_digits: str | None = None
    first6_digits: str | None = None
    paid_date: Timestamp | None = None
    paid_business_date: int | None = None
    payment_status: str | None = None
    refund_status: str | None = None
    refund: Refund | None = None
    void_info: VoidInfo | None = None
    server: ExternalReference | None = None
    cash_drawer: ExternalReference | None = None
    other_payment: ExternalReference | None = None
    house_account: ExternalReference | None = None
    order_guid: str | None = None
    check_guid: str | None = None
    original_processing_fee: float | None = None
    card_payment_id: str | None = None

    @property
    def amount_cents(self) -> int | None:
        return to_cents(self.amount)

    @property
    def tip_amount_cents(self) -> int | None:
        return to_cents(self.tip_amount)


class Check(ExternalReference):
    """``amount``: after discounts/service charges, before tax; ``total_amount``: with tax, not refunds."""

    _lists = ("selections", "payments", "applied_discounts", "applied_service_charges")
    display_number: str | None = None
    tab_name: str | None = None
    amount: float | None = None
    tax_amount: float | None = None
    total_amount: float | None = None
    tax_exempt: bool | None = None
    payment_status: str | None = None
    customer: Customer | None = None
    applied_loyalty_info: AppliedLoyaltyInfo | None = None
    opened_by: ExternalReference | None = None
    opened_date: Timestamp | None = None
    created_date: Timestamp | None = None
    modified_date: Timestamp | None = None
    paid_date: Timestamp | None = None
    closed_date: Timestamp | None = None
    voided: bool | None = False
    void_date: Timestamp | None = None
    void_business_date: int | None = None
    deleted: bool | None = False
    deleted_date: Timestamp | None = None
    duration: int | None = None
    selections: list[Selection] | None = []
    payments: list[Payment] | None = []
    applied_discounts: list[AppliedDiscount] | None = []
    applied_service_charges: list[AppliedServiceCharge] | None = []

    @property
    def amount_cents(self) -> int | None:
        return to_cents(self.amount)

    @property
    def tax_amount_cents(self) -> int | None:
        return to_cents(self.tax_amount)

    @property
    def total_amount_cents(self) -> int | None:
        return to_cents(self.total_amount)


class Order(ExternalReference):
    """One Toast order (``GET /orders/v2/orders/{guid}``, items of ``/ordersBulk``, webhook ``details.order``)."""

    _lists = ("checks", "pricing_features")
    display_number: str | None = None
    source: str | None = None
    business_date: int | None = None
    opened_date: Timestamp | None = None
    created_date: Timestamp | None = None
    modified_date: Timestamp | None = None
    promised_date: Timestamp | None = None
    estimated_fulfillment_date: Timestamp | None = None
    paid_date: Timestamp | None = None
    closed_date: Timestamp | None = None
    voided: bool | None = False
    void_date: Timestamp | None = None
    void_business_date: int | None = None
    deleted: bool | None = False
    deleted_date: Timestamp | None = None
    dining_option: ExternalReference | None = None
    server: ExternalReference | None = None
    revenue_center: ExternalReference | None = None
    restaurant_service: ExternalReference | None = None
    table: ExternalReference | None = None
    service_area: ExternalReference | None = None
    delivery_info: DeliveryInfo | None = None
    curbside_pickup_info: CurbsidePickupInfo | None = None
    number_of_guests: int | None = None
    duration: int | None = None
    required_prep_time: str | None = None
    approval_status: str | None = None
    channel_guid: str | None = None
    created_in_test_mode: bool | None = None
    excess_food: bool | None = None
    pricing_features: list[str] | None = []
    checks: list[Check] | None = []


class OrderWebhookDetails(Model):
    restaurant_guid: str | None = None
    order: Order | None = None


class OrderWebhookEvent(Model):
    """Body of an ``order_updated`` webhook; PII (names, phone, address) is stripped by Toast."""

    timestamp: Timestamp | None = None
    event_category: str | None = None
    event_type: str | None = None
    guid: str | None = None
    details: OrderWebhookDetails | None = None


# --- configuration and labor -------------------------------------------------------------------


class DiningOption(ConfigReference):
    """``behavior``: DINE_IN | TAKE_OUT | DELIVERY; curbside is TAKE_OUT with ``curbside`` true."""

    name: str | None = None
    behavior: str | None = None
    curbside: bool | None = False


class RevenueCenter(ConfigReference):
    name: str | None = None
    description: str | None = None


class WageOverride(Model):
    wage: float | None = None
    job_reference: ExternalReference | None = None


class Employee(ExternalReference):
    """``guid`` matches ``Order.server.guid`` (entityType RestaurantUser)."""

    _lists = ("job_references", "wage_overrides")
    first_name: str | None = None
    chosen_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone_number: str | None = None
    phone_number_country_code: str | None = None
    external_employee_id: str | None = None
    v2_employee_guid: str | None = None
    deleted: bool | None = False
    disabled: bool | None = None
    created_date: Timestamp | None = None
    modified_date: Timestamp | None = None
    deleted_date: Timestamp | None = None
    job_references: list[ExternalReference] | None = []
    wage_overrides: list[WageOverride] | None = []


# --- restaurants and partners ------------------------------------------------------------------


class RestaurantGeneral(Model):
    """``time_zone`` is IANA; ``closeout_hour`` (0-12, restaurant-local) ends the business day."""

    name: str | None = None
    location_name: str | None = None
    location_code: str | None = None
    description: str | None = None
    time_zone: str | None = None
    closeout_hour: int | None = None
    management_group_guid: str | None = None
    currency_code: str | None = None
    first_business_date: int | None = None
    archived: bool | None = False


class RestaurantLocation(Model):
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    state_code: str | None = None
    administrative_area: str | None = None
    zip_code: str | None = None
    country: str | None = None
    phone: str | None = None
    phone_country_code: str | None = None
    latitude: float | None = None
    longitude: float | None = None


class RestaurantInfo(Model):
    """``GET /restaurants/v1/restaurants/{guid}`` (urls, schedules, delivery, prep times ignored)."""

    guid: str | None = None
    general: RestaurantGeneral | None = None
    location: RestaurantLocation | None = None


class RestaurantRef(Model):
    """An item of ``GET /restaurants/v1/groups/{guid}/restaurants``."""

    guid: str | None = None


class PartnerRestaurant(Model):
    """``PartnerAccessExternalRep``; ``created_date``/``modified_date`` are epoch milliseconds."""

    restaurant_guid: str | None = None
    management_group_guid: str | None = None
    restaurant_name: str | None = None
    location_name: str | None = None
    deleted: bool | None = False
    created_by_email_address: str | None = None
    external_group_ref: str | None = None
    external_restaurant_ref: str | None = None
    created_date: int | None = None
    modified_date: int | None = None
    iso_created_date: Timestamp | None = None
    iso_modified_date: Timestamp | None = None


class PartnerRestaurantPage(Model):
    """``PaginatedResponse`` of ``/partners/v1/connectedRestaurants``."""

    _lists = ("results",)
    results: list[PartnerRestaurant] | None = []
    next_page_token: str | None = None
    current_page_token: str | None = None
    total_count: int | None = None
    page_size: int | None = None
