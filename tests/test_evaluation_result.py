"""Tests of cxlib.evaluation._result: the shared result schema and its inference helpers."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cxlib.errors import ParameterError
from cxlib.evaluation import DESIGNS, EFFECT_COLUMNS, EffectResult
from cxlib.evaluation._result import log_scale_fields, relative_effect, wald_inference


def test_every_design_gives_the_same_columns():
    frames = [EffectResult(metric="m", design=d, estimate=1.0, method="x").to_frame() for d in DESIGNS]
    table = pd.concat(frames, ignore_index=True)
    assert list(table.columns) == list(EFFECT_COLUMNS) and len(table) == 7
    assert table["se"].isna().all()


def test_result_is_frozen_and_tables_read_only():
    r = EffectResult(metric="m", design="twfe", estimate=1.0, method="x", tables={"a": pd.DataFrame()})
    with pytest.raises(AttributeError):
        r.estimate = 2.0
    with pytest.raises(TypeError):
        r.tables["b"] = pd.DataFrame()
    assert "tables" not in repr(r) and r.significant is None


def test_unknown_design_is_refused():
    with pytest.raises(ParameterError, match="design='rct'"):
        EffectResult(metric="m", design="rct", estimate=1.0, method="x")


def test_wald_inference_with_t_reference():
    out = wald_inference(2.0, 1.0, 10, 0.05)
    assert out["p_value"] == pytest.approx(2 * stats.t.sf(2.0, 10))
    assert out["ci_upper"] == pytest.approx(2.0 + stats.t.ppf(0.975, 10))


def test_relative_effect_delta_method_against_simulation():
    rng = np.random.default_rng(0)
    cov = np.array([[0.04, 0.01], [0.01, 0.09]])
    draws = rng.multivariate_normal([-3.0, 10.0], cov, size=200_000)
    rel, lo, hi = relative_effect(-3.0, 10.0, cov, alpha=0.05, dof=math.inf)
    sd = (draws[:, 0] / draws[:, 1]).std()
    assert rel == -0.3
    assert (hi - lo) / (2 * 1.959964) == pytest.approx(sd, rel=0.02)
    assert math.isnan(relative_effect(1.0, 0.0, cov, alpha=0.05, dof=math.inf)[0])


def test_log_scale_fields_transform_exactly():
    out = log_scale_fields(math.log(1.2), 0.1, math.inf, 0.05, 12.0)
    assert out["relative_estimate"] == pytest.approx(0.2)
    assert out["relative_ci_lower"] == pytest.approx(math.exp(math.log(1.2) - 1.959964 * 0.1) - 1, rel=1e-6)
    assert out["baseline"] == pytest.approx(10.0) and out["estimate"] == pytest.approx(2.0)


# --------------------------------------------------------------------------- text time columns

def _labelled(panel: pd.DataFrame, style: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The panel with its integer periods as real dates, and as text labels of the same periods."""
    if style == "quarter":
        starts = pd.period_range("1999Q2", periods=panel["period"].max() + 1, freq="Q")
        label = {k: f"Q{p.quarter}-{p.year}" for k, p in enumerate(starts)}
    else:
        starts = pd.period_range("2000-09", periods=panel["period"].max() + 1, freq="M")
        label = {k: f"{p.month}/{p.year}" for k, p in enumerate(starts)}
    date = {k: p.start_time for k, p in enumerate(starts)}
    dated = panel.assign(period=panel["period"].map(date), first_treated=panel["first_treated"].map(date))
    text = panel.assign(period=panel["period"].map(label), first_treated=panel["first_treated"].map(label))
    assert sorted(text["period"].unique()) != [label[k] for k in sorted(label)]  # text order is not time order
    return dated, text


@pytest.fixture(scope="module", params=["quarter", "month"])
def staggered_panels(request):
    from cxlib.evaluation.simulate import simulate_panel

    panel, _ = simulate_panel(n_units=30, n_periods=14, cohorts=[6, 9], rng=np.random.default_rng(5))
    return _labelled(panel, request.param)


def test_text_periods_give_the_answer_of_real_dates_in_every_panel_design(staggered_panels):
    from cxlib.evaluation import before_after, did, event_study, staggered_did

    dated, text = staggered_panels
    kw = dict(outcome="y", unit="unit", time="period", first_treated="first_treated")
    for design in (did, before_after, staggered_did):
        a, b = design(dated, **kw), design(text, **kw)
        assert (a.estimate, a.se, a.n_pre, a.n_periods) == (b.estimate, b.se, b.n_pre, b.n_periods), design
    es_a, es_b = event_study(dated, **kw).to_frame(), event_study(text, **kw).to_frame()
    pd.testing.assert_frame_equal(es_a, es_b)
    by_indicator = did(text.drop(columns="first_treated"), outcome="y", unit="unit", time="period", treated="treated")
    assert by_indicator.estimate == did(dated, **kw).estimate


def test_text_periods_give_the_answer_of_real_dates_in_synthetic_control_and_series():
    from cxlib.evaluation import its, structural_counterfactual, synthetic_control
    from cxlib.evaluation.simulate import simulate_panel

    panel, _ = simulate_panel(n_units=21, n_periods=16, treated_share=1 / 21, effect=-0.3, noise_sd=0.5,
                              rng=np.random.default_rng(7))
    dated, text = _labelled(panel.assign(first_treated=np.nan), "quarter")
    treated = panel.loc[panel["first_treated"].notna(), "unit"].iloc[0]
    kw = dict(outcome="y", unit="unit", time="period", treated_unit=treated)
    a = synthetic_control(dated, treatment_start=pd.Timestamp("2001-04-01"), **kw)
    b = synthetic_control(text, treatment_start="Q2-2001", **kw)
    c = synthetic_control(text, treatment_start="2001Q2", predictors=[("y", ["Q1-2000"]), ("y", ["Q1-2001"])],
                          placebos=False, restarts=0, **kw)
    assert (a.estimate, a.p_value, a.n_pre) == (b.estimate, b.p_value, b.n_pre) == (b.estimate, b.p_value, 8)
    assert b.tables["series"]["time"].is_monotonic_increasing and c.n_pre == 8
    assert c.tables["balance"]["predictor"].tolist() == ["y (Q1-2000)", "y (Q1-2001)"]
    series_d = dated[dated["unit"] == treated].sample(frac=1.0, random_state=1)  # shuffled rows
    series_t = text[text["unit"] == treated].sample(frac=1.0, random_state=1)
    a = its(series_d, outcome="y", time="period", intervention_start=pd.Timestamp("2001-04-01"))
    b = its(series_t, outcome="y", time="period", intervention_start="Q2-2001")
    assert (a.estimate, a.se, a.n_pre) == (b.estimate, b.se, 8)
    a = structural_counterfactual(series_d, outcome="y", time="period", intervention_start=pd.Timestamp("2001-04-01"),
                                  n_sim=200, rng=np.random.default_rng(3))
    b = structural_counterfactual(series_t, outcome="y", time="period", intervention_start="Q2-2001", n_sim=200,
                                  rng=np.random.default_rng(3))
    assert a.estimate == pytest.approx(b.estimate, rel=1e-9) and a.n_pre == b.n_pre == 8


@pytest.mark.parametrize("labels, match", [
    (["wave one", "wave two"], r"did\(design='twfe'\): the time column 'period' holds text.*e.g. 'wave one'"),
    (["Q1-1999", "2001-10"], "mixes kinds of period"),
])
def test_unordered_text_periods_are_refused(labels, match):
    from cxlib.errors import DataContractError
    from cxlib.evaluation import did, synthetic_control

    panel = pd.DataFrame({"unit": ["a", "a", "b", "b", "c", "c"], "period": labels * 3, "y": [1.0, 2, 3, 4, 5, 6],
                          "first_treated": [labels[1]] * 2 + [None] * 4})
    with pytest.raises(DataContractError, match=match):
        did(panel, outcome="y", unit="unit", time="period", first_treated="first_treated")
    with pytest.raises(DataContractError, match="synthetic_control"):
        synthetic_control(panel, outcome="y", unit="unit", time="period", treated_unit="a",
                          treatment_start=labels[1])


def test_a_start_that_is_not_a_period_is_refused():
    from cxlib.evaluation import its

    series = pd.DataFrame({"t": [f"Q{q}-{y}" for y in (2000, 2001, 2002) for q in (1, 2, 3, 4)], "y": range(12)})
    with pytest.raises(ParameterError, match="intervention_start='soon' is not a period like the labels"):
        its(series, outcome="y", time="t", intervention_start="soon")
