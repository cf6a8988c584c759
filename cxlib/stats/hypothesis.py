"""Two-sample tests from summary statistics: Wald z and Student t, Welch, cluster-robust means, NPS, proportions.

Conventions: ``difference = estimate_a - estimate_b`` (``b`` is the reference);
``alternative="greater"`` means ``a > b``. Intervals and p-values come from the same statistic,
so a two-sided interval excludes zero exactly when ``p < alpha``. Vectorised over numpy arrays.
"""
from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import check_choice
from .critical import check_alpha, check_alternative

__all__ = ["ZeroVariance", "cluster_mean_difference", "cohens_h", "nps_difference", "pooled_z_test", "t_test",
           "welch", "z_test"]

ZeroVariance = Literal["nan", "no_difference"]


def z_test(estimate: Any, se: Any, *, alpha: float = 0.05, alternative: str = "two-sided"
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Wald z statistic, p-value and interval (vectorised); returns ``(z, p, lower, upper)``.

    >>> z, p, lo, hi = z_test(2.0, 1.0)
    >>> round(float(p), 4), round(float(lo), 3)
    (0.0455, 0.04)
    """
    return _wald(estimate, se, stats.norm, alpha, alternative)


def t_test(estimate: Any, se: Any, dof: Any, *, alpha: float = 0.05, alternative: str = "two-sided"
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Student t statistic, p-value and interval (vectorised); returns ``(t, p, lower, upper)``.

    >>> t, p, lo, hi = t_test(2.0, 1.0, 10)
    >>> round(float(p), 4)
    0.0734
    """
    return _wald(estimate, se, stats.t(np.asarray(dof, dtype=float)), alpha, alternative)


def _wald(estimate: Any, se: Any, dist: Any, alpha: float, alternative: str
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``estimate / se`` referred to ``dist`` (a frozen or standard SciPy distribution): statistic, p, interval."""
    check_alpha(alpha)
    check_alternative(alternative)
    est = np.asarray(estimate, dtype=float)
    se = np.asarray(se, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = est / se
    if alternative == "two-sided":
        q = dist.ppf(1 - alpha / 2)
        return stat, 2 * dist.sf(np.abs(stat)), est - q * se, est + q * se
    q = dist.ppf(1 - alpha)
    if alternative == "greater":
        return stat, dist.sf(stat), est - q * se, np.full_like(est, np.inf)
    return stat, dist.cdf(stat), np.full_like(est, -np.inf), est + q * se


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


def pooled_z_test(x_a: Any, n_a: Any, x_b: Any, n_b: Any, *, alternative: str = "two-sided",
                  zero_variance: ZeroVariance = "nan") -> tuple[np.ndarray, np.ndarray]:
    """Two-proportion z test with the pooled variance under H0 (vectorised); returns ``(z, p)``.

    Parameters
    ----------
    x_a, n_a, x_b, n_b : array_like
        Successes and trials of each group.
    alternative : {"two-sided", "greater", "less"}
        ``"greater"`` tests ``p_a > p_b``.
    zero_variance : {"nan", "no_difference"}
        What to report where the pooled standard error is zero or undefined (both groups all
        successes or all failures, or an empty group): ``"nan"`` (default) leaves the test undefined;
        ``"no_difference"`` reads equal sample proportions (an empty group counting as 0) as
        ``z = 0`` (p = 1 two-sided) and anything else as NaN, the convention of the journey
        funnels and fail points, where a step nobody passes in either group is "no difference".

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
    >>> z, p = pooled_z_test(0, 10, 0, 12, zero_variance="no_difference")
    >>> float(z), float(p)
    (0.0, 1.0)
    """
    check_alternative(alternative)
    check_choice("zero_variance", zero_variance, ("nan", "no_difference"))
    xa, na, xb, nb = (np.asarray(v, dtype=float) for v in (x_a, n_a, x_b, n_b))
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = (xa + xb) / (na + nb)
        se = np.sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb))
        z = (xa / na - xb / nb) / se
    if zero_variance == "no_difference":
        same = np.isclose(xa / np.maximum(na, 1), xb / np.maximum(nb, 1))
        z = np.where(se > 0, z, np.where(same, 0.0, np.nan))
    if alternative == "two-sided":
        return z, 2 * stats.norm.sf(np.abs(z))
    return z, (stats.norm.sf(z) if alternative == "greater" else stats.norm.cdf(z))


def cohens_h(p_a: Any, p_b: Any) -> np.ndarray:
    """Cohen's h, the difference of two proportions on the arcsine scale (vectorised).

    Notes
    -----
    :math:`h = 2\\arcsin\\sqrt{p_a} - 2\\arcsin\\sqrt{p_b}`, proportions clipped to [0, 1]; 0.2, 0.5
    and 0.8 are Cohen's small, medium and large effects.

    References
    ----------
    Cohen, J. (1988). Statistical Power Analysis for the Behavioral Sciences, 2nd ed., chapter 6.

    Examples
    --------
    >>> round(float(cohens_h(0.8, 0.6)), 4)
    0.4421
    """
    p_a = np.clip(np.asarray(p_a, dtype=float), 0, 1)
    p_b = np.clip(np.asarray(p_b, dtype=float), 0, 1)
    return 2 * np.arcsin(np.sqrt(p_a)) - 2 * np.arcsin(np.sqrt(p_b))
