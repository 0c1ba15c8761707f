"""RFM scores, segments and churn bands."""
import numpy as np
import pytest

from portal.predict import rfm
from portal.predict.rfm import SEGMENT_DESCRIPTIONS, SEGMENT_RULES, SegmentRule


def test_quintiles_are_balanced_on_uniform_data():
    rng = np.random.default_rng(3)
    scores = rfm.rfm_scores(rng.permutation(1000), rng.permutation(1000), rng.uniform(1, 500, 1000))
    for score in (scores.recency, scores.frequency, scores.monetary):
        np.testing.assert_array_equal(np.bincount(score, minlength=6)[1:], [200] * 5)


def test_recency_score_five_is_most_recent_and_high_values_score_five():
    scores = rfm.rfm_scores([1, 100, 50, 10, 30], [9, 1, 2, 3, 4], [50.0, 10.0, 20.0, 30.0, 40.0])
    np.testing.assert_array_equal(scores.recency, [5, 1, 2, 4, 3])
    np.testing.assert_array_equal(scores.frequency, [5, 1, 2, 3, 4])
    np.testing.assert_array_equal(scores.monetary, [5, 1, 2, 3, 4])


def test_ties_share_a_score_independent_of_row_order():
    days = np.array([5, 5, 5, 5, 40, 40, 90, 90, 90, 200])
    first = rfm.rfm_scores(days, np.ones(10), np.ones(10))
    order = np.random.default_rng(0).permutation(10)
    shuffled = rfm.rfm_scores(days[order], np.ones(10), np.ones(10))
    np.testing.assert_array_equal(shuffled.recency, first.recency[order])
    assert len(set(first.recency[:4])) == 1 and len(set(first.recency[6:9])) == 1
    np.testing.assert_array_equal(first.frequency, 3)  # all equal: the middle score


def test_scores_are_computed_within_each_organization():
    # Org "b" spends ten times more; each org still gets its own full 1-5 range.
    spend = np.r_[np.arange(1, 11), np.arange(1, 11) * 10.0]
    groups = ["a"] * 10 + ["b"] * 10
    scores = rfm.rfm_scores(np.arange(20), np.arange(20), spend, groups=groups)
    np.testing.assert_array_equal(scores.monetary[:10], scores.monetary[10:])
    np.testing.assert_array_equal(np.bincount(scores.monetary[:10], minlength=6)[1:], [2] * 5)


def test_fm_is_average_rounded_half_up():
    scores = rfm.rfm_scores(np.arange(5), [1, 2, 3, 4, 5], [2, 1, 5, 3, 4])
    # F = 1..5, M = (2, 1, 5, 3, 4): averages 1.5, 1.5, 4, 3.5, 4.5 -> 2, 2, 4, 4, 5
    np.testing.assert_array_equal(scores.fm, [2, 2, 4, 4, 5])


def test_every_r_fm_combination_maps_to_exactly_one_segment():
    for r in range(1, 6):
        for fm in range(1, 6):
            matches = [rule.name for rule in SEGMENT_RULES
                       if rule.recency[0] <= r <= rule.recency[1] and rule.fm[0] <= fm <= rule.fm[1]]
            assert len(matches) == 1, (r, fm, matches)
            assert rfm.segment([r], [fm])[0] == matches[0]


def test_segments_named_in_the_brief_all_exist_with_descriptions():
    expected = {"Champions", "Loyal", "Potential loyalists", "New", "Need attention", "At risk",
                "Can't lose them", "Hibernating", "Lost"}
    assert {rule.name for rule in SEGMENT_RULES} == expected == set(SEGMENT_DESCRIPTIONS)
    assert all(SEGMENT_DESCRIPTIONS[name].strip() for name in expected)


def test_segment_table_rejects_overlaps_and_gaps():
    with pytest.raises(ValueError, match="in both"):
        rfm.segment_table(SEGMENT_RULES + (SegmentRule("Extra", (5, 5), (5, 5)),))
    with pytest.raises(ValueError, match="without a segment"):
        rfm.segment_table(SEGMENT_RULES[1:])
    with pytest.raises(ValueError, match="outside"):
        rfm.segment_table((SegmentRule("Wide", (0, 5), (1, 5)),))


def test_segment_examples():
    np.testing.assert_array_equal(rfm.segment([5, 1, 1, 5], [5, 5, 1, 1]),
                                  ["Champions", "Can't lose them", "Lost", "New"])


@pytest.mark.parametrize("r, fm", [([0], [3]), ([6], [3]), ([3], [2.5]), ([1, 2], [3])])
def test_segment_rejects_invalid_scores(r, fm):
    with pytest.raises(ValueError):
        rfm.segment(r, fm)


def test_churn_bands_from_p_alive():
    bands = rfm.churn_band([0.0, 0.29, 0.3, 0.69, 0.7, 1.0])
    np.testing.assert_array_equal(bands, ["high", "high", "medium", "medium", "low", "low"])
    assert set(rfm.CHURN_BAND_DESCRIPTIONS) == {"high", "medium", "low"}
    assert "30%" in rfm.CHURN_BAND_DESCRIPTIONS["high"]


@pytest.mark.parametrize("p", [[-0.1], [1.1], [np.nan]])
def test_churn_band_rejects_non_probabilities(p):
    with pytest.raises(ValueError):
        rfm.churn_band(p)


@pytest.mark.parametrize("days, frequency, monetary, message", [
    ([-1, 2], [1, 2], [1.0, 2.0], "days_since_last_visit must be >= 0"),
    ([1, 2], [1, -2], [1.0, 2.0], "frequency must be >= 0"),
    ([1, 2], [1], [1.0, 2.0], "same length"),
    ([1, 2], [1, 2], [1.0, np.inf], "non-finite"),
])
def test_rfm_bad_input(days, frequency, monetary, message):
    with pytest.raises(ValueError, match=message):
        rfm.rfm_scores(days, frequency, monetary)


def test_empty_organization_gives_empty_scores():
    scores = rfm.rfm_scores([], [], [])
    assert len(scores.recency) == len(scores.fm) == 0
