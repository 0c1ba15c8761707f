"""Reading guests for pages and exports: the list (search, sort, location filter, pages) and one guest's detail.

Every query starts from the organization id and reads the per-guest tables through their indexes; nothing here
scans orders. Sorting by a date puts guests without one last in both directions, on both databases: the rows
with a date are read through the (org_id, date, id) index first, then the others by id.
"""
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Iterator

from sqlalchemy import Select, column, exists, func, or_, select, table
from portal.dialects import dialect_of
from portal.extensions import db
from portal.models import Location
from portal.models.guest import Guest
from portal.models.guest_links import GuestLocation

PER_PAGE = 50
SEARCH_PINNED = 2000  # a search matching at most this many guests is sorted from its matches (see _searched)
MIN_CONTAINS = 3  # "contains" needs a trigram on PostgreSQL (pg_trgm); shorter text matches the start
MIN_TAIL_DIGITS = 4  # "ends with" these digits (the last 4 of a phone, as Toast Guestbook looks guests up)
GUEST_SEARCH = table("guest_search", column("rowid"), column("guest_search"))  # SQLite only (migration 0017)
TOP = "\U0010ffff"  # sorts after any other character: ``col >= q AND col < q + TOP`` is an index range
# URL value -> (column, label, definition key)
SORTS = {
    "name": (Guest.sort_name, "Name", None),
    "orders": (Guest.order_count, "Orders", "order_count"),
    "net_spend": (Guest.net_spend_cents, "Net spend", "net_spend"),
    "avg_check": (Guest.avg_check_cents, "Avg check", "avg_check"),
    "tips": (Guest.total_tips_cents, "Tips", "total_tips"),
    "first_order": (Guest.first_order_at, "First order", "first_order_at"),
    "last_order": (Guest.last_order_at, "Last order", "last_order_at"),
    "delivery": (Guest.delivery_orders, "Delivery", "delivery_orders"),
    "takeout": (Guest.takeout_orders, "Takeout", "takeout_orders"),
    "curbside": (Guest.curbside_orders, "Curbside", "curbside_orders"),
    "dine_in": (Guest.dine_in_orders, "Dine-in", "dine_in_orders"),
    "delivery_spend": (Guest.delivery_spend_cents, "Delivery spend", "delivery_spend"),
    "locations": (Guest.location_count, "Locations", "locations"),
}
NULLABLE_SORTS = {"first_order", "last_order"}


@dataclass(frozen=True)
class ListQuery:
    """The guest list's state, as carried in the URL. Unknown values fall back to defaults (never an error)."""

    q: str = ""
    sort: str = "last_order"
    direction: str = "desc"
    location_id: int | None = None
    page: int = 1

    @classmethod
    def from_args(cls, args) -> "ListQuery":
        sort = args.get("sort", cls.sort)
        direction = args.get("dir", cls.direction)
        location = args.get("location", "")
        page = args.get("page", "1")
        return cls(
            q=" ".join((args.get("q") or "").split())[:100],
            sort=sort if sort in SORTS else cls.sort,
            direction=direction if direction in ("asc", "desc") else cls.direction,
            location_id=int(location) if location.isdigit() else None,
            page=min(int(page), 100_000) if page.isdigit() and int(page) > 0 else 1,
        )

    def args(self, **changes) -> dict:
        """URL query arguments for this state with ``changes`` (a new sort or filter goes back to page 1)."""
        state = replace(self, **changes)
        if "page" not in changes:
            state = replace(state, page=1)
        out = {"sort": state.sort, "dir": state.direction}
        if state.q:
            out["q"] = state.q
        if state.location_id:
            out["location"] = state.location_id
        if state.page > 1:
            out["page"] = state.page
        return out

    def sort_args(self, sort: str) -> dict:
        """Clicking a column: the same column flips direction, another starts descending (names ascending)."""
        if sort == self.sort:
            return self.args(direction="asc" if self.direction == "desc" else "desc")
        return self.args(sort=sort, direction="asc" if sort == "name" else "desc")


@dataclass
class Page:
    guests: list[Guest]
    query: ListQuery
    has_next: bool
    location_names: dict[int, str] = field(default_factory=dict)

    @property
    def has_prev(self) -> bool:
        return self.query.page > 1


def org_locations(org_id: int) -> list[Location]:
    return db.session.scalars(select(Location).where(Location.org_id == org_id).order_by(Location.name)).all()


def filtered(org_id: int, query: ListQuery, guest_ids: Select | None = None) -> Select:
    """``select(Guest)`` of the organization narrowed by the search, location filter and an optional id subquery."""
    stmt = select(Guest).where(Guest.org_id == org_id)
    if query.q:
        stmt = stmt.where(_search(query.q))
    if query.location_id is not None:
        stmt = stmt.where(exists().where(GuestLocation.guest_id == Guest.id,
                                         GuestLocation.location_id == query.location_id))
    if guest_ids is not None:
        stmt = stmt.where(Guest.id.in_(guest_ids))
    return stmt


def _search(text: str):
    return or_(*_search_terms(text))


def _search_terms(text: str, walking: bool = False) -> list:
    """Any part of "first last" or the email (from MIN_CONTAINS characters; shorter text matches their start),
    the start of "last first", and for digits the start of the phone or its last digits (MIN_TAIL_DIGITS or more:
    "0101" finds +1 617 555 0101, as Toast Guestbook looks guests up). Each term reads an index on its own;
    ``walking``: the same tests on ``column || ''``, which no index serves, for a page read along the sort's index."""
    col = (lambda column: column.concat("")) if walking else (lambda column: column)
    q = text.strip().lower()
    named = [col(Guest.search_name)] + ([] if " " in q else [col(Guest.email)])  # no email holds a space
    if len(q) >= MIN_CONTAINS:
        terms = _contains(q, named)
    else:
        terms = [_prefix(column, q) for column in named]
    terms.append(_prefix(col(Guest.sort_name), q))
    digits = "".join(ch for ch in q if ch.isdigit())
    if digits and len(digits) >= 3 and all(ch.isdigit() or ch in " +-().," for ch in q):
        terms.append(_prefix(col(Guest.phone), "+" + digits))
        if not q.startswith("+") and not digits.startswith("1"):
            terms.append(_prefix(col(Guest.phone), "+1" + digits))
        if len(digits) >= MIN_TAIL_DIGITS and not q.startswith("+"):
            terms.append(_prefix(col(Guest.phone_reversed), digits[::-1]))
    return terms


def _contains(q: str, columns: list) -> list:
    """"Name or email contains q": LIKE through pg_trgm's GIN indexes on PostgreSQL, the FTS5 trigram table
    ``guest_search`` (migration 0017: a phrase of trigrams is a substring) on SQLite."""
    return dialect_of(db.session).contains(q, columns, GUEST_SEARCH, Guest.id)


def _prefix(column, value: str):
    return (column >= value) & (column < value + TOP)


def _ordered(stmt: Select, query: ListQuery, *, with_nulls: bool) -> Select:
    column = SORTS[query.sort][0]
    descending = query.direction == "desc"
    if query.sort in NULLABLE_SORTS:
        if with_nulls:
            return stmt.where(column.is_(None)).order_by(Guest.id.desc() if descending else Guest.id)
        stmt = stmt.where(column.is_not(None))
    if descending:
        return stmt.order_by(column.desc(), Guest.id.desc())
    return stmt.order_by(column.asc(), Guest.id.asc())


def _searched(org_id: int, query: ListQuery, guest_ids: Select | None) -> Select:
    """``filtered``, read the way the search's breadth calls for.

    The search indexes are read first, one term at a time, up to SEARCH_PINNED + 1 matches in all: a narrow
    search (an email, the last digits of a phone) is sorted from those ids alone. A broad one ("ma", "son") is
    read along the sort's index, testing each guest, since its matches come quickly that way; its tests are
    written so no index serves them (``walking``), or a planner would rather collect every match and sort them.
    """
    if not query.q:
        return filtered(org_id, query, guest_ids)
    unfiltered = filtered(org_id, replace(query, q=""), guest_ids)
    matched = set()
    for term in _search_terms(query.q):
        matched.update(db.session.scalars(
            select(Guest.id).where(Guest.org_id == org_id, term).limit(SEARCH_PINNED + 1)))
        if len(matched) > SEARCH_PINNED:
            return unfiltered.where(or_(*_search_terms(query.q, walking=True)))
    return unfiltered.where(Guest.id.in_(sorted(matched)))


def list_page(org_id: int, query: ListQuery, per_page: int = PER_PAGE, guest_ids: Select | None = None) -> Page:
    """One page of the guest list (no total count: counting a million rows per keystroke is not worth it)."""
    base = _searched(org_id, query, guest_ids)
    offset = (query.page - 1) * per_page
    rows = db.session.scalars(_ordered(base, query, with_nulls=False).offset(offset).limit(per_page + 1)).all()
    if query.sort in NULLABLE_SORTS and len(rows) <= per_page:
        # Past the guests with a date: continue with those without one.
        dated = offset + len(rows) if rows else _count(_ordered(base, query, with_nulls=False))
        null_offset = max(offset - dated, 0)
        rows += db.session.scalars(
            _ordered(base, query, with_nulls=True).offset(null_offset).limit(per_page + 1 - len(rows))
        ).all()
    return Page(guests=rows[:per_page], query=query, has_next=len(rows) > per_page)


def _count(stmt: Select) -> int:
    return db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))


def iter_guests(org_id: int, query: ListQuery, guest_ids: Select | None = None, chunk: int = 1000) -> Iterator[list[Guest]]:
    """Every guest of the list in its order, in chunks, streamed from the database (for exports)."""
    base = filtered(org_id, query, guest_ids)
    phases = [False, True] if query.sort in NULLABLE_SORTS else [False]
    for with_nulls in phases:
        result = db.session.scalars(_ordered(base, query, with_nulls=with_nulls).execution_options(yield_per=chunk))
        for part in result.partitions(chunk):
            yield list(part)


def location_names(guest_ids: list[int]) -> dict[int, list[str]]:
    """Guest id -> names of the locations of its counted orders (as the pages name them), by name."""
    found = defaultdict(list)
    if guest_ids:
        rows = db.session.execute(
            select(GuestLocation.guest_id, Location).join(Location, Location.id == GuestLocation.location_id)
            .where(GuestLocation.guest_id.in_(guest_ids))
        )
        for guest_id, location in rows:
            found[guest_id].append(location.display_name)
    return {guest_id: sorted(names) for guest_id, names in found.items()}


def days_since(moment: datetime | None, as_of: date) -> int | None:
    return None if moment is None else (as_of - moment.date()).days
