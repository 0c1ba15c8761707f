"""Restaurant groups, their locations and the locations' configuration: dining options, revenue centers, staff.

A world holds one management group by default; a fleet splits its locations into several groups (contiguous
runs of location indexes), each its own brand, as a SaaS CRM meets them: one organization per group.

Dining options cover every behaviour a CRM meets (DG:apiOrderTypeDetails): dine-in, take-out, curbside (a
TAKE_OUT option with ``curbside=true``), own delivery and a third-party delivery option.
"""
import random
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from toast_sandbox.generator_people import ACCENTED_NAMES, FIRST_NAMES, LAST_NAMES, ascii_fold
from toast_sandbox.randomness import DAY_MS, new_guid, rng_for

BRAND = "Juniper Table"
# Brands of the second and later groups of a fleet (then numbered when there are more groups than names).
FLEET_BRANDS = ("Harbor Grill", "Copper Kettle", "Saffron Street", "Blue Finch Cafe", "Oak & Ember", "Marigold Kitchen",
                "Northside Tap", "Lantern Noodle", "Fig & Olive Bar", "Granite Diner")
CLOSEOUT_HOUR = 4


@dataclass(frozen=True, slots=True)
class City:
    """Where a location is, with what its guests' phone numbers and addresses look like."""
    name: str
    state: str
    state_name: str
    time_zone: str
    area_codes: tuple[str, ...]
    streets: tuple[str, ...]
    zip_codes: tuple[str, ...]
    latitude: float
    longitude: float
    neighborhood: str
    tax_percent: float


CITIES = (
    City("Boston", "MA", "Massachusetts", "America/New_York", ("617", "857"),
         ("Boylston Street", "Newbury Street", "Tremont Street", "Beacon Street", "Columbus Avenue"),
         ("02116", "02115", "02118", "02215"), 42.3493, -71.0786, "Back Bay", 7.0),
    City("Chicago", "IL", "Illinois", "America/Chicago", ("312", "773", "872"),
         ("Randolph Street", "Halsted Street", "Milwaukee Avenue", "Clark Street", "Lake Street"),
         ("60607", "60661", "60642"), 41.8868, -87.6486, "Fulton Market", 10.25),
    City("Somerville", "MA", "Massachusetts", "America/New_York", ("617", "857"),
         ("Highland Avenue", "Elm Street", "Broadway", "Summer Street"), ("02143", "02144", "02145"),
         42.3876, -71.0995, "Davis Square", 7.0),
    City("Denver", "CO", "Colorado", "America/Denver", ("303", "720"),
         ("Larimer Street", "Blake Street", "Walnut Street"), ("80205", "80216"), 39.7640, -104.9810, "RiNo", 8.81),
    City("Austin", "TX", "Texas", "America/Chicago", ("512", "737"),
         ("South Congress Avenue", "Barton Springs Road", "Riverside Drive"), ("78704", "78741"),
         30.2480, -97.7500, "South Congress", 8.25),
    City("Brooklyn", "NY", "New York", "America/New_York", ("718", "347"),
         ("Bedford Avenue", "Grand Street", "Wythe Avenue"), ("11211", "11249"), 40.7170, -73.9570,
         "Williamsburg", 8.875),
)

DINING_OPTIONS = (
    ("Dine In", "DINE_IN", False), ("Take Out", "TAKE_OUT", False), ("Curbside", "TAKE_OUT", True),
    ("Delivery", "DELIVERY", False), ("DoorDash Delivery", "DELIVERY", False),
)
REVENUE_CENTERS = (("Dining Room", "Main dining room"), ("Bar", "Bar and lounge"), ("Patio", "Seasonal patio"),
                   ("Online", "Online ordering and delivery"))
JOBS = ("Server", "Bartender", "Host", "Manager", "Delivery Driver")
STAFF_JOBS = ("Server", "Server", "Server", "Server", "Server", "Bartender", "Bartender", "Host", "Manager",
              "Delivery Driver")


@dataclass(frozen=True, slots=True)
class Entity:
    """A configuration object with a GUID and a name (dining option, revenue center, discount, ...)."""
    guid: str
    name: str
    modified_ms: int
    kind: str = ""
    flag: bool = False
    amount: float = 0.0
    description: str = ""


@dataclass(frozen=True, slots=True)
class Employee:
    """A labor-API employee; ``job`` is an index into the restaurant's jobs."""
    guid: str
    v2_guid: str
    first_name: str
    chosen_name: str | None
    last_name: str
    email: str
    phone: str
    external_id: str
    job: int
    created_ms: int
    modified_ms: int
    deleted_ms: int | None


@dataclass(frozen=True, slots=True)
class Group:
    """A management group (restaurant group): its GUID, brand and locations ``first .. first + size - 1``."""
    index: int
    guid: str
    brand: str
    first: int
    size: int

    @property
    def restaurant_indexes(self) -> range:
        """Indexes of the group's locations."""
        return range(self.first, self.first + self.size)


@dataclass(frozen=True, slots=True)
class Restaurant:
    """One location and everything about it an order refers to."""
    index: int
    guid: str
    name: str
    location_name: str
    location_code: str
    city: City
    address1: str
    zip_code: str
    phone: str
    created_ms: int
    dining_options: tuple[Entity, ...]
    revenue_centers: tuple[Entity, ...]
    jobs: tuple[Entity, ...]
    employees: tuple[Employee, ...]
    tables: tuple[Entity, ...]
    services: tuple[Entity, ...]
    tax_rate: Entity
    service_charges: tuple[Entity, ...]
    discounts: tuple[Entity, ...]
    other_payment: Entity
    void_reason: Entity
    devices: tuple[str, ...]
    group: int = 0

    @property
    def tz(self) -> ZoneInfo:
        """The IANA zone of the location (business dates and closeout are local)."""
        return ZoneInfo(self.city.time_zone)

    @property
    def closeout_hour(self) -> int:
        """Local hour that separates business days."""
        return CLOSEOUT_HOUR

    def servers(self, at_ms: int) -> list[Employee]:
        """Employees who can be ``Order.server`` at ``at_ms`` (later deleted ones included while they worked)."""
        return [emp for emp in self.employees if JOBS[emp.job] in ("Server", "Bartender", "Manager")
                and (emp.deleted_ms is None or emp.deleted_ms > at_ms)]

    def driver(self) -> Employee:
        """The delivery driver (``DeliveryInfo.deliveryEmployee``)."""
        return next(emp for emp in self.employees if JOBS[emp.job] == "Delivery Driver")


def build_group_guid(seed: int, group: int = 0) -> str:
    """The GUID of management group ``group`` (the first group's is the one a single-group world always had)."""
    return new_guid(rng_for(seed, "group") if group == 0 else rng_for(seed, "group", group))


def build_groups(seed: int, sizes: list[int]) -> list[Group]:
    """Groups of ``sizes`` locations each, in location order. Raises ValueError for a size below 1."""
    if not sizes or min(sizes) < 1:
        raise ValueError("every group needs at least one location")
    groups, first = [], 0
    for index, size in enumerate(sizes):
        groups.append(Group(index=index, guid=build_group_guid(seed, index), brand=_brand(index), first=first,
                            size=size))
        first += size
    return groups


def _brand(group: int) -> str:
    if group == 0:
        return BRAND
    name = FLEET_BRANDS[(group - 1) % len(FLEET_BRANDS)]
    return name if group <= len(FLEET_BRANDS) else f"{name} {(group - 1) // len(FLEET_BRANDS) + 1}"


def build_restaurants(seed: int, groups: list[Group], start_ms: int, now_ms: int) -> list[Restaurant]:
    """Every group's locations; configuration dates lie before ``start_ms`` (the first day of order history)."""
    return [_restaurant(rng_for(seed, "restaurant", index), index, group, start_ms, now_ms)
            for group in groups for index in group.restaurant_indexes]


def _restaurant(rng: random.Random, index: int, group: Group, start_ms: int, now_ms: int) -> Restaurant:
    city = CITIES[index % len(CITIES)]
    suffix = "" if index < len(CITIES) else f" {index // len(CITIES) + 1}"
    created = start_ms - rng.randrange(200, 900) * DAY_MS
    configured = start_ms - rng.randrange(5, 60) * DAY_MS

    def entity(name: str, **extra) -> Entity:
        return Entity(guid=new_guid(rng), name=name, modified_ms=configured + rng.randrange(DAY_MS), **extra)

    guid = new_guid(rng)
    jobs = tuple(entity(name) for name in JOBS)
    return Restaurant(
        index=index, guid=guid, name=group.brand, location_name=city.neighborhood + suffix,
        location_code=f"{city.state}{index + 1:02d}", city=city,
        address1=f"{rng.randrange(10, 900)} {rng.choice(city.streets)}", zip_code=city.zip_codes[0],
        phone=f"{city.area_codes[0]}555{rng.randrange(10000):04d}", created_ms=created,
        dining_options=tuple(entity(name, kind=behavior, flag=curbside) for name, behavior, curbside in DINING_OPTIONS),
        revenue_centers=tuple(entity(name, description=text) for name, text in REVENUE_CENTERS),
        jobs=jobs,
        employees=tuple(_employee(rng, job, created, start_ms, now_ms) for job in _job_indexes()),
        tables=tuple(entity(f"Table {number}") for number in range(1, 21)),
        services=(entity("Lunch"), entity("Dinner")),
        tax_rate=entity(f"{city.state_name} Meals Tax", amount=city.tax_percent),
        service_charges=(entity("Gratuity 20%", kind="PERCENT", flag=True, amount=20.0),
                         entity("Delivery Fee", kind="FIXED", flag=False, amount=3.99)),
        discounts=(entity("Happy Hour 20%", kind="PERCENT", amount=20.0),
                   entity("$5 Loyalty Reward", kind="FIXED", amount=5.0),
                   entity("Industry 10%", kind="PERCENT", amount=10.0)),
        other_payment=entity("DoorDash"),
        void_reason=entity("Entered in error"),
        devices=tuple(f"{rng.getrandbits(64):016x}" for _ in range(3)),
        group=group.index,
    )


def _job_indexes() -> list[int]:
    return [JOBS.index(name) for name in STAFF_JOBS]


def _employee(rng: random.Random, job: int, created_ms: int, start_ms: int, now_ms: int) -> Employee:
    if rng.random() < 0.2:
        first, last = rng.choice(ACCENTED_NAMES)
    else:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    hired = created_ms + rng.randrange(0, max(1, (start_ms - created_ms) // DAY_MS)) * DAY_MS
    # About a third of the servers left during the history window; their old orders still name them.
    leaves = JOBS[job] == "Server" and rng.random() < 0.35
    deleted = start_ms + int(rng.uniform(0.2, 0.8) * (now_ms - start_ms)) if leaves else None
    return Employee(
        guid=new_guid(rng), v2_guid=new_guid(rng), first_name=first,
        chosen_name=first[:3] if rng.random() < 0.2 else None, last_name=last,
        email=f"{ascii_fold(first).lower()}.{ascii_fold(last).lower()}@junipertable.example.com",
        phone=f"617555{rng.randrange(10000):04d}",
        external_id=f"E{rng.randrange(1000, 9999)}" if rng.random() < 0.7 else "",
        job=job, created_ms=hired, modified_ms=deleted or hired + rng.randrange(DAY_MS), deleted_ms=deleted,
    )
