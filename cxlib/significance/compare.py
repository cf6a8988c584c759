"""Two-group and many-group comparisons of NPS, CSAT, CES, proportions and means."""
from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import replace
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import DataContractError, ParameterError, SmallSampleWarning, check_choice
from ..metrics.survey import nps_counts, recode_nps
from ..stats import (
    adjust_pvalues,
    as_frame,
    check_alpha,
    check_alternative,
    cluster_mean_difference,
    cohens_h,
    newcombe_interval,
    nps_difference,
    numeric_values,
    pooled_z_test,
    welch,
)
from ._core import COMPARISON_COLUMNS, ComparisonResult, reading

NpsTest = Literal["adjusted_wald", "welch"]
CesTest = Literal["welch", "mannwhitney", "brunnermunzel"]
Against = Literal["rest", "baseline", "all"]
METRICS = ("nps", "csat", "ces")


def _split(data: Any, *, col: str, group: str, a: Any, b: Any,
           cluster: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame, str, str, str]:
    frame = as_frame(data, col)
    for name in (group, cluster):
        if name is not None and name not in frame.columns:
            raise DataContractError(f"Column {name!r} is missing; the frame has {list(frame.columns)}.",
                                    column=name, rule="column present")
    frame = frame[frame[col].notna()]
    present = set(frame[group].dropna().unique().tolist())
    for name, value in (("a", a), ("b", b)):
        if value is not None and value not in present:
            raise ParameterError(f"{name}={value!r} is not a value of {group!r}; found {sorted(map(str, present))}.")
    mask_a = frame[group] == a
    mask_b = frame[group] == b if b is not None else frame[group].notna() & ~mask_a
    label_b = str(b) if b is not None else "rest"
    return frame[mask_a], frame[mask_b], str(a), label_b, f"{group}: {a} vs {label_b}"


def _small(metric: str, group_a: str, group_b: str, n_a: int, n_b: int, needed: int, warn: bool) -> bool:
    if n_a >= needed and n_b >= needed:
        return False
    if warn:
        warnings.warn(f"{metric}: {group_a} (n = {n_a}) vs {group_b} (n = {n_b}) needs at least {needed} "
                      "observations per group; the comparison is reported as NaN.", SmallSampleWarning, stacklevel=4)
    return True


def _nan_result(metric: str, comparison: str, group_a: str, group_b: str, est_a: float, est_b: float, n_a: int,
                n_b: int, alpha: float, alternative: str, method: str, label: str) -> ComparisonResult:
    return ComparisonResult(metric=metric, comparison=comparison, group_a=group_a, group_b=group_b,
                            estimate_a=est_a, estimate_b=est_b, difference=math.nan, ci_level=1 - alpha,
                            alternative=alternative, n_a=n_a, n_b=n_b, method=method,
                            reading=reading(label=label, unit="", group_a=group_a, group_b=group_b,
                                            difference=math.nan, ci_lower=math.nan, ci_upper=math.nan,
                                            ci_level=1 - alpha, p_value=math.nan, alpha=alpha, n_a=n_a, n_b=n_b))


def _finish(metric: str, label: str, unit: str, comparison: str, group_a: str, group_b: str, est_a: float,
            est_b: float, res: dict[str, Any], alpha: float, alternative: str, effect: float, n_a: int, n_b: int,
            method: str, scale: float = 1.0) -> ComparisonResult:
    diff, lo, hi = (float(res["difference"]) * scale, float(res["ci_lower"]) * scale, float(res["ci_upper"]) * scale)
    p = float(res["p_value"])
    return ComparisonResult(
        metric=metric, comparison=comparison, group_a=group_a, group_b=group_b, estimate_a=est_a, estimate_b=est_b,
        difference=diff, ci_lower=lo, ci_upper=hi, ci_level=1 - alpha, statistic=float(res["statistic"]),
        dof=float(res.get("dof", math.nan)), p_value=p, alternative=alternative, effect_size=float(effect),
        n_a=n_a, n_b=n_b, method=method,
        reading=reading(label=label, unit=unit, group_a=group_a, group_b=group_b, difference=diff, ci_lower=lo,
                        ci_upper=hi, ci_level=1 - alpha, p_value=p, alpha=alpha, n_a=n_a, n_b=n_b))


def _cohen_d(xa: np.ndarray, xb: np.ndarray) -> float:
    na, nb = xa.size, xb.size
    pooled = ((na - 1) * xa.var(ddof=1) + (nb - 1) * xb.var(ddof=1)) / (na + nb - 2)
    return float((xa.mean() - xb.mean()) / np.sqrt(pooled)) if pooled > 0 else math.nan


Clusters = tuple[np.ndarray, np.ndarray, str] | None


def _clustered(metric: str, label: str, unit: str, comparison: str, group_a: str, group_b: str, ya: np.ndarray,
               yb: np.ndarray, clusters: tuple[np.ndarray, np.ndarray, str], est_a: float, est_b: float, alpha: float,
               alternative: str, effect: float, what: str) -> ComparisonResult:
    res = cluster_mean_difference(ya, clusters[0], yb, clusters[1], alpha=alpha, alternative=alternative)
    text = (f"{what}; cluster-robust (CR1) standard error by {clusters[2]}, t test with G - 1 = "
            f"{int(res['dof'])} df")
    return _finish(metric, label, unit, comparison, group_a, group_b, est_a, est_b, res, alpha, alternative, effect,
                   int(ya.size), int(yb.size), text)


def _cluster_arrays(fa: pd.DataFrame, fb: pd.DataFrame, cluster: str | None) -> Clusters:
    if cluster is None:
        return None
    return fa[cluster].to_numpy(), fb[cluster].to_numpy(), cluster


def nps_arrays(xa: np.ndarray, xb: np.ndarray, *, group_a: str = "a", group_b: str = "b", comparison: str = "a vs b",
               method: NpsTest = "adjusted_wald", alpha: float = 0.05, alternative: str = "two-sided",
               warn: bool = True, clusters: Clusters = None) -> ComparisonResult:
    """:func:`compare_nps` on two arrays of 0-10 scores (NaN-free); ``clusters`` = (labels a, labels b, name)."""
    pa, _, da = nps_counts(xa)
    pb, _, db = nps_counts(xb)
    na, nb = int(xa.size), int(xb.size)
    est_a = 100 * (pa - da) / na if na else math.nan
    est_b = 100 * (pb - db) / nb if nb else math.nan
    ra, rb = recode_nps(xa), recode_nps(xb)
    if clusters is not None:
        if _small("nps", group_a, group_b, na, nb, 2, warn):
            return _nan_result("nps", comparison, group_a, group_b, est_a, est_b, na, nb, alpha, alternative,
                               "cluster-robust difference of NPS", "NPS")
        return _clustered("nps", "NPS", " points", comparison, group_a, group_b, ra, rb, clusters, est_a, est_b,
                          alpha, alternative, _cohen_d(ra, rb),
                          "difference of NPS (means of the +100/0/-100 recoding); effect size Cohen's d")
    if method == "adjusted_wald":
        text = ("difference of independent NPS; adjusted-Wald z test and interval (Rocks 2016, 1.5 pseudo-"
                "respondents per group); effect size Cohen's d on the +100/0/-100 recoding")
        if _small("nps", group_a, group_b, na, nb, 2, warn):
            return _nan_result("nps", comparison, group_a, group_b, est_a, est_b, na, nb, alpha, alternative, text,
                               "NPS")
        res = nps_difference(pa, da, na, pb, db, nb, alpha=alpha, alternative=alternative)
        return _finish("nps", "NPS", " points", comparison, group_a, group_b, est_a, est_b, res, alpha, alternative,
                       _cohen_d(ra, rb), na, nb, text, scale=100.0)
    text = "Welch t test on the +100/0/-100 recoded scores; effect size Cohen's d"
    if _small("nps", group_a, group_b, na, nb, 2, warn):
        return _nan_result("nps", comparison, group_a, group_b, est_a, est_b, na, nb, alpha, alternative, text, "NPS")
    res = welch(ra.mean(), ra.var(ddof=1), na, rb.mean(), rb.var(ddof=1), nb, alpha=alpha, alternative=alternative)
    return _finish("nps", "NPS", " points", comparison, group_a, group_b, est_a, est_b, res, alpha, alternative,
                   _cohen_d(ra, rb), na, nb, text)


def compare_nps(data: pd.DataFrame, *, group: str, a: Any, b: Any = None, col: str = "nps",
                method: NpsTest = "adjusted_wald", alpha: float = 0.05,
                alternative: Literal["two-sided", "greater", "less"] = "two-sided",
                cluster: str | None = None) -> ComparisonResult:
    """Compare the NPS of two periods or segments: ``NPS(a) - NPS(b)`` in points.

    Parameters
    ----------
    data : DataFrame
        Survey responses with the 0-10 ``col`` and the ``group`` column.
    group : str
        Column that tells the groups apart (``"quarter"``, ``"loyalty_tier"``...).
    a, b : value of ``group``
        The group of interest and the reference; ``b=None`` compares ``a`` with every other row.
    col : str
        Score column; missing scores are ignored.
    method : {"adjusted_wald", "welch"}
        ``"adjusted_wald"`` (default): z test and interval on the difference of two independent NPS
        with 1.5 pseudo-respondents per group (:func:`nps_difference`); ``"welch"``: Welch's t test on
        the scores recoded +100/0/-100, whose mean is the NPS.
    alpha : float
        Significance level; the interval has level ``1 - alpha``.
    alternative : {"two-sided", "greater", "less"}
        ``"greater"`` tests NPS(a) > NPS(b).
    cluster : str, optional
        Column of a cluster identifier, normally ``"customer_id"``: customers who answer several times
        give correlated answers, and treating them as independent understates the uncertainty. With it,
        the difference of the recoded means gets a cluster-robust standard error
        (:func:`cluster_mean_difference`; ``method`` is then not used). Same customers in both groups are
        handled.

    Returns
    -------
    ComparisonResult
        One row of :data:`~cxlib.significance.COMPARISON_COLUMNS`; ``to_frame()`` stacks into a report table.

    Notes
    -----
    The variance of a respondent's recoded score is :math:`p + d - (p - d)^2`, so the standard error
    of the difference is :math:`\\sqrt{\\sum_g (p_g + d_g - (p_g - d_g)^2)/n_g}`; the adjusted version
    evaluates it at the pseudo-count-adjusted shares, which keeps coverage at small n.

    References
    ----------
    Rocks, B. (2016). Interval estimation for the "Net Promoter Score". The American Statistician 70(4).

    Examples
    --------
    >>> df = pd.DataFrame({"q": ["Q4"] * 100 + ["Q3"] * 100,
    ...                    "nps": [10] * 60 + [8] * 20 + [3] * 20 + [10] * 45 + [8] * 30 + [3] * 25})
    >>> r = compare_nps(df, group="q", a="Q4", b="Q3")
    >>> r.difference, round(r.p_value, 4)
    (20.0, 0.0815)
    """
    check_choice("method", method, ("adjusted_wald", "welch"))
    check_alpha(alpha)
    check_alternative(alternative)
    fa, fb, ga, gb, comparison = _split(data, col=col, group=group, a=a, b=b, cluster=cluster)
    xa = numeric_values(fa, col, low=0, high=10, integer=True)
    xb = numeric_values(fb, col, low=0, high=10, integer=True)
    return nps_arrays(xa, xb, group_a=ga, group_b=gb, comparison=comparison, method=method, alpha=alpha,
                      alternative=alternative, clusters=_cluster_arrays(fa, fb, cluster))


def compare_proportions(x_a: int, n_a: int, x_b: int, n_b: int, *, metric: str = "proportion",
                        label: str | None = None, group_a: str = "a", group_b: str = "b", comparison: str = "a vs b",
                        alpha: float = 0.05, alternative: str = "two-sided", warn: bool = True) -> ComparisonResult:
    """Difference of two independent proportions: Newcombe interval, pooled z test, Cohen's h.

    ``difference`` is on the 0..1 scale (the reading shows percentage points).

    References
    ----------
    Newcombe, R. G. (1998). Statistics in Medicine 17, 873-890 (method 10). Cohen, J. (1988).
    Statistical Power Analysis for the Behavioral Sciences, 2nd ed., ch. 6 (h).

    Examples
    --------
    >>> r = compare_proportions(56, 70, 48, 80)
    >>> round(r.difference, 2), round(r.ci_lower, 4), round(r.p_value, 4)
    (0.2, 0.0524, 0.008)
    """
    check_alpha(alpha)
    check_alternative(alternative)
    label = label or metric
    text = "difference of proportions; Newcombe hybrid score interval, pooled z test; effect size Cohen's h"
    pa = x_a / n_a if n_a else math.nan
    pb = x_b / n_b if n_b else math.nan
    if _small(metric, group_a, group_b, n_a, n_b, 1, warn):
        return _nan_result(metric, comparison, group_a, group_b, pa, pb, n_a, n_b, alpha, alternative, text, label)
    lo, hi = newcombe_interval(x_a, n_a, x_b, n_b, alpha=alpha, alternative=alternative)
    z, p = pooled_z_test(x_a, n_a, x_b, n_b, alternative=alternative)
    h = cohens_h(pa, pb)
    res = {"difference": pa - pb, "ci_lower": lo, "ci_upper": hi, "statistic": z, "p_value": p}
    out = _finish(metric, label, "", comparison, group_a, group_b, pa, pb, res, alpha, alternative, h, n_a, n_b, text)
    pts = reading(label=label, unit=" percentage points", group_a=group_a, group_b=group_b,
                  difference=100 * out.difference, ci_lower=100 * out.ci_lower, ci_upper=100 * out.ci_upper,
                  ci_level=1 - alpha, p_value=out.p_value, alpha=alpha, n_a=n_a, n_b=n_b)
    return replace(out, reading=pts)


def compare_csat(data: pd.DataFrame, *, group: str, a: Any, b: Any = None, col: str = "csat", top_box: int = 2,
                 scale: tuple[int, int] = (1, 5), alpha: float = 0.05,
                 alternative: Literal["two-sided", "greater", "less"] = "two-sided",
                 cluster: str | None = None) -> ComparisonResult:
    """Compare the CSAT (top-box share) of two groups: Newcombe interval and pooled z test.

    Parameters
    ----------
    data, group, a, b, alpha, alternative, cluster
        As in :func:`compare_nps` (with ``cluster``: the difference of the top-box indicators'
        means with a cluster-robust standard error instead of Newcombe's interval).
    col, top_box, scale
        As in :func:`cxlib.metrics.csat`.

    Returns
    -------
    ComparisonResult
        ``difference`` is ``CSAT(a) - CSAT(b)`` on the 0..1 scale.

    Examples
    --------
    >>> df = pd.DataFrame({"q": ["Q4"] * 70 + ["Q3"] * 80, "csat": [5] * 56 + [2] * 14 + [4] * 48 + [3] * 32})
    >>> round(compare_csat(df, group="q", a="Q4", b="Q3").p_value, 4)
    0.008
    """
    check_alpha(alpha)
    fa, fb, ga, gb, comparison = _split(data, col=col, group=group, a=a, b=b, cluster=cluster)
    threshold = scale[1] - top_box + 1
    xa = numeric_values(fa, col, low=scale[0], high=scale[1], integer=True)
    xb = numeric_values(fb, col, low=scale[0], high=scale[1], integer=True)
    return csat_arrays((xa >= threshold).astype(float), (xb >= threshold).astype(float), group_a=ga, group_b=gb,
                       comparison=comparison, alpha=alpha, alternative=alternative,
                       clusters=_cluster_arrays(fa, fb, cluster))


def csat_arrays(ya: np.ndarray, yb: np.ndarray, *, group_a: str = "a", group_b: str = "b",
                comparison: str = "a vs b", alpha: float = 0.05, alternative: str = "two-sided",
                warn: bool = True, clusters: Clusters = None) -> ComparisonResult:
    """:func:`compare_csat` on two arrays of 0/1 satisfied indicators."""
    if clusters is None:
        return compare_proportions(int(ya.sum()), int(ya.size), int(yb.sum()), int(yb.size), metric="csat",
                                   label="CSAT", group_a=group_a, group_b=group_b, comparison=comparison, alpha=alpha,
                                   alternative=alternative, warn=warn)
    na, nb = int(ya.size), int(yb.size)
    pa = float(ya.mean()) if na else math.nan
    pb = float(yb.mean()) if nb else math.nan
    if _small("csat", group_a, group_b, na, nb, 2, warn):
        return _nan_result("csat", comparison, group_a, group_b, pa, pb, na, nb, alpha, alternative,
                           "cluster-robust difference of proportions", "CSAT")
    h = cohens_h(pa, pb)
    out = _clustered("csat", "CSAT", "", comparison, group_a, group_b, ya, yb, clusters, pa, pb, alpha, alternative,
                     h, "difference of proportions; effect size Cohen's h")
    return replace(out, reading=reading(label="CSAT", unit=" percentage points", group_a=group_a, group_b=group_b,
                                        difference=100 * out.difference, ci_lower=100 * out.ci_lower,
                                        ci_upper=100 * out.ci_upper, ci_level=1 - alpha, p_value=out.p_value,
                                        alpha=alpha, n_a=na, n_b=nb))


def compare_means(values_a: Any, values_b: Any, *, metric: str = "mean", label: str | None = None, unit: str = "",
                  group_a: str = "a", group_b: str = "b", comparison: str = "a vs b", alpha: float = 0.05,
                  alternative: str = "two-sided", warn: bool = True) -> ComparisonResult:
    """Welch's t test and interval for the difference of two means, with Hedges' g.

    Examples
    --------
    >>> r = compare_means([3, 4, 5, 6], [1, 2, 3, 4])
    >>> r.difference, round(r.p_value, 4)
    (2.0, 0.071)
    """
    check_alpha(alpha)
    check_alternative(alternative)
    xa = np.asarray(values_a, dtype=float)
    xb = np.asarray(values_b, dtype=float)
    xa, xb = xa[~np.isnan(xa)], xb[~np.isnan(xb)]
    na, nb = int(xa.size), int(xb.size)
    label = label or metric
    text = "difference of means; Welch t test and interval; effect size Hedges' g"
    est_a = float(xa.mean()) if na else math.nan
    est_b = float(xb.mean()) if nb else math.nan
    if _small(metric, group_a, group_b, na, nb, 2, warn):
        return _nan_result(metric, comparison, group_a, group_b, est_a, est_b, na, nb, alpha, alternative, text, label)
    res = welch(est_a, xa.var(ddof=1), na, est_b, xb.var(ddof=1), nb, alpha=alpha, alternative=alternative)
    g = _cohen_d(xa, xb) * (1 - 3 / (4 * (na + nb) - 9))
    return _finish(metric, label, unit, comparison, group_a, group_b, est_a, est_b, res, alpha, alternative, g,
                   na, nb, text)


def ces_arrays(xa: np.ndarray, xb: np.ndarray, *, group_a: str = "a", group_b: str = "b",
               comparison: str = "a vs b", method: CesTest = "welch", alpha: float = 0.05,
               alternative: str = "two-sided", warn: bool = True, clusters: Clusters = None) -> ComparisonResult:
    """:func:`compare_ces` on two arrays of scores (NaN-free)."""
    if clusters is not None:
        if method != "welch":
            raise ParameterError(f"method={method!r} has no cluster-robust version here; use method='welch' with "
                                 "cluster=, or drop cluster= for the rank test.")
        na, nb = int(xa.size), int(xb.size)
        est_a = float(xa.mean()) if na else math.nan
        est_b = float(xb.mean()) if nb else math.nan
        if _small("ces", group_a, group_b, na, nb, 2, warn):
            return _nan_result("ces", comparison, group_a, group_b, est_a, est_b, na, nb, alpha, alternative,
                               "cluster-robust difference of means", "CES")
        g = _cohen_d(xa, xb) * (1 - 3 / (4 * (na + nb) - 9))
        return _clustered("ces", "CES", "", comparison, group_a, group_b, xa, xb, clusters, est_a, est_b, alpha,
                          alternative, g, "difference of mean effort; effect size Hedges' g")
    if method == "welch":
        return compare_means(xa, xb, metric="ces", label="CES", group_a=group_a, group_b=group_b,
                             comparison=comparison, alpha=alpha, alternative=alternative, warn=warn)
    na, nb = int(xa.size), int(xb.size)
    est_a = float(xa.mean()) if na else math.nan
    est_b = float(xb.mean()) if nb else math.nan
    if method == "mannwhitney":
        text = ("Mann-Whitney U test (asymptotic, tie-corrected) on the ordinal scores; no interval; "
                "effect size rank-biserial r = 2 P(a > b) + P(a = b) - 1")
    else:
        text = ("Brunner-Munzel test (t approximation; statistic positive when a tends higher) on the ordinal "
                "scores; no interval; "
                "effect size relative effect P(a > b) + P(a = b)/2")
    if _small("ces", group_a, group_b, na, nb, 2, warn):
        return _nan_result("ces", comparison, group_a, group_b, est_a, est_b, na, nb, alpha, alternative, text, "CES")
    u = stats.mannwhitneyu(xa, xb, alternative=alternative, method="asymptotic")
    auc = float(u.statistic) / (na * nb)
    if method == "mannwhitney":
        res = {"difference": est_a - est_b, "ci_lower": math.nan, "ci_upper": math.nan, "statistic": u.statistic,
               "p_value": u.pvalue}
        effect = 2 * auc - 1
    else:
        bm = stats.brunnermunzel(xa, xb, alternative=alternative)
        res = {"difference": est_a - est_b, "ci_lower": math.nan, "ci_upper": math.nan, "statistic": -bm.statistic,
               "p_value": bm.pvalue, "dof": _bm_dof(xa, xb)}
        effect = auc
    return _finish("ces", "CES", "", comparison, group_a, group_b, est_a, est_b, res, alpha, alternative, effect,
                   na, nb, text)


def _bm_dof(xa: np.ndarray, xb: np.ndarray) -> float:
    """Satterthwaite degrees of freedom of the Brunner-Munzel statistic (Brunner & Munzel 2000, eq. 4.9)."""
    na, nb = xa.size, xb.size
    ranks = stats.rankdata(np.r_[xa, xb])
    ra, rb = ranks[:na], ranks[na:]
    ia, ib = stats.rankdata(xa), stats.rankdata(xb)
    sa = np.sum((ra - ia - ra.mean() + (na + 1) / 2) ** 2) / (na - 1)
    sb = np.sum((rb - ib - rb.mean() + (nb + 1) / 2) ** 2) / (nb - 1)
    num = (na * sa + nb * sb) ** 2
    den = (na * sa) ** 2 / (na - 1) + (nb * sb) ** 2 / (nb - 1)
    return float(num / den) if den > 0 else math.nan


def compare_ces(data: pd.DataFrame, *, group: str, a: Any, b: Any = None, col: str = "ces",
                method: CesTest = "welch", scale: tuple[int, int] = (1, 7), alpha: float = 0.05,
                alternative: Literal["two-sided", "greater", "less"] = "two-sided",
                cluster: str | None = None) -> ComparisonResult:
    """Compare the CES of two groups: Welch t on the means, or a rank test for the ordinal view.

    Parameters
    ----------
    method : {"welch", "mannwhitney", "brunnermunzel"}
        ``"welch"`` (default) compares mean effort with an interval; ``"mannwhitney"`` and
        ``"brunnermunzel"`` treat the 1-7 scale as ordinal and test stochastic ordering;
        Brunner-Munzel stays valid when the two spreads differ, where Mann-Whitney does not.
        Rank tests give no interval (NaN) for the mean difference they report.
    data, group, a, b, col, scale, alpha, alternative, cluster
        As in :func:`compare_nps` (lower CES is better: ``"less"`` tests that ``a`` is easier);
        ``cluster`` works with ``method="welch"`` only.

    References
    ----------
    Brunner, E. & Munzel, U. (2000). The nonparametric Behrens-Fisher problem. Biometrical Journal 42, 17-25.

    Examples
    --------
    >>> df = pd.DataFrame({"q": ["x"] * 6 + ["y"] * 6, "ces": [1, 2, 2, 3, 3, 4, 3, 4, 4, 5, 5, 6]})
    >>> r = compare_ces(df, group="q", a="x", b="y")
    >>> r.difference, round(r.p_value, 4)
    (-2.0, 0.008)
    """
    check_choice("method", method, ("welch", "mannwhitney", "brunnermunzel"))
    check_alpha(alpha)
    check_alternative(alternative)
    fa, fb, ga, gb, comparison = _split(data, col=col, group=group, a=a, b=b, cluster=cluster)
    xa = numeric_values(fa, col, low=scale[0], high=scale[1], integer=True)
    xb = numeric_values(fb, col, low=scale[0], high=scale[1], integer=True)
    return ces_arrays(xa, xb, group_a=ga, group_b=gb, comparison=comparison, method=method, alpha=alpha,
                      alternative=alternative, clusters=_cluster_arrays(fa, fb, cluster))


def _pairs(levels: list[Any], against: str, baseline: Any) -> list[tuple[Any, Any]]:
    if against == "rest":
        return [(g, None) for g in levels]
    if against == "baseline":
        if baseline is None or baseline not in levels:
            raise ParameterError(f"against='baseline' needs baseline= one of {levels}; found {baseline!r}.")
        return [(g, baseline) for g in levels if g != baseline]
    return list(itertools.combinations(levels, 2))


def pairwise(data: pd.DataFrame, *, metric: Literal["nps", "csat", "ces"], group: str,
             against: Against = "rest", baseline: Any = None, col: str | None = None, method: str | None = None,
             padjust: Literal["holm", "fdr_bh", "bonferroni", "none"] = "holm", alpha: float = 0.05,
             alternative: Literal["two-sided", "greater", "less"] = "two-sided",
             cluster: str | None = None) -> pd.DataFrame:
    """Compare every segment with the rest, with a baseline, or every pair, with multiple-testing control.

    Parameters
    ----------
    data : DataFrame
        Survey responses with ``group`` and the metric's column.
    metric : {"nps", "csat", "ces"}
        Which metric; ``col`` defaults to the metric's name and ``method`` to its default test.
    group : str
        Segment column (``"loyalty_tier"``, ``"region"``, ``"touchpoint"``...).
    against : {"rest", "baseline", "all"}
        Each segment against all other respondents (default), against ``baseline``, or all pairs.
    padjust : {"holm", "fdr_bh", "bonferroni", "none"}
        Correction for the family of comparisons in this call (Holm controls the family-wise error
        rate; Benjamini-Hochberg the false discovery rate). Comparisons that could not be run (a
        segment with too few responses) have NaN p-values and are left out of the family, so they do
        not inflate the others' adjustment.
    alpha, alternative, cluster
        As in :func:`compare_nps`; pass ``cluster="customer_id"`` when customers answer repeatedly.

    Returns
    -------
    DataFrame
        One row per comparison with the columns of :data:`~cxlib.significance.COMPARISON_COLUMNS`; ``p_adjusted`` filled.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"tier": np.repeat(["bronze", "silver", "gold"], 200),
    ...                    "nps": rng.integers(0, 11, 600)})
    >>> out = pairwise(df, metric="nps", group="tier")
    >>> out["group_a"].tolist(), bool((out["p_adjusted"] >= out["p_value"]).all())
    (['bronze', 'gold', 'silver'], True)
    """
    check_choice("metric", metric, METRICS)
    check_choice("against", against, ("rest", "baseline", "all"))
    check_alpha(alpha)
    check_alternative(alternative)
    col = col or metric
    frame = as_frame(data, col)
    for name in (group, cluster):
        if name is not None and name not in frame.columns:
            raise DataContractError(f"Column {name!r} is missing; the frame has {list(frame.columns)}.",
                                    column=name, rule="column present")
    frame = frame[frame[col].notna() & frame[group].notna()]
    levels = sorted(frame[group].unique().tolist(), key=str)
    rows, skipped = [], []
    for a, b in _pairs(levels, against, baseline):
        fa, fb, ga, gb, comparison = _split(frame, col=col, group=group, a=a, b=b)
        r = _dispatch(metric, fa, fb, col=col, group_a=ga, group_b=gb, comparison=comparison, method=method,
                      alpha=alpha, alternative=alternative, clusters=_cluster_arrays(fa, fb, cluster))
        if math.isnan(r.p_value):
            skipped.append(f"{ga} (n = {r.n_a}) vs {gb} (n = {r.n_b})")
        rows.append(r.to_frame())
    if skipped:
        warnings.warn(f"pairwise {metric} by {group}: {len(skipped)} comparison(s) had too few responses and are "
                      f"left out of the {padjust} correction: {'; '.join(skipped)}.", SmallSampleWarning, stacklevel=2)
    if not rows:
        return pd.DataFrame(columns=list(COMPARISON_COLUMNS))
    out = pd.concat(rows, ignore_index=True)
    out["p_adjusted"] = adjust_pvalues(out["p_value"].to_numpy(dtype=float), method=padjust)
    names = {"holm": "Holm", "fdr_bh": "Benjamini-Hochberg", "bonferroni": "Bonferroni", "none": "no"}
    out["method"] = out["method"] + f"; {names[padjust]} adjustment over {int(out['p_value'].notna().sum())} tests"
    return out


def _dispatch(metric: str, fa: pd.DataFrame, fb: pd.DataFrame, *, col: str, group_a: str, group_b: str,
              comparison: str, method: str | None, alpha: float, alternative: str,
              clusters: Clusters = None) -> ComparisonResult:
    kw = {"group_a": group_a, "group_b": group_b, "comparison": comparison, "alpha": alpha,
          "alternative": alternative, "warn": False, "clusters": clusters}
    if metric == "nps":
        m = check_choice("method", method or "adjusted_wald", ("adjusted_wald", "welch"))
        return nps_arrays(numeric_values(fa, col, low=0, high=10, integer=True),
                          numeric_values(fb, col, low=0, high=10, integer=True), method=m, **kw)
    if metric == "ces":
        m = check_choice("method", method or "welch", ("welch", "mannwhitney", "brunnermunzel"))
        return ces_arrays(numeric_values(fa, col, low=1, high=7, integer=True),
                          numeric_values(fb, col, low=1, high=7, integer=True), method=m, **kw)
    if method not in (None, "newcombe"):
        raise ParameterError(f"method={method!r} is not allowed for csat; choose 'newcombe' (or leave it None).")
    xa = numeric_values(fa, col, low=1, high=5, integer=True)
    xb = numeric_values(fb, col, low=1, high=5, integer=True)
    return csat_arrays((xa >= 4).astype(float), (xb >= 4).astype(float), **kw)
