"""Who is one guest: the deterministic partition of checks into guests.

Identifiers of a check's customer: normalized email, phone in E.164 (``portal.contacts``), Toast customer GUID.
Checks sharing any identifier are one guest, except that two different emails are never merged automatically (an
owner may merge them by hand: emails merged by hand form one "email class").

The partition is a greedy union-find over the checks in canonical order (order openedDate, then check GUID), so
it depends only on the data, never on arrival order:

1. Checks with an email or phone, in canonical order. A check joins every guest that already owns one of its
   identifiers, unless that guest has another email class (then that identifier stays with the guest it was
   first seen with, and the pair is a possible duplicate). A check with no email joins the guests of the
   earliest-created email class among its candidates. Unowned identifiers become owned by the check's guest.
2. GUID-only (loyalty) checks join the guest owning that GUID; with no owner they wait (``pending``).

A guest's key is ``e:<smallest email>``, else ``p:<smallest phone>``, else ``g:<smallest GUID>``.
No PII is logged here.
"""
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable

LATEST = datetime.max.replace(tzinfo=timezone.utc)  # checks without an openedDate sort last

Ident = tuple[str, str]  # ("e", email) | ("p", phone) | ("g", customer guid)
KIND_RANK = {"e": 0, "p": 1, "g": 2}


@dataclass(frozen=True)
class CheckIdentity:
    """What the partition needs of one check. ``ref`` is the caller's handle (a row id or the row itself)."""

    ref: Any
    check_guid: str
    opened_at: datetime | None
    email: str | None = None
    phone: str | None = None
    guid: str | None = None

    @property
    def sort_key(self) -> tuple:
        return (self.opened_at or LATEST, self.check_guid)

    @property
    def has_contact(self) -> bool:
        return bool(self.email or self.phone)

    def identifiers(self) -> list[Ident]:
        ids = []
        if self.email:
            ids.append(("e", self.email))
        if self.phone:
            ids.append(("p", self.phone))
        if self.guid:
            ids.append(("g", self.guid))
        return ids


@dataclass
class Group:
    """One guest: its key and checks (in canonical order)."""

    key: str
    checks: list[CheckIdentity]


@dataclass(frozen=True)
class Duplicate:
    """``owner_key``'s guest saw ``ident`` first; ``other_key``'s guest (another email) carries it too."""

    owner_key: str
    other_key: str
    ident: Ident


@dataclass
class Partition:
    groups: list[Group]
    pending: list[CheckIdentity]
    duplicates: list[Duplicate]

    def group_of(self) -> dict[str, str]:
        """check GUID -> group key (what tests compare across arrival orders)."""
        return {check.check_guid: group.key for group in self.groups for check in group.checks}


@dataclass(eq=False)
class _Set:
    index: int
    email_class: str | None = None
    checks: list = field(default_factory=list)
    parent: "_Set | None" = None

    def root(self) -> "_Set":
        node = self
        while node.parent is not None:
            node = node.parent
        return node


class _EmailClasses:
    """Union-find over emails merged by hand; an email's class is the smallest email of its class."""

    def __init__(self, pairs: Iterable[tuple[str, str]]):
        self.parent: dict[str, str] = {}
        for a, b in pairs:
            ra, rb = self.find(a), self.find(b)
            if ra != rb:
                self.parent[max(ra, rb)] = min(ra, rb)

    def find(self, email: str) -> str:
        while email in self.parent:
            email = self.parent[email]
        return email


def partition(checks: Iterable[CheckIdentity], merged_pairs: Iterable[tuple[str, str]] = ()) -> Partition:
    """Split checks into guests (see the module docstring). Pure and deterministic: same input, same output."""
    classes = _EmailClasses(merged_pairs)
    ordered = sorted(checks, key=lambda c: c.sort_key)
    sets: list[_Set] = []
    owner: dict[Ident, _Set] = {}
    by_class: dict[str, _Set] = {}
    for check in ordered:
        if check.has_contact:
            _place(check, classes, sets, owner, by_class)
    pending = []
    for check in ordered:
        if not check.has_contact and check.guid:
            holder = owner.get(("g", check.guid))
            if holder is None:
                pending.append(check)
            else:
                holder.root().checks.append(check)
    roots = [s for s in sets if s.parent is None]
    groups = {id(s): Group(key=_key(s.checks), checks=sorted(s.checks, key=lambda c: c.sort_key)) for s in roots}
    duplicates = _duplicates(roots, owner, groups)
    return Partition(groups=sorted(groups.values(), key=lambda g: g.key), pending=pending, duplicates=duplicates)


def _place(check: CheckIdentity, classes: _EmailClasses, sets: list, owner: dict, by_class: dict) -> None:
    idents = check.identifiers()
    own_class = classes.find(check.email) if check.email else None
    candidates = {owner[i].root() for i in idents if i in owner}
    if own_class is not None and own_class in by_class:
        candidates.add(by_class[own_class].root())
    candidates = sorted(candidates, key=lambda s: s.index)
    target_class = own_class or next((s.email_class for s in candidates if s.email_class), None)
    joinable = [s for s in candidates if s.email_class in (None, target_class)]
    if joinable:
        home = joinable[0]
        for other in joinable[1:]:
            other.parent = home
            home.checks.extend(other.checks)
            other.checks = []
    else:
        home = _Set(index=len(sets))
        sets.append(home)
    if target_class is not None:
        home.email_class = target_class
        by_class[target_class] = home
    home.checks.append(check)
    for ident in idents:
        owner.setdefault(ident, home)


def _key(checks: list[CheckIdentity]) -> str:
    for kind, attr in (("e", "email"), ("p", "phone"), ("g", "guid")):
        values = [getattr(c, attr) for c in checks if getattr(c, attr)]
        if values:
            return f"{kind}:{min(values)}"
    raise ValueError("a guest needs at least one identifier")


def _duplicates(roots: list[_Set], owner: dict, groups: dict) -> list[Duplicate]:
    """One pair per two guests, naming a shared identifier (phone before GUID, then the smallest) and oriented
    from the guest that identifier was first seen with."""
    found: dict[tuple[str, str], Duplicate] = {}
    for root in roots:
        mine = groups[id(root)].key
        for check in root.checks:
            for ident in check.identifiers():
                holder = owner[ident].root()
                if ident[0] == "e" or holder is root:
                    continue
                duplicate = Duplicate(owner_key=groups[id(holder)].key, other_key=mine, ident=ident)
                pair = tuple(sorted((duplicate.owner_key, mine)))
                best = found.get(pair)
                if best is None or (KIND_RANK[ident[0]], ident[1]) < (KIND_RANK[best.ident[0]], best.ident[1]):
                    found[pair] = duplicate
    return [found[pair] for pair in sorted(found)]
