"""The metric result schema and the segment split shared by every metric.

A metric called on data returns one :class:`MetricResult`; :func:`by_segment` (home
:func:`cxlib.stats.by_segment`) returns the frame of one result per segment.  The interval formulas and
the grouping helpers live in the statistics kernel, :mod:`cxlib.stats`.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass

import pandas as pd

from .._deprecation import renamed_fields
from ..display import displayable
from ..errors import DataContractError, SmallSampleWarning
from ..stats import Segment, group_label, iter_groups, segment_keys, split_moved_to_by_segment, stack_groups

#: Columns of every metric result, in this order, whatever the metric or arguments.
METRIC_COLUMNS = ("metric", "segment", "estimate", "ci_lower", "ci_upper", "ci_level", "se", "n", "method")

#: Columns of every score distribution (one row per scale value).
DISTRIBUTION_COLUMNS = ("metric", "segment", "value", "count", "share", "ci_lower", "ci_upper", "ci_level",
                        "n", "method")

#: Decorator of every metric: its split by segment is :func:`cxlib.metrics.by_segment` (``segment=``/``by=``
#: on the metric itself still split for one release, with a DeprecationWarning).
metric_split = split_moved_to_by_segment("cxlib.metrics")

OVERALL = "all"


@displayable()
@renamed_fields(group="segment")
@dataclass(frozen=True, kw_only=True)
class MetricResult:
    """One metric estimate with its interval, sample size and method.

    Attributes
    ----------
    metric : str
        Metric key (``"nps"``, ``"csat"``, ``"churn_rate"``...).
    segment : str
        Segment label (``"all"`` without a split; ``"gold"``, or ``"gold, North"`` for a split by two
        columns, in :func:`by_segment`).  ``group`` is its deprecated old name.
    estimate : float
        Point estimate at full precision, in the metric's unit (NPS in points -100..100,
        shares as fractions 0..1, times in the unit named in ``method``).
    ci_lower, ci_upper : float
        Confidence interval at level ``ci_level`` (NaN when no interval applies).
    ci_level : float
        ``1 - alpha``.
    se : float
        Standard error used by the interval (NaN when the interval is not of the Wald kind).
    n : int
        Observations behind the estimate (respondents, customers, tickets, journeys).
    method : str
        Estimator and interval, in words.
    """

    metric: str
    segment: str = OVERALL
    estimate: float
    ci_lower: float = math.nan
    ci_upper: float = math.nan
    ci_level: float = 0.95
    se: float = math.nan
    n: int = 0
    method: str

    def to_frame(self) -> pd.DataFrame:
        """This result as a one-row frame with the columns of :data:`METRIC_COLUMNS`."""
        return pd.DataFrame([asdict(self)], columns=list(METRIC_COLUMNS))

    def __str__(self) -> str:
        level = f"{100 * self.ci_level:g}%"
        return (f"{self.metric} [{self.segment}] = {self.estimate:.4g} ({level} CI {self.ci_lower:.4g} to "
                f"{self.ci_upper:.4g}; n = {self.n}; {self.method})")


def apply_grouped(data: pd.DataFrame, segment: Segment,
                  one: Callable[[pd.DataFrame, str], MetricResult]) -> MetricResult | pd.DataFrame:
    """Run ``one(frame, label)`` on the whole frame, or on each segment of ``segment``.

    Without ``segment`` the single :class:`MetricResult` is returned; with it a frame with the
    columns of :data:`METRIC_COLUMNS`, one row per observed segment, indexed by the ``segment``
    columns (``reset_index()`` turns them into columns for plotting).
    """
    keys = segment_keys(segment)
    if not keys:
        return one(data, OVERALL)
    missing = [k for k in keys if k not in data.columns]
    if missing:
        raise DataContractError(f"Segment column(s) {missing} are missing; the frame has {list(data.columns)}. "
                                "Merge the customer attributes in first (e.g. loyalty_tier from customers).",
                                column=missing[0], rule="column present")
    rows, index = [], []
    for key, sub in iter_groups(data, keys):
        rows.append(one(sub, group_label(key)).to_frame())
        index.append(key)
    return stack_groups(rows, index, keys, METRIC_COLUMNS)


def warn_small(metric: str, segment: str, n: int, needed: int, what: str) -> None:
    """Emit a :class:`SmallSampleWarning` when ``n < needed``."""
    if n < needed:
        warnings.warn(f"{metric} [{segment}] rests on n = {n} {what}; at least {needed} are needed for an "
                      "interval. The estimate is reported with a NaN interval.", SmallSampleWarning,
                      stacklevel=3)
