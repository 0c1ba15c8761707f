"""Rule trees → one SQL WHERE clause over ``guests`` (SQLAlchemy Core; the same SQL on SQLite and PostgreSQL).

Semantics (the reference evaluator in tests/segments/reference.py implements the same, in plain Python):
- relative figures come from stored timestamps and the UTC date of ``now`` (never from a stored "days since"
  column that would go stale): days since X = today's UTC date minus X's UTC date, as portal.guests.figures
  defines it; a guest with no order has no such figure and matches no condition on it;
- "in the last N days" = on one of the last N UTC dates, today included (days since < N); for orders and spend
  it counts the guest's counted orders (``guest_orders``) opened then. "At least n orders" for n <= 5 reads the
  stored n-th most recent order time instead (``guests.last_order_<n>_at``): the same answer, from an index;
- dates are UTC calendar dates;
- percentile ("top p% of a population"): with N guests in the population (all guests of the organization, or
  those with at least one order in a channel), k = ceil(p × N / 100) and t = the k-th highest value; members are
  the population's guests whose value is ≥ t, so guests tied with the k-th are all in (top p% may hold a few more
  than p%). The bottom is the mirror image. An empty population has no members. t is read with one ordered
  query on the figure's (org_id, figure, id) index, then used as a literal;
- sets use the narrow link tables with IN / NOT IN semi-joins;
- guest value figures (P(alive), RFM group, churn band...) are semi-joins on guest_scores: portal.segments.scored.
"""
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import ColumnElement, and_, false, func, not_, or_, select, true
from sqlalchemy.orm import Session

from portal.dialects import dialect_of
from portal.models.guest import Guest, GuestOrder
from portal.models.guest_links import GuestFact, GuestItem, GuestLocation, GuestTag
from portal.models.integration import Location
from portal.segments.rules import FIELDS, PERCENT_OPERATORS, conditions, percentile_rank_size, to_cents
from portal.segments.scored import scored_clause

DAY = timedelta(days=1)

# All-time figures stored on ``guests``. The other channels' spend is not stored there: it is summed from
# guest_orders (CHANNEL_SPEND), correct but slower (see README, "Segments performance").
COLUMNS = {
    "order_count": Guest.order_count,
    "net_spend": Guest.net_spend_cents,
    "average_check": Guest.avg_check_cents,
    "tips": Guest.total_tips_cents,
    "delivery_orders": Guest.delivery_orders,
    "takeout_orders": Guest.takeout_orders,
    "curbside_orders": Guest.curbside_orders,
    "dine_in_orders": Guest.dine_in_orders,
    "delivery_spend": Guest.delivery_spend_cents,
}
# The n-th most recent counted order's opening time (n = 1..5): windowed order counts up to 5 (see _recent_count).
RECENT = {1: Guest.last_order_at, 2: Guest.last_order_2_at, 3: Guest.last_order_3_at, 4: Guest.last_order_4_at,
          5: Guest.last_order_5_at}
CHANNEL_SPEND = {"takeout_spend": "takeout", "curbside_spend": "curbside", "dine_in_spend": "dine_in"}
CHANNEL_ORDERS = {
    "delivery": Guest.delivery_orders, "takeout": Guest.takeout_orders, "curbside": Guest.curbside_orders,
    "dine_in": Guest.dine_in_orders,
}
TIMESTAMPS = {
    "days_since_last_order": Guest.last_order_at, "days_since_first_order": Guest.first_order_at,
    "last_order_date": Guest.last_order_at, "first_order_date": Guest.first_order_at,
}
FLAGS = {"has_email": Guest.has_email, "has_phone": Guest.has_phone, "marketing_opt_out": Guest.marketing_opt_out}
COMPARE: dict[str, Callable] = {
    "gte": lambda a, b: a >= b, "gt": lambda a, b: a > b, "eq": lambda a, b: a == b,
    "neq": lambda a, b: a != b, "lte": lambda a, b: a <= b, "lt": lambda a, b: a < b,
}
SELECTIVE_SHARE = 0.05  # a comparison passing at most this share of guests is worth its own index on SQLite
# Cheap terms first: SQLite evaluates AND/OR terms in the order given, so semi-joins are probed for fewer rows.
COST_COLUMN, COST_SEMI_JOIN = 0, 1


@dataclass
class Compiler:
    """Compiles rule trees of one organization at one instant. Percentile thresholds are read through
    ``session`` while compiling (one count per population and one ordered query per condition)."""

    session: Session
    org_id: int
    now: datetime
    _populations: dict = field(default_factory=dict)
    _alone: bool = False

    def __post_init__(self):
        self._dialect = dialect_of(self.session)

    def _column(self, column, selective: bool = False):
        """A figure's column in a comparison; kept off its own index (on SQLite, for the covering index
        ix_guests_segment_figures) unless the comparison is known to be selective."""
        return column if selective or self._alone else self._dialect.non_selective(column)

    def where(self, tree: dict) -> ColumnElement[bool]:
        """The WHERE clause for a validated rule tree (without the organization filter: see ``members``)."""
        tree = _without_implied(tree)
        # A lone comparison is best served by its own index (index-only for the count): no ``+column`` then.
        self._alone = len(list(conditions(tree))) == 1
        return self._node(tree)[0]

    def members(self, tree: dict):
        """``SELECT guests.id`` of the organization's guests that match the tree."""
        return select(Guest.id).where(Guest.org_id == self.org_id, self.where(tree))

    def _node(self, node: dict) -> tuple[ColumnElement[bool], int]:
        if "op" not in node:
            return self._condition(node)
        parts = sorted((self._node(child) for child in node["rules"]), key=lambda part: part[1])
        if not parts:
            return (true() if node["op"] == "and" else false()), COST_COLUMN
        combine = and_ if node["op"] == "and" else or_
        clause = parts[0][0] if len(parts) == 1 else combine(*(clause for clause, _ in parts))
        return clause, max(cost for _, cost in parts)

    def _condition(self, condition: dict) -> tuple[ColumnElement[bool], int]:
        name, operator, value = condition["field"], condition["operator"], condition["value"]
        kind = FIELDS[name].kind
        if FIELDS[name].scored:  # guest value (guest_scores): portal.segments.scored
            return scored_clause(self.org_id, condition), COST_SEMI_JOIN
        if operator in PERCENT_OPERATORS:
            return self._percentile(condition)
        if kind == "flag":
            return self._column(FLAGS[name]) == value, COST_COLUMN
        if kind == "days":
            return days_since_clause(TIMESTAMPS[name], operator, value, self.now), COST_COLUMN
        if kind == "date":
            return _calendar(TIMESTAMPS[name], operator, value), COST_COLUMN
        if kind == "set":
            return self._set(condition), COST_SEMI_JOIN
        return self._number(condition)

    # numbers ---------------------------------------------------------------------------------------------

    def _number(self, condition: dict) -> tuple[ColumnElement[bool], int]:
        name, operator, value = condition["field"], condition["operator"], condition["value"]
        if FIELDS[name].kind == "money":
            value = [to_cents(v) for v in value] if operator == "between" else to_cents(value)
        window = condition.get("window_days")
        if window is None and name in COLUMNS:
            return compare(self._column(COLUMNS[name]), operator, value), COST_COLUMN
        since = window_start(self.now, window) if window else None
        if name == "order_count" and max(_ranks(operator, value)) <= len(RECENT):
            return _recent_count(operator, value, since), COST_COLUMN
        return self._summed(name, since, operator, value), COST_SEMI_JOIN

    def _summed(self, name: str, since: datetime | None, operator: str, value) -> ColumnElement[bool]:
        """A figure summed per guest from its counted guest_orders (in a window; in a channel), compared.

        One grouped pass over the window's rows (their (org_id, opened_at, counted, guest_id) index) instead of
        a subquery per guest. Guests without such orders have 0: when 0 passes the test, the members are those
        *not* among the guests whose sum fails it.
        """
        if compare_values(0, operator, value):
            fails = self._grouped(name, since, having=lambda amount: not_(compare(amount, operator, value)))
            return ~Guest.id.in_(fails)
        return Guest.id.in_(self._grouped(name, since, having=lambda amount: compare(amount, operator, value)))

    def _grouped(self, name: str, since: datetime | None, having: Callable | None = None):
        """``SELECT guest_id[, amount]`` per guest of this organization's counted guest_orders."""
        orders = GuestOrder.__table__
        grouped = self._dialect.grouping_key(orders.c.guest_id)  # not the (guest_id, order_id) primary key's walk
        guest = grouped.label("guest_id")
        amount = func.count() if name == "order_count" else func.coalesce(func.sum(orders.c.net_spend_cents), 0)
        query = select(guest) if having is not None else select(guest, amount.label("amount"))
        query = query.where(orders.c.org_id == self.org_id, orders.c.counted == true())
        if since is not None:
            query = query.where(orders.c.opened_at >= since)
        if name in CHANNEL_SPEND:
            query = query.where(orders.c.channel == CHANNEL_SPEND[name])
        query = query.group_by(grouped)
        return query.having(having(amount)) if having is not None else query

    # percentiles -----------------------------------------------------------------------------------------

    def _percentile(self, condition: dict) -> tuple[ColumnElement[bool], int]:
        name, top, group = condition["field"], condition["operator"] == "top_percent", condition["among"]
        among = population(group)
        size = self._population_size(group, among)
        if size == 0:
            return false(), COST_COLUMN
        rank = percentile_rank_size(condition["value"], size)
        # A channel's own figure (delivery spend among guests with a delivery order) is 0 outside that
        # population and never negative, so its k-th highest value is the same among all guests: one walk down
        # the figure's index with no per-row check of the population; and a threshold above 0 implies it.
        own_channel = top and name.startswith(f"{group}_") and name in COLUMNS
        if name in COLUMNS:
            figure, source = COLUMNS[name], Guest.__table__
        else:  # summed per guest; guests without orders in the channel count as 0
            sums = self._grouped(name, None).subquery("sums")
            figure = func.coalesce(sums.c.amount, 0)
            source = Guest.__table__.outerjoin(sums, sums.c.guest_id == Guest.id)
        threshold = self.session.scalar(
            select(figure).select_from(source).where(Guest.org_id == self.org_id, true() if own_channel else among)
            .order_by(figure.desc() if top else figure.asc()).limit(1).offset(rank - 1)
        )
        operator = "gte" if top else "lte"
        if name in COLUMNS:
            selective = rank <= size * SELECTIVE_SHARE  # ties aside, about ``rank`` guests pass
            test, cost = compare(self._column(figure, selective), operator, threshold), COST_COLUMN
        else:
            test, cost = self._summed(name, None, operator, threshold), COST_SEMI_JOIN
        if group == "all" or (own_channel and threshold > 0):
            return test, cost
        return and_(self._column(CHANNEL_ORDERS[group]) >= 1, test), cost

    def guest_count(self) -> int:
        """All guests of the organization (cached with the percentile populations)."""
        return self._population_size("all", true())

    def _population_size(self, name: str, among: ColumnElement[bool]) -> int:
        if name not in self._populations:
            self._populations[name] = self.session.scalar(
                select(func.count()).select_from(Guest).where(Guest.org_id == self.org_id, among)
            )
        return self._populations[name]

    # sets ------------------------------------------------------------------------------------------------

    def _set(self, condition: dict) -> ColumnElement[bool]:
        values, operator = condition["value"], condition["operator"]
        if condition["field"] == "location":
            mask = self._location_mask([_int(v) for v in values])
            if mask is not None:
                return _bits(self._column(Guest.location_mask, selective=False), mask, operator)
        since = window_start(self.now, condition["window_days"]) if condition.get("window_days") else None
        linked = self._linked(condition["field"], since)
        guest = self._column(Guest.id)  # probe the list per guest; SQLite would rather look up each listed guest
        if operator == "all_of":
            return and_(*(guest.in_(linked([value])) for value in values))
        matches = guest.in_(linked(values))
        return ~matches if operator == "none_of" else matches

    def _location_mask(self, location_ids: list[int]) -> int | None:
        """The bits of these locations in guests.location_mask, or None when one of them has no slot (or is not
        the organization's): the condition then reads guest_locations."""
        slots = dict(self.session.execute(select(Location.id, Location.slot).where(
            Location.org_id == self.org_id, Location.id.in_(location_ids), Location.slot.is_not(None))).all())
        if set(location_ids) - set(slots):
            return None
        return sum(1 << slot for slot in set(slots.values()))

    def _linked(self, name: str, since: datetime | None) -> Callable:
        """values → ``SELECT guest_id`` of this organization's link rows naming any of them."""
        org = self.org_id
        if name == "location":  # location ids are the organization's own; the outer query keeps to its guests
            return lambda values: select(GuestLocation.guest_id).where(
                GuestLocation.location_id.in_([_int(v) for v in values]))
        if name == "item":
            def items(values):
                query = select(GuestItem.guest_id).where(GuestItem.org_id == org, GuestItem.name.in_(values))
                return query.where(GuestItem.last_ordered_at >= since) if since is not None else query
            return items
        if name == "server":
            return lambda values: select(GuestFact.guest_id).where(
                GuestFact.org_id == org, GuestFact.kind == "server", GuestFact.value.in_(values))
        return lambda values: select(GuestTag.guest_id).where(GuestTag.org_id == org, GuestTag.tag.in_(values))


def _bits(column, mask: int, operator: str) -> ColumnElement[bool]:
    """any_of / all_of / none_of the locations of ``mask``, as a test of the guest's location bits."""
    common = column.op("&")(mask)
    if operator == "all_of":
        return common == mask
    return common == 0 if operator == "none_of" else common != 0


def _without_implied(node: dict) -> dict:
    """The tree without conditions a sibling implies: "top p% of guests with a delivery order" already means
    "at least 1 delivery order", so that sibling (in the same AND group) only costs a column check per guest."""
    if "op" not in node:
        return node
    children = [_without_implied(child) for child in node["rules"]]
    if node["op"] == "and":
        populations = {c["among"] for c in children if c.get("operator") in PERCENT_OPERATORS}
        implied = [c for c in children if _is_population(c, populations)]
        children = [c for c in children if not any(c is i for i in implied)] or children[:1]
    return {"op": node["op"], "rules": children}


def _is_population(node: dict, populations: set[str]) -> bool:
    """Whether a condition reads "has an order in channel X" for an X in ``populations``."""
    if "op" in node or node.get("window_days") or not node["field"].endswith("_orders"):
        return False
    channel = node["field"].removesuffix("_orders")
    return channel in populations and (node["operator"], node["value"]) in (("gte", 1), ("gt", 0))


def _ranks(operator: str, value) -> tuple[int, ...]:
    """Which "n-th most recent order" times a comparison of a windowed order count needs."""
    low, high = value if operator == "between" else (value, value)
    return {"gte": (low,), "gt": (low + 1,), "lt": (low,), "lte": (high + 1,), "eq": (low, high + 1),
            "neq": (low, high + 1), "between": (low, high + 1)}[operator]


def _recent_count(operator: str, value, since: datetime) -> ColumnElement[bool]:
    """Counted orders since ``since`` compared with ``value``, read from the n-th most recent order times:
    at least n orders in the window <=> the n-th most recent counted order was opened in it."""

    def at_least(n: int):  # a range on ix_guests_org_last_order_<n>_at (or the covering index for n = 1)
        return true() if n <= 0 else RECENT[n] >= since

    def fewer_than(n: int):
        return false() if n <= 0 else or_(RECENT[n].is_(None), RECENT[n] < since)

    low, high = value if operator == "between" else (value, value)
    return {
        "gte": lambda: at_least(low), "gt": lambda: at_least(low + 1), "lt": lambda: fewer_than(low),
        "lte": lambda: fewer_than(high + 1), "eq": lambda: and_(at_least(low), fewer_than(high + 1)),
        "neq": lambda: or_(fewer_than(low), at_least(high + 1)),
        "between": lambda: and_(at_least(low), fewer_than(high + 1)),
    }[operator]()


def population(among: str) -> ColumnElement[bool]:
    """The guests a percentile ranks: all of them, or those with an order in one channel."""
    return true() if among == "all" else CHANNEL_ORDERS[among] >= 1


def window_start(now: datetime, days: int) -> datetime:
    """The first instant of "the last ``days`` days": midnight UTC, ``days - 1`` dates before today."""
    return _midnight(_today(now) - timedelta(days=days - 1))


def compare(expression, operator: str, value) -> ColumnElement[bool]:
    if operator == "between":
        return and_(expression >= value[0], expression <= value[1])
    return COMPARE[operator](expression, value)


def compare_values(figure, operator: str, value) -> bool:
    if operator == "between":
        return value[0] <= figure <= value[1]
    return COMPARE[operator](figure, value)


def days_since_clause(column, operator: str, value: int | list, now: datetime) -> ColumnElement[bool]:
    """(today - UTC date of ``column``) in days compared with ``value``, as ranges on the timestamp itself."""
    today = _today(now)

    def at_least(days):  # date(t) <= today - days
        return column < _midnight(today - timedelta(days=days - 1))

    def at_most(days):  # date(t) >= today - days
        return column >= _midnight(today - timedelta(days=days))

    if operator == "between":
        return and_(at_least(value[0]), at_most(value[1]))
    return {
        "gte": lambda: at_least(value), "gt": lambda: at_least(value + 1), "lte": lambda: at_most(value),
        "lt": lambda: at_most(value - 1), "eq": lambda: and_(at_least(value), at_most(value)),
    }[operator]()


def _calendar(column, operator: str, value: str | list) -> ColumnElement[bool]:
    """UTC calendar date of ``column`` compared with ISO date(s), as ranges on the timestamp itself."""
    if operator == "between":
        low, high = date.fromisoformat(value[0]), date.fromisoformat(value[1])
        return and_(column >= _midnight(low), column < _midnight(high + DAY))
    day = date.fromisoformat(value)
    return {
        "on_or_after": lambda: column >= _midnight(day), "after": lambda: column >= _midnight(day + DAY),
        "before": lambda: column < _midnight(day), "on_or_before": lambda: column < _midnight(day + DAY),
        "on": lambda: and_(column >= _midnight(day), column < _midnight(day + DAY)),
    }[operator]()


def _today(now: datetime) -> date:
    return now.astimezone(timezone.utc).date()


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=timezone.utc)


def _int(value: str) -> int:
    """Location ids arrive as strings; one that is not a number matches nothing."""
    return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else -1
