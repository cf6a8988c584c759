"""Tests of cxlib.evaluation.structural: UnobservedComponents counterfactual, CausalImpact-style summary."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlib.errors import ParameterError
from cxlib.evaluation import structural_counterfactual
from cxlib.evaluation.structural import SERIES_COLUMNS, SUMMARY_COLUMNS


def _data(seed: int, effect: float, n: int = 80, start: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = 50 + np.cumsum(rng.normal(0, 0.5, n))  # a control series the program does not touch
    y = 10 + 1.2 * x + rng.normal(0, 0.5, n) + effect * (np.arange(n) >= start)
    return pd.DataFrame({"t": np.arange(n), "y": y, "x": x})


@pytest.fixture(scope="module")
def result():
    return structural_counterfactual(_data(1, -6.0), outcome="y", time="t", intervention_start=60, controls=["x"],
                                     n_sim=500, rng=np.random.default_rng(2))


def test_recovers_the_effect_with_a_control_series(result):
    assert result.ci_lower < -6.0 < result.ci_upper
    assert result.estimate == pytest.approx(-6.0, abs=0.6)
    assert result.p_value < 0.01 and result.design == "structural"
    assert (result.n_pre, result.n_post) == (60, 20)


def test_summary_and_series_are_consistent(result):
    summary = result.tables["summary"].set_index("statistic")
    series = result.tables["series"]
    assert list(result.tables["summary"].columns) == list(SUMMARY_COLUMNS)
    assert list(series.columns) == list(SERIES_COLUMNS)
    post = series[series.period_kind == "post"]
    assert summary.loc["average", "effect"] == pytest.approx(result.estimate)
    assert summary.loc["cumulative", "effect"] == pytest.approx(20 * result.estimate)
    assert post["cumulative_effect"].iloc[-1] == pytest.approx(20 * result.estimate)
    assert (post["effect_lower"] <= post["effect"]).all() and (post["effect"] <= post["effect_upper"]).all()
    assert series.loc[series.period_kind == "pre", "effect"].isna().all()
    assert result.relative_estimate == pytest.approx(result.estimate / result.baseline)


def test_same_seed_same_intervals():
    kw = dict(outcome="y", time="t", intervention_start=60, controls=["x"], n_sim=200)
    a = structural_counterfactual(_data(3, 0.0), rng=np.random.default_rng(9), **kw)
    b = structural_counterfactual(_data(3, 0.0), rng=np.random.default_rng(9), **kw)
    assert (a.ci_lower, a.ci_upper, a.p_value) == (b.ci_lower, b.ci_upper, b.p_value)
    assert a.ci_lower < 0 < a.ci_upper  # no planted effect


def test_parameter_errors():
    data = _data(4, 0.0)
    with pytest.raises(ParameterError, match="numpy.random.Generator"):
        structural_counterfactual(data, outcome="y", time="t", intervention_start=60, rng=1)
    with pytest.raises(ParameterError, match="n_sim=10"):
        structural_counterfactual(data, outcome="y", time="t", intervention_start=60, n_sim=10,
                                  rng=np.random.default_rng(0))
    with pytest.raises(ParameterError, match="at least 6 pre-periods"):
        structural_counterfactual(data, outcome="y", time="t", intervention_start=3, rng=np.random.default_rng(0))
