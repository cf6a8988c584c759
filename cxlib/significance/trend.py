"""Is the metric rising? A test for a linear trend over ordered periods."""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..errors import DataContractError, ParameterError, check_choice
from ..format import format_p, format_significant
from ..metrics.survey import recode_nps
from ..stats import (
    Segment,
    as_frame,
    check_alpha,
    check_alternative,
    check_segment,
    group_label,
    iter_groups,
    numeric_values,
    split_moved_to_by_segment,
    stack_groups,
    t_test,
)
from ._core import COMPARISON_COLUMNS, ComparisonResult

_SCALES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
_UNITS = {"nps": " points", "csat": " percentage points", "ces": "", "mean": ""}


def slope_test(x: np.ndarray, y: np.ndarray, clusters: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """OLS slope of ``y`` on ``x`` with its HC1 (heteroscedasticity-robust) standard error, vectorised.

    Parameters
    ----------
    x : array, shape (n,)
        Regressor (period index), shared by every replicate.
    y : array, shape (n,) or (r, n)
        Responses; one row per replicate.
    clusters : array, shape (n,), optional
        Cluster labels (e.g. customers answering in several periods): cluster-robust CR1 standard
        error with ``dof = G - 1`` instead of HC1 (one-dimensional ``y`` only).

    Returns
    -------
    slope, se, dof : numpy.ndarray
        Shapes ``()`` or ``(r,)``; ``dof = n - 2``.

    Notes
    -----
    :math:`\\hat\\beta = S_{xy}/S_{xx}`, :math:`\\widehat{\\mathrm{Var}}(\\hat\\beta) = \\frac{n}{n-2}
    \\sum_i (x_i - \\bar x)^2 e_i^2 / S_{xx}^2` (MacKinnon & White 1985, HC1).

    Examples
    --------
    >>> b, se, dof = slope_test(np.array([0., 1, 2, 3]), np.array([1., 2, 2, 4]))
    >>> round(float(b), 2), int(dof)
    (0.9, 2)
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = x.size
    xc = x - x.mean()
    sxx = np.sum(xc**2)
    slope = (y - y.mean(axis=-1, keepdims=True)) @ xc / sxx
    resid = y - y.mean(axis=-1, keepdims=True) - np.multiply.outer(slope, xc) if y.ndim > 1 else (
        y - y.mean() - slope * xc)
    if clusters is not None:
        if y.ndim != 1:
            raise ParameterError("clusters= works with one-dimensional y only.")
        codes = pd.factorize(pd.Series(np.asarray(clusters, dtype=object)))[0]
        sums = np.bincount(codes, weights=xc * resid / sxx)
        g = sums.size
        var = g / (g - 1) * (n - 1) / (n - 2) * np.sum(sums**2) if g > 1 else np.nan
        return slope, np.sqrt(var), np.asarray(g - 1.0)
    var = n / (n - 2) * np.sum(xc**2 * resid**2, axis=-1) / sxx**2
    return slope, np.sqrt(var), np.asarray(n - 2.0)


@split_moved_to_by_segment("cxlib.significance")
def trend_test(data: pd.DataFrame, *, metric: Literal["nps", "csat", "ces", "mean"], period_col: str,
               col: str | None = None, order: Sequence[Any] | None = None, alpha: float = 0.05,
               alternative: Literal["two-sided", "greater", "less"] = "two-sided",
               cluster: str | None = None, segment: Segment = None) -> ComparisonResult:
    """Test for a linear trend of a survey metric over ordered periods (per segment with :func:`by_segment`).

    Parameters
    ----------
    data : DataFrame
        One row per response with ``period_col`` and the metric's column.
    metric : {"nps", "csat", "ces", "mean"}
        NPS uses the +100/0/-100 recoding (its mean is the NPS), CSAT the top-2-box indicator
        (its mean is the share, 0..1), CES and ``"mean"`` the raw value.
    period_col : str
        Period label column (e.g. ``"quarter"`` with ``"2025Q1"``...).
    col : str, optional
        Metric column (defaults to the metric's name).
    order : sequence, optional
        Periods in time order (default: sorted labels, right for ``"2025Q1"``-style labels). Periods
        are coded 0, 1, 2... so the slope is the change per period.
    alpha, alternative
        Significance level; ``"greater"`` tests a rising trend.
    cluster : str, optional
        Cluster column (``"customer_id"``): customers answering in several periods make the
        responses dependent; the slope then gets a cluster-robust (CR1) standard error, ``dof = G - 1``.

    Returns
    -------
    ComparisonResult
        ``group_a``/``group_b`` and ``estimate_a``/``estimate_b`` are the first and last periods and
        their metric; ``difference`` is the slope per period with its interval, ``statistic`` the t
        value, ``dof = n - 2`` with ``n`` all responses, ``n_a``/``n_b`` the responses in the first and
        last periods.  Per segment, ``by_segment(trend_test, data, segment=..., metric=..., period_col=...)``
        (:func:`cxlib.significance.by_segment`) gives the rows of
        :data:`~cxlib.significance.COMPARISON_COLUMNS`, one per segment, each exactly the test on that
        segment's rows (its own periods when ``order`` is None), indexed by the segment columns.  No
        adjustment across segments is made; pass ``p_value`` to :func:`~cxlib.significance.adjust_pvalues`.

    Notes
    -----
    Response-level least squares of the metric's per-response score on the period index, with a
    heteroscedasticity-robust (HC1) standard error: for a binary score this is the Cochran-Armitage
    test for trend without its equal-variance assumption; for the NPS it uses every response, not
    the handful of period estimates, so it has the power the sample affords. A significant slope
    says the metric moved steadily; it does not say the movement is linear.

    References
    ----------
    Armitage, P. (1955). Tests for linear trends in proportions and frequencies. Biometrics 11, 375-386.
    MacKinnon, J. G. & White, H. (1985). Journal of Econometrics 29, 305-325.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> df = pd.DataFrame({"q": np.repeat(["2025Q1", "2025Q2", "2025Q3", "2025Q4"], 300),
    ...                    "csat": np.r_[rng.integers(2, 6, 600), rng.integers(3, 6, 600)]})
    >>> r = trend_test(df, metric="csat", period_col="q")
    >>> r.group_a, r.group_b, r.p_value < 0.05
    ('2025Q1', '2025Q4', True)
    """
    check_choice("metric", metric, ("nps", "csat", "ces", "mean"))
    check_alpha(alpha)
    check_alternative(alternative)
    col = col or ("value" if metric == "mean" else metric)
    frame = as_frame(data, col)
    if segment is not None:
        keys = check_segment(frame, segment)
        parts, index = [], []
        for key, sub in iter_groups(frame, keys):
            try:
                parts.append(trend_test(sub, metric=metric, period_col=period_col, col=col, order=order, alpha=alpha,
                                        alternative=alternative, cluster=cluster).to_frame())
            except ParameterError as exc:
                raise ParameterError(f"Segment {group_label(key)!r} of {keys}: {exc}") from exc
            index.append(key)
        return stack_groups(parts, index, keys, COMPARISON_COLUMNS)
    if period_col not in frame.columns:
        raise DataContractError(f"Period column {period_col!r} is missing; the frame has {list(frame.columns)}.",
                                column=period_col, rule="column present")
    if cluster is not None and cluster not in frame.columns:
        raise DataContractError(f"Cluster column {cluster!r} is missing; the frame has {list(frame.columns)}.",
                                column=cluster, rule="column present")
    frame = frame[frame[col].notna() & frame[period_col].notna()]
    periods = list(order) if order is not None else sorted(frame[period_col].unique().tolist(), key=str)
    if len(periods) < 3:
        raise ParameterError(f"A trend needs at least 3 periods; found {periods}. Use compare_{metric} for two.")
    frame = frame[frame[period_col].isin(periods)]  # rows of periods outside `order` are left out
    low, high = _SCALES.get(metric, (None, None))
    raw = numeric_values(frame, col, low=low, high=high, integer=metric != "mean")
    y = recode_nps(raw) if metric == "nps" else ((raw >= 4).astype(float) if metric == "csat" else raw)
    index = {p: i for i, p in enumerate(periods)}
    x = frame[period_col].map(index).to_numpy(dtype=float)
    slope, se, dof = slope_test(x, y, None if cluster is None else frame[cluster].to_numpy())
    t, p, lo, hi = t_test(slope, se, dof, alpha=alpha, alternative=alternative)
    first, last = x == 0, x == len(periods) - 1
    ea = float(y[first].mean()) if first.any() else math.nan
    eb = float(y[last].mean()) if last.any() else math.nan
    unit = _UNITS[metric]
    k = 100.0 if metric == "csat" else 1.0  # CSAT is a 0..1 share; the sentence speaks percentage points
    verdict = "significant" if p < alpha else "not significant"
    direction = "rising" if slope > 0 else "falling"
    name = metric.upper() if metric != "mean" else col
    p_text = format_p(float(p), missing="no p-value")
    text = (f"{name} is {direction} by {format_significant(k * abs(float(slope)))}{unit} per period "
            f"over {len(periods)} periods ({periods[0]} to {periods[-1]}, n = {y.size}); {100 * (1 - alpha):g}% CI "
            f"{format_significant(k * float(lo))} to {format_significant(k * float(hi))}, {p_text}: {verdict} "
            f"at alpha = {alpha:g}.")
    return ComparisonResult(
        metric=metric, comparison=f"trend over {period_col}: {periods[0]} .. {periods[-1]} ({len(periods)} periods)",
        group_a=str(periods[0]), group_b=str(periods[-1]), estimate_a=ea, estimate_b=eb, difference=float(slope),
        ci_lower=float(lo), ci_upper=float(hi), ci_level=1 - alpha, statistic=float(t), dof=float(dof),
        p_value=float(p), alternative=alternative, n_a=int(first.sum()), n_b=int(last.sum()),
        method=("linear trend: OLS slope per period of the response-level score on the period index, "
                + ("HC1 robust standard error" if cluster is None else
                   f"cluster-robust (CR1) standard error by {cluster}, G - 1 = {int(dof)} df")
                + f", t test (n = {y.size} responses)"),
        reading=text)
