"""Tests of cxlib/evaluation/report.py: the notebook glue (panels, design runs with caveats, tables, findings)."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from cxlib.errors import ParameterError
from cxlib.evaluation import EFFECT_COLUMNS, EffectResult
from cxlib.sections.evaluation import (DESIGN_LABELS, MetricEvaluation, caveats_markdown, cohort_synthetic_control, effect_table,
                                     evaluate_metric, evaluation_findings, evaluation_panel, event_study_figure,
                                     rollout_summary, verdicts)
from cxlib.evaluation.simulate import simulate_panel

DAY = pd.Timestamp


def _panel(seed=1, **kw):
    sim, truth = simulate_panel(rng=np.random.default_rng(seed), **kw)
    return sim.rename(columns={"unit": "unit_id", "y": "value"}), truth


def _tables():
    """Two stores, S1 treated from February; S2 has no transaction in February (an empty store-period)."""
    return {
        "units": pd.DataFrame({"unit_id": ["S1", "S2"]}),
        "program_rollout": pd.DataFrame({"unit_id": ["S1"], "program": ["cx"], "rollout_date": [DAY("2025-02-01")]}),
        "customers": pd.DataFrame({"customer_id": ["c1", "c2"], "home_unit_id": ["S1", "S2"],
                                   "signup_date": [DAY("2024-12-01")] * 2}),
        "transactions": pd.DataFrame({
            "transaction_id": ["t1", "t2", "t3", "t4", "t5"], "customer_id": ["c1", "c2", "c1", "c1", "c2"],
            "unit_id": ["S1", "S2", "S1", "S1", "S2"],
            "timestamp": [DAY("2025-01-05"), DAY("2025-01-09"), DAY("2025-02-03"), DAY("2025-03-03"),
                          DAY("2025-03-09")],
            "amount": [10.0] * 5, "items": [2, 4, 1, 2, 2], "returned_items": [1, 0, 0, 0, 1],
            "stockout_items": [0, 1, 0, 0, 0]})}


def test_panel_drops_the_cheaper_side_of_missing_cells_and_says_so():
    panel, notes = evaluation_panel(_tables(), metric="return_rate")
    # one missing cell (S2, Feb): dropping the period loses 2 cells, dropping the store 3
    assert panel["period"].dt.strftime("%Y-%m").unique().tolist() == ["2025-01", "2025-03"]
    assert panel["value"].notna().all() and len(panel) == 4
    assert notes == ("Return rate: dropped 1 period(s) (2025-02) with an empty store-period (1 missing of 6).",)


def test_panel_window_and_common_program_start():
    panel, notes = evaluation_panel(_tables(), metric="return_rate", program_start="2025-02-15",
                                    pre_start="2025-01-01", post_end="2025-03-01")
    first = panel.groupby("unit_id")["first_treated"].first()
    assert first["S1"] == DAY("2025-03-01") and pd.isna(first["S2"])  # first full month after the start
    assert panel.loc[panel["unit_id"] == "S1", "treated"].tolist() == [0, 1]
    assert notes[0].startswith("Return rate: common program start 2025-02-15 for the 1 stores")


def test_rollout_summary_counts_stores_and_cohorts():
    panel, _ = _panel(n_units=40, n_periods=12, cohorts=[4, 6])
    panel["period"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(panel["period"] * 31, unit="D")
    panel["first_treated"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(panel["first_treated"] * 31, unit="D")
    text = rollout_summary(panel)
    assert text.startswith("40 stores observed monthly from 2024-01 to 2024-12 (12 periods): 20 treated in 2 rollout")
    assert text.endswith("20 never treated in the window.")
    with pytest.raises(ParameterError, match="freq='day'"):
        rollout_summary(panel, freq="day")


def test_evaluate_metric_runs_every_applicable_design_and_recovers_the_effect():
    panel, truth = _panel(n_units=60, n_periods=16, cohorts=[6, 9], effect=-0.3)
    ev = evaluate_metric(panel, metric="complaint_rate",
                         designs=["naive", "2x2", "twfe", "staggered", "synthetic_control"])
    assert [r.design for r in ev.results] == ["naive", "twfe", "staggered", "synthetic_control"]
    assert ev.label == "Complaints per 1,000 customers" and ev.better == "lower"
    twfe = ev.result("twfe")
    assert twfe.relative_ci_lower < truth["relative"] < twfe.relative_ci_upper
    assert ev.result("2x2") is None
    assert any("2x2 DiD | not estimated" in c and "2 different rollout periods" in c for c in ev.caveats)
    assert ev.event_study is not None and list(ev.to_frame().columns) == list(EFFECT_COLUMNS)
    sc = ev.result("synthetic_control")
    assert (sc.n_treated, sc.n_units) == (1, 31)  # the earliest cohort's mean against 30 never-treated donors


def test_pretrend_warning_becomes_a_visible_caveat_not_a_warning():
    # treated stores drift upward before the program: the event-study leads are not zero
    panel, _ = _panel(seed=3, n_units=60, n_periods=16, treated_trend=1.5, noise_sd=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing may escape to stderr
        ev = evaluate_metric(panel, metric="return_rate", designs=["twfe", "staggered"])
    assert ev.event_study.pre_trend_p_value < 0.05
    assert any("| PreTrendWarning |" in c for c in ev.caveats)
    text = caveats_markdown([ev])
    assert text.startswith("**Caveats the reader must weigh:**")
    assert text.splitlines()[2].startswith("- ⚠ **Parallel pre-trends doubtful** (Return rate, ")


def test_small_donor_pool_gives_a_small_sample_caveat_and_unbounded_interval():
    panel, _ = _panel(n_units=12, n_periods=12, treated_share=0.5)
    ev = evaluate_metric(panel, metric="out_of_stock_rate", designs=["synthetic_control"])
    sc = ev.result("synthetic_control")
    assert sc.n_units == 7 and math.isinf(sc.ci_lower) and math.isinf(sc.ci_upper)
    assert sc.p_value >= 1 / 7
    assert any("SmallSampleWarning" in c and "smallest p-value 1/7" in c for c in ev.caveats)


def test_synthetic_control_needs_never_treated_donors():
    panel, _ = _panel(n_units=10, n_periods=10, cohorts=[4, 6], treated_share=0.9)
    with pytest.raises(ParameterError, match="at least two never-treated"):
        cohort_synthetic_control(panel, metric="y")


def test_unknown_design_and_metric_are_refused():
    panel, _ = _panel(n_units=10, n_periods=8)
    with pytest.raises(ParameterError, match="design='did'"):
        evaluate_metric(panel, metric="nps", designs=["did"])
    with pytest.raises(ParameterError, match="metric='sales'"):
        evaluate_metric(panel, metric="sales")


def _result(design="twfe", rel=(-0.25, -0.31, -0.19), p=1e-5):
    return EffectResult(metric="return_rate", design=design, estimate=-0.03, ci_lower=-0.04, ci_upper=-0.02,
                        relative_estimate=rel[0], relative_ci_lower=rel[1], relative_ci_upper=rel[2], p_value=p,
                        n_units=24, n_treated=18, n_obs=552, method="TWFE long")


def test_effect_table_has_one_row_per_design_and_fixed_columns():
    ev = MetricEvaluation("return_rate", "Return rate", "lower", (_result("naive"), _result()), None, ())
    table = effect_table([ev])
    assert table.columns.tolist() == ["metric", "design", "relative_estimate", "relative_ci_lower",
                                      "relative_ci_upper", "estimate", "p_value", "n_units", "n_treated", "n_obs",
                                      "pre_trend_p_value", "method"]
    assert table["design"].tolist() == ["naive before/after", "TWFE DiD"]
    assert table["pre_trend_p_value"].isna().all()  # no event study


def test_verdict_and_finding_agree_with_the_result():
    ev = MetricEvaluation("return_rate", "Return rate", "lower", (_result(),), None, ())
    text = verdicts([ev])["text"].iloc[0]
    assert text.startswith("Return rate fell 25% (95% CI 19% to 31%) relative to comparable stores, an improvement")
    f, stores = evaluation_findings([ev])
    assert (stores.key, stores.estimate, stores.n) == ("program_stores", 18.0, 24.0)
    assert (f.key, f.section, f.unit, f.better, f.n) == ("program_effect_return_rate", "evaluation", "%", "lower", 24)
    assert (f.estimate, f.ci_lower, f.ci_upper, f.p_value) == (-25.0, -31.0, -19.0, 1e-5)
    assert f.method == "TWFE DiD vs comparable stores" and "TWFE long" in f.detail
    assert evaluation_findings([ev], design="staggered") == []  # the design did not run: nothing recorded


@pytest.mark.parametrize("seed, effect, noise, hard", [
    (1, -0.08, 6.0, False), (2, -0.08, 6.0, False), (3, -0.3, 10.0, True), (2, -0.5, 10.0, True)])
def test_relative_interval_and_test_agree_and_any_disagreement_is_flagged(seed, effect, noise, hard):
    # The "hard" cases had a delta-method relative TWFE interval excluding zero with p = 0.10 and 0.12;
    # the Fieller interval (cxlib.evaluation._result.relative_effect) contains 0 exactly when the
    # effect's test does not reject, so TWFE never disagrees; any design that still does is flagged.
    kw = dict(base=20.0, unit_sd=2.0) if hard else {}
    panel, _ = _panel(seed=seed, n_units=12, n_periods=10, effect=effect, noise_sd=noise, **kw)
    ev = evaluate_metric(panel, metric="return_rate", designs=["naive", "twfe"])
    for r in ev.results:
        disagree = (r.relative_ci_lower > 0 or r.relative_ci_upper < 0) != (r.p_value < 0.05)
        flagged = any(c.startswith(f"Return rate | {DESIGN_LABELS[r.design]} | borderline") for c in ev.caveats)
        assert flagged == disagree
        if r.design == "twfe":
            assert not disagree


def test_event_study_figure_draws_one_panel_per_metric():
    panel, _ = _panel(n_units=30, n_periods=10)
    evs = [evaluate_metric(panel, metric=m, designs=["twfe"]) for m in ("nps", "csat", "return_rate")]
    fig = event_study_figure(evs)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(fig.axes) == 4 and len(visible) == 3
    assert [ax.get_title().split("\n")[0] for ax in visible] == ["NPS", "CSAT (top-2-box)", "Return rate"]
    assert all(ax.get_title().split("\n")[1].startswith("(pre-trend p ") for ax in visible)
    assert fig.get_size_inches()[0] <= 6.7  # as wide as the printed page: its 8 pt labels print at 8 pt
    assert all(len(ax.containers) == 2 and ax.get_legend() is None for ax in visible)


# --- for a decision: every outcome, the design behind each, agreement and pre-trends in plain words ---

from cxlib.evaluation import EventStudyResult  # noqa: E402
from cxlib.sections.evaluation import decision_table, design_reading, pre_trend_reading, verdicts  # noqa: E402


def _pair(metric, twfe, staggered, pre_p=0.6):
    """TWFE and Callaway-Sant'Anna results (absolute estimate, CI, relative triple) and an event study."""
    def res(design, v):
        est, lo, hi, rel = v
        return EffectResult(metric=metric, design=design, estimate=est, ci_lower=lo, ci_upper=hi,
                            relative_estimate=rel[0], relative_ci_lower=rel[1], relative_ci_upper=rel[2],
                            p_value=0.01 if lo > 0 or hi < 0 else 0.6, n_units=24, n_treated=18, method=design)
    es = EventStudyResult(metric=metric, table=pd.DataFrame(), ci_level=0.95, pre_trend_statistic=1.0,
                          pre_trend_dof=6, pre_trend_p_value=pre_p, method="CS")
    return (res("twfe", twfe), res("staggered", staggered)), es


def test_decision_table_reads_nps_in_points_and_flags_disagreement():
    # numbers of the demo report: NPS TWFE +9.9 points (1.7 to 18.1), Callaway-Sant'Anna +0.7 (-14.2 to 15.6)
    nps, es = _pair("nps", (9.9, 1.7, 18.1, (0.48, 0.06, 1.44)), (0.7, -14.2, 15.6, (0.02, -0.3, 1.0)), 0.98)
    ret, es2 = _pair("return_rate", (-0.03, -0.04, -0.02, (-0.255, -0.318, -0.183)),
                     (-0.035, -0.05, -0.02, (-0.26, -0.35, -0.14)), 0.98)
    evs = [MetricEvaluation("nps", "NPS", "higher", nps, es, ()),
           MetricEvaluation("return_rate", "Return rate", "lower", ret, es2, ())]
    table = decision_table(evs)
    assert table[["outcome", "unit", "headline", "check", "designs_agree"]].values.tolist() == [
        ["NPS", "points", 9.9, 0.7, False], ["Return rate", "%", -25.5, -26.0, True]]
    text = design_reading(evs)
    assert text.startswith("**Where the designs disagree.** For NPS the TWFE DiD finds a clear effect (+9.9 points")
    assert "return rate" not in text.split("Which one to trust")[0]  # only the disagreeing outcome is named
    assert "works equally in every rollout wave" in text
    assert pre_trend_reading(evs).startswith("Before the rollout, the stores that got the program and the "
                                             "comparison stores moved in step on NPS, return rate")
    # NPS verdict in points, not as a relative change of a score
    assert verdicts(evs)["text"].iloc[0].startswith("NPS rose 9.9 points")


def test_pre_trend_reading_names_a_drift():
    pair, es = _pair("csat", (0.01, -0.02, 0.04, (0.01, -0.03, 0.06)), (0.04, -0.01, 0.09, (0.06, -0.02, 0.16)),
                     pre_p=0.01)
    text = pre_trend_reading([MetricEvaluation("csat", "CSAT (top-2-box)", "higher", pair, es, ())])
    assert text == ("On CSAT (top-2-box) the two groups were already drifting apart before the start (p = 0.010): "
                    "its effect is not credible as measured.")
