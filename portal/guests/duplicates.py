"""Possible duplicates as owners review them: one entry per group of guests linked by shared identifiers (a guest in
three pairs is one entry, not three), pairs an owner marked "not the same person" left out for good.

A dismissal is kept by email (guest ids change when guests are re-resolved), like a manual merge.
"""
from dataclasses import dataclass, field

from sqlalchemy import or_, select

from portal.audit import service as audit
from portal.dbutil import lock_organization
from portal.errors import InputError
from portal.extensions import db
from portal.models import Guest, GuestDistinctPair, GuestDuplicate

PER_PAGE = 20


@dataclass
class DuplicateGroup:
    """Guests linked by possible duplicates, shown side by side, and the pairs an owner can merge or dismiss."""

    guests: list[Guest] = field(default_factory=list)
    pairs: list[GuestDuplicate] = field(default_factory=list)

    def name_of(self, guest_id: int) -> str:
        return next(g.display_name for g in self.guests if g.id == guest_id)


def _email_pair(first: Guest, second: Guest) -> tuple[str, str] | None:
    """The two emails identifying a pair of email guests (sorted), or None when one has no email of its own."""
    if not (first.key.startswith("e:") and second.key.startswith("e:")):
        return None
    a, b = sorted((first.key[2:], second.key[2:]))
    return a, b


def _dismissed(org_id: int) -> set[tuple[str, str]]:
    return set(db.session.execute(
        select(GuestDistinctPair.email_a, GuestDistinctPair.email_b).where(GuestDistinctPair.org_id == org_id)).all())


def open_pairs(org_id: int, guest_id: int | None = None) -> list[tuple[GuestDuplicate, Guest, Guest]]:
    """Possible duplicates not dismissed, oldest first, with both guests; only those of ``guest_id`` if given."""
    stmt = select(GuestDuplicate).where(GuestDuplicate.org_id == org_id).order_by(GuestDuplicate.id)
    if guest_id is not None:
        stmt = stmt.where(or_(GuestDuplicate.guest_id == guest_id, GuestDuplicate.other_guest_id == guest_id))
    rows = db.session.scalars(stmt).all()
    ids = {d.guest_id for d in rows} | {d.other_guest_id for d in rows}
    guests = {g.id: g for g in db.session.scalars(select(Guest).where(Guest.id.in_(ids)))} if ids else {}
    dismissed = _dismissed(org_id)
    return [(d, guests[d.guest_id], guests[d.other_guest_id]) for d in rows
            if _email_pair(guests[d.guest_id], guests[d.other_guest_id]) not in dismissed]


def groups(org_id: int) -> list[DuplicateGroup]:
    """Every group of guests linked by open possible duplicates, the group with the newest pair first."""
    parent: dict[int, int] = {}

    def root(guest_id: int) -> int:
        while parent.setdefault(guest_id, guest_id) != guest_id:
            parent[guest_id] = parent[parent[guest_id]]
            guest_id = parent[guest_id]
        return guest_id

    pairs = open_pairs(org_id)
    for duplicate, first, second in pairs:
        parent[root(first.id)] = root(second.id)
    by_root: dict[int, DuplicateGroup] = {}
    for duplicate, first, second in pairs:
        group = by_root.setdefault(root(first.id), DuplicateGroup())
        group.pairs.append(duplicate)
        for guest in (first, second):
            if guest not in group.guests:
                group.guests.append(guest)
    return sorted(by_root.values(), key=lambda group: -max(pair.id for pair in group.pairs))


def page_of_groups(org_id: int, page: int, per_page: int = PER_PAGE) -> tuple[list[DuplicateGroup], int]:
    """One page of groups and how many groups there are."""
    found = groups(org_id)
    return found[(page - 1) * per_page:page * per_page], len(found)


def dismiss(duplicate: GuestDuplicate, user_id: int | None) -> None:
    """Owner action: the two guests are different people; their possible duplicate is no longer listed, now or
    after later orders. InputError when one of them has no email of its own (nothing to remember it by)."""
    lock_organization(db.session, duplicate.org_id)  # two owners at once: one row, no unique-key error
    first, second = db.session.get(Guest, duplicate.guest_id), db.session.get(Guest, duplicate.other_guest_id)
    emails = _email_pair(first, second)
    if emails is None:
        raise InputError("only guests with different emails can be marked as different people")
    if emails not in _dismissed(duplicate.org_id):
        db.session.add(GuestDistinctPair(org_id=duplicate.org_id, email_a=emails[0], email_b=emails[1],
                                         created_by_id=user_id))
    audit.record("guest.duplicate_dismissed", org_id=duplicate.org_id, target=first,
                 details={"guest_ids": [first.id, second.id]})
