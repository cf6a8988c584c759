"""Deprecated aliases (cxlib/_deprecation.py) and the renamed segment vocabulary of issue 16.

Every old spelling of a segment keeps working for one release and warns with a message naming the new
argument; ``pyproject.toml`` turns these warnings into errors everywhere else in the tests, so the library,
the notebooks and the benchmarks use the new names only.
"""
from __future__ import annotations

import dataclasses
import inspect
import warnings

import numpy as np
import pandas as pd
import pytest

from cxlib import actions, clv, journey, metrics, significance, survival, voc
from cxlib._deprecation import renamed_arguments, renamed_fields, warn_deprecated
from cxlib.actions.families import family_responses
from cxlib.errors import ParameterError
from cxlib.sections import churn as section_churn
from cxlib.sections import clv as section_clv
from cxlib.sections import voc as section_voc
from cxlib.significance.scorecard import segment_tables

MESSAGE = "is deprecated and will be removed in the next release"

#: Every keyword renamed by issue 16: (function, old name, new name).
RENAMED = [
    *[(f, "by", "segment") for f in (
        metrics.score_distribution, metrics.subscription_status, metrics.journey_table,
        significance.confidence_sequence, significance.scorecard, significance.metric_trends,
        significance.survey_power, voc.theme_shares, voc.theme_trend, voc.theme_change,
        voc.representative_verbatims, voc.sentiment_by, journey.funnel, journey.path_lengths,
        journey.segment_journeys, journey.by_segment)],
    (segment_tables, "by", "segment"),
    *[(f, "segment_col", "segment") for f in (survival.kaplan_meier, survival.fit_weibull_aft, clv.BetaGeo.fit,
                                              clv.ParetoNBD.fit, clv.GammaGamma.fit, clv.ShiftedBetaGeometric.fit)],
    (survival.logrank_test, "group_col", "segment"),
    *[(f, "segment_columns", "segment") for f in (
        survival.churn_frame, survival.churn_frame_of, survival.fit_churn_model, significance.segment_comparisons,
        section_churn.retention_table, section_churn.rmst_table, section_clv.segment_clv,
        section_voc.comment_frame)],
    (actions.metric_alerts, "dimensions", "segment"),
    (actions.dashboard_alerts, "dimensions", "segment"),
    (actions.attach_segments, "columns", "segment"),
    (actions.family_outcomes, "customer_columns", "segment"),
    (family_responses, "customer_columns", "segment"),
    (section_clv.clv_findings, "segments", "segment_table"),
]


@pytest.mark.parametrize("fn, old, new", RENAMED, ids=lambda x: getattr(x, "__qualname__", x))
def test_every_renamed_keyword_is_a_deprecated_alias_of_the_new_one(fn, old, new):
    assert fn.renamed_arguments == {old: new}
    params = inspect.signature(fn).parameters
    assert new in params and old not in params


def test_a_renamed_keyword_warns_naming_the_new_one_and_both_at_once_is_an_error():
    df = pd.DataFrame({"ces": [1, 2, 7, 7], "tier": ["a", "a", "b", "b"]})
    new = metrics.score_distribution(df, segment="tier")
    with pytest.warns(DeprecationWarning, match=rf"score_distribution\(by=\.\.\.\) {MESSAGE}; use "
                                                r"score_distribution\(segment=\.\.\.\) instead\."):
        old = metrics.score_distribution(df, by="tier")
    pd.testing.assert_frame_equal(old, new)
    with pytest.raises(ParameterError, match="pass segment= only"):
        metrics.score_distribution(df, by="tier", segment="tier")


def test_the_warning_points_at_the_caller():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        survival.logrank_test(pd.DataFrame({"duration": [1, 2, 3, 4], "event": [1, 1, 1, 1], "g": list("aabb")}),
                              group_col="g")
    assert [w.filename for w in caught if issubclass(w.category, DeprecationWarning)] == [__file__]


def test_renamed_arguments_and_fields_keep_signatures_and_values():
    @renamed_arguments(old="new")
    def f(*, new=None):
        """Doc."""
        return new

    assert f.__doc__ == "Doc." and list(inspect.signature(f).parameters) == ["new"]
    with pytest.warns(DeprecationWarning, match=r"f\(old=\.\.\.\)"):
        assert f(old=3) == 3

    @renamed_fields(label="segment")
    @dataclasses.dataclass(frozen=True)
    class R:
        segment: str

    with pytest.warns(DeprecationWarning, match=r"R\(label=\.\.\.\) .*R\(segment=\.\.\.\)"):
        r = R(label="gold")
    with pytest.warns(DeprecationWarning, match=r"R\.label .*R\.segment"):
        assert r.label == "gold"
    assert dataclasses.replace(r, segment="x").segment == "x" and [f.name for f in dataclasses.fields(R)] == ["segment"]


@pytest.mark.parametrize("make, old, new", [
    (lambda: metrics.MetricResult(metric="m", estimate=1.0, method="x", segment="gold"), "group", "segment"),
    (lambda: journey.BySegment(segment="tier", results={}), "by", "segment"),
    (lambda: survival.SurvivalTest(metric="logrank", comparison="a vs b", difference=np.nan, se=np.nan,
                                   ci_lower=np.nan, ci_upper=np.nan, ci_level=np.nan, statistic=1.0, dof=1.0,
                                   p_value=0.3, n=10.0, method="m"), "estimate", "difference"),
])
def test_renamed_result_fields_warn_as_attribute_and_as_keyword(make, old, new):
    obj = make()
    with pytest.warns(DeprecationWarning, match=rf"\.{old} {MESSAGE}; use \w+\.{new} instead"):
        assert getattr(obj, old) == getattr(obj, new) or np.isnan(getattr(obj, new))
    fields = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    fields[old] = fields.pop(new)
    with pytest.warns(DeprecationWarning, match=rf"\({old}=\.\.\.\)"):
        again = type(obj)(**fields)
    assert getattr(again, new) is fields[old] or getattr(again, new) == fields[old]


def test_funnel_and_clv_fields_and_old_constant_names_warn():
    import importlib

    funnel_module = importlib.import_module("cxlib.journey.funnel")

    with pytest.warns(DeprecationWarning, match="FUNNEL_COMPARISON_COLUMNS"):
        assert funnel_module.COMPARISON_COLUMNS == funnel_module.FUNNEL_COMPARISON_COLUMNS
    model = clv.BetaGeo()
    assert model.segment_ is None
    model.segment_ = "tier"  # as .fit(data, segment="tier") sets it (tests/test_clv_segments.py fits for real)
    with pytest.warns(DeprecationWarning, match=r"BetaGeo\.segment_col_ .*BetaGeo\.segment_"):
        assert model.segment_col_ == model.segment_ == "tier"


def test_warn_deprecated_text_is_the_filter_in_pyproject():
    """The pytest filter that turns our deprecations into errors matches the text every alias produces."""
    import re
    import tomllib
    from pathlib import Path

    config = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    filters = config["tool"]["pytest"]["ini_options"]["filterwarnings"]
    ours = [f for f in filters if f.startswith("error:") and f.endswith(":DeprecationWarning")]
    assert len(ours) == 1
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warn_deprecated("old()", "new()")
    assert re.match(ours[0].split(":")[1], str(caught[0].message))
