"""Segments: saving them, and their members, counts, figures and chart, all computed by SQL on ``guests``.

Views, the CLI and exports call these; nothing here reads ``request`` or commits.
Membership for other features (exports, predictions): ``member_ids(org_id, rules)`` is a ``SELECT guests.id``.
"""
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timezone

from sqlalchemy import Select, case, func, select
from sqlalchemy.exc import IntegrityError

from portal.dialects import dialect_of
from portal.errors import InputError
from portal.extensions import db
from portal.models import Employee, Guest, GuestTag, Location, MenuItem, Segment
from portal.models.base import utcnow
from portal.scoring.service import CHURN_BANDS, RFM_GROUPS
from portal.segments.compile import Compiler
from portal.segments.presets import PRESETS, choice_values, describe
from portal.segments.rules import FIELDS, conditions, validate

PER_PAGE = 25
MAX_PAGE = 4_000  # deep OFFSETs are slow; the CSV export is the way to every member
CHART_MONTHS = 12
MAX_CHOICES = 1_000
SORTS = {
    "last_order": Guest.last_order_at, "first_order": Guest.first_order_at, "orders": Guest.order_count,
    "spend": Guest.net_spend_cents, "avg_check": Guest.avg_check_cents, "name": Guest.sort_name,
}
DEFAULT_SORT = ("last_order", "desc")
NULLABLE_SORTS = frozenset({"last_order", "first_order"})


@dataclass(frozen=True)
class Page:
    rows: list
    number: int
    total: int  # members of the segment

    @property
    def pages(self) -> int:
        return max(1, min(MAX_PAGE, -(-self.total // PER_PAGE)))


@dataclass(frozen=True)
class Stats:
    members: int
    guests: int
    spend_cents: int
    opted_out: int  # members who opted out of marketing (left out of exports unless asked for)

    @property
    def share(self) -> float:
        return self.members / self.guests if self.guests else 0.0

    @property
    def average_cents(self) -> int:
        return round(self.spend_cents / self.members) if self.members else 0


# membership ----------------------------------------------------------------------------------------------


def compiler(org_id: int, now: datetime | None = None) -> Compiler:
    """A rule compiler for one organization at ``now`` (default: the current time)."""
    return Compiler(db.session, org_id, now or utcnow())


def member_ids(org_id: int, rules: dict, now: datetime | None = None) -> Select:
    """``SELECT guests.id`` of the organization's guests matching validated ``rules`` (subquery-ready)."""
    return compiler(org_id, now).members(rules)


def count_members(org_id: int, rules: dict, now: datetime | None = None, *, among: Compiler | None = None) -> int:
    """How many of the organization's guests match ``rules``."""
    where = (among or compiler(org_id, now)).where(rules)
    return db.session.scalar(select(func.count()).select_from(Guest).where(Guest.org_id == org_id, where))


def members_page(org_id: int, rules: dict, *, page: int = 1, sort: str = DEFAULT_SORT[0],
                 direction: str = DEFAULT_SORT[1], now: datetime | None = None) -> Page:
    """One page of members, sorted by a SORTS key, with the total. Unknown sorts fall back to the default;
    pages are clamped to 1..MAX_PAGE. Guests without a date sort last in both directions on both databases
    (as in the guest list): the dated rows come first, then the others by id."""
    where = compiler(org_id, now).where(rules)
    total = db.session.scalar(select(func.count()).select_from(Guest).where(Guest.org_id == org_id, where))
    number = min(max(page, 1), MAX_PAGE)
    sort = sort if sort in SORTS else DEFAULT_SORT[0]
    # Few members: find them through the rules' index and sort them, rather than walk the sort index past
    # every other guest (where the database would always walk). With more members the walk stops early: about
    # PER_PAGE x guests / members rows.
    dialect = dialect_of(db.session)
    sparse = total < dialect.sort_found_members_below
    ids = _page_ids(select(Guest.id).where(Guest.org_id == org_id, where), sort, direction,
                    (number - 1) * PER_PAGE, dialect.non_selective if sparse else None)
    found = {guest.id: guest for guest in db.session.scalars(select(Guest).where(Guest.id.in_(ids)))} if ids else {}
    return Page(rows=[found[i] for i in ids], number=number, total=total)


def _page_ids(members: Select, sort: str, direction: str, offset: int, off_index: Callable | None) -> list[int]:
    """Ids of one page of ``members`` (a ``SELECT guests.id``), in the page's order; ``off_index`` keeps the sort
    column off its index (then the members are found first and sorted)."""
    column = SORTS[sort]
    key = off_index(column) if off_index else column

    def ordered(query, by):
        return query.order_by(*((by.asc(), Guest.id.asc()) if direction == "asc" else (by.desc(), Guest.id.desc())))

    if sort not in NULLABLE_SORTS:
        return list(db.session.scalars(ordered(members, key).limit(PER_PAGE).offset(offset)))
    ids = list(db.session.scalars(ordered(members.where(column.is_not(None)), key).limit(PER_PAGE).offset(offset)))
    if len(ids) < PER_PAGE:  # past the dated members: those without a date, by id
        dated = offset + len(ids) if ids else db.session.scalar(
            select(func.count()).select_from(members.where(column.is_not(None)).subquery()))
        undated = members.where(column.is_(None)).order_by(Guest.id.asc() if direction == "asc" else Guest.id.desc())
        ids += db.session.scalars(undated.limit(PER_PAGE - len(ids)).offset(max(offset - dated, 0)))
    return ids


def stats(org_id: int, rules: dict, now: datetime | None = None) -> Stats:
    """Members, all guests, the members' total net spend and how many of them opted out, in one pass."""
    compiled = compiler(org_id, now)
    members, spend, opted_out = db.session.execute(
        select(func.count(), func.coalesce(func.sum(Guest.net_spend_cents), 0),
               func.coalesce(func.sum(case((Guest.marketing_opt_out, 1), else_=0)), 0))
        .where(Guest.org_id == org_id, compiled.where(rules))
    ).one()
    return Stats(members=members, guests=compiled.guest_count(), spend_cents=int(spend), opted_out=int(opted_out))


def last_order_months(org_id: int, rules: dict, now: datetime | None = None) -> list[tuple[str, int]]:
    """Members by the UTC month of their last order: the last CHART_MONTHS months (oldest first, zeros
    included), preceded by ("earlier", n) for everything before."""
    now = now or utcnow()
    months = _months_back(now, CHART_MONTHS)
    start = datetime(months[0].year, months[0].month, 1, tzinfo=timezone.utc)
    where = compiler(org_id, now).where(rules)
    month = dialect_of(db.session).month_label(Guest.last_order_at)
    found = dict(db.session.execute(
        select(month, func.count()).where(Guest.org_id == org_id, where, Guest.last_order_at >= start).group_by(month)
    ).all())
    earlier = db.session.scalar(
        select(func.count()).select_from(Guest).where(Guest.org_id == org_id, where, Guest.last_order_at < start)
    )
    labels = [f"{m.year:04d}-{m.month:02d}" for m in months]
    return [("earlier", earlier)] + [(label, found.get(label, 0)) for label in labels]


def export_counts(org_id: int, rules: dict, now: datetime | None = None) -> tuple[int, int]:
    """(members who may be contacted, members left out of an export because they opted out of marketing)."""
    figures = stats(org_id, rules, now)
    return figures.members - figures.opted_out, figures.opted_out


def export_member_ids(org_id: int, rules: dict, *, include_opted_out: bool = False,
                      now: datetime | None = None) -> Select:
    """``SELECT guests.id`` of the members to export: opted-out guests only when asked for."""
    query = member_ids(org_id, rules, now)
    return query if include_opted_out else query.where(Guest.marketing_opt_out == False)  # noqa: E712


def _months_back(now: datetime, count: int) -> list[date]:
    today = now.astimezone(timezone.utc).date()
    index = today.year * 12 + today.month - 1
    return [date((i) // 12, i % 12 + 1, 1) for i in range(index - count + 1, index + 1)]


# saved segments ------------------------------------------------------------------------------------------


def create_presets(org_id: int) -> list[Segment]:
    """Add the preset segments an organization is missing (by slug); returns those added. Idempotent."""
    have = set(db.session.scalars(select(Segment.slug).where(Segment.org_id == org_id)))
    added = []
    for slug, name, rules in PRESETS:
        if slug not in have:
            segment = Segment(org_id=org_id, slug=slug, name=name, is_preset=True)
            segment.rules = validate(rules)
            db.session.add(segment)
            added.append(segment)
    db.session.flush()
    return added


def create_segment(org_id: int, name: str, rules: dict, user_id: int | None = None) -> Segment:
    """Save a new segment; its slug comes from the name, made unique in the organization.

    InputError on an empty or long name; RulesError on invalid rules."""
    segment = Segment(org_id=org_id, name=_clean_name(name), created_by_id=user_id, is_preset=False)
    segment.rules = validate(rules)
    segment.slug = _free_slug(org_id, segment.name)
    db.session.add(segment)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:  # a concurrent save took the slug between the check and the insert
        raise InputError("a segment with this name was just saved; try again") from None
    return segment


def update_segment(segment: Segment, name: str, rules: dict) -> Segment:
    """Rename and/or change the rules; the slug stays (the CLI and exports rely on it)."""
    segment.name = _clean_name(name)
    segment.rules = validate(rules)
    db.session.flush()
    return segment


def delete_segment(segment: Segment) -> None:
    """Delete a saved segment. InputError for presets: edit them instead (their slugs are used by the CLI)."""
    if segment.is_preset:
        raise InputError("preset segments can be edited but not deleted")
    db.session.delete(segment)


def segment_by_slug(org_id: int, slug: str) -> Segment:
    segment = db.session.scalar(select(Segment).where(Segment.org_id == org_id, Segment.slug == slug))
    if segment is None:
        raise InputError(f"no segment with slug '{slug}'")
    return segment


def segments_of(org_id: int) -> list[Segment]:
    """Presets first (in their defined order), then the others by name."""
    rows = db.session.scalars(select(Segment).where(Segment.org_id == org_id).order_by(Segment.name)).all()
    order = {slug: index for index, (slug, _, _) in enumerate(PRESETS)}
    return sorted(rows, key=lambda s: (0, order.get(s.slug, 99)) if s.is_preset else (1, 0))


def list_with_counts(org_id: int, now: datetime | None = None) -> list[dict]:
    """[{slug, name, member_count}] of every segment (``flask segments list``)."""
    compiled = compiler(org_id, now)
    return [
        {"slug": s.slug, "name": s.name, "member_count": count_members(org_id, s.rules, among=compiled)}
        for s in segments_of(org_id)
    ]


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name or len(name) > 120:
        raise InputError("a segment name is 1 to 120 characters")
    return name


def _free_slug(org_id: int, name: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:56].strip("-") or "segment"
    taken = set(db.session.scalars(
        select(Segment.slug).where(Segment.org_id == org_id, Segment.slug.like(f"{base}%"))
    ))
    if base not in taken:
        return base
    return next(f"{base}-{n}" for n in range(2, len(taken) + 3) if f"{base}-{n}" not in taken)


# words and choices ---------------------------------------------------------------------------------------


def plain_words(org_id: int, rules: dict) -> str:
    """The rules in plain words, with location and server names looked up."""
    return describe(rules, _names(org_id, choice_values(rules)))


def _names(org_id: int, wanted: dict[str, set[str]]) -> dict[str, dict[str, str]]:
    names: dict[str, dict[str, str]] = {}
    ids = [int(v) for v in wanted.get("location", ()) if v.isascii() and v.isdigit() and len(v) < 10]
    if ids:
        rows = db.session.scalars(select(Location).where(Location.org_id == org_id, Location.id.in_(ids)))
        names["location"] = {str(row.id): row.display_name for row in rows}
    guids = sorted(wanted.get("server", ()))
    if guids:
        rows = db.session.scalars(select(Employee).where(Employee.org_id == org_id, Employee.guid.in_(guids)))
        names["server"] = {row.guid: row.display_name for row in rows}
    return names


def choices(org_id: int) -> dict[str, list[tuple[str, str]]]:
    """What set conditions can pick, as (value, label): locations, menu items, servers, tags."""
    locations = db.session.scalars(select(Location).where(Location.org_id == org_id)).all()
    items = db.session.scalars(
        select(MenuItem.name).where(MenuItem.org_id == org_id, MenuItem.name != "").distinct()
        .order_by(MenuItem.name).limit(MAX_CHOICES)
    ).all()
    servers = {}
    for row in db.session.scalars(select(Employee).where(Employee.org_id == org_id).limit(MAX_CHOICES)):
        servers.setdefault(row.guid, row.display_name)
    tags = db.session.scalars(
        select(GuestTag.tag).where(GuestTag.org_id == org_id).distinct().order_by(GuestTag.tag).limit(MAX_CHOICES)
    ).all()
    return {
        "location": sorted(((str(row.id), row.display_name) for row in locations), key=lambda c: c[1].lower()),
        "item": [(name, name) for name in items],
        "server": sorted(servers.items(), key=lambda c: c[1].lower()),
        "tag": [(tag, tag) for tag in tags],
        # Guest value (portal.scoring): fixed lists.
        "rfm_group": [(name, name) for name in RFM_GROUPS],
        "churn_band": [(band, f"{band} risk") for band in CHURN_BANDS],
    }


def waiting_figures(tree: dict, unavailable: dict[str, str]) -> list[tuple[str, str]]:
    """(figure label, why it is not there yet) for the rule's conditions on guest-value figures the last fit did
    not produce (``portal.scoring.service.unavailable``): those conditions match nobody until then."""
    fields = dict.fromkeys(node["field"] for _, node in conditions(tree) if node["field"] in unavailable)
    return [(FIELDS[field].label, unavailable[field]) for field in fields]


def unavailable_reasons(unavailable: dict[str, str]) -> list[tuple[str, list[str]]]:
    """(why, labels of the builder's fields it holds back), one entry per reason."""
    reasons: dict[str, list[str]] = {}
    for field, why in unavailable.items():
        if field in FIELDS:
            reasons.setdefault(why, []).append(FIELDS[field].label)
    return list(reasons.items())
