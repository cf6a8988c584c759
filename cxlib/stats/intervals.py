"""Confidence intervals: Wilson, NPS (adjusted Wald), Student-t mean, median, Newcombe difference.

Vectorised over numpy arrays, so that the simulation tests (coverage over thousands of
replicates) run the exact code the notebooks run.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from ..errors import check_choice
from .critical import check_alpha, check_alternative, z_value

__all__ = ["NPS_PSEUDO_COUNT", "median_interval", "median_rank_bounds", "newcombe_interval", "nps_interval",
           "t_interval_mean", "wilson_interval"]

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


def median_rank_bounds(n: Any, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """1-based order-statistic ranks ``(l, u)`` whose values bracket the median with coverage >= 1 - alpha.

    Vectorised over ``n``; ranks are 0 where ``n`` is too small for the requested coverage (no
    interval). :func:`median_interval` takes the values at these ranks.

    Notes
    -----
    With :math:`B \\sim \\mathrm{Binomial}(n, 1/2)`, :math:`l` is the largest rank with
    :math:`P(B \\le l - 1) \\le \\alpha/2` and :math:`u = n - l + 1`; the interval
    :math:`[x_{(l)}, x_{(u)}]` covers the median with probability at least :math:`1 - \\alpha`.

    References
    ----------
    Conover, W. J. (1999). Practical Nonparametric Statistics, 3rd ed., section 3.2.

    Examples
    --------
    >>> median_rank_bounds(np.array([20]))
    (array([6]), array([15]))
    """
    check_alpha(alpha)
    n = np.asarray(n, dtype=int)
    lo = stats.binom.ppf(alpha / 2, n, 0.5).astype(int)  # smallest k with cdf(k) >= alpha/2
    # P(B <= lo - 1) < alpha/2 <= P(B <= lo); step up where the cdf sits exactly on alpha/2
    lo = np.where(stats.binom.cdf(lo, n, 0.5) <= alpha / 2, lo + 1, lo)
    up = n - lo + 1
    ok = (lo >= 1) & (up <= n) & (lo <= up)
    return np.where(ok, lo, 0), np.where(ok, up, 0)


def median_interval(values: Any, *, alpha: float = 0.05) -> tuple[float, float]:
    """Distribution-free interval for a median from order statistics (:func:`median_rank_bounds`).

    NaN when there are too few values for the coverage (``n < 6`` at 95%).

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
    if x.size == 0:
        return math.nan, math.nan
    lo, up = median_rank_bounds(x.size, alpha)
    if lo < 1:
        return math.nan, math.nan
    return float(x[int(lo) - 1]), float(x[int(up) - 1])


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
