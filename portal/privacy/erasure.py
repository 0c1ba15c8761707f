"""Right to erasure: a guest's contact data goes, their orders stay as anonymous history, and they never come back.

Erasing a guest clears names, email, phone, Toast customer GUID, addresses, vehicles, notes and tags from the guest,
from its ``guest_checks`` rows and from the raw order copy (``order_checks.customer_*``, the orders' delivery and
curbside details), and blanks the bodies of processed webhook events of its orders. Order and revenue figures stay
(orders, checks, payments; the guest row keeps its figures as "Erased guest #id").

Every erased identifier (normalized email, E.164 phone, Toast customer GUID) is kept only as an HMAC-SHA256
(``erased_identifiers``). ``scrub_orders`` runs before identity resolution on every batch of stored orders: a check
whose customer carries an erased identifier is made anonymous in the raw copy, so no profile is ever re-created or
re-linked from it. Nothing here commits or logs identifiers.
"""
import hashlib
import hmac

from flask import current_app
from sqlalchemy import delete, or_, select, update

from portal.audit import service as audit
from portal.contacts import normalize_email, normalize_phone
from portal.dbutil import lock_organization
from portal.extensions import db
from portal.models import Order, OrderCheck, WebhookEvent
from portal.models.base import utcnow
from portal.models.guest import Guest, GuestCheck
from portal.models.guest_links import GuestDuplicate, GuestFact, GuestMerge, GuestNote, GuestTag
from portal.models.privacy import ErasedIdentifier

KEY_CONTEXT = b"tablecloth/erased-identifiers/v1"
CUSTOMER_COLUMNS = ("customer_guid", "customer_first_name", "customer_last_name", "customer_email",
                    "customer_phone", "customer_phone_country_code")
PII_FACTS = ("address", "vehicle")
BLANK_BODY = "{}"


def _key() -> bytes:
    """ERASURE_HASH_KEY when set (survives a SECRET_KEY rotation), else a key derived from SECRET_KEY."""
    configured = current_app.config.get("ERASURE_HASH_KEY")
    if configured:
        return configured.encode() if isinstance(configured, str) else configured
    secret = current_app.config["SECRET_KEY"]
    secret = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(secret, KEY_CONTEXT, hashlib.sha256).digest()


def digest(kind: str, value: str) -> str:
    """Hex HMAC-SHA256 of one normalized identifier ("email", "phone" or "guid")."""
    return hmac.new(_key(), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def identifier_digests(email: str | None, phone: str | None, guid: str | None) -> list[tuple[str, str]]:
    pairs = (("email", email), ("phone", phone), ("guid", guid))
    return [(kind, digest(kind, value)) for kind, value in pairs if value]


def held(model, org_id: int, pairs: set[tuple[str, str]], batch: int = 500) -> set[tuple[str, str]]:
    """Which of these (kind, digest) pairs a keyed-hash table (``ErasedIdentifier``, ``MarketingSuppression``)
    holds for the organization."""
    found, digests = set(), sorted({value for _, value in pairs})
    for start in range(0, len(digests), batch):
        found.update(tuple(row) for row in db.session.execute(
            select(model.kind, model.digest).where(model.org_id == org_id,
                                                   model.digest.in_(digests[start:start + batch]))))
    return found & pairs


def erase(guest: Guest, user_id: int | None = None) -> Guest:
    """Owner action: erase a guest (see the module docstring). Idempotent; audited "guest.erased" with the id only.

    The caller commits. Raises nothing for an already erased guest (it is erased again, finding nothing new).
    """
    org_id = guest.org_id
    lock_organization(db.session, org_id)  # an order stored meanwhile would re-link what is being erased
    checks = db.session.scalars(select(GuestCheck).where(GuestCheck.guest_id == guest.id)).all()
    idents = {(guest.email, guest.phone, guest.customer_guid)} | {(c.email, c.phone, c.customer_guid) for c in checks}
    order_ids = sorted({c.order_id for c in checks})
    _remember(org_id, idents)
    _scrub_raw_orders(org_id, order_ids, [c.check_guid for c in checks])
    for row in checks:
        for name in ("email", "phone", "customer_guid", "first_name", "last_name", "address", "vehicle"):
            setattr(row, name, None)
    _forget_links(guest, {email for email, _, _ in idents if email})
    for name in ("first_name", "last_name", "email", "phone", "phone_reversed", "customer_guid"):
        setattr(guest, name, None)
    guest.search_name = guest.sort_name = ""
    guest.has_email = guest.has_phone = False
    guest.key = f"x:{guest.id}"  # the old key was the email (or phone): never keep it
    guest.marketing_opt_out = True  # nothing to contact, and nothing that may ever be contacted again
    guest.erased_at = guest.erased_at or utcnow()
    audit.record("guest.erased", org_id=org_id, target=guest, details={"guest_id": guest.id})
    db.session.flush()
    return guest


def _remember(org_id: int, idents: set[tuple]) -> None:
    wanted = {pair for email, phone, guid in idents for pair in identifier_digests(email, phone, guid)}
    if not wanted:
        return
    now = utcnow()
    for kind, value in sorted(wanted - held(ErasedIdentifier, org_id, wanted)):
        db.session.add(ErasedIdentifier(org_id=org_id, kind=kind, digest=value, erased_at=now))


def _scrub_raw_orders(org_id: int, order_ids: list[int], check_guids: list[str]) -> None:
    """Blank the customer of the guest's checks in the raw order copy, the orders' delivery/curbside details and
    the bodies of processed webhook events of those orders."""
    if not order_ids:
        return
    db.session.execute(
        update(OrderCheck).where(OrderCheck.org_id == org_id, OrderCheck.order_id.in_(order_ids),
                                 OrderCheck.guid.in_(check_guids))
        .values(**{name: None for name in CUSTOMER_COLUMNS})
    )
    _blank_order_details(org_id, order_ids)


def _blank_order_details(org_id: int, order_ids: list[int]) -> None:
    db.session.execute(update(Order).where(Order.org_id == org_id, Order.id.in_(order_ids))
                       .values(delivery_info=None, curbside_info=None))
    guids = db.session.scalars(select(Order.guid).where(Order.org_id == org_id, Order.id.in_(order_ids))).all()
    if guids:
        db.session.execute(
            update(WebhookEvent).where(WebhookEvent.org_id == org_id, WebhookEvent.order_guid.in_(guids),
                                       WebhookEvent.processed_at.is_not(None))
            .values(body=BLANK_BODY)
        )


def _forget_links(guest: Guest, emails: set[str]) -> None:
    db.session.execute(delete(GuestNote).where(GuestNote.guest_id == guest.id))
    db.session.execute(delete(GuestTag).where(GuestTag.guest_id == guest.id))
    db.session.execute(delete(GuestFact).where(GuestFact.guest_id == guest.id, GuestFact.kind.in_(PII_FACTS)))
    db.session.execute(delete(GuestDuplicate).where(
        or_(GuestDuplicate.guest_id == guest.id, GuestDuplicate.other_guest_id == guest.id)))
    if emails:
        listed = sorted(emails)
        db.session.execute(delete(GuestMerge).where(
            GuestMerge.org_id == guest.org_id, or_(GuestMerge.email_a.in_(listed), GuestMerge.email_b.in_(listed))))


# --- keeping erased guests away ---------------------------------------------------------------------------------


def scrub_orders(org_id: int, order_ids: list[int]) -> int:
    """Make anonymous the checks of these orders whose customer carries an erased identifier (in the raw order
    copy, before identity resolution reads it). Returns how many checks were scrubbed. Callers skip it when
    ``portal.guests.loading.orders`` says the organization never erased anyone."""
    if not order_ids:
        return 0
    rows = db.session.execute(
        select(OrderCheck.id, OrderCheck.order_id, OrderCheck.customer_email, OrderCheck.customer_phone,
               OrderCheck.customer_phone_country_code, OrderCheck.customer_guid)
        .where(OrderCheck.org_id == org_id, OrderCheck.order_id.in_(order_ids),
               or_(OrderCheck.customer_email.is_not(None), OrderCheck.customer_phone.is_not(None),
                   OrderCheck.customer_guid.is_not(None)))
    ).all()
    if not rows:
        return 0
    per_row = {
        row.id: identifier_digests(normalize_email(row.customer_email),
                                   normalize_phone(row.customer_phone, row.customer_phone_country_code),
                                   (row.customer_guid or "").strip() or None)
        for row in rows
    }
    erased = held(ErasedIdentifier, org_id, {pair for pairs in per_row.values() for pair in pairs})
    hit = [row for row in rows if any(pair in erased for pair in per_row[row.id])]
    if not hit:
        return 0
    db.session.execute(update(OrderCheck).where(OrderCheck.id.in_([row.id for row in hit]))
                       .values(**{name: None for name in CUSTOMER_COLUMNS}))
    _blank_order_details(org_id, sorted({row.order_id for row in hit}))
    return len(hit)


def is_erased_identifier(org_id: int, email: str | None = None, phone: str | None = None,
                         guid: str | None = None) -> bool:
    """Whether any of these normalized identifiers belonged to an erased guest of the organization."""
    return bool(held(ErasedIdentifier, org_id, set(identifier_digests(email, phone, guid))))
