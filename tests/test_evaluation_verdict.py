"""Tests of cxlib.evaluation.verdict: sentences that respect the design's uncertainty."""
from __future__ import annotations

import math

import pytest

from cxlib.errors import ParameterError
from cxlib.evaluation import EffectResult, verdict, verdict_table


def _result(rel, lo, hi, p=0.01, design="staggered", **kw) -> EffectResult:
    return EffectResult(metric=kw.pop("metric", "complaint_rate"), design=design, estimate=rel * 10,
                        ci_lower=lo * 10, ci_upper=hi * 10, p_value=p, relative_estimate=rel, relative_ci_lower=lo,
                        relative_ci_upper=hi, n_units=24, n_treated=18, method="m", **kw)


def test_significant_fall_is_an_improvement_when_lower_is_better():
    v = verdict(_result(-0.28, -0.35, -0.21), label="Complaints", better="lower")
    assert v.significant and v.direction == "decrease" and v.assessment == "improved"
    assert v.text.startswith("Complaints fell 28% (95% CI 21% to 35%) relative to stores not (yet) in the program")
    assert "24 stores, 18 treated; p = 0.01" in v.text


def test_rise_in_a_lower_is_better_metric_is_a_deterioration():
    v = verdict(_result(0.12, 0.04, 0.20, design="twfe"), label="Returns", better="lower")
    assert v.assessment == "worsened" and "rose 12% (95% CI 4.0% to 20%) relative to comparable stores" in v.text


def test_interval_with_zero_claims_no_change():
    v = verdict(_result(-0.03, -0.10, 0.04, p=0.4), label="NPS", better="higher")
    assert not v.significant and v.assessment == "no detectable change"
    assert "no change distinguishable from zero" in v.text and "-3.0%, 95% CI -10% to +4.0%" in v.text


def test_absolute_effect_without_relative_and_permutation_p_only():
    r = EffectResult(metric="nps", design="synthetic_control", estimate=4.2, p_value=0.02, n_units=20,
                     n_treated=1, method="sc")
    v = verdict(r, value_unit="points")
    assert v.significant and "rose 4.2 points relative to its synthetic control" in v.text
    assert math.isnan(r.relative_estimate)


def test_table_and_errors():
    table = verdict_table([_result(-0.3, -0.4, -0.2), _result(0.2, 0.1, 0.3, metric="purchase_frequency")],
                          better={"complaint_rate": "lower", "purchase_frequency": "higher"})
    assert table["assessment"].tolist() == ["improved", "improved"]
    with pytest.raises(ParameterError, match="better='up'"):
        verdict(_result(-0.3, -0.4, -0.2), better="up")
    with pytest.raises(ParameterError, match="EffectResult"):
        verdict({"estimate": 1.0})
