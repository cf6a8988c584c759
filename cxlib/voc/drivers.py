"""Key-driver analysis: which themes and touchpoint scores move NPS, and the impact-vs-performance quadrant.

Two estimates per driver, each with its uncertainty:

- the **standardised regression coefficient** (OLS on z-scores, HC3 robust standard errors): the
  change in the outcome, in standard deviations, for one standard deviation of the driver, the
  others held fixed;
- the **relative weight** (Johnson 2000): the share of the model's R^2 the driver accounts for,
  robust to correlated drivers, with a percentile bootstrap interval from a seeded generator.

Drivers are observational: a theme's weight says how strongly it goes with the score, not that
fixing it would move the score by that much.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..display import displayable
from ..errors import DataContractError, ParameterError, SmallSampleWarning
from ..stats import Segment, check_alpha, check_segment, iter_groups, lead_columns, split_moved_to_by_segment

__all__ = ["DRIVER_COLUMNS", "QUADRANT_COLUMNS", "QUADRANTS", "relative_weights", "DriverResult", "key_drivers",
           "theme_sentiment_drivers", "impact_performance"]

#: Columns of :meth:`DriverResult.to_frame` (one row per driver).
DRIVER_COLUMNS = ("driver", "outcome", "coefficient", "coef_se", "coef_ci_lower", "coef_ci_upper", "p_value",
                  "importance", "importance_ci_lower", "importance_ci_upper", "raw_weight", "ci_level", "r_squared",
                  "n", "n_boot", "method")
#: Columns of :func:`impact_performance`.
QUADRANT_COLUMNS = ("driver", "impact", "impact_ci_lower", "impact_ci_upper", "performance", "quadrant",
                    "impact_cut", "performance_cut", "n")
#: Quadrant names: (high impact?, high performance?) -> label.
QUADRANTS = {(True, False): "fix first", (True, True): "keep up", (False, False): "monitor",
             (False, True): "possible overkill"}


def relative_weights(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Johnson's relative weights of the columns of ``x`` for ``y``; returns ``(raw_weights, r_squared)``.

    Parameters
    ----------
    x : ndarray, shape (n, p)
        Drivers (any scale; standardised inside).
    y : ndarray, shape (n,)
        Outcome.

    Returns
    -------
    raw_weights : ndarray, shape (p,)
        Non-negative, summing to the R^2 of the OLS regression of y on x.
    r_squared : float

    Notes
    -----
    With :math:`R_{xx} = V\\Lambda V^\\top` and :math:`\\Lambda_* = V\\Lambda^{1/2}V^\\top` (the
    correlations of the drivers with their closest orthogonal counterparts), the coefficients of
    y on those counterparts are :math:`\\beta = \\Lambda_*^{-1} r_{xy}` and the weight of driver j is
    :math:`\\varepsilon_j = \\sum_k \\Lambda_{*jk}^2 \\beta_k^2`.

    References
    ----------
    Johnson, J. W. (2000). A heuristic method for estimating the relative weight of predictor
    variables in multiple regression. Multivariate Behavioral Research 35(1), 1-19.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(500, 2)); y = 2 * x[:, 0] + x[:, 1] + rng.normal(size=500)
    >>> w, r2 = relative_weights(x, y)
    >>> bool(abs(w.sum() - r2) < 1e-12), (w / r2).round(2).tolist()
    (True, [0.82, 0.18])
    """
    corr = np.corrcoef(np.column_stack([x, y]), rowvar=False)
    rxx, rxy = corr[:-1, :-1], corr[:-1, -1]
    evals, evecs = np.linalg.eigh(rxx)
    evals = np.clip(evals, 1e-12, None)
    lam = evecs @ np.diag(np.sqrt(evals)) @ evecs.T
    beta = np.linalg.solve(lam, rxy)
    raw = (lam**2) @ (beta**2)
    return raw, float(raw.sum())


@displayable(tables=("table",))
@dataclass(frozen=True)
class DriverResult:
    """Key drivers of one outcome: coefficients, relative weights and their intervals.

    Attributes
    ----------
    outcome : str
    table : DataFrame
        One row per driver, columns :data:`DRIVER_COLUMNS`, sorted by importance (largest first).
    r_squared : float
        R^2 of the OLS model with every driver.
    n : int
        Complete rows used.
    performance : Mapping[str, float]
        Each driver's mean, for :func:`impact_performance`.
    """

    outcome: str
    table: pd.DataFrame = field(repr=False)
    r_squared: float
    n: int
    performance: Mapping[str, float] = field(repr=False, default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """The driver table (columns :data:`DRIVER_COLUMNS`)."""
        return self.table.copy()


@split_moved_to_by_segment("cxlib.voc")
def key_drivers(data: pd.DataFrame, *, outcome: str = "nps", drivers: Sequence[str], alpha: float = 0.05,
                rng: np.random.Generator, n_boot: int = 500, segment: Segment = None) -> DriverResult:
    """Which drivers move the outcome: standardised OLS coefficients and relative weights with CIs.

    Parameters
    ----------
    data : DataFrame
        One row per response; rows with a missing outcome or driver are dropped (listwise).
    outcome : str
        Score to explain (NPS 0-10 by default, or CSAT).
    drivers : list of str
        Numeric or boolean columns: theme indicators, theme sentiments
        (:func:`theme_sentiment_drivers`), touchpoint scores.
    alpha : float
        ``1 - confidence level`` of both intervals.
    rng : numpy.random.Generator
        Draws the bootstrap resamples (seeded from the notebook's ``seed``).
    n_boot : int
        Bootstrap resamples for the relative-weight intervals (500 keeps percentile limits at
        95% stable to about +-0.01 of a share; raise it for a final report).

    Returns
    -------
    DriverResult
        Per segment, ``by_segment(key_drivers, data, segment=..., drivers=..., rng=rng)``
        (:func:`cxlib.voc.by_segment`) stacks the driver tables (:data:`DRIVER_COLUMNS` led by the
        segment columns): one driver analysis per observed level, each exactly the analysis of that
        level's rows. The ``k`` levels (sorted) draw their bootstraps from ``rng.spawn(k)``, one child
        generator each, so a segment's intervals do not depend on the segments analysed before it.

    Raises
    ------
    ParameterError
        No drivers, a driver that does not vary (a theme nobody mentioned), or too few rows.

    Warns
    -----
    SmallSampleWarning
        Fewer than 20 complete rows per driver.

    Notes
    -----
    Coefficients: OLS of :math:`z(y)` on :math:`z(x_j)` with HC3 standard errors (MacKinnon &
    White 1985), t-based intervals and p-values.  ``importance`` is the relative weight rescaled
    to sum to 1 (:func:`relative_weights`), its interval the percentile interval over ``n_boot``
    case resamples.

    References
    ----------
    Johnson, J. W. (2000). Multivariate Behavioral Research 35(1), 1-19.
    Tonidandel, S. & LeBreton, J. M. (2011). Relative importance analysis: a useful supplement to
    regression analysis. Journal of Business and Psychology 26, 1-9.
    MacKinnon, J. G. & White, H. (1985). Journal of Econometrics 29, 305-325.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> d = pd.DataFrame(rng.normal(size=(400, 3)), columns=["staff", "price", "noise"])
    >>> d["nps"] = 2 * d.staff + d.price + rng.normal(size=400)
    >>> r = key_drivers(d, drivers=["staff", "price", "noise"], rng=np.random.default_rng(2), n_boot=200)
    >>> r.table["driver"].tolist(), r.table["importance"].round(2).tolist()
    (['staff', 'price', 'noise'], [0.77, 0.23, 0.0])
    """
    import statsmodels.api as sm

    check_alpha(alpha)
    drivers = list(drivers)
    if segment is not None:
        keys = check_segment(data, segment)
        groups = list(iter_groups(data, keys))
        parts = []
        for (key, sub), child in zip(groups, rng.spawn(len(groups))):
            try:
                result = key_drivers(sub, outcome=outcome, drivers=drivers, alpha=alpha, rng=child, n_boot=n_boot)
            except ParameterError as exc:
                raise ParameterError(f"Segment {', '.join(map(str, key))!r} of {keys}: {exc}") from exc
            parts.append(lead_columns(result.table, keys, key))
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[*keys, *DRIVER_COLUMNS])
    if not drivers:
        raise ParameterError("drivers is empty; name at least one driver column.")
    missing = [c for c in [outcome, *drivers] if c not in data.columns]
    if missing:
        raise DataContractError(f"Column(s) {missing} are missing; the frame has {list(data.columns)}.",
                                column=missing[0], rule="column present")
    frame = data[[outcome, *drivers]].apply(pd.to_numeric, errors="coerce").astype(float).dropna()
    n, p = len(frame), len(drivers)
    if n < p + 3:
        raise ParameterError(f"key_drivers needs more complete rows than drivers: {n} rows for {p} drivers.")
    sd = frame.std(ddof=1)
    flat = [c for c in frame.columns if not sd[c] > 0]
    if flat:
        raise ParameterError(f"Column(s) {flat} do not vary in the {n} complete rows; drop them from drivers "
                             "(a theme nobody mentioned has no effect to estimate).")
    if n < 20 * p:
        warnings.warn(f"key_drivers rests on {n} rows for {p} drivers (fewer than 20 per driver); "
                      "the weights are unstable.", SmallSampleWarning, stacklevel=2)
    z = (frame - frame.mean()) / sd
    x, y = z[drivers].to_numpy(), z[outcome].to_numpy()
    fit = sm.OLS(y, sm.add_constant(x)).fit(cov_type="HC3")
    ci = fit.conf_int(alpha)[1:]
    raw, r2 = relative_weights(x, y)
    boots = np.empty((n_boot, p))
    for b in range(n_boot):
        idx = rng.integers(0, n, n)
        xb, yb = x[idx], y[idx]
        if np.any(xb.std(axis=0) == 0):
            boots[b] = np.nan
            continue
        wb, r2b = relative_weights(xb, yb)
        boots[b] = wb / r2b
    lo, hi = np.nanquantile(boots, [alpha / 2, 1 - alpha / 2], axis=0)
    table = pd.DataFrame({
        "driver": drivers, "outcome": outcome, "coefficient": fit.params[1:], "coef_se": fit.bse[1:],
        "coef_ci_lower": ci[:, 0], "coef_ci_upper": ci[:, 1], "p_value": fit.pvalues[1:],
        "importance": raw / r2, "importance_ci_lower": lo, "importance_ci_upper": hi, "raw_weight": raw,
        "ci_level": 1 - alpha, "r_squared": r2, "n": n, "n_boot": n_boot,
        "method": ("standardised OLS coefficients with HC3 robust SE; relative weights (Johnson 2000) as shares of "
                   f"R^2 with percentile bootstrap interval ({n_boot} resamples)"),
    }, columns=list(DRIVER_COLUMNS))
    table = table.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)
    return DriverResult(outcome, table, r2, n, {c: float(frame[c].mean()) for c in drivers})


def theme_sentiment_drivers(tags: pd.DataFrame, sentiment: pd.Series, *, prefix: str = "") -> pd.DataFrame:
    """One driver per theme: the comment's sentiment where it mentions the theme, else 0.

    A theme mentioned warmly (+0.8) and one mentioned angrily (-0.8) pull the score in opposite
    directions, which a mention indicator alone would average away.  Rows without a scored comment
    are NaN (dropped by :func:`key_drivers`).

    Examples
    --------
    >>> tags = pd.DataFrame({"staff": [True, False], "price": [True, True]})
    >>> theme_sentiment_drivers(tags, pd.Series([0.5, -0.4])).to_numpy().tolist()
    [[0.5, 0.5], [0.0, -0.4]]
    """
    if not tags.index.equals(sentiment.index):
        raise ParameterError("tags and sentiment must share the index of the responses.")
    s = sentiment.astype(float).to_numpy()[:, None]
    values = np.where(tags.to_numpy(bool), s, 0.0)
    values[np.isnan(s[:, 0])] = np.nan
    return pd.DataFrame(values, index=tags.index, columns=[f"{prefix}{c}" for c in tags.columns])


def impact_performance(result: DriverResult, *, performance: Mapping[str, float] | None = None,
                       scales: Mapping[str, tuple[float, float]] | None = None,
                       split: str = "mean") -> pd.DataFrame:
    """Impact-vs-performance quadrant data: importance against how well each driver does today.

    Parameters
    ----------
    result : DriverResult
    performance : mapping, optional
        Driver to performance on a 0-100 scale (e.g. share of satisfied mentions).  Default: the
        driver's mean from ``result``, rescaled to 0-100 with ``scales``.
    scales : mapping, optional
        Driver to ``(worst, best)`` of its scale: ``(-1, 1)`` for theme sentiments, ``(1, 5)`` for
        CSAT, ``(7, 1)`` for CES (reversed, lower effort is better).  Drivers without a scale use
        ``(-1, 1)``.
    split : {"mean", "median"}
        Where the quadrant lines are drawn: at the mean (default, the usual choice) or median of the
        drivers' impact and performance.

    Returns
    -------
    DataFrame
        Columns :data:`QUADRANT_COLUMNS`; ``quadrant`` from :data:`QUADRANTS` ("fix first" = high
        impact, low performance).

    Notes
    -----
    Performance as "percent of maximum possible": :math:`100 (\\bar x - \\text{worst}) /
    (\\text{best} - \\text{worst})` (Cohen et al. 1999).

    References
    ----------
    Martilla, J. A. & James, J. C. (1977). Importance-performance analysis. Journal of Marketing 41(1), 77-79.
    Cohen, P., Cohen, J., Aiken, L. S. & West, S. G. (1999). The problem of units and the
    circumstance for POMP. Multivariate Behavioral Research 34(3), 315-346.

    Examples
    --------
    >>> t = pd.DataFrame({"driver": ["a", "b"], "importance": [0.7, 0.3], "importance_ci_lower": [0.6, 0.2],
    ...                   "importance_ci_upper": [0.8, 0.4], "n": [100, 100]})
    >>> r = DriverResult("nps", t, 0.5, 100, {"a": -0.2, "b": 0.6})
    >>> impact_performance(r)[["driver", "performance", "quadrant"]].to_numpy().tolist()
    [['a', 40.0, 'fix first'], ['b', 80.0, 'possible overkill']]
    """
    if split not in ("mean", "median"):
        raise ParameterError(f"split={split!r} is not allowed; choose one of ['mean', 'median'].")
    t = result.table
    scales = dict(scales or {})
    perf = []
    for d in t["driver"]:
        if performance is not None and d in performance:
            perf.append(float(performance[d]))
            continue
        worst, best = scales.get(d, (-1.0, 1.0))
        mean = result.performance.get(d, math.nan)
        perf.append(100 * (mean - worst) / (best - worst))
    perf = np.asarray(perf)
    impact = t["importance"].to_numpy(float)
    agg = np.nanmean if split == "mean" else np.nanmedian
    i_cut, p_cut = float(agg(impact)), float(agg(perf))
    quadrant = [QUADRANTS[(bool(i >= i_cut), bool(pf >= p_cut))] for i, pf in zip(impact, perf)]
    return pd.DataFrame({"driver": t["driver"], "impact": impact, "impact_ci_lower": t["importance_ci_lower"],
                         "impact_ci_upper": t["importance_ci_upper"], "performance": perf, "quadrant": quadrant,
                         "impact_cut": i_cut, "performance_cut": p_cut, "n": t["n"]},
                        columns=list(QUADRANT_COLUMNS)).reset_index(drop=True)
