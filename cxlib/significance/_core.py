"""The comparison result and its plain-language reading.

Conventions: ``difference = estimate_a - estimate_b`` (``b`` is the reference: the comparison
period, the rest of the customers, the baseline segment); ``alternative="greater"`` means
``a > b``. Intervals and p-values come from the same statistic, so a two-sided interval
excludes zero exactly when ``p < alpha``. The formulas (z, t, Welch, Newcombe, pooled z,
p-value adjustment) live in the statistics kernel, :mod:`cxlib.stats`.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import pandas as pd

from ..display import displayable
from ..format import format_p, format_significant

#: Columns of every two-group comparison, in this order, whatever the test or its arguments.
COMPARISON_COLUMNS = ("metric", "comparison", "group_a", "group_b", "estimate_a", "estimate_b", "difference",
                      "ci_lower", "ci_upper", "ci_level", "statistic", "dof", "p_value", "p_adjusted",
                      "alternative", "effect_size", "n_a", "n_b", "method", "reading")


@displayable()
@dataclass(frozen=True, kw_only=True)
class ComparisonResult:
    """One test: the difference ``a - b`` with its interval, statistic, p-value and a plain reading.

    Attributes
    ----------
    metric, comparison : str
        Metric key and the contrast in words (``"quarter: 2025Q4 vs 2025Q3"``).
    group_a, group_b : str
        Labels of the compared groups (``b`` is the reference).
    estimate_a, estimate_b, difference : float
        Metric in each group and ``estimate_a - estimate_b`` (for :func:`trend_test`: the slope
        per period), in the metric's unit.
    ci_lower, ci_upper, ci_level : float
        Interval for the difference (one-sided alternatives give a one-sided bound, the other
        end infinite; NaN for rank tests, which test no difference of means).
    statistic, dof : float
        Test statistic (z, t, U or W) and its degrees of freedom (NaN for z and U).
    p_value, p_adjusted : float
        Raw p-value and, after a multiple-testing correction (:func:`pairwise`), the adjusted one.
    alternative : str
        ``"two-sided"``, ``"greater"`` (a > b) or ``"less"``.
    effect_size : float
        Standardised effect named in ``method`` (Cohen's d or h, Hedges' g, rank-biserial r...).
    n_a, n_b : int
        Observations in each group.
    method : str
        Test, interval and effect size, in words.
    reading : str
        One plain-language sentence for the report.
    """

    metric: str
    comparison: str
    group_a: str
    group_b: str
    estimate_a: float
    estimate_b: float
    difference: float
    ci_lower: float = math.nan
    ci_upper: float = math.nan
    ci_level: float = 0.95
    statistic: float = math.nan
    dof: float = math.nan
    p_value: float = math.nan
    p_adjusted: float = math.nan
    alternative: str = "two-sided"
    effect_size: float = math.nan
    n_a: int = 0
    n_b: int = 0
    method: str
    reading: str = ""

    def to_frame(self) -> pd.DataFrame:
        """This result as a one-row frame with the columns of :data:`COMPARISON_COLUMNS`."""
        return pd.DataFrame([asdict(self)], columns=list(COMPARISON_COLUMNS))

    def significant(self, alpha: float | None = None) -> bool | None:
        """``p_adjusted`` (else ``p_value``) below ``alpha`` (default ``1 - ci_level``); None without a p-value."""
        p = self.p_adjusted if not math.isnan(self.p_adjusted) else self.p_value
        if math.isnan(p):
            return None
        return bool(p < (1 - self.ci_level if alpha is None else alpha))

    def __str__(self) -> str:
        return self.reading or repr(self)


def reading(*, label: str, unit: str, group_a: str, group_b: str, difference: float, ci_lower: float,
            ci_upper: float, ci_level: float, p_value: float, alpha: float, n_a: int, n_b: int) -> str:
    """The one-sentence plain-language reading of a two-group comparison.

    >>> print(reading(label="NPS", unit=" points", group_a="2025Q4", group_b="2025Q3", difference=4.2,
    ...         ci_lower=-1.0, ci_upper=9.4, ci_level=0.95, p_value=0.11, alpha=0.05, n_a=800, n_b=790))
    ... # doctest: +NORMALIZE_WHITESPACE
    NPS is 4.2 points higher in 2025Q4 (n = 800) than in 2025Q3 (n = 790); 95% CI -1 to 9.4,
    p = 0.110: not significant at alpha = 0.05.
    """
    if math.isnan(difference):
        return f"{label}: {group_a} (n = {n_a}) and {group_b} (n = {n_b}) could not be compared (too few observations)."
    direction = "higher" if difference > 0 else "lower" if difference < 0 else "no different"
    size = format_significant(abs(difference)) + unit if difference != 0 else ""
    verdict = ("significant" if p_value < alpha else "not significant") if not math.isnan(p_value) else "untested"
    ci = (f"{100 * ci_level:g}% CI {format_significant(ci_lower)} to {format_significant(ci_upper)}, "
          if not math.isnan(ci_lower) else "")
    p_text = format_p(p_value, missing="no p-value")
    return (f"{label} is {size + ' ' if size else ''}{direction} in {group_a} (n = {n_a}) than in {group_b} "
            f"(n = {n_b}); {ci}{p_text}: {verdict} at alpha = {alpha:g}.")
