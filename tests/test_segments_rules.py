"""Tests for cxlib/segments/rules.py: RFM scores, named RFM segments and rule segments."""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from cxlib.errors import DataContractError, ParameterError
from cxlib.segments.rules import (NO_PURCHASE, RFM_COLUMNS, RFM_SEGMENT_RULES, RFM_SEGMENTS, attribute_segments,
                                  rfm_scores, rfm_segments, rule_segments)


def test_the_rfm_grid_names_every_score_pair_exactly_once_by_priority():
    for r, f in itertools.product(range(1, 6), range(1, 6)):
        hits = [name for name, rs, fs in RFM_SEGMENT_RULES if r in rs and f in fs]
        assert hits, (r, f)
    # the only overlap is lost (1, 1) inside hibernating, resolved by order
    overlaps = [(r, f) for r, f in itertools.product(range(1, 6), range(1, 6))
                if sum(r in rs and f in fs for _, rs, fs in RFM_SEGMENT_RULES) > 1]
    assert overlaps == [(1, 1)]
    names = [n for n, _, _ in RFM_SEGMENT_RULES]
    assert names.index("lost") < names.index("hibernating")


def test_quintile_scores_are_balanced_and_independent_of_row_order():
    rng = np.random.default_rng(0)
    f = pd.DataFrame({"recency_days": rng.uniform(0, 700, 1000), "frequency": rng.integers(1, 40, 1000).astype(float),
                      "monetary": rng.gamma(3, 20, 1000)}, index=[f"C{i}" for i in range(1000)])
    s = rfm_scores(f)
    assert s["r_score"].value_counts().sort_index().tolist() == [200] * 5  # continuous: exact quintiles
    shuffled = rfm_scores(f.sample(frac=1, random_state=1)).loc[f.index]
    pd.testing.assert_frame_equal(s, shuffled)
    # the most recent buyer gets R = 5, the oldest R = 1
    assert s.loc[f["recency_days"].idxmin(), "r_score"] == 5 and s.loc[f["recency_days"].idxmax(), "r_score"] == 1


def test_one_purchase_customers_share_the_lowest_frequency_score():
    f = pd.DataFrame({"recency_days": np.arange(10.0), "frequency": [1.0] * 6 + [2, 3, 4, 5],
                      "monetary": np.ones(10)})
    assert rfm_scores(f)["f_score"].tolist() == [1] * 6 + [4, 4, 5, 5]


def test_named_segments_and_non_buyers():
    f = pd.DataFrame({"recency_days": [1.0, 2, 3, 400, 500, 600, np.nan], "frequency": [20.0, 1, 15, 30, 1, 10, 0],
                      "monetary": [50.0, 10, 30, 90, 5, 40, np.nan]})
    out = rfm_segments(f)
    assert list(out.columns) == list(RFM_COLUMNS)
    # six buyers: R = (5, 5, 4, 3, 2, 1), F = (5, 1, 4, 5, 1, 3) by minimum-rank sixths
    assert out["r_score"].tolist()[:6] == [5, 5, 4, 3, 2, 1] and out["f_score"].tolist()[:6] == [5, 1, 4, 5, 1, 3]
    assert out["segment"].tolist() == ["champions", "new", "loyal", "loyal", "hibernating", "at risk", NO_PURCHASE]
    assert list(out["segment"].cat.categories) == list(RFM_SEGMENTS)
    with pytest.raises(DataContractError, match="monetary"):
        rfm_segments(f.drop(columns="monetary"))
    with pytest.raises(ParameterError):
        rfm_scores(f, bins=1)


def test_rule_segments_first_match_wins_and_bad_rules_raise():
    c = pd.DataFrame({"age_band": ["18-24", "65+", "25-34"], "acquisition_channel": ["app", "app", "store"]})
    out = rule_segments(c, rules={"young app": "age_band in ['18-24', '25-34'] and acquisition_channel == 'app'",
                                  "app": "acquisition_channel == 'app'"})
    assert out.tolist() == ["young app", "app", "other"]
    assert list(out.cat.categories) == ["young app", "app", "other"]
    with pytest.raises(ParameterError, match="nope"):
        rule_segments(c, rules={"x": "nope == 1"})
    with pytest.raises(ParameterError, match="True/False"):
        rule_segments(c, rules={"x": "age_band"})
    with pytest.raises(ParameterError):
        rule_segments(c, rules={"other": "age_band == '65+'"})


def test_attribute_segments_cross_classify():
    c = pd.DataFrame({"loyalty_tier": ["gold", "gold"], "region": ["North", "South"], "age_band": ["65+", "65+"]})
    assert attribute_segments(c, columns=["loyalty_tier", "age_band"]).tolist() == ["gold / 65+", "gold / 65+"]
    with pytest.raises(DataContractError):
        attribute_segments(c, columns=["acquisition_channel"])
