"""A guest's contact identifiers in one canonical form: lower-cased email, phone in E.164.

Identity resolution (``portal.guests``), the suppression list and erasure (``portal.privacy``) compare contacts in
this form, so an opt-out or an erasure catches every spelling of the same address or number.
"""
import re

import phonenumbers

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


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
