"""The value-at-stake pipeline (cxlib/clv/pipeline.py): one fit, the same numbers wherever they are used.

The reference numbers are not external: the pipeline must reproduce, to the last bit, the recipe the CLV
notebook (35) and ``cxlib.actions.churn_risk_list`` each ran before it existed (BG/NBD and Gamma-Gamma on
the weekly RFM summary, ``customer_clv``, the churn frame, Cox design and fit, ``churn_risk``,
``value_at_stake``), and the CLV section, the segments section and the action lists must print one number.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from cxlib import clv
from cxlib import survival as sv
from cxlib.actions.lists import build_action_lists, churn_risk_list
from cxlib.errors import DataContractError, ParameterError
from cxlib.sections import actions as ar
from cxlib.sections import clv as cr

ROOT = Path(__file__).resolve().parents[1]
END = "2025-12-31"


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    from cxlib.data import load
    from cxlib.synth import generate
    folder = tmp_path_factory.mktemp("vas_world") / "data"
    generate(folder, n_customers=1500, seed=4)
    return load(folder, tables=["customers", "transactions", "subscriptions", "survey_responses", "tickets"])


@pytest.fixture(scope="module")
def vas(tables):
    return clv.value_at_stake_pipeline(tables, clv.StakeParameters(observation_end=END))


def test_the_pipeline_reproduces_the_recipe_it_replaces(tables, vas):
    end = pd.Timestamp(END)
    rfm = clv.rfm_summary(tables.transactions, observation_end=end, time_unit="week")
    rfm = rfm[rfm["T"] > 0]
    bg = clv.BetaGeo(alpha=0.05).fit(rfm)
    gg = clv.GammaGamma(alpha=0.05).fit(clv.repeat_buyers(rfm))
    sample = clv.customer_clv(bg, gg, rfm, horizon=52, annual_discount_rate=0.1, margin=0.3)
    frame = sv.churn_frame(tables.subscriptions, customers=tables.customers,
                           survey_responses=tables.survey_responses, tickets=tables.tickets, observation_end=end,
                           landmark_days=1)
    design, _ = sv.cox_design(frame, covariates=["detractor", "unresolved_ticket", "plan"])
    cox = sv.fit_cox(design, alpha=0.05)
    risk = sv.churn_risk(cox, design[frame["event"] == 0], horizon=90)
    stake, total = clv.value_at_stake(sample, risk, customer_ids=frame["customer_id"], alpha=0.05)
    pd.testing.assert_series_equal(vas.sample.clv, sample.clv)
    np.testing.assert_array_equal(vas.sample.derivatives, sample.derivatives)
    pd.testing.assert_frame_equal(vas.churn.cox.table, cox.table)
    pd.testing.assert_frame_equal(vas.risk, risk)
    pd.testing.assert_frame_equal(vas.stake, stake)
    assert vas.total == total
    assert vas.parameters.to_dict() == {
        "observation_end": END, "clv_horizon_weeks": 52.0, "annual_discount_rate": 0.1, "margin": 0.3,
        "risk_horizon_days": 90.0, "landmark_days": 1.0, "cox_covariates": ["detractor", "unresolved_ticket", "plan"],
        "alpha": 0.05}
    assert "total=" in repr(vas) and "ChurnModel(" in repr(vas.churn)


def test_one_number_in_the_clv_section_the_segments_section_and_the_action_lists(tables, vas):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*CX_PSEUDONYM_KEY.*")
        reused = build_action_lists(tables, period="2025Q4", save_rate=0.25, ids="real", stake=vas)["churn_risk"]
        alone = churn_risk_list(tables, observation_end=END, save_rate=0.25, ids="real")
    # the list run on its own fits the same pipeline: identical frame and value
    pd.testing.assert_frame_equal(reused.frame, alone.frame)
    assert (reused.expected_value, reused.ci_lower, reused.ci_upper) == (
        alone.expected_value, alone.ci_lower, alone.ci_upper)
    # every active member with a CLV is listed, so acting on the list is worth save_rate x the section's total
    segments = cr.segment_clv(vas.sample, tables.customers, segment=["region"])
    found = {f.key: f for f in cr.clv_findings(sample=vas.sample, segment_table=segments, total_at_stake=vas.total,
                                               n_at_risk=len(vas.stake), risk_horizon_days=90, period="2025Q4")}
    at_risk = found["clv_at_risk"]
    assert reused.expected_value == pytest.approx(0.25 * at_risk.estimate, rel=1e-12)
    assert reused.ci_lower == pytest.approx(0.25 * at_risk.ci_lower, rel=1e-12)
    assert reused.ci_upper == pytest.approx(0.25 * at_risk.ci_upper, rel=1e-12)
    # the segments section's churn probability per customer is the pipeline's
    risk = ar.risk_by_customer(reused, pd.Index(tables.customers["customer_id"]))
    mine = vas.stake.dropna(subset=["clv"]).set_index("customer_id")["churn_probability"]
    pd.testing.assert_series_equal(risk.dropna().sort_index(), mine.sort_index(), check_names=False,
                                   check_index_type=False)


def test_value_of_sums_the_listed_members(vas):
    top = vas.stake.dropna(subset=["value_at_stake"]).head(5)
    est, se, lo, hi = vas.value_of(top["customer_id"])
    assert est == pytest.approx(top["value_at_stake"].sum(), rel=1e-12) and lo < est < hi and se > 0
    assert vas.value_of([])[0] == 0.0
    assert vas.value_of(vas.stake["customer_id"])[0] == pytest.approx(vas.total[0], rel=1e-12)


def test_a_stake_built_with_other_parameters_is_refused(tables, vas):
    with pytest.raises(ParameterError, match="risk_horizon_days"):
        churn_risk_list(tables, stake=vas, risk_horizon_days=30)
    with pytest.raises(ParameterError, match="observation_end"):
        churn_risk_list(tables, stake=vas, observation_end="2025-11-30")
    with pytest.raises(ParameterError, match="observation_end"):
        churn_risk_list(tables)
    # equal values are fine: one value at stake per report
    assert len(churn_risk_list(tables, stake=vas, observation_end=END, margin=0.3, ids="real").frame) > 0


@pytest.mark.parametrize("field,value,match", [("margin", 0.0, "margin"), ("margin", 1.5, "margin"),
                                               ("risk_horizon_days", 0, "risk_horizon_days"),
                                               ("clv_horizon_weeks", -1, "clv_horizon_weeks"),
                                               ("alpha", 1.0, "alpha"), ("cox_covariates", (), "cox_covariates")])
def test_stake_parameters_are_checked(field, value, match):
    with pytest.raises(ParameterError, match=match):
        clv.StakeParameters(observation_end=END, **{field: value})


def test_the_pipeline_names_a_missing_table(tables):
    partial = {k: v for k, v in tables.tables.items() if k != "transactions"}
    with pytest.raises(DataContractError, match="transactions"):
        clv.value_at_stake_pipeline(partial, clv.StakeParameters(observation_end=END))


def test_calibration_models_fit_on_the_window_only(tables, vas):
    models = clv.fit_clv_models(tables.transactions, observation_end=END, calibration_end="2025-06-30")
    assert "frequency_holdout" in models.rfm.columns and models.rfm.attrs["calibration_end"] == "2025-06-30"
    assert len(models.rfm) < len(vas.models.rfm) and "ClvModels(" in repr(models)
    again = clv.fit_clv_models(tables.transactions, observation_end=END)
    pd.testing.assert_series_equal(again.bg.params_, vas.models.bg.params_)


def _parameters_cell(notebook: str) -> dict:
    from cxlib.report.plan import declared_parameters
    return declared_parameters(ROOT / "notebooks" / notebook)


def test_the_plan_gives_every_section_the_same_value_at_stake_parameters():
    plan = yaml.safe_load((ROOT / "reports" / "plan.yml").read_text(encoding="utf-8"))["parameters"]
    defaults = clv.StakeParameters(observation_end=END).to_dict()
    shared = ["clv_horizon_weeks", "annual_discount_rate", "margin", "risk_horizon_days", "landmark_days",
              "cox_covariates"]
    for name in shared:
        assert plan[name] == defaults[name], name  # the plan states the pipeline's defaults explicitly
    for notebook, names in {"30_churn.ipynb": ["landmark_days", "cox_covariates"], "35_clv.ipynb": shared,
                            "60_segments.ipynb": shared}.items():
        declared = _parameters_cell(notebook)
        for name in names:
            assert json.dumps(declared[name]) == json.dumps(plan[name]), (notebook, name)
