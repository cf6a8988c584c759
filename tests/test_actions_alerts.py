"""Tests for cxlib/actions/alerts.py: alerts on planted changes, quiet on planted zeros, FDR by simulation."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlib.actions.alerts import (ALERT_COLUMNS, FDR_COLUMNS, alert_findings, attach_segments, metric_alerts,
                                  simulate_alert_fdr)
from cxlib.errors import DataContractError, ParameterError


def survey(seed=0, n=6000, gold_drop=3):
    """Two quarters; gold's NPS drops by ``gold_drop`` scale points in Q4, nothing else moves; repeat respondents."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"customer_id": rng.integers(0, 4000, n).astype(str),
                       "responded_at": pd.Timestamp("2025-07-01") + pd.to_timedelta(rng.integers(0, 184, n), "D"),
                       "tier": rng.choice(["gold", "silver", "bronze"], n),
                       "region": rng.choice(["North", "South", "East", "West"], n)})
    q4, gold = df["responded_at"] >= "2025-10-01", df["tier"] == "gold"
    df["nps"] = np.clip(rng.integers(3, 11, n) - gold_drop * (q4 & gold), 0, 10)
    df["csat"] = rng.integers(1, 6, n)
    return df


def test_planted_change_fires_and_planted_zero_stays_quiet():
    board = metric_alerts(survey(), period="2025Q4", comparison_period="2025Q3", segment=["tier", "region"],
                          metrics=["nps", "csat"])
    t = board.table
    assert list(t.columns) == list(ALERT_COLUMNS) and len(t) == 2 * (1 + 3 + 4)
    gold = t[(t["segment"] == "gold") & (t["metric"] == "nps")].iloc[0]
    assert gold["alert"] and gold["direction"] == "worsened" and gold["change"] < -20
    assert gold["ci_lower"] < gold["change"] < gold["ci_upper"] < 0 and gold["p_adjusted"] < 0.05
    assert "cluster-robust" in gold["method"] and "Benjamini-Hochberg" in gold["method"]
    # silver, bronze and every CSAT cell truly did not move; regions hold a third of gold, so they truly worsened
    quiet = t[t["segment"].isin(["silver", "bronze"]) | (t["metric"] == "csat")]
    assert len(quiet) == 2 + 8 and not quiet["alert"].any()
    assert (t.loc[t["alert"], "direction"] == "worsened").all()
    assert board.n_tested == 16 and (t["p_adjusted"] >= t["p_value"]).all()


def test_practical_threshold_and_min_n():
    df = survey(gold_drop=0)
    board = metric_alerts(df, period="2025Q4", comparison_period="2025Q3", segment=["tier"], metrics=["nps"],
                          min_change={"nps": 0.0}, min_n=2000)
    t = board.table
    assert t.loc[t["segment"] != "all", "p_value"].isna().all()  # tier cells hold ~1000 responses: not tested
    assert board.n_tested == 1 and t.loc[t["segment"] != "all", "method"].str.startswith("not tested").all()


def test_segment_against_rest_and_against_target():
    df = survey()
    rest = metric_alerts(df, period="2025Q4", against="rest", segment=["tier", "region"], metrics=["nps"])
    alerts = rest.alerts
    assert set(alerts["segment_column"]) == {"tier"} and "all" not in rest.table["segment"].tolist()
    assert alerts[alerts["segment"] == "gold"]["direction"].tolist() == ["worsened"]
    target = metric_alerts(df, period="2025Q4", against="target", targets={"nps": 100.0}, segment=["tier"],
                           metrics=["nps"])
    assert target.table["alert"].all() and (target.table["reference_estimate"] == 100.0).all()
    with pytest.raises(ParameterError, match="targets"):
        metric_alerts(df, period="2025Q4", against="target", segment=["tier"], metrics=["nps"])


def test_holm_raises_no_more_alerts_than_bh_and_bad_input_raises():
    df = survey(gold_drop=1)
    kw = dict(period="2025Q4", comparison_period="2025Q3", segment=["tier", "region"], metrics=["nps"],
              min_change={"nps": 0.0})
    bh, holm = metric_alerts(df, padjust="fdr_bh", **kw), metric_alerts(df, padjust="holm", **kw)
    assert holm.table["alert"].sum() <= bh.table["alert"].sum()
    old = {k: v for k, v in kw.items() if k != "segment"}
    with pytest.warns(DeprecationWarning, match=r"metric_alerts\(dimensions=\.\.\.\).*metric_alerts\(segment=\.\.\.\)"):
        pd.testing.assert_frame_equal(metric_alerts(df, padjust="holm", dimensions=["tier", "region"], **old).table,
                                      holm.table)
    with pytest.raises(ParameterError, match="pass segment= only"):
        metric_alerts(df, padjust="holm", dimensions=["tier"], **kw)
    with pytest.raises(ParameterError, match="padjust"):
        metric_alerts(df, padjust="fdr", **{k: v for k, v in kw.items()})
    with pytest.raises(DataContractError, match="unit_id"):
        metric_alerts(df, period="2025Q4", comparison_period="2025Q3", segment=["unit_id"])
    with pytest.raises(ParameterError, match="comparison_period"):
        metric_alerts(df, period="2025Q4", segment=["tier"])


def test_findings_carry_the_evidence():
    board = metric_alerts(survey(), period="2025Q4", comparison_period="2025Q3", segment=["tier"], metrics=["nps"])
    out = {f.key: f for f in alert_findings(board)}
    assert out["alerts_period_count"].estimate == len(board.alerts) and out["alerts_period_count"].n == 4
    top = out["alert_period_1"]
    assert top.better == "higher" and top.ci_lower < top.estimate < top.ci_upper and top.p_value < 0.05


@pytest.mark.parametrize("padjust,bound", [("fdr_bh", "fdr"), ("holm", "fwer")])
def test_simulated_dashboards_of_200_cells_keep_the_error_rate(padjust, bound):
    """Measured (seed 11, 1,000 dashboards): BH FDR 0.045 (target 0.05 x 0.9 null share); Holm FWER 0.05."""
    r = simulate_alert_fdr(dashboards=1000, cells=200, padjust=padjust, rng=np.random.default_rng(11))
    assert list(r.to_frame().columns) == list(FDR_COLUMNS)
    value = r.fdr if bound == "fdr" else r.fwer
    se = r.fdr_se if bound == "fdr" else np.sqrt(0.05 * 0.95 / 1000)
    assert value <= 0.05 + 3 * se
    assert r.power > 0.75


def test_without_adjustment_the_dashboard_cries_wolf():
    r = simulate_alert_fdr(dashboards=300, padjust="none", rng=np.random.default_rng(5))
    assert r.fwer > 0.99 and r.mean_false_alerts > 7 and r.fdr > 0.2  # ~9 false alerts in 180 null cells


def test_synthetic_world_tier_and_touchpoint_differences_fire_region_stays_quiet(tmp_path):
    """Planted latent effects (truth.json surveys.contrasts): tiers and touchpoints differ, regions do not."""
    from cxlib.data import load
    from cxlib.synth import generate
    generate(tmp_path / "w", n_customers=6000, seed=2)
    ds = load(tmp_path / "w", tables=["customers", "survey_responses"])
    r = attach_segments(ds.survey_responses, ds.customers, segment=["loyalty_tier", "region"])
    board = metric_alerts(r, period="2025", against="rest", segment=["loyalty_tier", "region", "touchpoint"])
    a = board.alerts
    fired = set(zip(a["segment_column"], a["segment"], a["metric"]))
    assert ("loyalty_tier", "gold", "nps") in fired and ("touchpoint", "support", "nps") in fired
    assert a[(a["segment"] == "support")]["direction"].eq("worsened").all()
    assert a[(a["segment"] == "gold")]["direction"].eq("improved").all()
    assert (a["segment_column"] == "region").sum() <= 1  # planted zero; at most one false alert at the 5% FDR
