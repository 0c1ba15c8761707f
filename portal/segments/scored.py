"""Segment conditions on guest value (``guest_scores``, written by the nightly fit of portal.scoring).

Each condition is a semi-join ``guests.id IN (SELECT guest_id FROM guest_scores WHERE org_id = :org AND test)``
read through the (org_id, figure) indexes of guest_scores. Semantics (tests/segments/reference.py does the same):

- a guest without a score, or whose organization's model is not backed (P(alive), expected visits and predicted
  value are NULL then), matches no condition on that figure; "none of" tests only scored guests;
- P(alive) is compared in percent (``lt 30`` = P(alive) < 0.30), expected visits as stored, predicted value in
  dollars against whole cents;
- churn bands are P(alive) ranges (high < 30% <= medium < 70% <= low: portal.predict.rfm), so they use the
  P(alive) index; a guest's RFM group is one value, so "all of" two different groups matches nobody.
"""
from sqlalchemy import ColumnElement, and_, false, not_, or_, select

from portal.models.guest import Guest
from portal.models.scores import GuestScore
from portal.predict.rfm import HIGH_RISK_BELOW, MEDIUM_RISK_BELOW
from portal.segments.rules import to_cents

FIGURES = {
    "p_alive": GuestScore.p_alive,
    "expected_visits_90d": GuestScore.expected_visits_90d,
    "predicted_value_12m": GuestScore.predicted_value_12m_cents,
}
BANDS = {
    "high": lambda p: p < HIGH_RISK_BELOW,
    "medium": lambda p: and_(p >= HIGH_RISK_BELOW, p < MEDIUM_RISK_BELOW),
    "low": lambda p: p >= MEDIUM_RISK_BELOW,
}
_COMPARE = {"gte": lambda a, b: a >= b, "gt": lambda a, b: a > b, "eq": lambda a, b: a == b,
            "neq": lambda a, b: a != b, "lte": lambda a, b: a <= b, "lt": lambda a, b: a < b}


def scored_clause(org_id: int, condition: dict) -> ColumnElement[bool]:
    """The WHERE term on ``guests`` for one validated condition on a scored field."""
    name, operator, value = condition["field"], condition["operator"], condition["value"]
    if name == "rfm_group":
        return _set(org_id, operator, value, lambda values: GuestScore.rfm_group.in_(values),
                    GuestScore.rfm_group.is_not(None))
    if name == "churn_band":
        def bands(values):
            known = [BANDS[v](GuestScore.p_alive) for v in values if v in BANDS]
            return or_(*known) if known else false()
        return _set(org_id, operator, value, bands, GuestScore.p_alive.is_not(None))
    column = FIGURES[name]
    if name == "p_alive":
        value = [v / 100 for v in value] if operator == "between" else value / 100
    elif name == "predicted_value_12m":
        value = [to_cents(v) for v in value] if operator == "between" else to_cents(value)
    test = and_(column >= value[0], column <= value[1]) if operator == "between" else _COMPARE[operator](column, value)
    return _scored(org_id, test)


def _scored(org_id: int, test) -> ColumnElement[bool]:
    return Guest.id.in_(select(GuestScore.guest_id).where(GuestScore.org_id == org_id, test))


def _set(org_id: int, operator: str, values: list[str], matches, scored) -> ColumnElement[bool]:
    if operator == "all_of":  # one value per guest: every listed value must be that value
        return and_(*(_scored(org_id, matches([value])) for value in values))
    if operator == "none_of":
        return _scored(org_id, and_(scored, not_(matches(values))))
    return _scored(org_id, matches(values))
