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
