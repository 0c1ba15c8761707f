"""Guest profiles kept current as orders arrive: the sync engine's hook, rebuilds, and what people do to guests.

Nothing here commits: callers (sync jobs, views, the CLI) own the transaction. Nothing here logs guest PII.
What rewrites guests first takes the organization's lock (portal.dbutil.lock_organization): one writer at a time.
"""
from zoneinfo import ZoneInfo

from sqlalchemy import select

from portal.audit import service as audit
from portal.dbutil import lock_organization
from portal.errors import InputError
from portal.extensions import db
from portal.guests import daily, figures, loading
from portal.guests.check_writes import CheckWrites
from portal.guests.checks import check_facts
from portal.guests.resolution import Seeds, attach_known, resolve
from portal.localtime import zone_named
from portal.models import Order
from portal.models.base import utcnow
from portal.models.guest import Guest, GuestCheck
from portal.models.guest_links import GuestDuplicate, GuestMerge, GuestNote, GuestTag
from portal.privacy import consent, erasure

BATCH = 500
IDENTITY_FIELDS = ("email", "phone", "customer_guid", "opened_at")
MAX_TAG = 64
MAX_NOTE = 4000


def apply_orders(org_id: int, order_ids: list[int]) -> None:
    """Bring guest profiles up to date with these orders (just inserted, replaced, voided, refunded, deleted...).

    Call it after writing the orders and before committing, in the same transaction. Only guests the orders
    touch (now or before) are re-resolved and recomputed. Orders of other organizations are ignored; ids of
    orders that no longer exist drop their contributions.
    """
    lock_organization(db.session, org_id)
    ids = sorted(set(order_ids))
    moments, zone = set(), None
    for start in range(0, len(ids), BATCH):
        changed, zone = _apply_batch(org_id, ids[start:start + BATCH])
        moments |= changed
    daily.refresh(db.session, org_id, moments, zone)


def _apply_batch(org_id: int, ids: list[int], force: bool = False) -> tuple[set, ZoneInfo]:
    """Apply one batch of orders. Returns the moments whose dashboard days changed (``portal.guests.daily``) and
    the organization's time zone."""
    db.session.flush()  # the orders just written, and any guest change of the caller, before Core reads them
    screening, orders = loading.orders(db.session, org_id, ids)
    if screening.erased and erasure.scrub_orders(org_id, ids):
        # Customers with an erased identifier became anonymous: resolution reads the orders without them.
        screening, orders = loading.orders(db.session, org_id, ids)
    known = {order.id: order.known for order in orders}  # has guest_checks rows (a new order has none)
    # a gone order's rows go too
    existing = loading.guest_checks(db.session, org_id, [i for i in ids if known.get(i, True)])
    fresh = check_facts(orders)
    writes = CheckWrites(slots={order.location_id: order.location_slot for order in orders})
    seeds, touched = _update_existing(existing, fresh, writes)
    new = writes.added = [values for key, values in fresh.items() if key not in existing]
    slow, fast = attach_known(db.session, org_id, new)  # before the insert: the holders are the other checks
    for values in slow:
        seeds.add(values["email"], values["phone"], values["customer_guid"])
    order_ids, resolved = set(ids), set()
    if seeds:
        writes.execute(db.session)  # resolution reads them
        writes = None
        # ``previous``: guests that lost or changed checks (not those the fast path just gave a check to).
        outcome = resolve(db.session, org_id, seeds, previous=touched)
        resolved = outcome.changed
        order_ids |= outcome.moved_orders
    only_gained = fast.changed - touched - resolved
    grown = {}  # guests that only gained checks -> the orders of those checks
    for values in new:
        if values["guest_id"] in only_gained:
            grown.setdefault(values["guest_id"], set()).add(values["order_id"])
    touched |= resolved | fast.changed
    moved_first_visits = figures.recompute(db.session, org_id, touched - {None}, order_ids, force=force,
                                           grown=grown, writes=writes)
    if screening.suppressed:
        consent.apply_suppressions(org_id, touched)
    opened = {order.id: order.opened_at for order in orders}
    moments = moved_first_visits | {opened[i] for i in order_ids if i in opened}
    moments |= daily.order_moments(db.session, org_id, order_ids - set(opened))  # orders that moved between guests
    return moments, zone_named(screening.time_zone)


def _update_existing(existing: dict, fresh: dict, writes: CheckWrites) -> tuple[Seeds, set]:
    """Bring the orders' existing ``guest_checks`` rows in line with their checks now (in ``writes``): delete
    those whose check is gone, update those that changed. Returns the identifiers to re-resolve and the guests
    the rows belonged to."""
    seeds, touched = Seeds(), set()
    for key, row in existing.items():
        values = fresh.get(key)
        if values is None:
            if _identified(row):  # an erased guest's checks (no identifier) stay its history
                seeds.add_row(row)
                touched.add(row.guest_id)
                writes.gone.append(row)
            continue
        touched.add(row.guest_id)
        if any(row._mapping[name] != values[name] for name in IDENTITY_FIELDS):
            seeds.add_row(row)
            seeds.add(values["email"], values["phone"], values["customer_guid"])
        if any(row._mapping[name] != value for name, value in values.items()):
            writes.changed.append((row, values))
    return seeds, touched


def _identified(row) -> bool:
    return bool(row.email or row.phone or row.customer_guid)


def rebuild(org_id: int, progress=None) -> int:
    """Recompute every guest of the organization from its stored orders (after a config refresh, or to repair).

    Guest ids, tags and notes survive where the same guests come out. Returns the number of orders applied.
    """
    lock_organization(db.session, org_id)
    order_ids = db.session.scalars(select(Order.id).where(Order.org_id == org_id).order_by(Order.id)).all()
    for start in range(0, len(order_ids), BATCH):
        _apply_batch(org_id, order_ids[start:start + BATCH], force=True)
        if progress is not None:
            progress(min(start + BATCH, len(order_ids)), len(order_ids))
    daily.rebuild(db.session, org_id)
    return len(order_ids)


# --- what people do to guests --------------------------------------------------------------------------------


def clean_tag(text: str | None) -> str:
    """A tag as stored: words single-spaced, lower-cased. InputError when empty or too long."""
    tag = " ".join((text or "").split()).lower()
    if not tag or len(tag) > MAX_TAG:
        raise InputError(f"a tag is 1 to {MAX_TAG} characters")
    return tag


def add_tag(guest: Guest, tag: str, user_id: int | None) -> GuestTag | None:
    """Tag a guest (idempotent). InputError on an empty or too long tag."""
    tag = clean_tag(tag)
    found = db.session.scalar(select(GuestTag).where(GuestTag.guest_id == guest.id, GuestTag.tag == tag))
    if found is not None:
        return found
    row = GuestTag(org_id=guest.org_id, guest_id=guest.id, tag=tag, created_by_id=user_id)
    db.session.add(row)
    db.session.flush()
    return row


def remove_tag(guest: Guest, tag_id: int) -> None:
    """Remove one of the guest's tags; InputError (shown as 404 by views) when it is not the guest's."""
    row = db.session.scalar(select(GuestTag).where(GuestTag.id == tag_id, GuestTag.guest_id == guest.id))
    if row is None:
        raise InputError("no such tag")
    db.session.delete(row)


def add_note(guest: Guest, body: str, user_id: int | None) -> GuestNote:
    """Add a note to a guest. InputError on an empty or too long note."""
    body = (body or "").strip()
    if not body or len(body) > MAX_NOTE:
        raise InputError(f"a note is 1 to {MAX_NOTE} characters")
    row = GuestNote(org_id=guest.org_id, guest_id=guest.id, body=body, author_id=user_id)
    db.session.add(row)
    db.session.flush()
    return row


def merge(duplicate: GuestDuplicate, user_id: int | None) -> Guest:
    """Owner action: make the two guests of a possible duplicate one guest, now and for later orders.

    Recorded by email (a GuestMerge row), so re-resolution keeps it. Returns the merged guest.
    InputError when one of them has no email (it cannot be a possible duplicate then).
    """
    lock_organization(db.session, duplicate.org_id)
    first, second = db.session.get(Guest, duplicate.guest_id), db.session.get(Guest, duplicate.other_guest_id)
    emails = sorted({first.email, second.email} - {None})
    if len(emails) != 2 or not first.key.startswith("e:") or not second.key.startswith("e:"):
        raise InputError("only guests with different emails can be merged")
    a, b = sorted((first.key[2:], second.key[2:]))
    record = GuestMerge(org_id=duplicate.org_id, email_a=a, email_b=b, created_by_id=user_id,
                        reason=duplicate.reason[:400])
    db.session.add(record)
    ids = [first.id, second.id]
    _reresolve(duplicate.org_id, {a, b})
    merged = db.session.scalar(select(Guest).where(Guest.org_id == duplicate.org_id, Guest.key == f"e:{a}"))
    audit.record("guest.merged", org_id=duplicate.org_id, target=merged,
                 details={"merge_id": record.id, "guest_ids": ids})
    return merged


def unmerge(record: GuestMerge, user_id: int | None) -> None:
    """Owner action: undo a manual merge; the guests split again at once and for later orders."""
    lock_organization(db.session, record.org_id)
    if record.undone_at is not None:
        raise InputError("this merge was already undone")
    record.undone_at = utcnow()
    record.undone_by_id = user_id
    _reresolve(record.org_id, {record.email_a, record.email_b})
    audit.record("guest.unmerged", org_id=record.org_id, target=record, details={"merge_id": record.id})


def _reresolve(org_id: int, emails: set[str]) -> None:
    db.session.flush()
    seeds = Seeds(emails=set(emails))
    outcome = resolve(db.session, org_id, seeds, previous=set())
    moved_first_visits = figures.recompute(db.session, org_id, outcome.changed, outcome.moved_orders)
    daily.refresh(db.session, org_id,
                  moved_first_visits | daily.order_moments(db.session, org_id, outcome.moved_orders))


def merges_of(guest: Guest) -> list[GuestMerge]:
    """Manual merges involving the guest's emails (active and undone), newest first."""
    emails = sorted({row for row in db.session.scalars(
        select(GuestCheck.email).where(GuestCheck.guest_id == guest.id, GuestCheck.email.is_not(None)).distinct()
    )})
    if not emails:
        return []
    return db.session.scalars(
        select(GuestMerge).where(GuestMerge.org_id == guest.org_id,
                                 GuestMerge.email_a.in_(emails) | GuestMerge.email_b.in_(emails))
        .order_by(GuestMerge.created_at.desc(), GuestMerge.id.desc())
    ).all()
