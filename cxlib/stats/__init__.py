"""The statistics kernel: one home for every interval, test, adjustment and grouping helper.

Every other package imports these by the public names below; ``cxlib.metrics`` and
``cxlib.significance`` re-export the ones they always offered. One question, one module:

- :mod:`~cxlib.stats.critical`: the significance-level and alternative checks, normal and t critical values;
- :mod:`~cxlib.stats.intervals`: Wilson, NPS (adjusted Wald), t mean and median intervals, Newcombe's
  interval for a difference of proportions;
- :mod:`~cxlib.stats.hypothesis`: Wald z and Student t, Welch, cluster-robust mean difference, NPS
  difference, pooled two-proportion z test, Cohen's h;
- :mod:`~cxlib.stats.multiplicity`: Holm, Benjamini-Hochberg and Bonferroni adjusted p-values;
- :mod:`~cxlib.stats.grouping`: splitting by segment (``segment=``, ``segments=``, :func:`by_segment`,
  :func:`check_segment`, :func:`iter_groups`, ...) and numeric columns.

The formulas are vectorised over numpy arrays and keep full precision; rounding for a reader
happens in :mod:`cxlib.format` only.
"""
from __future__ import annotations

from .critical import (
    ALTERNATIVES,
    Alternative,
    check_alpha,
    check_alternative,
    t_value,
    z_critical,
    z_value,
)
from .grouping import (
    Segment,
    as_frame,
    attach_segment_labels,
    by_segment,
    check_by,
    check_segment,
    group_index,
    group_label,
    iter_groups,
    lead_columns,
    normalise_by,
    numeric_values,
    segment_keys,
    segment_labels,
    split_moved_to_by_segment,
    stack_groups,
)
from .hypothesis import (
    ZeroVariance,
    cluster_mean_difference,
    cohens_h,
    nps_difference,
    pooled_z_test,
    t_test,
    welch,
    z_test,
)
from .intervals import (
    NPS_PSEUDO_COUNT,
    median_interval,
    median_rank_bounds,
    newcombe_interval,
    nps_interval,
    t_interval_mean,
    wilson_interval,
)
from .multiplicity import (
    PADJUST_METHODS,
    PAdjust,
    adjust_pvalues,
    bonferroni,
    fdr_bh,
    holm,
)

__all__ = [
    # checks and critical values
    "ALTERNATIVES", "Alternative", "check_alpha", "check_alternative", "z_value", "z_critical", "t_value",
    # intervals
    "NPS_PSEUDO_COUNT", "wilson_interval", "nps_interval", "t_interval_mean", "median_interval",
    "median_rank_bounds", "newcombe_interval",
    # tests and effect sizes
    "ZeroVariance", "z_test", "t_test", "welch", "cluster_mean_difference", "nps_difference", "pooled_z_test",
    "cohens_h",
    # multiple testing
    "PADJUST_METHODS", "PAdjust", "adjust_pvalues", "holm", "fdr_bh", "bonferroni",
    # grouping
    "as_frame", "numeric_values", "Segment", "segment_keys", "check_segment", "segment_labels",
    "attach_segment_labels", "by_segment", "split_moved_to_by_segment", "iter_groups", "group_index", "stack_groups", "lead_columns", "group_label",
    "normalise_by", "check_by",  # deprecated aliases of segment_keys and check_segment
]
