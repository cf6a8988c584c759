"""Multiple testing: Holm, Benjamini-Hochberg and Bonferroni adjusted p-values."""
from __future__ import annotations

from typing import Any, Literal

import numpy as np

from ..errors import ParameterError, check_choice

__all__ = ["PADJUST_METHODS", "PAdjust", "adjust_pvalues", "bonferroni", "fdr_bh", "holm"]

PAdjust = Literal["holm", "fdr_bh", "bonferroni", "none"]
PADJUST_METHODS = ("holm", "fdr_bh", "bonferroni", "none")


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


def holm(p_values: Any) -> np.ndarray:
    """Holm (1979) step-down adjusted p-values of a family (a scalar is a family of one); NaN stays NaN.

    >>> holm([0.01, 0.04, 0.03]).round(3).tolist()
    [0.03, 0.06, 0.06]
    """
    return adjust_pvalues(np.atleast_1d(np.asarray(p_values, dtype=float)), method="holm")


def fdr_bh(p_values: Any) -> np.ndarray:
    """Benjamini-Hochberg (1995) step-up adjusted p-values (false discovery rate); NaN stays NaN.

    >>> fdr_bh([0.01, 0.04, 0.03]).round(3).tolist()
    [0.03, 0.04, 0.04]
    """
    return adjust_pvalues(np.atleast_1d(np.asarray(p_values, dtype=float)), method="fdr_bh")


def bonferroni(p_values: Any) -> np.ndarray:
    """Bonferroni adjusted p-values, ``min(1, m p)``; NaN stays NaN.

    >>> bonferroni([0.01, 0.04, 0.03]).round(3).tolist()
    [0.03, 0.12, 0.09]
    """
    return adjust_pvalues(np.atleast_1d(np.asarray(p_values, dtype=float)), method="bonferroni")
