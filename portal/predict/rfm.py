"""RFM scores (1-5 quintiles), named guest segments, and churn-risk bands from P(alive).

Scores are quintiles within each organization (``groups``): 5 = most recent / most frequent / highest spend.
Segments come from the usual R × FM grid, written below as data so product can read and change it; the table is
checked at import so that every (R, FM) pair maps to exactly one segment.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._checks import as_float_array, check_non_negative, check_same_length

SCORE_LEVELS = 5


@dataclass(frozen=True, slots=True)
class RFMScores:
    """Integer scores 1-5 per guest; ``fm`` = (frequency + monetary) / 2 rounded half up."""

    recency: np.ndarray
    frequency: np.ndarray
    monetary: np.ndarray
    fm: np.ndarray


@dataclass(frozen=True, slots=True)
class SegmentRule:
    """Guests with an R score and FM score inside these inclusive ranges belong to segment ``name``."""

    name: str
    recency: tuple[int, int]
    fm: tuple[int, int]


SEGMENT_DESCRIPTIONS: dict[str, str] = {
    "Champions": "Came recently, come often and spend the most.",
    "Loyal": "Regulars with good spend who still visit.",
    "Potential loyalists": "Recent guests with a few visits: could become regulars.",
    "New": "First or second visit recently.",
    "Need attention": "Average on every count and not seen for a while.",
    "At risk": "Used to visit and spend well, but not lately.",
    "Can't lose them": "Were among the best guests, have not been back for a long time.",
    "Hibernating": "Few visits, low spend, last seen a while ago.",
    "Lost": "Lowest on every count: probably gone.",
}

SEGMENT_RULES: tuple[SegmentRule, ...] = (
    SegmentRule("Champions", (4, 5), (4, 5)),
    SegmentRule("Loyal", (3, 3), (4, 5)),
    SegmentRule("Loyal", (4, 5), (3, 3)),
    SegmentRule("Potential loyalists", (4, 5), (2, 2)),
    SegmentRule("New", (4, 5), (1, 1)),
    SegmentRule("Need attention", (3, 3), (1, 3)),
    SegmentRule("At risk", (2, 2), (3, 5)),
    SegmentRule("At risk", (1, 1), (3, 3)),
    SegmentRule("Can't lose them", (1, 1), (4, 5)),
    SegmentRule("Hibernating", (2, 2), (1, 2)),
    SegmentRule("Lost", (1, 1), (1, 2)),
)

# Churn bands from P(alive): high risk below 0.3, medium below 0.7, low otherwise.
HIGH_RISK_BELOW = 0.3
MEDIUM_RISK_BELOW = 0.7
CHURN_BAND_DESCRIPTIONS: dict[str, str] = {
    "high": f"Less than a {HIGH_RISK_BELOW:.0%} chance this guest is still coming to you.",
    "medium": f"Between {HIGH_RISK_BELOW:.0%} and {MEDIUM_RISK_BELOW:.0%} chance this guest is still coming to you.",
    "low": f"At least a {MEDIUM_RISK_BELOW:.0%} chance this guest is still coming to you.",
}


def rfm_scores(days_since_last_visit, frequency, monetary, *, groups=None) -> RFMScores:
    """Quintile scores 1-5 within each group (e.g. organization id; one group when None).

    Ties share their average rank (deterministic, order-independent), then score = 1 + floor(5·(rank-½)/n),
    which puts exactly n/5 guests in each score when values are distinct. Raises ValueError for mismatched
    lengths, negative recency or frequency, or non-finite values.
    """
    recency = as_float_array("days_since_last_visit", days_since_last_visit)
    freq = as_float_array("frequency", frequency)
    spend = as_float_array("monetary", monetary)
    codes = np.zeros(len(recency), dtype=np.int64) if groups is None else _group_codes(groups)
    check_same_length(days_since_last_visit=recency, frequency=freq, monetary=spend, groups=codes)
    check_non_negative("days_since_last_visit", recency)
    check_non_negative("frequency", freq)
    r_score = _quintile(-recency, codes)  # fewer days since the last visit = better = 5
    f_score, m_score = _quintile(freq, codes), _quintile(spend, codes)
    return RFMScores(r_score, f_score, m_score, (f_score + m_score + 1) // 2)


def segment_table(rules: tuple[SegmentRule, ...] = SEGMENT_RULES) -> np.ndarray:
    """5×5 array of segment names indexed [R-1, FM-1]; ValueError if a cell is covered twice or not at all."""
    table = np.full((SCORE_LEVELS, SCORE_LEVELS), "", dtype=object)
    for rule in rules:
        for r in range(rule.recency[0], rule.recency[1] + 1):
            for fm in range(rule.fm[0], rule.fm[1] + 1):
                if not (1 <= r <= SCORE_LEVELS and 1 <= fm <= SCORE_LEVELS):
                    raise ValueError(f"rule {rule} goes outside the 1-{SCORE_LEVELS} score range")
                if table[r - 1, fm - 1]:
                    raise ValueError(f"R={r}, FM={fm} is in both {table[r - 1, fm - 1]!r} and {rule.name!r}")
                table[r - 1, fm - 1] = rule.name
    gaps = [(r + 1, fm + 1) for r, fm in zip(*np.nonzero(table == ""))]
    if gaps:
        raise ValueError(f"(R, FM) pairs without a segment: {gaps}")
    return table


_SEGMENT_TABLE = segment_table()


def segment(recency_score, fm_score) -> np.ndarray:
    """Segment name per guest from R and FM scores (1-5). Raises ValueError for other values or lengths."""
    r = as_float_array("recency_score", recency_score)
    fm = as_float_array("fm_score", fm_score)
    check_same_length(recency_score=r, fm_score=fm)
    for name, score in (("recency_score", r), ("fm_score", fm)):
        if ((score < 1) | (score > SCORE_LEVELS) | (score != np.round(score))).any():
            raise ValueError(f"{name} must be whole numbers from 1 to {SCORE_LEVELS}")
    return _SEGMENT_TABLE[r.astype(np.int64) - 1, fm.astype(np.int64) - 1]


def churn_band(p_alive) -> np.ndarray:
    """'high' / 'medium' / 'low' churn risk per guest; ValueError when a probability is outside [0, 1]."""
    p = as_float_array("p_alive", p_alive)
    if ((p < 0) | (p > 1)).any():
        raise ValueError("p_alive must be probabilities in [0, 1]")
    return np.where(p < HIGH_RISK_BELOW, "high", np.where(p < MEDIUM_RISK_BELOW, "medium", "low"))


def _group_codes(groups) -> np.ndarray:
    labels = np.asarray(groups)
    if labels.ndim != 1:
        raise ValueError(f"groups must be one-dimensional, got shape {labels.shape}")
    try:
        return np.unique(labels, return_inverse=True)[1].reshape(-1)
    except TypeError as exc:
        raise ValueError(f"groups must be comparable values of one type: {exc}") from None


def _quintile(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    rank, size = _grouped_average_rank(values, codes)
    score = 1 + np.floor(SCORE_LEVELS * (rank - 0.5) / np.maximum(size, 1)).astype(np.int64)
    return np.clip(score, 1, SCORE_LEVELS)


def _grouped_average_rank(values: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """1-based rank of each value within its group (ties get their average rank), and the group sizes."""
    n = len(values)
    if n == 0:
        return np.zeros(0), np.zeros(0)
    order = np.lexsort((values, codes))
    group, value = codes[order], values[order]
    position = np.arange(n)
    new_group = np.r_[True, group[1:] != group[:-1]]
    group_start = np.maximum.accumulate(np.where(new_group, position, 0))
    ordinal = position - group_start + 1
    tie_id = np.cumsum(new_group | np.r_[True, value[1:] != value[:-1]]) - 1
    average = np.bincount(tie_id, weights=ordinal) / np.bincount(tie_id)
    rank = np.empty(n)
    rank[order] = average[tie_id]
    return rank, np.bincount(codes)[codes].astype(float)
