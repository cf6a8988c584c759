"""The metric result, the interval formulas and the grouping machinery shared by every metric.

The interval formulas are vectorised over numpy arrays so that the simulation
tests (coverage over thousands of replicates) run the exact code the
notebooks run.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import DataContractError, ParameterError, SmallSampleWarning, check_choice

#: Columns of every metric result, in this order, whatever the metric or arguments.
METRIC_COLUMNS = ("metric", "group", "estimate", "ci_lower", "ci_upper", "ci_level", "se", "n", "method")

#: Columns of every score distribution (one row per scale value).
DISTRIBUTION_COLUMNS = ("metric", "group", "value", "count", "share", "ci_lower", "ci_upper", "ci_level",
                        "n", "method")

OVERALL = "all"


@dataclass(frozen=True, kw_only=True)
class MetricResult:
    """One metric estimate with its interval, sample size and method.

    Attributes
    ----------
    metric : str
        Metric key (``"nps"``, ``"csat"``, ``"churn_rate"``...).
    group : str
        Group label (``"all"`` for an ungrouped call; ``"gold"`` or ``"gold, North"`` for groups).
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
    group: str = OVERALL
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
        return (f"{self.metric} [{self.group}] = {self.estimate:.4g} ({level} CI {self.ci_lower:.4g} to "
                f"{self.ci_upper:.4g}; n = {self.n}; {self.method})")


def z_value(alpha: float) -> float:
    """Two-sided normal quantile ``z_{1 - alpha/2}`` after checking ``0 < alpha < 1``."""
    check_alpha(alpha)
    return float(stats.norm.ppf(1 - alpha / 2))


def check_alpha(alpha: float) -> float:
    """Return ``alpha`` if it lies strictly between 0 and 1, else raise ``ParameterError``."""
    if not (isinstance(alpha, (int, float)) and 0 < alpha < 1):
        raise ParameterError(f"alpha={alpha!r} must be a number strictly between 0 and 1 (0.05 for 95% intervals).")
    return float(alpha)


def wilson_interval(successes: Any, n: Any, *, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a binomial proportion (vectorised).

    Parameters
    ----------
    successes, n : array_like
        Counts of successes and trials (broadcastable); ``n = 0`` gives NaN.
    alpha : float
        ``1 - confidence level``.

    Returns
    -------
    lower, upper : numpy.ndarray
        Interval bounds on the 0..1 scale.

    Notes
    -----
    With :math:`\\hat p = x/n` and :math:`z = z_{1-\\alpha/2}`,

    .. math:: \\frac{\\hat p + z^2/(2n) \\pm z\\sqrt{\\hat p(1-\\hat p)/n + z^2/(4n^2)}}{1 + z^2/n}.

    References
    ----------
    Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
    inference. JASA 22, 209-212. Brown, Cai & DasGupta (2001), Statistical Science 16, 101-133.

    Examples
    --------
    >>> lo, hi = wilson_interval(40, 50)
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.6696, 0.8876)
    """
    z = z_value(alpha)
    x = np.asarray(successes, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
        # exact ends where rounding would leave them a hair inside (x = 0 gave a lower bound of 5.6e-17 > 0)
        lower = np.where((x == 0) & (n > 0), 0.0, np.clip(centre - half, 0.0, p))
        upper = np.where((x == n) & (n > 0), 1.0, np.clip(centre + half, p, 1.0))
    return lower, upper


#: Pseudo-observations added by the adjusted-Wald NPS interval (Rocks 2016): 3/4 promoter,
#: 3/2 passive, 3/4 detractor.
NPS_PSEUDO_COUNT = 3.0


def nps_interval(promoters: Any, detractors: Any, n: Any, *, alpha: float = 0.05,
                 method: str = "adjusted_wald") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Interval for the NPS on the -1..1 scale (vectorised); returns ``(se, lower, upper)``.

    Parameters
    ----------
    promoters, detractors, n : array_like
        Counts of promoters (9-10), detractors (0-6) and respondents.
    alpha : float
        ``1 - confidence level``.
    method : {"adjusted_wald", "wald"}
        ``"adjusted_wald"`` (default) adds :data:`NPS_PSEUDO_COUNT` = 3 pseudo-respondents
        (3/4 promoter, 3/2 passive, 3/4 detractor) before the Wald step; it keeps its
        coverage close to nominal for small samples and extreme scores, where the plain Wald
        interval collapses (zero width when everyone is a promoter).

    Notes
    -----
    With :math:`T` pseudo-observations, :math:`n' = n + T`, :math:`p' = (P + T/4)/n'`,
    :math:`d' = (D + T/4)/n'`:

    .. math:: (p' - d') \\pm z\\sqrt{\\frac{p' + d' - (p' - d')^2}{n'}},

    clipped to [-1, 1] and widened, where needed, to contain the sample NPS :math:`(P - D)/n`: the
    pseudo-counts pull the centre towards 0, so for extreme samples at low confidence levels the
    adjusted interval alone would stop short of the estimate (199 promoters out of 199 at 80%:
    0.9753 to 0.9987), and one respondent at 95% gives -0.485 to 0.985 for an NPS of 1.
    ``T = 0`` is the Wald interval.

    References
    ----------
    Rocks, B. (2016). Interval estimation for the "Net Promoter Score". The American
    Statistician 70(4), 365-372 (the adjusted Wald interval with T = 3).

    Examples
    --------
    >>> se, lo, hi = nps_interval(50, 20, 100)
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.1405, 0.442)
    """
    check_choice("method", method, ("adjusted_wald", "wald"))
    z = z_value(alpha)
    t = NPS_PSEUDO_COUNT if method == "adjusted_wald" else 0.0
    n_adj = np.asarray(n, dtype=float) + t
    with np.errstate(divide="ignore", invalid="ignore"):
        p = (np.asarray(promoters, dtype=float) + t / 4) / n_adj
        d = (np.asarray(detractors, dtype=float) + t / 4) / n_adj
        centre = p - d
        se = np.sqrt(np.maximum(p + d - centre**2, 0.0) / n_adj)
        raw = (np.asarray(promoters, dtype=float) - np.asarray(detractors, dtype=float)) / np.asarray(n, dtype=float)
    lower = np.clip(np.fmin(centre - z * se, raw), -1, 1)
    upper = np.clip(np.fmax(centre + z * se, raw), -1, 1)
    return se, lower, upper


def t_interval_mean(mean: Any, sd: Any, n: Any, *, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray,
                                                                                   np.ndarray]:
    """Student-t interval for a mean (vectorised); returns ``(se, lower, upper)``.

    Notes
    -----
    :math:`\\bar x \\pm t_{n-1, 1-\\alpha/2}\\, s/\\sqrt n`; NaN for ``n < 2``.

    Examples
    --------
    >>> se, lo, hi = t_interval_mean(3.0, 1.0, 25)
    >>> round(float(lo), 4), round(float(hi), 4)
    (2.5872, 3.4128)
    """
    check_alpha(alpha)
    n = np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.where(n >= 2, np.asarray(sd, dtype=float) / np.sqrt(n), np.nan)
        q = stats.t.ppf(1 - alpha / 2, np.where(n >= 2, n - 1, np.nan))
    return se, np.asarray(mean) - q * se, np.asarray(mean) + q * se


def median_interval(values: np.ndarray, *, alpha: float = 0.05) -> tuple[float, float]:
    """Distribution-free interval for a median from order statistics.

    Notes
    -----
    With :math:`k` the largest integer such that :math:`P(B \\le k - 1) \\le \\alpha/2` for
    :math:`B \\sim \\mathrm{Binomial}(n, 1/2)`, the interval :math:`[x_{(k)}, x_{(n-k+1)}]`
    covers the median with probability at least :math:`1 - \\alpha`. NaN when ``n < 6``
    at 95%.

    References
    ----------
    Conover, W. J. (1999). Practical Nonparametric Statistics, 3rd ed., section 3.2.

    Examples
    --------
    >>> median_interval(np.arange(1.0, 21.0))
    (6.0, 15.0)
    """
    check_alpha(alpha)
    x = np.sort(np.asarray(values, dtype=float))
    n = x.size
    if n == 0:
        return math.nan, math.nan
    k = int(stats.binom.ppf(alpha / 2, n, 0.5))  # P(B <= k) >= alpha/2, P(B <= k-1) < alpha/2
    if stats.binom.cdf(k, n, 0.5) <= alpha / 2:
        k += 1
    if k < 1:
        return math.nan, math.nan
    return float(x[k - 1]), float(x[n - k])


def as_frame(data: Any, col: str) -> pd.DataFrame:
    """Accept a DataFrame, or a Series/array of values that becomes the column ``col``."""
    if isinstance(data, pd.DataFrame):
        if col not in data.columns:
            raise DataContractError(f"Column {col!r} is missing; the frame has {list(data.columns)}. "
                                    f"Pass col= with the right name.", column=col, rule="column present")
        return data
    if isinstance(data, pd.Series):
        return data.rename(col).to_frame()
    return pd.DataFrame({col: np.asarray(data)})


def numeric_values(frame: pd.DataFrame, col: str, *, low: float | None = None, high: float | None = None,
                   integer: bool = False) -> np.ndarray:
    """The non-missing values of ``col`` as floats, checked against the scale ``[low, high]``."""
    values = pd.to_numeric(frame[col], errors="coerce").astype("float64").to_numpy()
    bad_text = frame[col].notna().to_numpy() & np.isnan(values)
    values = values[~np.isnan(values)]
    outside = np.zeros(values.shape, bool)
    if low is not None:
        outside |= values < low
    if high is not None:
        outside |= values > high
    if integer:
        outside |= values != np.round(values)
    if bad_text.any() or outside.any():
        examples = values[outside][:5].tolist() if outside.any() else frame[col][bad_text].head().tolist()
        raise DataContractError(f"Column {col!r} must hold {'integers' if integer else 'numbers'} in "
                                f"[{low}, {high}]; found {int(outside.sum() + bad_text.sum())} bad values, "
                                f"e.g. {examples}. Check the scale of the survey export.",
                                column=col, rule="scale")
    return values


def normalise_by(by: str | Sequence[str] | None) -> list[str]:
    """``by`` as a list of column names (empty for an ungrouped call)."""
    if by is None:
        return []
    if isinstance(by, str):
        return [by]
    return list(by)


def check_by(data: pd.DataFrame, by: str | Sequence[str] | None, *, table: str | None = None) -> list[str]:
    """``by`` as a list of column names, after checking that ``data`` has them (names the table and columns)."""
    keys = normalise_by(by)
    missing = [k for k in keys if k not in data.columns]
    if missing:
        where = f"Table {table!r}" if table else "The frame"
        raise DataContractError(f"{where} lacks the segment column(s) {missing}; it has {list(data.columns)}. "
                                "Join the segment to it first (e.g. merge customers[['customer_id', "
                                f"{missing[0]!r}]] on customer_id).", table=table, column=missing[0],
                                rule="column present")
    return keys


def iter_groups(data: pd.DataFrame, keys: Sequence[str]):
    """``(key, rows)`` for each observed level of ``keys`` in sorted order; ``key`` is a tuple of levels."""
    for key, sub in data.groupby(list(keys), observed=True, sort=True):
        yield (key if isinstance(key, tuple) else (key,)), sub


def group_index(keys: Sequence[str], index: Sequence[tuple]) -> pd.Index:
    """The index of a ``by=`` result: named by the ``by`` columns (a MultiIndex for several)."""
    if len(keys) > 1:
        return (pd.MultiIndex.from_tuples(list(index), names=list(keys)) if len(index)
                else pd.MultiIndex.from_arrays([[]] * len(keys), names=list(keys)))
    return pd.Index([k[0] for k in index], name=keys[0])


def stack_groups(parts: Sequence[pd.DataFrame], index: Sequence[tuple], keys: Sequence[str],
                 columns: Sequence[str]) -> pd.DataFrame:
    """One-row frames stacked into a ``by=`` result indexed by the ``by`` columns (:func:`group_index`)."""
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(columns))
    out.index = group_index(keys, index)
    return out


def lead_columns(frame: pd.DataFrame, keys: Sequence[str], key: tuple) -> pd.DataFrame:
    """``frame`` with the ``by`` columns set to ``key`` put first (for results that are already tables)."""
    return frame.assign(**dict(zip(keys, key)))[[*keys, *[c for c in frame.columns if c not in keys]]]


def group_label(key: Any) -> str:
    """``"gold"`` for one key, ``"gold, North"`` for several."""
    if isinstance(key, tuple):
        return ", ".join(str(k) for k in key)
    return str(key)


def apply_grouped(data: pd.DataFrame, by: str | Sequence[str] | None,
                  one: Callable[[pd.DataFrame, str], MetricResult]) -> MetricResult | pd.DataFrame:
    """Run ``one(frame, label)`` on the whole frame, or on each group of ``by``.

    Without ``by`` the single :class:`MetricResult` is returned; with ``by`` a frame with the
    columns of :data:`METRIC_COLUMNS`, one row per observed group, indexed by the ``by``
    columns (``reset_index()`` turns them into columns for plotting).
    """
    keys = normalise_by(by)
    if not keys:
        return one(data, OVERALL)
    missing = [k for k in keys if k not in data.columns]
    if missing:
        raise DataContractError(f"Grouping column(s) {missing} are missing; the frame has {list(data.columns)}. "
                                "Merge the customer attributes in first (e.g. loyalty_tier from customers).",
                                column=missing[0], rule="column present")
    rows, index = [], []
    for key, sub in data.groupby(keys if len(keys) > 1 else keys[0], observed=True, sort=True):
        rows.append(one(sub, group_label(key)).to_frame())
        index.append(key)
    if not rows:
        out = pd.DataFrame(columns=list(METRIC_COLUMNS))
    else:
        out = pd.concat(rows, ignore_index=True)
    if len(keys) > 1:
        out.index = pd.MultiIndex.from_tuples(index, names=keys) if index else pd.MultiIndex.from_arrays(
            [[]] * len(keys), names=keys)
    else:
        out.index = pd.Index(index, name=keys[0])
    return out


def warn_small(metric: str, group: str, n: int, needed: int, what: str) -> None:
    """Emit a :class:`SmallSampleWarning` when ``n < needed``."""
    if n < needed:
        warnings.warn(f"{metric} [{group}] rests on n = {n} {what}; at least {needed} are needed for an "
                      "interval. The estimate is reported with a NaN interval.", SmallSampleWarning,
                      stacklevel=3)


def period_bounds(period: Any) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Start (inclusive) and end (exclusive) of a period.

    Parameters
    ----------
    period : str, pandas.Period or (start, end)
        ``"2025Q4"``, ``"2025-10"``, ``"2025"``, a ``pandas.Period``, or a pair of timestamps
        (start inclusive, end exclusive).

    Examples
    --------
    >>> period_bounds("2025Q4")
    (Timestamp('2025-10-01 00:00:00'), Timestamp('2026-01-01 00:00:00'))
    """
    if isinstance(period, tuple) and len(period) == 2:
        start, end = pd.Timestamp(period[0]), pd.Timestamp(period[1])
    else:
        try:
            p = period if isinstance(period, pd.Period) else pd.Period(str(period))
        except (ValueError, TypeError) as exc:
            raise ParameterError(f"period={period!r} is not a period; use e.g. '2025Q4', '2025-10' or "
                                 "(start, end).") from exc
        start, end = p.start_time.normalize(), (p + 1).start_time.normalize()
    if not start < end:
        raise ParameterError(f"period {period!r} must have start < end; found {start} and {end}.")
    return start, end


def in_period(frame: pd.DataFrame, col: str, period: Any) -> pd.DataFrame:
    """The rows of ``frame`` whose ``col`` falls in ``period`` (start inclusive, end exclusive).

    >>> df = pd.DataFrame({"t": pd.to_datetime(["2025-09-30", "2025-10-01", "2026-01-01"])})
    >>> len(in_period(df, "t", "2025Q4"))
    1
    """
    start, end = period_bounds(period)
    t = frame[col]
    if not pd.api.types.is_datetime64_any_dtype(t):  # to_datetime on datetimes still samples values to cache
        t = pd.to_datetime(t)
    return frame[(t >= start) & (t < end)]


def period_labels(times: pd.Series, freq: str = "Q") -> pd.Series:
    """Label each timestamp with its period (``"2025Q4"`` for ``freq="Q"``), for ``by=``.

    Examples
    --------
    >>> period_labels(pd.Series(pd.to_datetime(["2025-11-03", "2025-07-01"]))).tolist()
    ['2025Q4', '2025Q3']
    """
    return pd.to_datetime(times).dt.to_period(freq).astype(str)
