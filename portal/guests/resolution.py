"""Identity resolution against the database: collect the checks connected to some identifiers, partition them
(``portal.guests.identity``), and make the guest rows match the partition.

Guest ids stay stable: a group keeps the guest with its key, else the guest holding most of its checks. A guest
left without a group is deleted; its tags, notes and marketing opt-out go to the guest that took most of its checks.
Logs carry counts only, never identifiers.
"""
import logging
from collections import Counter
from dataclasses import dataclass, field
from itertools import combinations

from sqlalchemy import bindparam, delete, exists, or_, select, union, update
from sqlalchemy.orm import Session, load_only

from portal.dbutil import expanding
from portal.guests.identity import CheckIdentity, Partition, partition
from portal.models.guest import Guest, GuestCheck
from portal.models.guest_links import GuestDuplicate, GuestMerge, GuestNote, GuestTag

log = logging.getLogger(__name__)
LARGE_COMPONENT = 10_000  # checks; worth a warning (a shared "house" phone number links many guests)
REASON_KINDS = {"p": "phone", "g": "guid"}
IDENT_KINDS = (("e", "email"), ("p", "phone"), ("g", "customer_guid"))
IDENTITY_COLUMNS = (GuestCheck.guest_id, GuestCheck.order_id, GuestCheck.check_guid, GuestCheck.opened_at,
                    GuestCheck.email, GuestCheck.phone, GuestCheck.customer_guid)
_gc = GuestCheck.__table__.c
# Seeds attribute (also the statements' list parameter), guest_checks column
_LISTS = (("emails", "email"), ("phones", "phone"), ("guids", "customer_guid"))


@dataclass
class Seeds:
    """Identifiers whose guests must be re-resolved."""

    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    guids: set[str] = field(default_factory=set)

    def add(self, email: str | None, phone: str | None, guid: str | None) -> None:
        if email:
            self.emails.add(email)
        if phone:
            self.phones.add(phone)
        if guid:
            self.guids.add(guid)

    def add_row(self, row) -> None:
        """The identifiers of a ``guest_checks`` row (an ORM object or a Core row)."""
        self.add(row.email, row.phone, row.customer_guid)

    def __bool__(self) -> bool:
        return bool(self.emails or self.phones or self.guids)


@dataclass
class Outcome:
    changed: set[int] = field(default_factory=set)  # guests whose set of checks changed (or that are new)
    moved_orders: set[int] = field(default_factory=set)  # orders of the checks that changed guest


def attach_known(session: Session, org_id: int, checks: list[dict]) -> tuple[list[dict], Outcome]:
    """Fast path for checks about to be inserted (``GuestCheck`` column values): one whose identifiers are all
    already known, only on checks of one guest X that has no possible duplicate and no manual merge, joins X (its
    ``guest_id`` is set). Returns the checks that need full resolution (``guest_id`` None).

    Why this equals full resolution: without a merge a guest has at most one email, and without a possible
    duplicate nothing outside X shares X's identifiers, so X plus the new check is one conflict-free component
    (one group, whatever the canonical order) and the check adds no identifier that could link anything else.
    """
    outcome = Outcome()
    if not checks:
        return [], outcome
    seeds = Seeds()
    for check in checks:
        seeds.add(check["email"], check["phone"], check["customer_guid"])
    holders, tangled = _holders(session, org_id, seeds)
    slow = []
    for check in checks:
        idents = [(k, check[name]) for k, name in IDENT_KINDS if check[name]]
        guests = set().union(*(holders.get(ident, {None}) for ident in idents))
        guest_id = next(iter(guests)) if len(guests) == 1 else None
        if guest_id is None or guest_id in tangled:
            check["guest_id"] = None
            slow.append(check)
            continue
        check["guest_id"] = guest_id
        outcome.changed.add(guest_id)
        outcome.moved_orders.add(check["order_id"])
    return slow, outcome


def _holders_statement(names: tuple[str, ...]):
    """Each (guest, identifiers) of the checks holding one of the listed identifiers (guest None: a pending check),
    with whether the guest has a possible duplicate or the email is named by an active manual merge: one round
    trip. A UNION of one branch per kind of identifier, each on its own index."""
    held = union(*(
        select(_gc.guest_id, _gc.email, _gc.phone, _gc.customer_guid).where(
            _gc.org_id == bindparam("org"), _gc[column].in_(expanding(name)))
        for name, column in _LISTS if name in names
    )).subquery()
    dup, merge = GuestDuplicate.__table__.c, GuestMerge.__table__.c
    return select(
        held,
        exists().where(or_(dup.guest_id == held.c.guest_id, dup.other_guest_id == held.c.guest_id)).label("dup"),
        exists().where(merge.org_id == bindparam("org"), merge.undone_at.is_(None),
                       or_(merge.email_a == held.c.email, merge.email_b == held.c.email)).label("merged"),
    )


# Prebuilt for every combination of kinds present: an empty IN list would make SQLite scan guest_checks.
HOLDERS = {names: _holders_statement(names) for size in (1, 2, 3)
           for names in combinations([name for name, _ in _LISTS], size)}


def _holders(session: Session, org_id: int, seeds: Seeds) -> tuple[dict[tuple[str, str], set], set[int]]:
    """Which guests (None: pending) the checks carrying these identifiers belong to, and which of those guests
    are tangled in a possible duplicate or a manual merge."""
    holders: dict[tuple[str, str], set] = {}
    tangled = set()
    lists = {name: sorted(getattr(seeds, name)) for name, _ in _LISTS}
    present = tuple(name for name, values in lists.items() if values)
    for row in session.connection().execute(HOLDERS[present], {"org": org_id, **lists}):
        for kind, name in IDENT_KINDS:
            if row._mapping[name]:
                holders.setdefault((kind, row._mapping[name]), set()).add(row.guest_id)
        if row.dup or row.merged:
            tangled.add(row.guest_id)
    return holders, tangled


def _conditions(ids: Seeds) -> list:
    return [_gc[column].in_(sorted(getattr(ids, name))) for name, column in _LISTS if getattr(ids, name)]


def component(session: Session, org_id: int, seeds: Seeds) -> tuple[list[GuestCheck], set[tuple[str, str]]]:
    """Every check connected to the seeds through shared identifiers or manual merges, and those merges."""
    rows: dict[int, GuestCheck] = {}
    merges: set[tuple[str, str]] = set()
    seen = Seeds()
    todo = Seeds(set(seeds.emails), set(seeds.phones), set(seeds.guids))
    while todo:
        seen.emails |= todo.emails
        seen.phones |= todo.phones
        seen.guids |= todo.guids
        found = Seeds()
        for row in _rows_with(session, org_id, todo):
            if row.id not in rows:
                rows[row.id] = row
                found.add_row(row)
        for pair in _merges_of(session, org_id, todo.emails):
            merges.add(pair)
            found.emails.update(pair)
        todo = Seeds(found.emails - seen.emails, found.phones - seen.phones, found.guids - seen.guids)
    if len(rows) > LARGE_COMPONENT:
        log.warning("guest identity component of %d checks in org %d", len(rows), org_id)
    return list(rows.values()), merges


def _rows_with(session: Session, org_id: int, ids: Seeds) -> list[GuestCheck]:
    # Only the columns resolution reads: no JSON decoding of items for every connected check. Loaded objects are
    # refreshed: the fast path writes guest_checks with Core statements, which the session does not see.
    return session.scalars(
        select(GuestCheck).options(load_only(*IDENTITY_COLUMNS))
        .where(GuestCheck.org_id == org_id, or_(*_conditions(ids)))
        .execution_options(populate_existing=True)
    ).all()


def _merges_of(session: Session, org_id: int, emails: set[str]) -> list[tuple[str, str]]:
    if not emails:
        return []
    listed = sorted(emails)
    rows = session.execute(
        select(GuestMerge.email_a, GuestMerge.email_b).where(
            GuestMerge.org_id == org_id, GuestMerge.undone_at.is_(None),
            or_(GuestMerge.email_a.in_(listed), GuestMerge.email_b.in_(listed)),
        )
    )
    return [(a, b) for a, b in rows]


def resolve(session: Session, org_id: int, seeds: Seeds, previous: set[int]) -> Outcome:
    """Re-resolve the guests connected to ``seeds``; ``previous`` are guests the changed checks belonged to."""
    session.flush()
    rows, merges = component(session, org_id, seeds)
    result = partition(
        [CheckIdentity(ref=r, check_guid=r.check_guid, opened_at=r.opened_at, email=r.email, phone=r.phone,
                       guid=r.customer_guid) for r in rows],
        merges,
    )
    before = {r.id: r.guest_id for r in rows}
    current = {g for g in before.values() if g is not None} | {g for g in previous if g is not None}
    chosen, leftovers = _choose_guests(session, org_id, result, current)
    outcome = Outcome()
    for group in result.groups:
        guest = chosen[group.key]
        for check in group.checks:
            if check.ref.guest_id != guest.id:
                outcome.changed.update({guest.id, check.ref.guest_id} - {None})
                outcome.moved_orders.add(check.ref.order_id)
                check.ref.guest_id = guest.id
    for check in result.pending:
        if check.ref.guest_id is not None:
            outcome.changed.add(check.ref.guest_id)
            outcome.moved_orders.add(check.ref.order_id)
            check.ref.guest_id = None
    _bury(session, leftovers, result, chosen, before)
    outcome.changed -= {g.id for g in leftovers}
    _write_duplicates(session, org_id, result, chosen)
    return outcome


def _choose_guests(session: Session, org_id: int, result: Partition,
                   current: set[int]) -> tuple[dict[str, Guest], list[Guest]]:
    keys = [group.key for group in result.groups]
    conditions = [Guest.id.in_(sorted(current))] if current else []
    if keys:
        conditions.append(Guest.key.in_(keys))
    guests = session.scalars(select(Guest).where(Guest.org_id == org_id, or_(*conditions))).all() if conditions else []
    by_id = {g.id: g for g in guests}
    by_key = {g.key: g for g in guests}
    chosen = {key: by_key[key] for key in keys if key in by_key}
    used = {g.id for g in chosen.values()}
    created = []
    for group in result.groups:
        if group.key in chosen:
            continue
        votes = Counter(c.ref.guest_id for c in group.checks if c.ref.guest_id in by_id and c.ref.guest_id not in used)
        if votes:
            guest = by_id[min(votes, key=lambda gid: (-votes[gid], gid))]
            guest.key = group.key
        else:
            guest = Guest(org_id=org_id, key=group.key)
            session.add(guest)
            created.append(guest)
        chosen[group.key] = guest
        used.add(guest.id)
    if created:
        session.flush()
    leftovers = [g for g in guests if g not in chosen.values()]
    return chosen, leftovers


def _bury(session: Session, leftovers: list[Guest], result: Partition, chosen: dict[str, Guest],
          before: dict[int, int | None]) -> None:
    """Delete guests without a group, after handing their tags, notes and opt-out to their main successor."""
    if not leftovers:
        return
    for dead in leftovers:
        heir = _heir(dead, result, chosen, before)
        if heir is not None:
            heir.marketing_opt_out = heir.marketing_opt_out or dead.marketing_opt_out
            taken = select(GuestTag.tag).where(GuestTag.guest_id == heir.id)
            session.execute(
                update(GuestTag).where(GuestTag.guest_id == dead.id, GuestTag.tag.not_in(taken)).values(guest_id=heir.id)
            )
            session.execute(update(GuestNote).where(GuestNote.guest_id == dead.id).values(guest_id=heir.id))
    session.flush()
    session.execute(delete(Guest).where(Guest.id.in_([g.id for g in leftovers])))


def _heir(dead: Guest, result: Partition, chosen: dict[str, Guest], before: dict[int, int | None]) -> Guest | None:
    """The guest that took most of ``dead``'s checks (ties: smallest key); None when all of them are gone."""
    votes = Counter(group.key for group in result.groups for check in group.checks if before.get(check.ref.id) == dead.id)
    if not votes:
        return None
    return chosen[min(votes, key=lambda key: (-votes[key], key))]


def _write_duplicates(session: Session, org_id: int, result: Partition, chosen: dict[str, Guest]) -> None:
    ids = sorted({g.id for g in chosen.values()})
    if not ids:
        return
    wanted = {
        (chosen[d.owner_key].id, chosen[d.other_key].id): (REASON_KINDS[d.ident[0]], d.ident[1])
        for d in result.duplicates
    }
    existing = session.execute(
        select(GuestDuplicate.id, GuestDuplicate.guest_id, GuestDuplicate.other_guest_id, GuestDuplicate.reason_kind,
               GuestDuplicate.reason_value)
        .where(or_(GuestDuplicate.guest_id.in_(ids), GuestDuplicate.other_guest_id.in_(ids)))
    ).all()
    stale = [row.id for row in existing if wanted.get((row.guest_id, row.other_guest_id)) != (row.reason_kind, row.reason_value)]
    kept = {(row.guest_id, row.other_guest_id) for row in existing if row.id not in stale}
    if stale:
        session.execute(delete(GuestDuplicate).where(GuestDuplicate.id.in_(stale)))
    fresh = [
        {"org_id": org_id, "guest_id": a, "other_guest_id": b, "reason_kind": kind, "reason_value": value}
        for (a, b), (kind, value) in wanted.items() if (a, b) not in kept
    ]
    if fresh:
        session.execute(GuestDuplicate.__table__.insert(), fresh)
