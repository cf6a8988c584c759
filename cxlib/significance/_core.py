"""The comparison result, the vectorised two-sample formulas and the p-value adjustments.

Conventions: ``difference = estimate_a - estimate_b`` (``b`` is the reference: the comparison
period, the rest of the customers, the baseline segment); ``alternative="greater"`` means
``a > b``. Intervals and p-values come from the same statistic, so a two-sided interval
excludes zero exactly when ``p < alpha``.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import ParameterError, check_choice
from ..metrics._core import check_alpha, wilson_interval

#: Columns of every comparison (test) result, in this order, whatever the test or its arguments.
TEST_COLUMNS = ("metric", "comparison", "group_a", "group_b", "estimate_a", "estimate_b", "difference",
                "ci_lower", "ci_upper", "ci_level", "statistic", "dof", "p_value", "p_adjusted", "alternative",
                "effect_size", "n_a", "n_b", "method", "reading")

Alternative = Literal["two-sided", "greater", "less"]
ALTERNATIVES = ("two-sided", "greater", "less")
PAdjust = Literal["holm", "fdr_bh", "bonferroni", "none"]
PADJUST_METHODS = ("holm", "fdr_bh", "bonferroni", "none")


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
        """This result as a one-row frame with the columns of :data:`TEST_COLUMNS`."""
        return pd.DataFrame([asdict(self)], columns=list(TEST_COLUMNS))

    def significant(self, alpha: float | None = None) -> bool | None:
        """``p_adjusted`` (else ``p_value``) below ``alpha`` (default ``1 - ci_level``); None without a p-value."""
        p = self.p_adjusted if not math.isnan(self.p_adjusted) else self.p_value
        if math.isnan(p):
            return None
        return bool(p < (1 - self.ci_level if alpha is None else alpha))

    def __str__(self) -> str:
        return self.reading or repr(self)


def check_alternative(alternative: str) -> str:
    """Check ``alternative`` against :data:`ALTERNATIVES`."""
    return check_choice("alternative", alternative, ALTERNATIVES)


def z_test(estimate: Any, se: Any, *, alpha: float = 0.05, alternative: str = "two-sided"
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Wald z statistic, p-value and interval (vectorised); returns ``(z, p, lower, upper)``.

    >>> z, p, lo, hi = z_test(2.0, 1.0)
    >>> round(float(p), 4), round(float(lo), 3)
    (0.0455, 0.04)
    """
    check_alpha(alpha)
    check_alternative(alternative)
    est = np.asarray(estimate, dtype=float)
    se = np.asarray(se, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = est / se
    return (z, *_p_and_ci(z, est, se, stats.norm, alpha, alternative))


def t_test(estimate: Any, se: Any, dof: Any, *, alpha: float = 0.05, alternative: str = "two-sided"
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Student t statistic, p-value and interval (vectorised); returns ``(t, p, lower, upper)``.

    >>> t, p, lo, hi = t_test(2.0, 1.0, 10)
    >>> round(float(p), 4)
    0.0734
    """
    check_alpha(alpha)
    check_alternative(alternative)
    est = np.asarray(estimate, dtype=float)
    se = np.asarray(se, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = est / se
    return (t, *_p_and_ci(t, est, se, stats.t(np.asarray(dof, dtype=float)), alpha, alternative))


def _p_and_ci(stat: np.ndarray, est: np.ndarray, se: np.ndarray, dist: Any, alpha: float,
              alternative: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if alternative == "two-sided":
        p = 2 * dist.sf(np.abs(stat))
        q = dist.ppf(1 - alpha / 2)
        return p, est - q * se, est + q * se
    q = dist.ppf(1 - alpha)
    if alternative == "greater":
        return dist.sf(stat), est - q * se, np.full_like(est, np.inf)
    return dist.cdf(stat), np.full_like(est, -np.inf), est + q * se


def welch(mean_a: Any, var_a: Any, n_a: Any, mean_b: Any, var_b: Any, n_b: Any, *, alpha: float = 0.05,
          alternative: str = "two-sided") -> dict[str, np.ndarray]:
    """Welch's unequal-variance t test from summary statistics (vectorised).

    Returns
    -------
    dict
        ``difference, se, statistic, dof, p_value, ci_lower, ci_upper``.

    Notes
    -----
    :math:`t = (\\bar a - \\bar b)/\\sqrt{s_a^2/n_a + s_b^2/n_b}` with the Welch-Satterthwaite
    degrees of freedom :math:`\\nu = (s_a^2/n_a + s_b^2/n_b)^2 / [ (s_a^2/n_a)^2/(n_a-1) + (s_b^2/n_b)^2/(n_b-1) ]`.

    References
    ----------
    Welch, B. L. (1947). The generalization of "Student's" problem when several different population
    variances are involved. Biometrika 34, 28-35.

    Examples
    --------
    >>> r = welch(5.0, 4.0, 20, 4.0, 1.0, 20)
    >>> round(float(r["statistic"]), 4), round(float(r["dof"]), 2)
    (2.0, 27.94)
    """
    va = np.asarray(var_a, dtype=float) / np.asarray(n_a, dtype=float)
    vb = np.asarray(var_b, dtype=float) / np.asarray(n_b, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        dof = (va + vb) ** 2 / (va**2 / (np.asarray(n_a) - 1) + vb**2 / (np.asarray(n_b) - 1))
    diff = np.asarray(mean_a, dtype=float) - np.asarray(mean_b, dtype=float)
    se = np.sqrt(va + vb)
    t, p, lo, hi = t_test(diff, se, dof, alpha=alpha, alternative=alternative)
    return {"difference": diff, "se": se, "statistic": t, "dof": dof, "p_value": p, "ci_lower": lo, "ci_upper": hi}


def cluster_mean_difference(y_a: Any, clusters_a: Any, y_b: Any, clusters_b: Any, *, alpha: float = 0.05,
                            alternative: str = "two-sided") -> dict[str, np.ndarray]:
    r"""Difference of two means with a cluster-robust (CR1) standard error.

    Use it when observations are grouped in clusters, e.g. customers who answer the survey several
    times: their answers are correlated, so the usual standard error is too small. Clusters may
    appear in both groups (the same customers in two periods); the covariance is then accounted for.

    Parameters
    ----------
    y_a, y_b : array_like
        Observations of each group (NaN-free).
    clusters_a, clusters_b : array_like
        Cluster label of each observation (same labels mean the same cluster across groups).

    Returns
    -------
    dict
        ``difference, se, statistic, dof, p_value, ci_lower, ci_upper``; t with ``G - 1`` degrees of
        freedom, ``G`` the number of clusters.

    Notes
    -----
    The difference is the OLS slope of :math:`y` on the group indicator; its influence values are
    :math:`\psi_i = (y_i - \bar y_a)/n_a` in group a and :math:`-(y_i - \bar y_b)/n_b` in group b, and

    .. math:: \widehat{\mathrm{Var}} = \frac{G}{G-1}\frac{N-1}{N-2}\sum_{c=1}^{G}\Big(\sum_{i \in c}\psi_i\Big)^2,

    the CR1 sandwich of statsmodels' ``cov_type="cluster"``.

    References
    ----------
    Cameron, A. C. & Miller, D. L. (2015). A practitioner's guide to cluster-robust inference.
    Journal of Human Resources 50(2), 317-372.

    Examples
    --------
    >>> r = cluster_mean_difference([1.0, 2.0, 3.0, 4.0], ["a", "a", "b", "c"], [0.0, 1.0, 1.0], ["d", "e", "e"])
    >>> round(float(r["difference"]), 4), int(r["dof"])
    (1.8333, 4)
    """
    ya, yb = np.asarray(y_a, dtype=float), np.asarray(y_b, dtype=float)
    na, nb = ya.size, yb.size
    psi = np.r_[(ya - ya.mean()) / na, -(yb - yb.mean()) / nb]
    ca, cb = np.asarray(clusters_a), np.asarray(clusters_b)
    if ca.dtype.kind in "iu" and cb.dtype.kind in "iu":
        # integer labels (e.g. codes from one factorisation of the customer ids): hashed as int64, not as
        # Python objects; codes follow first appearance either way, so the sums (and their order) are the same
        codes = pd.factorize(np.r_[ca.astype(np.int64), cb.astype(np.int64)])[0]
    else:
        labels = np.r_[np.asarray(clusters_a, dtype=object), np.asarray(clusters_b, dtype=object)]
        codes = pd.factorize(pd.Series(labels))[0]
    sums = np.bincount(codes, weights=psi)
    g, n = sums.size, na + nb
    var = g / (g - 1) * (n - 1) / (n - 2) * np.sum(sums**2) if g > 1 and n > 2 else np.nan
    diff = ya.mean() - yb.mean()
    t, p, lo, hi = t_test(diff, np.sqrt(var), g - 1, alpha=alpha, alternative=alternative)
    return {"difference": np.asarray(diff), "se": np.sqrt(var), "statistic": t, "dof": np.asarray(g - 1.0),
            "p_value": p, "ci_lower": lo, "ci_upper": hi}


def nps_difference(promoters_a: Any, detractors_a: Any, n_a: Any, promoters_b: Any, detractors_b: Any, n_b: Any,
                   *, alpha: float = 0.05, alternative: str = "two-sided",
                   pseudo: float = 1.5) -> dict[str, np.ndarray]:
    """Adjusted-Wald test and interval for the difference of two independent NPS (vectorised, -1..1 scale).

    Parameters
    ----------
    promoters_a, detractors_a, n_a, promoters_b, detractors_b, n_b : array_like
        Counts per group.
    pseudo : float
        Pseudo-respondents added to *each* group (a quarter promoters, a quarter detractors, half
        passives). The default 1.5 splits Rocks' (2016) three pseudo-respondents of the
        one-sample interval between the two groups, as Agresti & Caffo (2000) do for the
        difference of two proportions; ``pseudo=0`` is the plain Wald test.

    Returns
    -------
    dict
        ``difference`` (raw, unadjusted), ``se``, ``statistic`` (z), ``p_value``, ``ci_lower``,
        ``ci_upper`` (from the adjusted difference and its standard error).

    Notes
    -----
    With :math:`p'_g = (P_g + T/4)/(n_g + T)` and :math:`d'_g = (D_g + T/4)/(n_g + T)`,
    :math:`\\Delta' = (p'_a - d'_a) - (p'_b - d'_b)` and
    :math:`\\mathrm{se} = \\sqrt{\\sum_g [p'_g + d'_g - (p'_g - d'_g)^2]/(n_g + T)}`;
    :math:`z = \\Delta'/\\mathrm{se}`. The interval :math:`\\Delta' \\pm z_{1-\\alpha/2}\\,\\mathrm{se}` is widened,
    where needed, to contain the observed difference: the pseudo-counts pull :math:`\\Delta'` towards 0,
    and at low confidence levels with extreme samples (2 promoters of 2 against 2 detractors of 2 at
    90%) the interval alone would stop short of it. Widening moves only the end away from 0, so the
    interval still excludes 0 exactly when the two-sided p-value is below ``alpha``.

    References
    ----------
    Rocks, B. (2016). Interval estimation for the "Net Promoter Score". The American Statistician 70(4).
    Agresti, A. & Caffo, B. (2000). Simple and effective confidence intervals for proportions and
    differences of proportions result from adding two successes and two failures. Am. Stat. 54(4).

    Examples
    --------
    >>> r = nps_difference(60, 20, 100, 45, 25, 100)
    >>> round(float(r["difference"]), 2), round(float(r["p_value"]), 4)
    (0.2, 0.0815)
    """
    out = {}
    parts = []
    for prom, det, n in ((promoters_a, detractors_a, n_a), (promoters_b, detractors_b, n_b)):
        n = np.asarray(n, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            raw = (np.asarray(prom, dtype=float) - np.asarray(det, dtype=float)) / n
            p = (np.asarray(prom, dtype=float) + pseudo / 4) / (n + pseudo)
            d = (np.asarray(det, dtype=float) + pseudo / 4) / (n + pseudo)
            parts.append((raw, p - d, (p + d - (p - d) ** 2) / (n + pseudo)))
    (raw_a, adj_a, var_a), (raw_b, adj_b, var_b) = parts
    se = np.sqrt(var_a + var_b)
    z, p, lo, hi = z_test(adj_a - adj_b, se, alpha=alpha, alternative=alternative)
    raw = raw_a - raw_b  # the interval is widened where needed to contain it (see Notes)
    out.update(difference=raw, se=se, statistic=z, p_value=p, ci_lower=np.clip(np.fmin(lo, raw), -2, 2),
               ci_upper=np.clip(np.fmax(hi, raw), -2, 2))
    return out


def newcombe_interval(x_a: Any, n_a: Any, x_b: Any, n_b: Any, *, alpha: float = 0.05,
                      alternative: str = "two-sided") -> tuple[np.ndarray, np.ndarray]:
    """Newcombe's hybrid score interval for ``p_a - p_b`` (vectorised).

    Notes
    -----
    With Wilson intervals :math:`(l_g, u_g)` around :math:`\\hat p_g` and :math:`\\hat\\delta = \\hat p_a - \\hat p_b`:
    lower :math:`\\hat\\delta - \\sqrt{(\\hat p_a - l_a)^2 + (u_b - \\hat p_b)^2}`,
    upper :math:`\\hat\\delta + \\sqrt{(u_a - \\hat p_a)^2 + (\\hat p_b - l_b)^2}`.
    One-sided alternatives use the Wilson intervals at level ``1 - 2 alpha`` for the finite end.

    References
    ----------
    Newcombe, R. G. (1998). Interval estimation for the difference between independent proportions:
    comparison of eleven methods. Statistics in Medicine 17, 873-890 (method 10).

    Examples
    --------
    >>> lo, hi = newcombe_interval(56, 70, 48, 80)
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.0524, 0.3339)
    """
    check_alternative(alternative)
    level = alpha if alternative == "two-sided" else 2 * alpha
    la, ua = wilson_interval(x_a, n_a, alpha=level)
    lb, ub = wilson_interval(x_b, n_b, alpha=level)
    with np.errstate(divide="ignore", invalid="ignore"):
        pa = np.asarray(x_a, dtype=float) / np.asarray(n_a, dtype=float)
        pb = np.asarray(x_b, dtype=float) / np.asarray(n_b, dtype=float)
    d = pa - pb
    lo = d - np.sqrt((pa - la) ** 2 + (ub - pb) ** 2)
    hi = d + np.sqrt((ua - pa) ** 2 + (pb - lb) ** 2)
    if alternative == "greater":
        hi = np.full_like(d, np.inf)
    elif alternative == "less":
        lo = np.full_like(d, -np.inf)
    return lo, hi


def pooled_z_test(x_a: Any, n_a: Any, x_b: Any, n_b: Any, *,
                  alternative: str = "two-sided") -> tuple[np.ndarray, np.ndarray]:
    """Two-proportion z test with the pooled variance under H0 (vectorised); returns ``(z, p)``.

    Notes
    -----
    :math:`z = (\\hat p_a - \\hat p_b)/\\sqrt{\\bar p(1-\\bar p)(1/n_a + 1/n_b)}` with
    :math:`\\bar p = (x_a + x_b)/(n_a + n_b)`; equal to the Pearson chi-square test of the 2x2 table
    without continuity correction.

    Examples
    --------
    >>> z, p = pooled_z_test(56, 70, 48, 80)
    >>> round(float(z), 4), round(float(p), 4)
    (2.6502, 0.008)
    """
    check_alternative(alternative)
    xa, na, xb, nb = (np.asarray(v, dtype=float) for v in (x_a, n_a, x_b, n_b))
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = (xa + xb) / (na + nb)
        z = (xa / na - xb / nb) / np.sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb))
    if alternative == "two-sided":
        return z, 2 * stats.norm.sf(np.abs(z))
    return z, (stats.norm.sf(z) if alternative == "greater" else stats.norm.cdf(z))


def adjust_pvalues(p_values: Any, *, method: PAdjust = "holm") -> np.ndarray:
    """Adjust p-values for multiple testing; NaNs are left out of the family and stay NaN.

    Parameters
    ----------
    p_values : array_like
        Raw p-values (NaN for tests that could not be run).
    method : {"holm", "fdr_bh", "bonferroni", "none"}
        Holm's step-down (family-wise error, valid under any dependence; the default),
        Benjamini-Hochberg (false discovery rate), Bonferroni, or none.

    Notes
    -----
    With the :math:`m` non-missing p-values sorted, :math:`p_{(1)} \\le \\dots \\le p_{(m)}`:
    Holm :math:`\\tilde p_{(i)} = \\max_{j \\le i} \\min\\{1, (m - j + 1) p_{(j)}\\}`;
    BH :math:`\\tilde p_{(i)} = \\min_{j \\ge i} \\min\\{1, m p_{(j)}/j\\}`.

    References
    ----------
    Holm, S. (1979). Scand. J. Statist. 6, 65-70. Benjamini, Y. & Hochberg, Y. (1995). JRSS B 57, 289-300.

    Examples
    --------
    >>> adjust_pvalues([0.01, np.nan, 0.04, 0.03]).tolist()
    [0.03, nan, 0.06, 0.06]
    """
    check_choice("method", method, PADJUST_METHODS)
    p = np.asarray(p_values, dtype=float).copy()
    if p.ndim != 1:
        raise ParameterError(f"p_values must be one-dimensional; found shape {p.shape}.")
    ok = ~np.isnan(p)
    if np.any((p[ok] < 0) | (p[ok] > 1)):
        raise ParameterError(f"p-values must lie in [0, 1]; found {p[ok][(p[ok] < 0) | (p[ok] > 1)][:5].tolist()}.")
    q = p[ok]
    m = q.size
    if m == 0 or method == "none":
        return p
    order = np.argsort(q, kind="stable")
    sorted_p = q[order]
    if method == "bonferroni":
        adj_sorted = np.minimum(1.0, m * sorted_p)
    elif method == "holm":
        adj_sorted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * sorted_p))
    else:
        adj_sorted = np.minimum(1.0, np.minimum.accumulate((m * sorted_p / np.arange(1, m + 1))[::-1])[::-1])
    adjusted = np.empty(m)
    adjusted[order] = adj_sorted
    p[ok] = adjusted
    return p


def fmt(value: float, digits: int = 3) -> str:
    """A number for a reading sentence (``"nan"`` stays readable as "n/a")."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.{digits}g}"


def fmt_p(p: float) -> str:
    """``"p = 0.032"`` or ``"p < 0.001"``."""
    if p is None or math.isnan(p):
        return "no p-value"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


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
    size = fmt(abs(difference)) + unit if difference != 0 else ""
    verdict = ("significant" if p_value < alpha else "not significant") if not math.isnan(p_value) else "untested"
    ci = (f"{100 * ci_level:g}% CI {fmt(ci_lower)} to {fmt(ci_upper)}, " if not math.isnan(ci_lower) else "")
    return (f"{label} is {size + ' ' if size else ''}{direction} in {group_a} (n = {n_a}) than in {group_b} "
            f"(n = {n_b}); {ci}{fmt_p(p_value)}: {verdict} at alpha = {alpha:g}.")
