"""The order-level document of a generated order: references, channel fields, delivery and curbside details."""
import random
from dataclasses import dataclass

from toast_sandbox.generator_checks import ref
from toast_sandbox.generator_events import OPENED_TO_CREATED_MS, OPENED_TO_MODIFIED_MS
from toast_sandbox.generator_people import Guest
from toast_sandbox.generator_venues import Entity, Restaurant
from toast_sandbox.randomness import EPOCH_TS, MINUTE_MS, from_ms, new_guid, ts

DINING_OPTION_OF = {"dine_in": 0, "takeout": 1, "curbside": 2, "delivery": 3, "thirdparty": 4}
ONLINE_SOURCES = ("Online", "Toast Pickup App", "Branded Online Ordering")
CAR_COLORS = ("blue", "silver", "black", "white", "red", "green")
CAR_MODELS = ("Honda Civic", "Toyota RAV4", "Subaru Outback", "Ford F-150", "Tesla Model 3", "VW Golf")
DELIVERY_NOTES = ("", "", "Leave at the door", "Ring the bell twice", "Call on arrival", "Buzzer 4B")


@dataclass(slots=True)
class OrderContext:
    """What every part of one generated order needs to agree on."""
    rng: random.Random
    restaurant: Restaurant
    kind: str
    channel: str
    created_ms: int
    business_date: int
    guest: Guest | None
    guid: str = ""
    server: dict | None = None
    device: str = ""
    mistake_check: str | None = None

    def __post_init__(self):
        self.guid = new_guid(self.rng)

    @property
    def dining_option(self) -> Entity:
        """Dine In, Take Out, Curbside, Delivery or DoorDash Delivery."""
        return self.restaurant.dining_options[DINING_OPTION_OF[self.kind]]

    @property
    def local_hour(self) -> float:
        """Local wall-clock hour the order was opened (0-24)."""
        local = from_ms(self.created_ms).astimezone(self.restaurant.tz)
        return local.hour + local.minute / 60

    @property
    def online(self) -> bool:
        """Placed by the guest through a digital channel (prepaid, tip known at payment)."""
        return self.channel in ("takeout_online", "curbside", "delivery", "thirdparty")

    def check_context(self) -> dict:
        """The per-check context ``generator_checks.build_check`` expects."""
        return {"opened_ms": self.created_ms, "dining_option": ref(self.dining_option.guid, "DiningOption"),
                "device": self.device, "server": self.server}

    def loyalty_info(self) -> dict:
        """``AppliedLoyaltyInfo`` of a Toast-loyalty guest."""
        identifier = self.guest.loyalty_id
        return {"guid": new_guid(self.rng), "entityType": "AppliedLoyaltyInfo", "loyaltyIdentifier": identifier,
                "maskedLoyaltyIdentifier": "*" * 12 + identifier[-4:], "vendor": "TOAST",
                "accrualFamilyGuid": self.guest.guid, "accrualText": f"Earned {self.rng.randrange(10, 120)} points"}


def order_document(context: OrderContext, checks: list[dict], guests: int) -> dict:
    """The ``Order`` as it looks right after it was opened (nothing paid yet)."""
    rng, restaurant, created = context.rng, context.restaurant, context.created_ms
    promised = None if context.kind == "dine_in" else created + rng.randrange(20, 36) * MINUTE_MS
    services = restaurant.services
    return {
        "guid": context.guid, "entityType": "Order",
        "externalId": f"DD-{rng.randrange(10**8, 10**9)}" if context.kind == "thirdparty" else None,
        "revenueCenter": ref(_revenue_center(context).guid, "RevenueCenter"), "server": context.server,
        "createdInTestMode": False, "lastModifiedDevice": {"id": context.device}, "source": _source(context),
        "voidDate": None, "duration": None, "businessDate": context.business_date, "paidDate": None,
        "restaurantService": ref((services[0] if context.local_hour < 16 and context.local_hour > 5
                                  else services[1]).guid, "RestaurantService"),
        "excessFood": False, "voided": False, "estimatedFulfillmentDate": ts(promised),
        "table": _table(context), "requiredPrepTime": "PT0S" if promised is None else "PT20M",
        "approvalStatus": "APPROVED", "deliveryInfo": _delivery_info(context), "serviceArea": None,
        "curbsidePickupInfo": _curbside(context), "numberOfGuests": guests,
        "diningOption": ref(context.dining_option.guid, "DiningOption"), "appliedPackagingInfo": None,
        "openedDate": ts(created), "voidBusinessDate": None, "checks": checks, "deleted": False,
        "createdDevice": {"id": context.device}, "createdDate": ts(created + OPENED_TO_CREATED_MS),
        "closedDate": None, "deletedDate": EPOCH_TS, "modifiedDate": ts(created + OPENED_TO_MODIFIED_MS),
        "promisedDate": ts(promised),
        "channelGuid": None, "pricingFeatures": ["TAXESV3"], "displayNumber": "",
        "marketplaceFacilitatorTaxInfo": ({"facilitatorCollectAndRemitTaxOrder": True, "taxes": []}
                                          if context.kind == "thirdparty" else None),
    }


def _source(context: OrderContext) -> str:
    if context.kind == "dine_in":
        return "In Store"
    if context.kind == "thirdparty":
        return "API"
    if context.channel == "takeout_phone":
        return context.rng.choice(("In Store", "Caller Id"))
    return context.rng.choice(ONLINE_SOURCES) if context.kind == "takeout" else "Online"


def _revenue_center(context: OrderContext) -> Entity:
    dining_room, bar, patio, online = context.restaurant.revenue_centers
    if context.kind != "dine_in":
        return dining_room if context.channel == "takeout_phone" else online
    if context.local_hour >= 22 or context.local_hour < 4:
        return bar
    return context.rng.choices((dining_room, bar, patio), (0.7, 0.2, 0.1))[0]


def _table(context: OrderContext) -> dict | None:
    if context.kind != "dine_in":
        return None
    return ref(context.rng.choice(context.restaurant.tables).guid, "Table")


def _delivery_info(context: OrderContext) -> dict | None:
    if context.kind not in ("delivery", "thirdparty"):
        return None
    address = context.guest.address
    return {
        "address1": address.line1, "address2": address.line2, "city": address.city,
        "administrativeArea": None, "state": address.state, "zipCode": address.zip_code, "country": "US",
        "latitude": address.latitude, "longitude": address.longitude,
        "notes": context.rng.choice(DELIVERY_NOTES), "deliveredDate": None, "dispatchedDate": None,
        "deliveryEmployee": None, "deliveryState": "PENDING",
    }


def _curbside(context: OrderContext) -> dict | None:
    if context.kind != "curbside":
        return None
    rng = context.rng
    return {"guid": new_guid(rng), "entityType": "CurbsidePickup", "transportColor": rng.choice(CAR_COLORS),
            "transportDescription": rng.choice(CAR_MODELS), "notes": rng.choice(("", "Parked by the side door"))}
