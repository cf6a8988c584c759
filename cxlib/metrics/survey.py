"""Survey metrics: NPS, CSAT and CES with their intervals (per segment with :func:`cxlib.metrics.by_segment`)."""
from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from .._deprecation import renamed_arguments
from ..errors import ParameterError, check_choice
from ..stats import (
    Segment,
    as_frame,
    check_alpha,
    nps_interval,
    numeric_values,
    segment_keys,
    t_interval_mean,
    wilson_interval,
)
from ._core import (
    DISTRIBUTION_COLUMNS,
    OVERALL,
    MetricResult,
    apply_grouped,
    metric_split,
    warn_small,
)

NpsMethod = Literal["adjusted_wald", "wald"]
NPS_METHODS = ("adjusted_wald", "wald")
_NPS_METHOD_TEXT = {"adjusted_wald": "NPS (promoters 9-10 minus detractors 0-6); adjusted-Wald interval (Rocks 2016)",
                    "wald": "NPS (promoters 9-10 minus detractors 0-6); Wald interval"}


def nps_counts(values: np.ndarray) -> tuple[int, int, int]:
    """``(promoters, passives, detractors)`` of 0-10 scores.

    >>> nps_counts(np.array([10, 9, 8, 7, 6, 0]))
    (2, 2, 2)
    """
    promoters = int(np.sum(values >= 9))
    detractors = int(np.sum(values <= 6))
    return promoters, int(values.size) - promoters - detractors, detractors


@metric_split
def nps(data: pd.DataFrame | pd.Series | np.ndarray, *, col: str = "nps", segment: Segment = None,
        alpha: float = 0.05, method: NpsMethod = "adjusted_wald") -> MetricResult:
    """Net Promoter Score in points (-100..100) with its confidence interval.

    Parameters
    ----------
    data : DataFrame, Series or array
        Survey responses; missing scores are ignored (a response may skip the question).
    col : str
        Column of 0-10 likelihood-to-recommend scores.
    alpha : float
        ``1 - confidence level`` (0.05 gives the 95% interval usual in reporting).
    method : {"adjusted_wald", "wald"}
        Interval. The default adjusted Wald (Rocks 2016) keeps coverage near nominal down to
        small samples; plain Wald is offered for comparison with older reports.

    Returns
    -------
    MetricResult
        ``estimate`` is :math:`100(P - D)/n`; ``se`` the standard error of the interval in points.
        Per segment (loyalty tier, touchpoint, unit, period): ``by_segment(nps, data, segment=...)``
        (:func:`cxlib.metrics.by_segment`), a frame of :data:`~cxlib.metrics.METRIC_COLUMNS`.

    Raises
    ------
    DataContractError
        Scores outside 0..10 or non-integer.

    Notes
    -----
    The interval is :func:`~cxlib.metrics.nps_interval` times 100: with :math:`T = 3`
    pseudo-respondents, :math:`n' = n + 3`, :math:`p' = (P + 3/4)/n'`, :math:`d' = (D + 3/4)/n'`,
    :math:`100[(p'-d') \\pm z\\sqrt{(p'+d'-(p'-d')^2)/n'}]`.

    References
    ----------
    Reichheld, F. (2003). The one number you need to grow. Harvard Business Review 81(12).
    Rocks, B. (2016). Interval estimation for the "Net Promoter Score". The American Statistician 70(4).

    Examples
    --------
    >>> r = nps([10] * 50 + [8] * 30 + [3] * 20)
    >>> r.estimate, round(r.ci_lower, 2), round(r.ci_upper, 2), r.n
    (30.0, 14.05, 44.2, 100)
    """
    check_choice("method", method, NPS_METHODS)
    check_alpha(alpha)
    frame = as_frame(data, col)

    def one(sub: pd.DataFrame, label: str) -> MetricResult:
        values = numeric_values(sub, col, low=0, high=10, integer=True)
        promoters, _, detractors = nps_counts(values)
        n = int(values.size)
        warn_small("nps", label, n, 1, "respondents")
        se, lo, hi = nps_interval(promoters, detractors, n, alpha=alpha, method=method) if n else (np.nan,) * 3
        estimate = 100.0 * (promoters - detractors) / n if n else np.nan
        return MetricResult(metric="nps", segment=label, estimate=float(estimate), ci_lower=float(100 * lo),
                            ci_upper=float(100 * hi), ci_level=1 - alpha, se=float(100 * se), n=n,
                            method=_NPS_METHOD_TEXT[method])

    return apply_grouped(frame, segment, one)


@metric_split
def csat(data: pd.DataFrame | pd.Series | np.ndarray, *, col: str = "csat", segment: Segment = None,
         alpha: float = 0.05, top_box: int = 2, scale: tuple[int, int] = (1, 5)) -> MetricResult:
    """CSAT: the top-box share of satisfied respondents, with a Wilson interval.

    Parameters
    ----------
    data : DataFrame, Series or array
        Survey responses; missing scores are ignored.
    col : str
        Column of satisfaction scores on ``scale``.
    alpha : float
        ``1 - confidence level``.
    top_box : int
        How many top scale points count as satisfied: 2 on 1-5 means 4 or 5 (the usual CSAT).
    scale : (int, int)
        Lowest and highest score.

    Returns
    -------
    MetricResult
        ``estimate`` is the share (0..1) of scores :math:`\\ge` ``scale[1] - top_box + 1``; per segment
        with :func:`cxlib.metrics.by_segment`.

    Notes
    -----
    The Wilson score interval (:func:`~cxlib.metrics.wilson_interval`) keeps its coverage near
    nominal when the share is close to 0 or 1, where the Wald interval undercovers (Brown, Cai
    & DasGupta 2001). ``se`` is the Wald standard error :math:`\\sqrt{\\hat p(1-\\hat p)/n}`.

    Examples
    --------
    >>> r = csat([5] * 30 + [4] * 10 + [2] * 10)
    >>> r.estimate, round(r.ci_lower, 4), round(r.ci_upper, 4)
    (0.8, 0.6696, 0.8876)
    """
    check_alpha(alpha)
    low, high = scale
    if not (isinstance(top_box, int) and 1 <= top_box <= high - low):
        raise ParameterError(f"top_box={top_box!r} must be an integer from 1 to {high - low} on the scale {scale}.")
    threshold = high - top_box + 1
    frame = as_frame(data, col)

    def one(sub: pd.DataFrame, label: str) -> MetricResult:
        values = numeric_values(sub, col, low=low, high=high, integer=True)
        n = int(values.size)
        warn_small("csat", label, n, 1, "respondents")
        x = int(np.sum(values >= threshold))
        lo, hi = wilson_interval(x, n, alpha=alpha)
        p = x / n if n else np.nan
        return MetricResult(metric="csat", segment=label, estimate=float(p), ci_lower=float(lo), ci_upper=float(hi),
                            ci_level=1 - alpha, se=float(np.sqrt(p * (1 - p) / n)) if n else np.nan, n=n,
                            method=f"CSAT top-{top_box}-box share (>= {threshold} on {low}-{high}); Wilson interval")

    return apply_grouped(frame, segment, one)


@metric_split
def mean_score(data: pd.DataFrame | pd.Series | np.ndarray, *, col: str, metric: str | None = None,
               segment: Segment = None, alpha: float = 0.05,
               scale: tuple[float, float] | None = None, what: str = "mean") -> MetricResult:
    """Mean of a score or duration with a Student-t interval (the engine of :func:`ces` and the support means).

    Examples
    --------
    >>> r = mean_score([2, 3, 4], col="x")
    >>> r.estimate, r.n
    (3.0, 3)
    """
    check_alpha(alpha)
    frame = as_frame(data, col)
    low, high = scale if scale is not None else (None, None)
    name = metric or col

    def one(sub: pd.DataFrame, label: str) -> MetricResult:
        values = numeric_values(sub, col, low=low, high=high)
        n = int(values.size)
        warn_small(name, label, n, 2, "observations")
        mean = float(values.mean()) if n else np.nan
        sd = float(values.std(ddof=1)) if n >= 2 else np.nan
        se, lo, hi = t_interval_mean(mean, sd, n, alpha=alpha)
        return MetricResult(metric=name, segment=label, estimate=mean, ci_lower=float(lo), ci_upper=float(hi),
                            ci_level=1 - alpha, se=float(se), n=n, method=f"{what}; Student t interval")

    return apply_grouped(frame, segment, one)


@metric_split
def ces(data: pd.DataFrame | pd.Series | np.ndarray, *, col: str = "ces", segment: Segment = None,
        alpha: float = 0.05, scale: tuple[int, int] = (1, 7)) -> MetricResult:
    """Customer Effort Score: the mean effort on 1-7 (lower is better) with a t interval.

    Parameters
    ----------
    data : DataFrame, Series or array
        Survey responses; missing scores are ignored.
    col : str
        Column of effort scores (1 = very easy, 7 = very hard).
    alpha : float
        ``1 - confidence level``.
    scale : (int, int)
        Lowest and highest score, checked on the data.

    Returns
    -------
    MetricResult
        ``estimate`` is the mean score (per segment with :func:`cxlib.metrics.by_segment`); see
        :func:`score_distribution` for the shares of each score.

    Notes
    -----
    :math:`\\bar x \\pm t_{n-1,1-\\alpha/2}\\,s/\\sqrt n`. With a bounded 7-point scale the
    central limit theorem makes the t interval accurate from a few dozen responses.

    References
    ----------
    Dixon, M., Freeman, K. & Toman, N. (2010). Stop trying to delight your customers. HBR 88(7).

    Examples
    --------
    >>> r = ces([1, 2, 2, 3, 3, 3, 4, 4, 5, 7])
    >>> r.estimate, round(r.ci_lower, 3), round(r.ci_upper, 3)
    (3.4, 2.175, 4.625)
    """
    return mean_score(data, col=col, metric="ces", segment=segment, alpha=alpha, scale=scale,
                      what=f"CES mean effort on {scale[0]}-{scale[1]} (lower is easier)")


@renamed_arguments(by="segment")
def score_distribution(data: pd.DataFrame | pd.Series | np.ndarray, *, col: str = "ces",
                       segment: Segment = None, alpha: float = 0.05,
                       scale: tuple[int, int] = (1, 7), metric: str | None = None) -> pd.DataFrame:
    """Share of each score of a scale (CES 1-7 by default), with Wilson intervals.

    ``segment`` (column name(s) of ``data``, optional) gives one block of rows per observed segment.

    Returns
    -------
    DataFrame
        Columns of :data:`~cxlib.metrics.DISTRIBUTION_COLUMNS`: one row per segment and score value
        (every value of the scale, zero counts included; ``segment`` is ``"all"`` without a split),
        ``share = count / n``.

    Examples
    --------
    >>> d = score_distribution([1, 1, 2, 7], scale=(1, 7))
    >>> d["count"].tolist(), float(d["share"].sum())
    ([2, 1, 0, 0, 0, 0, 1], 1.0)
    """
    check_alpha(alpha)
    frame = as_frame(data, col)
    keys = segment_keys(segment)
    groups = frame.groupby(keys if len(keys) > 1 else keys[0], observed=True, sort=True) if keys else [(OVERALL, frame)]
    levels = np.arange(scale[0], scale[1] + 1)
    parts = []
    for key, sub in groups:
        values = numeric_values(sub, col, low=scale[0], high=scale[1], integer=True)
        counts = np.array([(values == v).sum() for v in levels])
        n = int(values.size)
        lo, hi = wilson_interval(counts, n, alpha=alpha)
        parts.append(pd.DataFrame({
            "metric": metric or col, "segment": ", ".join(map(str, key)) if isinstance(key, tuple) else str(key),
            "value": levels, "count": counts, "share": counts / n if n else np.nan, "ci_lower": lo, "ci_upper": hi,
            "ci_level": 1 - alpha, "n": n, "method": "share of each score; Wilson interval"}))
    if not parts:
        return pd.DataFrame(columns=list(DISTRIBUTION_COLUMNS))
    return pd.concat(parts, ignore_index=True)[list(DISTRIBUTION_COLUMNS)]


def recode_nps(values: Any) -> np.ndarray:
    """Recode 0-10 scores to +100 (promoter), 0 (passive), -100 (detractor); NaN stays NaN.

    The mean of the recoded scores is the NPS, which lets a t test or a regression work on it.

    >>> recode_nps([10, 8, 2, np.nan]).tolist()
    [100.0, 0.0, -100.0, nan]
    """
    x = np.asarray(values, dtype=float)
    return np.where(np.isnan(x), np.nan, np.where(x >= 9, 100.0, np.where(x <= 6, -100.0, 0.0)))
