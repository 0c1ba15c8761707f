"""Guests of the sandbox restaurant group: names, contact details, and when they visit.

Visits follow a BG/NBD-like repeat-purchase process (Fader, Hardie & Lee 2005): each guest buys at a Poisson rate
drawn from a gamma distribution and, after each visit, drops out with a probability drawn from a beta
distribution. That yields a few loyal regulars, many one-time guests and some who lapse, which is what a
CRM's predictive models must cope with. Guests mostly visit one "home" location, and only locations of their own
restaurant group (each group of a fleet has its own guests).
"""
import random
import unicodedata
from dataclasses import dataclass

from toast_sandbox.randomness import new_guid, rng_for, weighted

FIRST_NAMES = (
    "James", "Maria", "Michael", "Jennifer", "David", "Linda", "Daniel", "Sarah", "Kevin", "Emily", "Brian", "Jessica",
    "Anthony", "Ashley", "Mark", "Amanda", "Steven", "Megan", "Andrew", "Rachel", "Ryan", "Lauren", "Tyler", "Hannah",
    "Priya", "Omar", "Aisha", "Diego", "Mei", "Kenji",
)
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez", "Wilson",
    "Anderson", "Taylor", "Thomas", "Moore", "Jackson", "Martin", "Lee", "Thompson", "White", "Harris", "Clark",
    "Lewis", "Walker", "Hall", "Young", "Allen", "King", "Wright", "Scott", "Patel", "Nguyen", "Kim", "O'Brien",
)
# Names that trip up ASCII-only code paths (the CRM must store and match them intact).
ACCENTED_NAMES = (
    ("José", "Núñez"), ("Zoë", "Bauer"), ("Łukasz", "Wójcik"), ("François", "Lefèvre"), ("Chloé", "Dubois"),
    ("Søren", "Højgaard"), ("Renée", "Gagné"), ("Björn", "Sjöberg"), ("Siobhán", "Ó Briain"), ("Jürgen", "Müller"),
    ("Zoë", "García"), ("José", "Peña"), ("Małgorzata", "Kowalczyk"), ("Çağla", "Yılmaz"),
)
CJK_NAMES = (("伟", "王"), ("芳", "李"), ("静", "张"), ("明", "陈"), ("娜", "王"))
PINYIN = {"伟": "wei", "芳": "fang", "静": "jing", "明": "ming", "娜": "na", "王": "wang", "李": "li", "张": "zhang",
          "陈": "chen"}
ASCII_FOLD = {"Ł": "L", "ł": "l", "ø": "o", "Ø": "O", "ß": "ss", "ı": "i", "æ": "ae", "'": "", " ": ""}
# A city's own area codes hold 10,000 fictional 555 numbers each; a large group's guests draw from these as well
# once their city's numbers run short.
SPARE_AREA_CODES = ("201", "206", "213", "214", "215", "248", "305", "404", "415", "469", "503", "602", "612", "614",
                    "702", "713", "716", "801", "804", "813", "816", "818", "858", "901", "904", "916", "919", "971")
OWN_AREA_CODE_TRIES = 8
EMAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example.com", "inbox.example.net")

CHANNELS = ("dine_anon", "dine_loyalty", "takeout_online", "takeout_phone", "curbside", "delivery", "thirdparty")
PERSONAS = {
    "regular_diner": (0.45, 0.45, 0.04, 0.03, 0.01, 0.01, 0.01),
    "online": (0.10, 0.05, 0.45, 0.10, 0.20, 0.05, 0.05),
    "delivery": (0.05, 0.00, 0.10, 0.05, 0.00, 0.45, 0.35),
    "phone": (0.10, 0.05, 0.05, 0.60, 0.10, 0.10, 0.00),
    "mixed": (0.20, 0.15, 0.20, 0.10, 0.10, 0.15, 0.10),
}
PERSONA_WEIGHTS = (0.25, 0.30, 0.15, 0.10, 0.20)

# BG/NBD-style parameters, in days: purchase rate ~ Gamma(shape, scale), dropout ~ Beta(a, b).
RATE_SHAPE, RATE_SCALE = 0.75, 0.045
DROPOUT_A, DROPOUT_B = 1.2, 3.5
HOME_SHARE = 0.85
GUESTS_PER_RESTAURANT_DAY = 3000 / 360


@dataclass(frozen=True, slots=True)
class Address:
    """A delivery address; ``state`` is the 2-letter code Toast puts in ``DeliveryInfo.state``."""
    line1: str
    line2: str | None
    city: str
    state: str
    zip_code: str
    latitude: float
    longitude: float


@dataclass(frozen=True, slots=True)
class Guest:
    """One person; ``visits`` are (day offset from the world's first day, restaurant index)."""
    index: int
    guid: str
    first_name: str
    last_name: str
    email: str
    phone: str
    home: int
    persona: str
    address: Address
    loyalty_id: str
    visits: tuple[tuple[int, int], ...]

    def channel(self, rng: random.Random) -> str:
        """How this guest orders on one visit (dine-in, online takeout, delivery, ...)."""
        return weighted(rng, CHANNELS, PERSONAS[self.persona])


def ascii_fold(text: str) -> str:
    """An ASCII rendering of a name for e-mail local parts (José → Jose, Łukasz → Lukasz, 王 → wang)."""
    text = "".join(PINYIN.get(char, ASCII_FOLD.get(char, char)) for char in text)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if ord(char) < 128 and not unicodedata.combining(char))


def guest_count(restaurants: int, days: int, volume: float = 1.0) -> int:
    """How many guests visit in the history window: about 3000 for 3 restaurants over 120 days at ``volume`` 1."""
    return max(40, round(GUESTS_PER_RESTAURANT_DAY * restaurants * days * volume))


def build_guests(seed: int, cities: list, days: int, future_days: int, *, group: int = 0, first_restaurant: int = 0,
                 first_index: int = 0, volume: float = 1.0) -> list[Guest]:
    """The guests of one restaurant group, with visits scheduled over ``days`` of history plus ``future_days`` of
    live traffic.

    ``cities`` holds one ``generator_venues.City`` per location of the group (area codes and streets for
    addresses), whose indexes start at ``first_restaurant``; guest indexes start at ``first_index``. ``volume``
    scales how many guests there are. Raises ValueError when the group needs more phone numbers than exist.
    """
    rng = rng_for(seed, "guests") if group == 0 else rng_for(seed, "guests", group)
    total_days = days + future_days
    count = round(guest_count(len(cities), days, volume) * total_days / days)
    emails: set[str] = set()
    phones: set[str] = set()
    return [_guest(rng, first_index + number, cities, first_restaurant, total_days, emails, phones)
            for number in range(count)]


def _guest(rng: random.Random, index: int, cities: list, first_restaurant: int, total_days: int, emails: set,
           phones: set) -> Guest:
    first, last = _name(rng)
    home = rng.randrange(len(cities))
    city = cities[home]
    return Guest(
        index=index,
        guid=new_guid(rng),
        first_name=first,
        last_name=last,
        email=_unique_email(rng, first, last, emails),
        phone=_unique_phone(rng, city.area_codes, phones),
        home=first_restaurant + home,
        persona=weighted(rng, tuple(PERSONAS), PERSONA_WEIGHTS),
        address=_address(rng, city),
        loyalty_id="".join(str(rng.randrange(10)) for _ in range(16)),
        visits=tuple((day, first_restaurant + where) for day, where in _visits(rng, home, len(cities), total_days)),
    )


def _name(rng: random.Random) -> tuple[str, str]:
    roll = rng.random()
    if roll < 0.10:
        return rng.choice(ACCENTED_NAMES)
    if roll < 0.14:
        return rng.choice(CJK_NAMES)
    return rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)


def _unique_email(rng: random.Random, first: str, last: str, taken: set) -> str:
    first_ascii, last_ascii = ascii_fold(first).lower(), ascii_fold(last).lower()
    pattern = rng.randrange(4)
    local = (f"{first_ascii}.{last_ascii}", f"{first_ascii}{last_ascii}", f"{first_ascii[:1]}{last_ascii}",
             f"{first_ascii}_{last_ascii}")[pattern]
    domain = rng.choice(EMAIL_DOMAINS)
    email = f"{local}@{domain}"
    while email in taken:
        email = f"{local}{rng.randrange(10, 1000)}@{domain}"
    taken.add(email)
    return email


def _unique_phone(rng: random.Random, area_codes: tuple[str, ...], taken: set) -> str:
    # 555 exchange: reserved for fiction in the North American Numbering Plan, so the demo never dials a real person.
    for attempt in range(100_000):
        codes = area_codes if attempt < OWN_AREA_CODE_TRIES else SPARE_AREA_CODES
        phone = f"{rng.choice(codes)}555{rng.randrange(10000):04d}"
        if phone not in taken:
            taken.add(phone)
            return phone
    raise ValueError("the group has more guests than fictional phone numbers: lower the orders per day")


def _address(rng: random.Random, city) -> Address:
    line2 = rng.choice((None, None, None, f"Apt {rng.randrange(1, 40)}", f"Unit {rng.randrange(100, 900)}"))
    return Address(
        line1=f"{rng.randrange(10, 2000)} {rng.choice(city.streets)}",
        line2=line2,
        city=city.name,
        state=city.state,
        zip_code=rng.choice(city.zip_codes),
        latitude=round(city.latitude + rng.uniform(-0.04, 0.04), 7),
        longitude=round(city.longitude + rng.uniform(-0.05, 0.05), 7),
    )


def _visits(rng: random.Random, home: int, restaurants: int, total_days: int) -> tuple[tuple[int, int], ...]:
    """The BG/NBD process: first visit uniform over the period, then exponential gaps until dropout."""
    rate = rng.gammavariate(RATE_SHAPE, RATE_SCALE)
    dropout = rng.betavariate(DROPOUT_A, DROPOUT_B)
    moment = rng.uniform(0, total_days)
    visits = []
    while moment < total_days:
        where = home if restaurants == 1 or rng.random() < HOME_SHARE else rng.randrange(restaurants)
        visits.append((int(moment), where))
        if rng.random() < dropout or rate <= 0:
            break
        moment += rng.expovariate(rate)
    return tuple(visits)


# How a phone number gets typed. Staff at the host stand type it many ways; checkout forms are more uniform.
PHONE_FORMATS = ("({a}) {b}-{c}", "{a}.{b}.{c}", "+1{a}{b}{c}", "{a}-{b}-{c}", "{a}{b}{c}")
STAFF_PHONE_WEIGHTS = (0.3, 0.2, 0.1, 0.25, 0.15)
ONLINE_PHONE_WEIGHTS = (0.45, 0.05, 0.2, 0.1, 0.2)
EMAIL_STYLES = ("title", "upper", "leading_space", "trailing_space", "domain_caps")
# Customer GUIDs: online accounts and loyalty use the guest's Toast profile; staff-typed and marketplace guests
# get a fresh record per order, so a CRM has to match them by e-mail/phone, not by GUID.
PROFILE_CHANNELS = ("takeout_online", "curbside", "delivery")


def customer_payload(guest: Guest, rng: random.Random, channel: str) -> dict:
    """The ``Check.customer`` a visit through ``channel`` carries, as Toast returns it with ``guest.pi:read``.

    Loyalty checks carry only the guest GUID (all other values null, SPEC:orders ``Check.customer``).
    """
    if channel == "dine_loyalty":
        return {"guid": guest.guid, "entityType": "Customer", "firstName": None, "lastName": None, "phone": None,
                "phoneCountryCode": None, "email": None}
    staff_typed = channel == "takeout_phone"
    first_name = guest.first_name
    if staff_typed and first_name != ascii_fold(first_name) and rng.random() < 0.4:
        first_name = ascii_fold(first_name)
    phone, country_code = phone_variant(rng, guest.phone, STAFF_PHONE_WEIGHTS if staff_typed else ONLINE_PHONE_WEIGHTS)
    email = email_variant(rng, guest.email, 0.25 if staff_typed else 0.08)
    last_name = guest.last_name
    if channel == "thirdparty":
        # Marketplaces relay a masked address and show only the last initial.
        email = f"dd-{rng.getrandbits(40):010x}@relay.example.com"
        last_name = last_name[:1] + "."
    guid = guest.guid if channel in PROFILE_CHANNELS else new_guid(rng)
    return {"guid": guid, "entityType": "Customer", "firstName": first_name, "lastName": last_name, "phone": phone,
            "phoneCountryCode": country_code, "email": email}


def phone_variant(rng: random.Random, digits: str, weights: tuple[float, ...]) -> tuple[str, str | None]:
    """(phone as typed, phoneCountryCode): e.g. ``("(617) 555-0101", None)`` or ``("617.555.0101", "1")``."""
    template = weighted(rng, PHONE_FORMATS, weights)
    phone = template.format(a=digits[:3], b=digits[3:6], c=digits[6:])
    country_code = None if phone.startswith("+") or rng.random() < 0.7 else "1"
    return phone, country_code


def email_variant(rng: random.Random, email: str, probability: float) -> str:
    """``email`` as typed: mostly canonical, sometimes with odd case or stray whitespace."""
    if rng.random() >= probability:
        return email
    local, domain = email.split("@")
    style = rng.choice(EMAIL_STYLES)
    if style == "title":
        return ".".join(part.capitalize() for part in local.split(".")) + "@" + domain.capitalize()
    if style == "upper":
        return email.upper()
    if style == "leading_space":
        return " " + email
    if style == "trailing_space":
        return email + " "
    return f"{local}@{domain.upper()}"
