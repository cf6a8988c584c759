"""Tests of cxlib.sections.churn (the churn notebook's glue)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlib.errors import ParameterError
from cxlib.sections import churn as sr
from cxlib.survival import check_proportional_hazards, churn_frame, cox_design, fit_cox, kaplan_meier, logrank_test


def _tables():
    subs = pd.DataFrame({"subscription_id": ["S1", "S2", "S3", "S4"], "customer_id": ["C1", "C2", "C3", "C4"],
                         "plan": ["basic", "plus", "premium", "basic"],
                         "start_date": pd.to_datetime(["2025-01-01", "2025-01-01", "2025-02-01", "2025-03-01"]),
                         "end_date": pd.to_datetime(["2025-01-11", None, "2025-02-01", None])})
    cust = pd.DataFrame({"customer_id": ["C1", "C2", "C3", "C4"], "loyalty_tier": ["gold", "bronze", "gold", "silver"]})
    srv = pd.DataFrame({"customer_id": ["C1", "C2", "C4"], "touchpoint": ["onboarding", "onboarding", "purchase"],
                        "nps": pd.array([6, 4, 0], dtype="Int64"),
                        # C2 answers a day late: unknown at the landmark, so not a detractor
                        "responded_at": pd.to_datetime(["2025-01-01 18:00", "2025-01-03 09:00", "2025-03-01 10:00"])})
    tck = pd.DataFrame({"customer_id": ["C1", "C2", "C4"],
                        "opened_at": pd.to_datetime(["2024-12-20", "2024-12-30", "2025-03-05"]),
                        "resolved_at": pd.to_datetime(["2025-01-05", "2024-12-31", None])})
    return subs, cust, srv, tck


def test_churn_frame_measures_covariates_at_the_start_only():
    subs, cust, srv, tck = _tables()
    f = churn_frame(subs, customers=cust, survey_responses=srv, tickets=tck, observation_end="2025-04-01",
                       segment=["loyalty_tier"])
    assert f["subscription_id"].tolist() == ["S1", "S2", "S4"]  # S3 ended on day 0, before the 1-day landmark
    assert f.attrs["dropped_before_landmark"] == 1
    assert f["duration"].tolist() == [9.0, 89.0, 30.0] and f["event"].tolist() == [1, 0, 0]
    assert f["detractor"].tolist() == [1, 0, 0]  # C2 answered late, C4's response is not onboarding
    assert f["unresolved_ticket"].tolist() == [1, 0, 0]  # C2's ticket was resolved before, C4's opened after
    assert f["cx_at_start"].tolist() == ["both", "neither", "neither"]
    assert f["loyalty_tier"].tolist() == ["gold", "bronze", "silver"]


def test_churn_frame_rejects_unknown_segment_columns():
    subs, cust, srv, tck = _tables()
    with pytest.raises(ParameterError, match="nonexistent"):
        churn_frame(subs, customers=cust, survey_responses=srv, tickets=tck, observation_end="2025-04-01",
                       segment=["nonexistent"])


def _weibull_world(n=3000, seed=7):
    """Weibull PH (shape 1.3, scale 600 days), HR detractor 2.0 and premium 0.5, censoring at 700 days."""
    rng = np.random.default_rng(seed)
    det = rng.random(n) < 0.2
    plan = rng.choice(["basic", "plus", "premium"], n, p=[0.5, 0.3, 0.2])
    eta = np.log(2.0) * det + np.log(0.5) * (plan == "premium")
    t = 600 * (rng.exponential(1.0, n) * np.exp(-eta)) ** (1 / 1.3)
    return pd.DataFrame({"duration": np.minimum(t, 700.0), "event": (t < 700).astype(int),
                         "detractor": det.astype(int), "plan": plan,
                         "cx_at_start": np.where(det, "detractor", "neither")})


def test_cox_design_codes_plan_against_basic_and_recovers_planted_ratios():
    frame = _weibull_world()
    x, labels = cox_design(frame, covariates=["detractor", "plan"])
    assert list(x.columns) == ["duration", "event", "detractor", "plan_plus", "plan_premium"]
    assert labels == {"detractor": "detractor (yes vs no)", "plan_plus": "plan: plus vs basic",
                      "plan_premium": "plan: premium vs basic"}
    cox = fit_cox(x)
    ph = check_proportional_hazards(cox, x, rng=np.random.default_rng(0))
    d = sr.driver_table(cox, ph, labels=labels).set_index("term")
    assert list(d.index)[:2] == ["plan_premium", "detractor"] or list(d.index)[:2] == ["detractor", "plan_premium"]
    assert d.loc["detractor", "ci_lower"] < 2.0 < d.loc["detractor", "ci_upper"]
    assert d.loc["plan_premium", "ci_lower"] < 0.5 < d.loc["plan_premium", "ci_upper"]
    assert d.loc["plan_plus", "ci_lower"] < 1.0 < d.loc["plan_plus", "ci_upper"]
    assert d["ph_p_value"].between(0, 1).all()


def test_cox_design_rejects_missing_covariates():
    with pytest.raises(ParameterError, match="tenure"):
        cox_design(_weibull_world(50), covariates=["tenure"])


def test_retention_table_matches_the_weibull_truth():
    frame = _weibull_world()
    ret = sr.retention_table(frame, segment=["cx_at_start"], horizons_months=[12], kaplan_meier_fn=kaplan_meier)
    assert ret.shape == (3, len(sr.RETENTION_COLUMNS))
    row = ret[(ret["segment"] == "neither")].iloc[0]
    # planted S(365.25) for non-detractors averages exp(-(365.25/600)^1.3 * hr) over the plan mix
    s0 = np.exp(-(365.25 / 600) ** 1.3)
    truth = 0.8 * s0 + 0.2 * s0 ** 0.5  # 80% non-premium (hr 1), 20% premium (hr 0.5)
    assert row["retention_lower"] < truth < row["retention_upper"]
    wide = sr.retention_display(ret)
    assert list(wide.columns) == ["segment_column", "segment", "n", "events", "m12", "m12_lower", "m12_upper"]
    assert wide["n"].tolist() == [3000, int((frame["cx_at_start"] == "detractor").sum()),
                                  int((frame["cx_at_start"] == "neither").sum())]


def test_rmst_table_differences_and_logrank():
    frame = _weibull_world()
    shown, diffs = sr.rmst_table(frame, segment=["cx_at_start"], tau=365, kaplan_meier_fn=kaplan_meier,
                                 logrank_fn=logrank_test)
    ref = shown.set_index("segment")
    assert np.isnan(ref.loc["neither", "difference"])  # the largest segment is the reference
    d = ref.loc["detractor"]
    assert d["difference"] == pytest.approx(d["rmst"] - ref.loc["neither", "rmst"])
    assert d["difference_upper"] < 0 and d["p_value"] < 1e-6 and d["logrank_p"] < 1e-6
    assert diffs["comparison"].tolist() == ["detractor - neither"]


def test_rmst_tau_is_capped_at_the_shortest_follow_up():
    frame = pd.DataFrame({"duration": [10.0, 20, 30, 5, 8], "event": [1, 0, 1, 1, 0], "g": list("aaabb")})
    r, _ = sr.rmst_comparisons(kaplan_meier(frame, segment="g"), tau=100, segment_column="g")
    assert r["horizon"].tolist() == [8.0, 8.0]
    with pytest.raises(ParameterError, match="reference"):
        sr.rmst_comparisons(kaplan_meier(frame, segment="g"), tau=5, segment_column="g", reference="zz")


def test_at_risk_counts_subjects_followed_at_least_to_each_time():
    d = pd.DataFrame({"duration": [1.0, 2, 2, 3, 4], "event": [1, 1, 0, 1, 0]})
    t = sr.at_risk_table(kaplan_meier(d), [0, 1, 3, 10])
    assert t["at_risk"].tolist() == [5, 5, 2, 0]


def test_churn_findings_pick_the_strongest_cx_driver_and_significant_rmst_gap():
    frame = _weibull_world()
    x, labels = cox_design(frame, covariates=["detractor", "plan"])
    cox = fit_cox(x)
    drivers = sr.driver_table(cox, check_proportional_hazards(cox, x, rng=np.random.default_rng(0)), labels=labels)
    ret = sr.retention_table(frame, segment=[], horizons_months=[12], kaplan_meier_fn=kaplan_meier)
    _, diffs = sr.rmst_table(frame, segment=["cx_at_start"], tau=365, kaplan_meier_fn=kaplan_meier,
                             logrank_fn=logrank_test)
    found = {f.key: f for f in sr.churn_findings(retention=ret, drivers=drivers, rmst_differences=diffs,
                                                 period="2025Q4")}
    assert set(found) == {"churn_retention_12m", "churn_hr_detractor", "churn_hr_plan_plus", "churn_hr_plan_premium",
                          "churn_top_cx_driver", "churn_rmst_gap"}
    assert found["churn_top_cx_driver"].estimate == found["churn_hr_detractor"].estimate
    assert found["churn_rmst_gap"].unit == "days" and found["churn_rmst_gap"].estimate < 0
    assert "365" in found["churn_rmst_gap"].label
    for f in found.values():
        assert f.ci_lower < f.estimate < f.ci_upper and f.section == "churn"
