"""Synthetic control for one treated unit, with placebo-in-space inference.

A weighted average of untreated donor units (weights non-negative, summing
to one) is fitted to the treated unit's pre-program path; after the program,
the gap between the treated unit and its synthetic twin is the effect.
Inference permutes the treated unit: the same method applied to each donor
("placebo in space") shows how large gaps get by chance.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

from ..errors import ConvergenceError, DataContractError, ParameterError, SmallSampleWarning
from ..stats import check_alpha
from ._result import EffectResult, numeric_outcome, require_columns

__all__ = ["synthetic_control", "simplex_weights"]


def simplex_weights(target: np.ndarray, donors: np.ndarray) -> np.ndarray:
    """Convex weights ``w`` (``w >= 0``, ``sum w = 1``) minimising ``||target - donors @ w||^2``.

    Parameters
    ----------
    target : ndarray, shape (T0,)
        Pre-period outcomes of the unit to reproduce.
    donors : ndarray, shape (T0, J)
        Pre-period outcomes of the J donor units.

    Returns
    -------
    ndarray, shape (J,)

    Notes
    -----
    Solved exactly as a non-negative least-squares problem (Lawson & Hanson
    1974) with the sum-to-one constraint appended as a heavily weighted row,
    ``min ||[X; lam 1'] w - [y; lam]||``, ``lam = 1e4 (1 + max|X|)`` on data
    scaled by the target's spread, then renormalised (the constraint holds to
    about ``1e-8`` before renormalising).

    Examples
    --------
    >>> x = np.array([[1.0, 3.0], [2.0, 4.0], [3.0, 5.0]])
    >>> np.round(simplex_weights(x @ np.array([0.25, 0.75]), x), 6)
    array([0.25, 0.75])
    """
    target = np.asarray(target, dtype=float)
    donors = np.asarray(donors, dtype=float)
    j = donors.shape[1]
    if j == 1:
        return np.ones(1)
    scale = float(np.std(target)) or 1.0
    y, x = target / scale, donors / scale
    lam = 1e4 * (1.0 + float(np.abs(x).max()))
    try:
        w, _ = optimize.nnls(np.vstack([x, np.full(j, lam)]), np.append(y, lam), maxiter=100 * j)
    except RuntimeError as exc:
        raise ConvergenceError(f"Synthetic-control weights did not converge ({exc}). Likely causes: "
                               "1. donors with near-identical paths (drop duplicates); 2. a very short "
                               "pre-period; 3. outcomes on wildly different scales (rescale).") from exc
    return w / w.sum()


def _fit_one(y_target: np.ndarray, y_donors: np.ndarray, pre: np.ndarray) -> dict[str, Any]:
    w = simplex_weights(y_target[pre], y_donors[pre])
    synth = y_donors @ w
    gap = y_target - synth
    pre_rmspe = float(np.sqrt(np.mean(gap[pre] ** 2)))
    post_rmspe = float(np.sqrt(np.mean(gap[~pre] ** 2)))
    return {"weights": w, "synthetic": synth, "gap": gap, "pre_rmspe": pre_rmspe, "post_rmspe": post_rmspe,
            "ratio": post_rmspe / pre_rmspe if pre_rmspe > 0 else math.inf}


def synthetic_control(data: pd.DataFrame, *, outcome: str, unit: str, time: str, treated_unit: Any,
                      treatment_start: Any, donors: Sequence[Any] | None = None, alpha: float = 0.05,
                      placebos: bool = True, metric: str | None = None) -> EffectResult:
    """Synthetic-control estimate of the program effect on one treated unit.

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy balanced panel, one row per unit and period.
    outcome, unit, time : str
        Columns of the metric, the unit and the period.
    treated_unit : object
        The ``unit`` value of the treated unit (for a group of stores, average
        them into one pseudo-unit first).
    treatment_start : object
        First treated period (same type as ``time``).
    donors : sequence, optional
        Units allowed in the synthetic control (default: every other unit; they
        must be untreated during the whole window).
    alpha : float
        Level of the placebo test and of the test-inversion interval (default 0.05).
    placebos : bool
        Run the placebo-in-space permutation (default True; one fit per donor).
    metric : str, optional
        Label (default ``outcome``).

    Returns
    -------
    EffectResult
        ``design="synthetic_control"``: ``estimate`` is the mean post-period gap
        (treated minus synthetic); ``statistic`` the post/pre RMSPE ratio;
        ``p_value`` its placebo rank; ``ci_lower``/``ci_upper`` the set of
        constant effects the placebo test does not reject; ``se`` is NaN;
        ``pre_fit_rmspe`` the pre-period fit; ``baseline`` the synthetic
        control's post-period mean.  ``tables``: ``"weights"`` (unit, weight),
        ``"series"`` (time, period_kind, treated, synthetic, gap), ``"placebos"``
        (unit, pre_rmspe, post_rmspe, ratio, mean_gap, is_treated) and
        ``"placebo_gaps"`` (unit, time, gap).

    Warns
    -----
    SmallSampleWarning
        When ``alpha * (donors + 1) <= 1``: the permutation test cannot reject
        at ``alpha`` and the interval is unbounded.

    Notes
    -----
    Weights: ``w = argmin ||Y1_pre - Y0_pre w||^2`` over the simplex (Abadie,
    Diamond & Hainmueller 2010, outcomes-only version, as the ``sc_estimate`` of
    Arkhangelsky et al. 2021).  Effect: ``tau = mean_{t >= T0}(Y1t - Y0t w)``.
    Permutation p-value: ``(1 + #{j: r_j >= r_1}) / (J + 1)`` with ``r`` the
    post/pre RMSPE ratio of each unit's own synthetic control (donor pool:
    the other donors).  Interval: test inversion under a constant effect
    (Firpo & Possebom 2018): shifting the treated post path by ``tau0`` leaves
    the pre fit and the placebos unchanged, so ``{tau0 : p(tau0) > alpha}`` is
    ``mean gap +- sqrt((c RMSPE_pre)^2 - var(gap_post))`` with ``c`` the
    critical placebo ratio.  Relative interval: bounds divided by ``baseline``.

    References
    ----------
    Abadie, A., Diamond, A. & Hainmueller, J. (2010). *JASA* 105(490), 493-505.
    Arkhangelsky, D. et al. (2021). *AER* 111(12), 4088-4118, Table 1 (SC: -19.6 packs, Proposition 99).
    Firpo, S. & Possebom, V. (2018). Synthetic control method: inference, sensitivity analysis and
    confidence sets. *Journal of Causal Inference* 6(2).

    Examples
    --------
    >>> import numpy as np
    >>> from cxlib.evaluation.simulate import simulate_panel
    >>> panel, truth = simulate_panel(n_units=21, n_periods=16, treated_share=1 / 21, effect=-0.3,
    ...                               noise_sd=0.5, rng=np.random.default_rng(7))
    >>> treated = panel.loc[panel["first_treated"].notna(), "unit"].iloc[0]
    >>> res = synthetic_control(panel, outcome="y", unit="unit", time="period", treated_unit=treated,
    ...                         treatment_start=8)
    >>> res.p_value, float(round(res.tables["weights"]["weight"].sum(), 6))
    (0.047619047619047616, 1.0)
    """
    alpha = check_alpha(alpha)
    what = "synthetic_control()"
    require_columns(data, {"outcome": outcome, "unit": unit, "time": time}, what=what)
    wide = data.pivot_table(index=time, columns=unit, values=outcome, aggfunc="first", dropna=False)
    if data.duplicated([unit, time]).any():
        raise ParameterError(f"{what}: more than one row per ({unit}, {time}); aggregate first.")
    numeric_outcome(data, outcome, what=what)
    if wide.isna().any().any():
        raise DataContractError(f"{what}: the panel is unbalanced; every unit needs every period "
                                f"({int(wide.isna().sum().sum())} unit-periods missing).", rule="balanced panel")
    if treated_unit not in wide.columns:
        raise ParameterError(f"{what}: treated_unit={treated_unit!r} is not a value of {unit!r}.")
    pool = [u for u in (wide.columns if donors is None else donors) if u != treated_unit]
    missing = [u for u in pool if u not in wide.columns]
    if missing:
        raise ParameterError(f"{what}: donors {missing[:5]} are not values of {unit!r}.")
    if len(pool) < 2:
        raise ParameterError(f"{what}: synthetic control needs at least 2 donor units; got {len(pool)}.")
    times = wide.index.to_numpy()
    pre = times < treatment_start
    n_pre, n_post = int(pre.sum()), int((~pre).sum())
    if n_pre < 2 or n_post < 1:
        raise ParameterError(f"{what}: need at least 2 pre-periods and 1 post-period around "
                             f"treatment_start={treatment_start!r}; got {n_pre} and {n_post}.")
    y1 = wide[treated_unit].to_numpy(dtype=float)
    y0 = wide[pool].to_numpy(dtype=float)
    main = _fit_one(y1, y0, pre)
    tau = float(main["gap"][~pre].mean())
    baseline = float(main["synthetic"][~pre].mean())
    rows = [{"unit": treated_unit, "pre_rmspe": main["pre_rmspe"], "post_rmspe": main["post_rmspe"],
             "ratio": main["ratio"], "mean_gap": tau, "is_treated": True}]
    gaps = [pd.DataFrame({"unit": treated_unit, "time": times, "gap": main["gap"]})]
    p_value = lo = hi = math.nan
    if placebos:
        for j, name in enumerate(pool):
            fit = _fit_one(y0[:, j], np.delete(y0, j, axis=1), pre)
            rows.append({"unit": name, "pre_rmspe": fit["pre_rmspe"], "post_rmspe": fit["post_rmspe"],
                         "ratio": fit["ratio"], "mean_gap": float(fit["gap"][~pre].mean()), "is_treated": False})
            gaps.append(pd.DataFrame({"unit": name, "time": times, "gap": fit["gap"]}))
        ratios = np.array([r["ratio"] for r in rows[1:]])
        n_perm = len(ratios) + 1
        p_value = (1 + int((ratios >= main["ratio"]).sum())) / n_perm
        lo, hi = _inverted_interval(main["gap"][~pre], main["pre_rmspe"], ratios, alpha)
    rel = (tau / baseline, lo / baseline, hi / baseline) if baseline > 0 else (math.nan,) * 3
    weights = pd.DataFrame({"unit": pool, "weight": main["weights"]}).sort_values(
        "weight", ascending=False, ignore_index=True)
    series = pd.DataFrame({"time": times, "period_kind": np.where(pre, "pre", "post"), "treated": y1,
                           "synthetic": main["synthetic"], "gap": main["gap"]})
    infer = (f"placebo-in-space permutation over {len(pool)} donors (post/pre RMSPE ratio), "
             f"constant-effect test-inversion interval" if placebos else "no placebo inference")
    return EffectResult(
        metric=metric or outcome, design="synthetic_control", estimate=tau, ci_lower=lo, ci_upper=hi,
        ci_level=1 - alpha, statistic=main["ratio"], p_value=p_value, baseline=baseline,
        relative_estimate=rel[0], relative_ci_lower=rel[1], relative_ci_upper=rel[2], n_units=len(pool) + 1,
        n_treated=1, n_periods=len(times), n_pre=n_pre, n_post=n_post, n_obs=len(times) * (len(pool) + 1),
        pre_fit_rmspe=main["pre_rmspe"],
        method=f"synthetic control (convex donor weights fitted on {n_pre} pre-periods); {infer}",
        tables={"weights": weights, "series": series, "placebos": pd.DataFrame(rows),
                "placebo_gaps": pd.concat(gaps, ignore_index=True)})


def _inverted_interval(post_gap: np.ndarray, pre_rmspe: float, placebo_ratios: np.ndarray,
                       alpha: float) -> tuple[float, float]:
    """Constant effects ``tau0`` not rejected by the placebo RMSPE-ratio test at ``alpha``."""
    import warnings

    n_perm = len(placebo_ratios) + 1
    # p(tau0) = (1 + #{r_j >= R(tau0)}) / n_perm > alpha  <=>  #{r_j >= R} >= m
    m = math.floor(alpha * n_perm - 1) + 1
    if m <= 0:
        warnings.warn(f"With {n_perm - 1} placebo units the permutation test cannot reject at alpha={alpha} "
                      f"(smallest p-value 1/{n_perm}); the interval is unbounded.", SmallSampleWarning,
                      stacklevel=3)
        return -math.inf, math.inf
    crit = np.sort(placebo_ratios)[::-1][m - 1]
    mean_gap = float(post_gap.mean())
    radius2 = (crit * pre_rmspe) ** 2 - float(np.mean((post_gap - mean_gap) ** 2))
    if radius2 < 0:
        return math.nan, math.nan  # empty confidence set: even the best constant effect is rejected
    r = math.sqrt(radius2)
    return mean_gap - r, mean_gap + r
