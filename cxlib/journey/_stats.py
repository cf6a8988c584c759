"""Small interval and testing formulas shared by the journey modules (vectorised over numpy arrays)."""
from __future__ import annotations

import numpy as np
from scipy import stats

from ..errors import ParameterError
from ..metrics._core import wilson_interval
from ..significance._core import adjust_pvalues, newcombe_interval


def check_alpha(alpha: float) -> float:
    """Return ``alpha`` after checking ``0 < alpha < 1``."""
    if not (isinstance(alpha, (int, float)) and 0 < float(alpha) < 1):
        raise ParameterError(f"alpha={alpha!r} must be a number strictly between 0 and 1 (for example 0.05).")
    return float(alpha)


def wilson(k, n, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for ``k`` successes out of ``n`` (NaN where ``n == 0``).

    The workbook's one implementation, :func:`cxlib.metrics._core.wilson_interval`, as arrays.

    >>> lo, hi = wilson(np.array([5.0]), np.array([10.0]))
    >>> round(float(lo[0]), 4), round(float(hi[0]), 4)
    (0.2366, 0.7634)
    """
    lo, hi = wilson_interval(np.asarray(k, dtype=float), np.asarray(n, dtype=float), alpha=alpha)
    return np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)


def newcombe(k1, n1, k2, n2, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Newcombe (1998, method 10) hybrid Wilson interval for ``p1 - p2``.

    The workbook's one implementation, :func:`cxlib.significance._core.newcombe_interval`.

    >>> lo, hi = newcombe(np.array([56.0]), np.array([70.0]), np.array([48.0]), np.array([80.0]))
    >>> round(float(lo[0]), 4), round(float(hi[0]), 4)
    (0.0524, 0.3339)
    """
    k1, n1, k2, n2 = (np.asarray(a, dtype=float) for a in (k1, n1, k2, n2))
    lo, hi = newcombe_interval(k1, n1, k2, n2, alpha=alpha)
    return np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)


def two_proportion_z(k1, n1, k2, n2, alternative: str = "two-sided") -> tuple[np.ndarray, np.ndarray]:
    """Pooled two-proportion z statistic for ``p1 - p2`` and its p-value."""
    k1, n1, k2, n2 = (np.asarray(a, dtype=float) for a in (k1, n1, k2, n2))
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = (k1 + k2) / (n1 + n2)
        se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        z = (k1 / n1 - k2 / n2) / se
    z = np.where(se > 0, z, np.where(np.isclose(k1 / np.maximum(n1, 1), k2 / np.maximum(n2, 1)), 0.0, np.nan))
    if alternative == "greater":
        p = stats.norm.sf(z)
    elif alternative == "less":
        p = stats.norm.cdf(z)
    else:
        p = 2 * stats.norm.sf(np.abs(z))
    return z, p


def cohens_h(p1, p2) -> np.ndarray:
    """Cohen's h = 2 asin(sqrt p1) - 2 asin(sqrt p2) (Cohen 1988, ch. 6)."""
    p1 = np.clip(np.asarray(p1, dtype=float), 0, 1)
    p2 = np.clip(np.asarray(p2, dtype=float), 0, 1)
    return 2 * np.arcsin(np.sqrt(p1)) - 2 * np.arcsin(np.sqrt(p2))


def holm(p) -> np.ndarray:
    """Holm (1979) step-down adjusted p-values (NaN stays NaN); see :func:`cxlib.significance._core.adjust_pvalues`.

    >>> holm(np.array([0.01, 0.04, 0.03])).round(3).tolist()
    [0.03, 0.06, 0.06]
    """
    return adjust_pvalues(np.atleast_1d(np.asarray(p, dtype=float)), method="holm")


def benjamini_hochberg(p) -> np.ndarray:
    """Benjamini-Hochberg (1995) step-up adjusted p-values (NaN stays NaN); see ``adjust_pvalues``.

    >>> benjamini_hochberg(np.array([0.01, 0.04, 0.03])).round(3).tolist()
    [0.03, 0.04, 0.04]
    """
    return adjust_pvalues(np.atleast_1d(np.asarray(p, dtype=float)), method="fdr_bh")


def median_rank_bounds(n, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """1-based order-statistic ranks ``(l, u)`` whose values bracket the median with coverage >= 1 - alpha.

    Distribution-free interval (Conover 1999, sec. 3.2): ``l`` is the largest rank with
    ``P(Bin(n, 1/2) < l) <= alpha/2`` and ``u = n - l + 1``.  Ranks are 0 where ``n`` is too small
    for the requested coverage (no interval).

    >>> median_rank_bounds(np.array([20]))
    (array([6]), array([15]))
    """
    n = np.asarray(n, dtype=int)
    lo = stats.binom.ppf(alpha / 2, n, 0.5).astype(int)  # smallest k with cdf(k) >= alpha/2
    # P(X <= lo - 1) < alpha/2 <= P(X <= lo); rank l = lo gives P(X(l) > median) bounded
    lo = np.where(stats.binom.cdf(lo, n, 0.5) <= alpha / 2, lo + 1, lo)
    up = n - lo + 1
    ok = (lo >= 1) & (up <= n) & (lo <= up)
    return np.where(ok, lo, 0), np.where(ok, up, 0)
