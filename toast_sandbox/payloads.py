"""JSON documents of the non-order endpoints: restaurants, partners, configuration, labor, menus.

Order documents are generated whole (generator_orders); what a client sees of them is decided in ``views``.
"""
from toast_sandbox.clients import ClientAccount
from toast_sandbox.generator_menus import MenuBundle
from toast_sandbox.generator_venues import JOBS, Employee, Entity, Restaurant
from toast_sandbox.randomness import DAY_MS, EPOCH_TS, HOUR_MS, business_date, business_int, ts, webhook_ts

# Google's documented example of an encoded polyline, standing in for a delivery area.
DELIVERY_AREA = "_p~iF~ps|U_ulLnnqC_mqNvxq`@"
WEBSITE = "https://junipertable.example.com"


def restaurant_info(restaurant: Restaurant, group_guid: str) -> dict:
    """``RestaurantInfo`` (SPEC:restaurants)."""
    city = restaurant.city
    first_day = business_date(restaurant.created_ms, restaurant.tz, restaurant.closeout_hour)
    return {
        "guid": restaurant.guid,
        "general": {
            "name": restaurant.name, "locationName": restaurant.location_name,
            "locationCode": restaurant.location_code, "description": "Seasonal New American cooking",
            "timeZone": city.time_zone, "closeoutHour": restaurant.closeout_hour, "managementGroupGuid": group_guid,
            "currencyCode": "USD", "firstBusinessDate": business_int(first_day), "archived": False,
        },
        "urls": {"website": WEBSITE, "facebook": "", "twitter": "", "orderOnline": f"{WEBSITE}/order",
                 "purchaseGiftCard": f"{WEBSITE}/gift", "checkGiftCard": f"{WEBSITE}/gift/balance"},
        "location": {
            "address1": restaurant.address1, "address2": "", "city": city.name, "stateCode": city.state,
            "administrativeArea": city.state_name, "zipCode": restaurant.zip_code, "country": "US",
            "phone": restaurant.phone, "phoneCountryCode": "1", "latitude": city.latitude,
            "longitude": city.longitude,
        },
        "schedules": _schedules(),
        "delivery": {"enabled": True, "minimum": 15.0, "area": DELIVERY_AREA},
        "onlineOrdering": {
            "enabled": True, "scheduling": True, "specialRequests": True,
            "specialRequestsMessage": "No substitutions on weekends",
            "paymentOptions": {"delivery": {"cash": False, "ccSameDay": True, "ccFuture": True},
                               "takeout": {"cash": True, "ccSameDay": True, "ccFuture": True, "ccInStore": True},
                               "ccTip": True},
        },
        "prepTimes": {"deliveryPrepTime": 45, "deliveryTimeAfterOpen": 30, "deliveryTimeBeforeClose": 30,
                      "takeoutPrepTime": 20, "takeoutTimeAfterOpen": 15, "takeoutTimeBeforeClose": 15,
                      "takeoutThrottlingTime": 0, "deliveryThrottlingTime": 0},
    }


def _schedules() -> dict:
    services = [
        {"name": "Lunch", "hours": {"startTime": "11:00:00.000", "endTime": "15:00:00.000"}, "overnight": False},
        {"name": "Dinner", "hours": {"startTime": "17:00:00.000", "endTime": "02:00:00.000"}, "overnight": True},
    ]
    days = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    return {"daySchedules": {"1": {"scheduleName": "Every day", "services": services, "openTime": "11:00:00.000",
                                   "closeTime": "02:00:00.000"}},
            "weekSchedule": {day: "1" for day in days}}


def connection_times(restaurant: Restaurant) -> tuple[int, int]:
    """(created, modified) epoch ms of a location's partner connection."""
    created = restaurant.created_ms + 30 * DAY_MS + restaurant.index * HOUR_MS
    return created, created + 2 * DAY_MS + 1234


def partner_access(restaurant: Restaurant, group_guid: str) -> dict:
    """``PartnerAccessExternalRep`` (SPEC:partners): dates in epoch ms plus ISO copies."""
    created, modified = connection_times(restaurant)
    return {
        "restaurantGuid": restaurant.guid, "managementGroupGuid": group_guid, "restaurantName": restaurant.name,
        "locationName": restaurant.location_name, "createdByEmailAddress": "owner@junipertable.example.com",
        "externalGroupRef": "", "externalRestaurantRef": "", "modifiedDate": modified, "createdDate": created,
        "isoModifiedDate": webhook_ts(modified), "isoCreatedDate": webhook_ts(created), "deleted": False,
    }


def dining_option(entity: Entity) -> dict:
    """Configuration ``DiningOption`` (REF: configuration DiningOption; fields per toast-api.md §5)."""
    return {"guid": entity.guid, "entityType": "DiningOption", "externalId": None, "name": entity.name,
            "behavior": entity.kind, "curbside": entity.flag}


def revenue_center(entity: Entity) -> dict:
    """Configuration ``RevenueCenter``."""
    return {"guid": entity.guid, "entityType": "RevenueCenter", "name": entity.name,
            "description": entity.description}


def employee(person: Employee, restaurant: Restaurant) -> dict:
    """Labor ``Employee`` (SPEC:labor; shape of the labor-employees example)."""
    job = restaurant.jobs[person.job]
    job_ref = {"guid": job.guid, "entityType": "RestaurantJob", "externalId": None}
    wage = {"Server": 7.5, "Bartender": 8.0, "Host": 16.0, "Manager": 28.0}.get(JOBS[person.job], 17.0)
    return {
        "guid": person.guid, "entityType": "RestaurantUser", "externalId": None, "lastName": person.last_name,
        "wageOverrides": [{"wage": wage, "jobReference": job_ref}], "firstName": person.first_name,
        "chosenName": person.chosen_name, "createdDate": ts(person.created_ms),
        "deleted": person.deleted_ms is not None,
        "deletedDate": ts(person.deleted_ms) if person.deleted_ms else EPOCH_TS, "jobReferences": [job_ref],
        "modifiedDate": ts(person.modified_ms), "disabled": False, "externalEmployeeId": person.external_id,
        "email": person.email, "phoneNumber": person.phone, "phoneNumberCountryCode": "1",
        "v2EmployeeGuid": person.v2_guid,
    }


def menus_document(bundle: MenuBundle, published_ms: int | None) -> dict:
    """The published menus (``Restaurant`` of SPEC:menus), with a newer ``lastUpdated`` after a republish."""
    if published_ms is None:
        return bundle.document
    return {**bundle.document, "lastUpdated": ts(published_ms)}


def menus_metadata(bundle: MenuBundle, published_ms: int | None) -> dict:
    """``Metadata`` (SPEC:menus): restaurant GUID and when its menus were last published."""
    document = menus_document(bundle, published_ms)
    return {"restaurantGuid": document["restaurantGuid"], "lastUpdated": document["lastUpdated"]}


def reachable(account: ClientAccount, restaurants: list[Restaurant]) -> list[Restaurant]:
    """Locations ``account`` can use."""
    return [restaurant for restaurant in restaurants if account.can_reach(restaurant.guid)]
