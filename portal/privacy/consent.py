"""Marketing consent: Toast has none, so the portal keeps a per-guest opt-out (organization-wide: a guest is one
profile across all locations), set by hand, by importing an unsubscribe list, or by a signed one-click link.

Every "no" is also remembered per contact in the suppression list (keyed hashes of the email or phone, as
``portal.privacy.erasure`` keeps erased identifiers): a person on an imported list who has not ordered yet, or
who later orders under a new profile, is opted out as soon as a stored order carries that email or phone
(``apply_suppressions``, from ``portal.guests.service``). Opting a guest back in takes its contacts off the list.

Exports respect it (``portal.segments.exports`` leaves opted-out guests out unless asked; guest CSVs carry the
``marketing_opt_out`` column). Nothing here commits or logs guest identifiers; audit details are ids and counts.
"""
import csv
import io
from dataclasses import dataclass, field

from sqlalchemy import delete, select, update

from portal.audit import service as audit
from portal.contacts import normalize_email, normalize_phone
from portal.dbutil import lock_organization
from portal.errors import InputError
from portal.extensions import current_settings, db
from portal.models.guest import Guest, GuestCheck
from portal.models.privacy import MarketingSuppression
from portal.models.tenant import Organization
from portal.privacy import links
from portal.privacy.erasure import digest, held

MAX_IMPORT_BYTES = 2 * 1024 * 1024
MAX_IMPORT_VALUES = 100_000
EMAIL_HEADERS = frozenset({"email", "e-mail", "email address", "email_address", "mail"})
PHONE_HEADERS = frozenset({"phone", "phone number", "phone_number", "mobile", "cell", "sms"})
LOOKUP_BATCH = 500


# --- by hand and by link ----------------------------------------------------------------------------------------


def set_opt_out(guest: Guest, opted_out: bool, *, source: str = "manual") -> bool:
    """Opt a guest out of marketing (or back in). Audited "guest.opted_out" / "guest.opted_in" with the guest id
    and the source ("manual", "link"). Returns whether anything changed (no audit row when nothing did).
    InputError for an erased guest (it stays opted out for good)."""
    lock_organization(db.session, guest.org_id)  # ingest merging this guest meanwhile would drop the change
    if guest.erased_at is not None and not opted_out:
        raise InputError("an erased guest cannot be opted back in")
    if guest.marketing_opt_out == opted_out:
        return False
    guest.marketing_opt_out = opted_out
    emails, phones = _contacts_of([guest.id])
    if opted_out:
        _suppress(guest.org_id, emails, phones, source)
    else:
        _unsuppress(guest.org_id, emails, phones)
    audit.record("guest.opted_out" if opted_out else "guest.opted_in", org_id=guest.org_id, target=guest,
                 details={"guest_id": guest.id, "source": source})
    db.session.flush()
    return True


def opt_out_guests(org_id: int, guest_ids: list[int], *, source: str = "bulk") -> int:
    """Opt many guests of the organization out at once (a bulk action on a list), their contacts added to the
    suppression list; returns how many changed. Audited once, "guest.opt_outs_bulk", with the count only. The
    caller commits."""
    lock_organization(db.session, org_id)
    changed = 0
    for start in range(0, len(guest_ids), LOOKUP_BATCH):
        chunk = db.session.scalars(select(Guest.id).where(
            Guest.org_id == org_id, Guest.id.in_(guest_ids[start:start + LOOKUP_BATCH]),
            Guest.marketing_opt_out.is_(False))).all()
        if not chunk:
            continue
        emails, phones = _contacts_of(chunk)
        _suppress(org_id, emails, phones, source)
        changed += db.session.execute(
            update(Guest).where(Guest.id.in_(chunk)).values(marketing_opt_out=True)
        ).rowcount or 0
    audit.record("guest.opt_outs_bulk", org_id=org_id, details={"guests": changed, "source": source})
    db.session.flush()
    return changed


def unsubscribe_token(guest: Guest) -> str:
    """A signed, non-expiring token naming (org id, guest id) (``portal.privacy.links``)."""
    return links.unsubscribe_token(current_settings().secret_key, guest)


def unsubscribe_url(guest: Guest) -> str:
    """The absolute one-click unsubscribe link of a guest on ``PORTAL_BASE_URL`` (emails, exports, its page)."""
    return links.unsubscribe_url(current_settings(), guest)


def guest_for_token(token: str) -> Guest | None:
    """The guest a token names, or None for a bad signature, a malformed payload or a guest that is gone."""
    named = links.named_guest(current_settings().secret_key, token)
    if named is None:
        return None
    org_id, guest_id = named
    return db.session.scalar(select(Guest).where(Guest.id == guest_id, Guest.org_id == org_id))


def sender_name(guest: Guest) -> str:
    """Who writes to the guest, as the unsubscribe page names it: the restaurant group, not the software."""
    return db.session.scalar(select(Organization.name).where(Organization.id == guest.org_id))


# --- importing an unsubscribe list --------------------------------------------------------------------------------


@dataclass
class ImportResult:
    matched: int = 0  # distinct identifiers that named at least one guest
    not_matched: int = 0  # valid identifiers no guest carries
    invalid: int = 0  # non-empty cells that are neither an email nor a phone number
    opted_out: int = 0  # guests newly opted out (0 when the list was imported before)
    guest_ids: set[int] = field(default_factory=set)

    def as_details(self) -> dict:
        return {"matched": self.matched, "not_matched": self.not_matched, "invalid": self.invalid,
                "opted_out": self.opted_out}


def import_unsubscribes(org_id: int, data: bytes) -> ImportResult:
    """Opt out every guest of the organization carrying an email or phone of an unsubscribe list (CSV, or one value
    a line). Values are normalized like identity resolution does; a header row naming email/phone columns limits
    reading to those columns. Idempotent. Audited "guest.opt_outs_imported" with counts only; the caller commits.
    InputError for an empty, oversized or undecodable file."""
    if not data or not data.strip():
        raise InputError("the file is empty")
    if len(data) > MAX_IMPORT_BYTES:
        raise InputError(f"the file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("the file is not UTF-8 text") from None
    if "\x00" in text:
        raise InputError("the file is not a CSV file")
    lock_organization(db.session, org_id)  # guests created by ingest meanwhile must see the new suppressions
    emails, phones, invalid = _values(text)
    _suppress(org_id, emails, phones, "import")  # the ones no guest carries yet too: they may order later
    result = ImportResult(invalid=invalid)
    for kind, values in (("email", emails), ("phone", phones)):
        found = _guests_with(org_id, kind, values)
        result.matched += len(found)
        result.not_matched += len(values) - len(found)
        result.guest_ids |= set().union(*found.values()) if found else set()
    if result.guest_ids:
        ids = sorted(result.guest_ids)
        for start in range(0, len(ids), LOOKUP_BATCH):
            chunk = ids[start:start + LOOKUP_BATCH]
            result.opted_out += db.session.execute(
                update(Guest).where(Guest.org_id == org_id, Guest.id.in_(chunk), Guest.marketing_opt_out.is_(False))
                .values(marketing_opt_out=True)
            ).rowcount or 0
    audit.record("guest.opt_outs_imported", org_id=org_id, details=result.as_details())
    db.session.flush()
    return result


def _values(text: str) -> tuple[set[str], set[str], int]:
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error:
        raise InputError("the file is not a CSV file") from None
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise InputError("the file is empty")
    columns = None
    header = [cell.strip().lower() for cell in rows[0]]
    if any(name in EMAIL_HEADERS | PHONE_HEADERS for name in header):
        columns = {i: "email" if name in EMAIL_HEADERS else "phone" for i, name in enumerate(header)
                   if name in EMAIL_HEADERS | PHONE_HEADERS}
        rows = rows[1:]
    emails, phones, invalid, seen = set(), set(), 0, 0
    for row in rows:
        for index, cell in enumerate(row):
            cell = cell.strip()
            if not cell or (columns is not None and index not in columns):
                continue
            seen += 1
            if seen > MAX_IMPORT_VALUES:
                raise InputError(f"the file has more than {MAX_IMPORT_VALUES:,} values")
            kind = columns[index] if columns is not None else ("email" if "@" in cell else "phone")
            value = normalize_email(cell) if kind == "email" else normalize_phone(cell)
            if value is None:
                invalid += 1
            else:
                (emails if kind == "email" else phones).add(value)
    return emails, phones, invalid


def _guests_with(org_id: int, kind: str, values: set[str]) -> dict[str, set[int]]:
    """identifier -> ids of the guests carrying it (on the guest or on any of its checks)."""
    if not values:
        return {}
    guest_col = Guest.email if kind == "email" else Guest.phone
    check_col = GuestCheck.email if kind == "email" else GuestCheck.phone
    found: dict[str, set[int]] = {}
    listed = sorted(values)
    for start in range(0, len(listed), LOOKUP_BATCH):
        chunk = listed[start:start + LOOKUP_BATCH]
        for value, guest_id in db.session.execute(
            select(guest_col, Guest.id).where(Guest.org_id == org_id, guest_col.in_(chunk))
        ):
            found.setdefault(value, set()).add(guest_id)
        for value, guest_id in db.session.execute(
            select(check_col, GuestCheck.guest_id).where(GuestCheck.org_id == org_id, check_col.in_(chunk),
                                                         GuestCheck.guest_id.is_not(None))
        ):
            found.setdefault(value, set()).add(guest_id)
    return found


# --- the suppression list -----------------------------------------------------------------------------------------


def apply_suppressions(org_id: int, guest_ids: set[int]) -> int:
    """Opt out those of ``guest_ids`` that carry (on any check) an email or phone on the suppression list; returns
    how many were opted out. Audited "guest.opted_out" with source "suppression list". The caller commits."""
    ids = sorted(g for g in guest_ids if g is not None)
    if not ids:
        return 0
    open_ids = set(db.session.scalars(select(Guest.id).where(
        Guest.org_id == org_id, Guest.id.in_(ids), Guest.marketing_opt_out.is_(False))))
    if not open_ids:
        return 0
    carried: dict[tuple[str, str], set[int]] = {}
    for guest_id, email, phone in db.session.execute(
        select(GuestCheck.guest_id, GuestCheck.email, GuestCheck.phone)
        .where(GuestCheck.org_id == org_id, GuestCheck.guest_id.in_(sorted(open_ids)))
    ):
        for pair in _digests({email} - {None}, {phone} - {None}):
            carried.setdefault(pair, set()).add(guest_id)
    hits = set().union(*(carried[pair] for pair in held(MarketingSuppression, org_id, set(carried))))
    for guest in db.session.scalars(select(Guest).where(Guest.id.in_(sorted(hits)))):
        guest.marketing_opt_out = True
        audit.record("guest.opted_out", org_id=org_id, target=guest,
                     details={"guest_id": guest.id, "source": "suppression list"})
    db.session.flush()
    return len(hits)


def _contacts_of(guest_ids: list[int]) -> tuple[set[str], set[str]]:
    """The emails and phones the guests carry, on the profile or on any of their checks."""
    emails, phones = set(), set()
    rows = db.session.execute(select(Guest.email, Guest.phone).where(Guest.id.in_(guest_ids))).all()
    rows += db.session.execute(select(GuestCheck.email, GuestCheck.phone)
                               .where(GuestCheck.guest_id.in_(guest_ids))).all()
    for email, phone in rows:
        emails.update({email} - {None})
        phones.update({phone} - {None})
    return emails, phones


def _digests(emails: set[str], phones: set[str]) -> set[tuple[str, str]]:
    return {("email", digest("email", e)) for e in emails} | {("phone", digest("phone", p)) for p in phones}


def _suppress(org_id: int, emails: set[str], phones: set[str], source: str) -> None:
    pairs = _digests(emails, phones)
    for kind, value in sorted(pairs - held(MarketingSuppression, org_id, pairs)):
        db.session.add(MarketingSuppression(org_id=org_id, kind=kind, digest=value, source=source))


def _unsuppress(org_id: int, emails: set[str], phones: set[str]) -> None:
    digests = sorted({d for _, d in _digests(emails, phones)})
    if digests:
        db.session.execute(delete(MarketingSuppression).where(
            MarketingSuppression.org_id == org_id, MarketingSuppression.digest.in_(digests)))
