"""Variance reduction with a pre-period covariate (CUPED) when the same customers are observed twice."""
from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..errors import DataContractError, ParameterError
from ..stats import check_alpha, check_alternative, welch
from ._core import ComparisonResult, reading


def cuped_theta(y: Any, x: Any) -> float:
    """CUPED coefficient :math:`\\theta = \\mathrm{cov}(x, y)/\\mathrm{var}(x)` (the OLS slope of y on x).

    >>> cuped_theta([2.0, 4.0, 6.0], [1.0, 2.0, 3.0])
    2.0
    """
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    vx = np.var(x, ddof=1)
    if not vx > 0:
        raise ParameterError("The pre-period covariate is constant: it cannot reduce any variance.")
    return float(np.cov(x, y, ddof=1)[0, 1] / vx)


def compare_adjusted(data: pd.DataFrame, *, col: str, covariate: str, group: str, a: Any, b: Any = None,
                     alpha: float = 0.05,
                     alternative: Literal["two-sided", "greater", "less"] = "two-sided") -> ComparisonResult:
    """Compare two groups on ``col`` after removing what the pre-period ``covariate`` predicts (CUPED).

    Parameters
    ----------
    data : DataFrame
        One row per customer with the outcome ``col`` (e.g. this period's NPS, recoded or raw), the
        same customer's pre-period value ``covariate`` and the ``group`` column. Rows missing either
        value are left out.
    col, covariate, group : str
        Column names.
    a, b : value of ``group``
        Group of interest and reference (``b=None``: every other row).
    alpha, alternative
        As in :func:`compare_nps`.

    Returns
    -------
    ComparisonResult
        ``estimate_a``/``estimate_b`` are the *adjusted* group means; ``difference`` their difference
        with a Welch interval; ``method`` reports :math:`\\theta` and the variance reduction.

    Notes
    -----
    :math:`Y^{cv}_i = Y_i - \\theta(X_i - \\bar X)`, :math:`\\theta = \\mathrm{cov}(X, Y)/\\mathrm{var}(X)`
    over both groups. When the groups do not differ in :math:`X` in expectation (randomised or
    stable segments), the adjusted difference is unbiased and its variance shrinks by the factor
    :math:`1 - \\rho^2`; it equals the regression adjustment :math:`Y \\sim 1 + \\text{group} + X`
    up to the estimation of :math:`\\theta`.

    References
    ----------
    Deng, A., Xu, Y., Kohavi, R. & Walker, T. (2013). Improving the sensitivity of online controlled
    experiments by utilizing pre-experiment data. WSDM '13, 123-132.

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> pre = rng.normal(0, 1, 400)
    >>> df = pd.DataFrame({"g": np.repeat(["t", "c"], 200), "pre": pre,
    ...                    "post": pre + np.repeat([0.3, 0.0], 200) + rng.normal(0, 0.5, 400)})
    >>> r = compare_adjusted(df, col="post", covariate="pre", group="g", a="t", b="c")
    >>> round(r.difference, 2), r.p_value < 0.001
    (0.39, True)
    """
    check_alpha(alpha)
    check_alternative(alternative)
    missing = [c for c in (col, covariate, group) if c not in data.columns]
    if missing:
        raise DataContractError(f"compare_adjusted needs columns {[col, covariate, group]}; missing {missing}.",
                                column=missing[0], rule="column present")
    frame = data[data[col].notna() & data[covariate].notna() & data[group].notna()]
    mask_a = (frame[group] == a).to_numpy()
    mask_b = (frame[group] == b).to_numpy() if b is not None else ~mask_a
    if mask_a.sum() < 3 or mask_b.sum() < 3:
        raise ParameterError(f"compare_adjusted needs at least 3 customers with both values per group; found "
                             f"{int(mask_a.sum())} in {a!r} and {int(mask_b.sum())} in "
                             f"{b if b is not None else 'the rest'!r}.")
    keep = mask_a | mask_b
    y = frame[col].to_numpy(dtype=float)[keep]
    x = frame[covariate].to_numpy(dtype=float)[keep]
    ia = mask_a[keep]
    theta = cuped_theta(y, x)
    adj = y - theta * (x - x.mean())
    ya, yb = adj[ia], adj[~ia]
    res = welch(ya.mean(), ya.var(ddof=1), ya.size, yb.mean(), yb.var(ddof=1), yb.size, alpha=alpha,
                alternative=alternative)
    raw_var = y[ia].var(ddof=1) / ya.size + y[~ia].var(ddof=1) / yb.size
    reduction = 1 - float(res["se"]) ** 2 / raw_var if raw_var > 0 else math.nan
    ga, gb = str(a), str(b) if b is not None else "rest"
    diff, lo, hi, p = (float(res[k]) for k in ("difference", "ci_lower", "ci_upper", "p_value"))
    return ComparisonResult(
        metric=col, comparison=f"{group}: {ga} vs {gb} (adjusted for {covariate})", group_a=ga, group_b=gb,
        estimate_a=float(ya.mean()), estimate_b=float(yb.mean()), difference=diff, ci_lower=lo, ci_upper=hi,
        ci_level=1 - alpha, statistic=float(res["statistic"]), dof=float(res["dof"]), p_value=p,
        alternative=alternative, n_a=int(ya.size), n_b=int(yb.size),
        method=(f"CUPED with pre-period {covariate} (theta = {theta:.4g}, variance of the difference reduced by "
                f"{100 * reduction:.1f}%); Welch t test and interval on the adjusted values"),
        reading=reading(label=f"{col} (adjusted for {covariate})", unit="", group_a=ga, group_b=gb, difference=diff,
                        ci_lower=lo, ci_upper=hi, ci_level=1 - alpha, p_value=p, alpha=alpha, n_a=int(ya.size),
                        n_b=int(yb.size)))
