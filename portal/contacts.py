"""A guest's contact identifiers in one canonical form: lower-cased email, phone in E.164.

Identity resolution (``portal.guests``), the suppression list and erasure (``portal.privacy``) compare contacts in
this form, so an opt-out or an erasure catches every spelling of the same address or number.
"""
import re

import phonenumbers
from phonenumbers import geocoder

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Delivery marketplaces hand the restaurant a masked address that relays to the guest for that order only: it is
# no way to reach the guest later. Their own domains (and subdomains), and any host named "relay."
# (e.g. "dd-1f2e@relay.example.com"), are recognised as such.
MARKETPLACE_DOMAINS = ("doordash.com", "ubereats.com", "uber.com", "grubhub.com", "seamless.com", "postmates.com",
                       "caviar.com")
_MARKETPLACE_SUBDOMAINS = tuple("." + domain for domain in MARKETPLACE_DOMAINS)


def normalize_email(raw: str | None) -> str | None:
    """Trimmed, lower-cased email, or None when it is empty or not an address."""
    cleaned = (raw or "").strip().lower()
    return cleaned if cleaned and len(cleaned) <= 320 and EMAIL_PATTERN.match(cleaned) else None


def normalize_phone(raw: str | None, country_code: str | None = None) -> str | None:
    """E.164 (``+16175550101``), or None when it cannot be a phone number.

    ``country_code`` is Toast's ``phoneCountryCode``: a calling code ("1", "+44") or, leniently, a region ("GB").
    Without it the number is read as a US number unless it starts with "+".
    """
    text = (raw or "").strip()
    if not text or not any(ch.isdigit() for ch in text):
        return None
    region = _region(country_code)
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _region(country_code: str | None) -> str:
    code = (country_code or "").strip().lstrip("+")
    if code.isdigit():
        region = phonenumbers.region_code_for_country_code(int(code))
        return region if region != phonenumbers.UNKNOWN_REGION else "US"
    if len(code) == 2 and code.isalpha():
        return code.upper()
    return "US"


def is_relay_email(email: str | None) -> bool:
    """Whether an address is a delivery marketplace's masked relay (``MARKETPLACE_DOMAINS``), not the guest's own."""
    domain = (email or "").rpartition("@")[2].strip().lower()
    if not domain:
        return False
    return (domain in MARKETPLACE_DOMAINS or domain.endswith(_MARKETPLACE_SUBDOMAINS)
            or "relay" in domain.split(".")[:-2])


def display_phone(e164: str | None, home_region: str = "US") -> str:
    """A stored phone as people read it: national format at home ("(617) 555-0101"), else international with
    the country ("+44 20 7946 0958 (United Kingdom)"). Text that does not parse is shown as stored."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    if number.country_code == phonenumbers.country_code_for_region(home_region):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    international = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    country = geocoder.country_name_for_number(number, "en")
    return f"{international} ({country})" if country else international


def is_phone_number(text: str) -> bool:
    """Whether text is a valid phone number in E.164 ("+16175550101")."""
    try:
        return text.startswith("+") and phonenumbers.is_valid_number(phonenumbers.parse(text, None))
    except phonenumbers.NumberParseException:
        return False
