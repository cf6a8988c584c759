"""Significance tests a quarterly review needs, each returning one tidy row with a plain reading.

One question, one module:

- :mod:`~cxlib.significance.compare`: two periods or segments (:func:`compare_nps`, :func:`compare_csat`,
  :func:`compare_ces`, :func:`compare_proportions`, :func:`compare_means`) and many segments with
  Holm/Benjamini-Hochberg control (:func:`pairwise`);
- :mod:`~cxlib.significance.trend`: is the metric rising? (:func:`trend_test`);
- :mod:`~cxlib.significance.power`: margin of error, sample size, minimum detectable effect;
- :mod:`~cxlib.significance.cuped`: variance reduction with a pre-period covariate;
- :mod:`~cxlib.significance.sequential`: always-valid confidence sequences for weekly peeking;
- :mod:`~cxlib.significance.scorecard`: the quarterly-review tables (scorecard, trends, segments, power);
  their display and findings are the notebook glue of :mod:`cxlib.sections.metrics`;
- :mod:`~cxlib.significance._core`: :class:`ComparisonResult` and its plain-language reading.

The vectorised formulas and the p-value adjustment re-exported here (:func:`welch`, :func:`adjust_pvalues`,
...) live in the statistics kernel, :mod:`cxlib.stats`. Every comparison has the columns of
:data:`COMPARISON_COLUMNS` (``TEST_COLUMNS`` is its deprecated old name), with
``difference = estimate_a - estimate_b`` (``b`` is the reference).  :func:`trend_test` and
:func:`respondent_sd` return one result; per segment, :func:`by_segment` (home :func:`cxlib.stats.by_segment`).
The tables of :mod:`~cxlib.significance.scorecard` take ``segment=`` themselves.
"""
from __future__ import annotations

from ..stats import (  # re-exported; their home is cxlib.stats
                    ALTERNATIVES,
                    PADJUST_METHODS,
                    adjust_pvalues,
                    by_segment,
                    cluster_mean_difference,
                    newcombe_interval,
                    nps_difference,
                    pooled_z_test,
                    welch,
                    z_test,
)
from ._core import COMPARISON_COLUMNS, ComparisonResult
from .compare import compare_ces, compare_csat, compare_means, compare_nps, compare_proportions, pairwise
from .cuped import compare_adjusted, cuped_theta
from .power import (
                    POWER_COLUMNS,
                    PowerResult,
                    margin_of_error,
                    minimum_detectable_effect,
                    nps_sd,
                    respondent_sd,
                    sample_size,
)
from ..periods import recent_periods  # re-exported; its home is cxlib.periods
from .scorecard import (
                    SCORECARD_COLUMNS,
                    TREND_COLUMNS,
                    metric_trends,
                    scorecard,
                    segment_comparisons,
                    survey_power,
)
from .sequential import SEQUENCE_COLUMNS, confidence_sequence, cs_radius
from .trend import slope_test, trend_test

__all__ = [
    "COMPARISON_COLUMNS", "POWER_COLUMNS", "SEQUENCE_COLUMNS", "SCORECARD_COLUMNS", "TREND_COLUMNS", "ALTERNATIVES",
    "PADJUST_METHODS", "ComparisonResult", "PowerResult",
    "compare_nps", "compare_csat", "compare_ces", "compare_proportions", "compare_means", "pairwise",
    "trend_test", "slope_test", "sample_size", "minimum_detectable_effect", "margin_of_error", "respondent_sd",
    "nps_sd", "compare_adjusted", "cuped_theta", "confidence_sequence", "cs_radius", "scorecard", "metric_trends",
    "recent_periods", "segment_comparisons",
    "survey_power", "adjust_pvalues", "cluster_mean_difference",
    "newcombe_interval", "nps_difference", "pooled_z_test", "welch", "z_test", "by_segment",
]

from .._deprecation import moved_names as _moved_names  # noqa: E402

#: Glue that moved to :mod:`cxlib.sections.metrics` (deprecated aliases for one release).
_moved_glue = _moved_names("cxlib.significance", "cxlib.sections.metrics",
                           ["scorecard_display", "scorecard_findings", "sidecar_trends"])
#: ``TEST_COLUMNS`` is the old name of :data:`COMPARISON_COLUMNS` (deprecated alias for one release).
_renamed = _moved_names("cxlib.significance", "cxlib.significance", {"TEST_COLUMNS": "COMPARISON_COLUMNS"})


def __getattr__(name: str):
    return _renamed(name) if name == "TEST_COLUMNS" else _moved_glue(name)
