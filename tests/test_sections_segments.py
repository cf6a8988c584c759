"""Tests for cxlib/segments/report.py: segment summary, agreement and findings."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlib.errors import ParameterError
from cxlib.segments import BehaviouralSegments, stability
from cxlib.sections.segments import SUMMARY_COLUMNS, agreement, segment_findings, segment_summary


def test_summary_has_n_intervals_and_member_churn():
    f = pd.DataFrame({"total_spend": [10.0, 20, 30, 40, 50, 60, 70, 80],
                      "latest_nps": [10, 10, 0, np.nan, 9, 8, 7, 6]}, index=list("abcdefgh"))
    labels = pd.Series(list("AAAAABBB"), index=f.index)
    churn = pd.Series({"a": 0.1, "b": 0.3, "g": 0.5})
    s = segment_summary(f, labels, churn_probability=churn)
    assert list(s.columns) == list(SUMMARY_COLUMNS) and s["segment"].tolist() == ["A", "B"]
    a = s.iloc[0]
    assert a["n"] == 5 and a["share"] == 5 / 8 and a["spend_mean"] == 30.0
    assert a["spend_ci_lower"] < 30 < a["spend_ci_upper"]
    assert a["nps"] == pytest.approx(100 * (3 - 1) / 4) and a["nps_n"] == 4  # promoters 10, 10, 9; detractor 0
    assert a["members"] == 2 and a["churn_probability"] == pytest.approx(0.2)
    assert s.iloc[1]["members"] == 1 and s.iloc[1]["nps"] == pytest.approx(-100 / 3)


def test_agreement_uses_common_customers_only():
    a = pd.Series([0, 0, 1, 1, 2], index=list("abcde"))
    b = pd.Series(["x", "x", "y", "y"], index=list("abcd"))
    assert agreement(a, b) == (1.0, 4)
    with pytest.raises(ParameterError):
        agreement(a, pd.Series(["x"], index=["a"]))


def test_findings_carry_stability_interval_and_truth_ari():
    rng = np.random.default_rng(0)
    f = pd.DataFrame({"x": np.r_[rng.normal(0, 1, 40), rng.normal(9, 1, 40)]})
    m = BehaviouralSegments(columns=["x"], k=2).fit(f, rng=rng)
    s = stability(m, f, seeds=2, bootstraps=4, rng=rng)
    out = {x.key: x for x in segment_findings(m, s, period="2025Q4", truth_ari=(0.78, 80))}
    assert set(out) == {"segments_k", "segments_stability", "segments_truth_ari"}
    assert out["segments_k"].estimate == 2 and out["segments_k"].n == 80
    st = out["segments_stability"]
    assert st.estimate == pytest.approx(1.0) and st.ci_lower <= st.estimate <= st.ci_upper and st.n == 4
    assert out["segments_truth_ari"].estimate == 0.78
