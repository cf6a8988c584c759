"""Naive before/after and difference-in-differences (2x2 and two-way fixed effects).

All three take a tidy panel, one row per unit and period, with a column giving
each unit's first treated period (missing for units never treated), and return
an :class:`~cxlib.evaluation.EffectResult`.  Standard errors are
cluster-robust by unit (Liang & Zeger 1986; Bertrand, Duflo & Mullainathan
2004), because the outcomes of a store are correlated over time.
"""
from __future__ import annotations

import math
import warnings
from typing import Literal

import numpy as np
import pandas as pd
import statsmodels.api as sm

from ..errors import ConvergenceError, ParameterError, SmallSampleWarning, check_choice
from ..stats import check_alpha
from ._result import (EffectResult, Scale, first_treated_from_indicator, log_outcome, log_scale_fields,
                      ordered_times, prepare_panel, relative_effect, require_columns, wald_inference)

__all__ = ["before_after", "did", "DidDesign"]

DidDesign = Literal["twfe", "2x2"]


def _demean_two_way(cols: np.ndarray, a: np.ndarray, b: np.ndarray, *, tol: float = 1e-11,
                    max_iter: int = 10_000) -> np.ndarray:
    """Residuals of ``cols`` (n x k) on two sets of fixed effects, by alternating projections.

    Exact after one sweep for a balanced panel; converges geometrically otherwise
    (Guimaraes & Portugal 2010).
    """
    out = cols.astype(float).copy()
    na, nb = a.max() + 1, b.max() + 1
    cnt_a, cnt_b = np.bincount(a, minlength=na), np.bincount(b, minlength=nb)
    scale = np.abs(cols).max() + 1.0
    for _ in range(max_iter):
        prev = out.copy()
        for codes, cnt, n in ((a, cnt_a, na), (b, cnt_b, nb)):
            means = np.stack([np.bincount(codes, weights=out[:, j], minlength=n) for j in range(out.shape[1])], 1)
            out -= means[codes] / cnt[codes, None]
        if np.abs(out - prev).max() <= tol * scale:
            return out
    raise ConvergenceError(f"Fixed-effect demeaning did not converge in {max_iter} sweeps; the panel may be "
                           "disconnected (units and periods that never overlap). Check the panel's balance.")


def _fe_effect(y: np.ndarray, d: np.ndarray, a: np.ndarray, b: np.ndarray, cluster: np.ndarray,
               *, alpha: float, what: str) -> dict:
    """OLS of y on d with fixed effects a and b, cluster-robust (CR1) by ``cluster``, plus the baseline."""
    n = len(y)
    res = _demean_two_way(np.column_stack([y, d]), a, b)
    yt, dt = res[:, 0], res[:, 1]
    sdd = float(dt @ dt)
    if sdd <= 1e-12 * max(1.0, float(d @ d)):
        raise ParameterError(f"{what}: the treatment indicator is collinear with the fixed effects (no "
                             "treated-versus-control contrast); check that there are treated and control units "
                             "observed both before and after the program start.")
    tau = float(dt @ yt) / sdd
    u = yt - tau * dt
    # parameters that count in the small-sample factor: the effect, the constant and the second set of
    # effects; the first set (units, or the treated/control group) is nested in the unit clusters and
    # does not count (Cameron & Miller 2015, section VI.B; as reghdfe and fixest)
    k = 1 + 1 + b.max()
    n_clusters = int(cluster.max() + 1)
    treated_obs = d > 0.5
    mu1 = float(y[treated_obs].mean())
    score_tau = np.bincount(cluster, weights=dt * u, minlength=n_clusters) / sdd
    score_mu1 = np.bincount(cluster, weights=np.where(treated_obs, y - mu1, 0.0),
                            minlength=n_clusters) / treated_obs.sum()
    scores = np.column_stack([score_tau, score_mu1])
    k_all = 1 + (a.max() + 1) + b.max()  # every parameter: no residual information left if n <= k_all
    if n_clusters < 2 or n <= k_all:
        cov = np.full((2, 2), np.nan)
    else:
        c = n_clusters / (n_clusters - 1) * (n - 1) / (n - k)
        cov = c * scores.T @ scores
    jac = np.array([[1.0, 0.0], [-1.0, 1.0]])  # (tau, mu1) -> (tau, mu0 = mu1 - tau)
    cov0 = jac @ cov @ jac.T
    dof = float(n_clusters - 1) if n_clusters >= 2 else math.nan
    se = math.sqrt(cov[0, 0]) if np.isfinite(cov[0, 0]) else math.nan
    inf = wald_inference(tau, se, dof if n_clusters >= 2 else math.inf, alpha)
    baseline = mu1 - tau
    rel = relative_effect(tau, baseline, cov0, alpha=alpha, dof=dof) if n_clusters >= 2 else \
        (tau / baseline if baseline > 0 else math.nan, math.nan, math.nan)
    return {"estimate": tau, "se": se, "dof": dof, **inf, "baseline": baseline,
            "relative_estimate": rel[0], "relative_ci_lower": rel[1], "relative_ci_upper": rel[2], "k": k,
            "treated_mean": mu1}


def _warn_clusters(n_treated: int, n_control: int, what: str) -> None:
    if min(n_treated, n_control) < 2:
        warnings.warn(
            f"{what}: {n_treated} treated and {n_control} control unit(s). Cluster-robust standard errors need "
            "several units on both sides; with a single treated unit they understate the uncertainty "
            "(Conley & Taber 2011). Use synthetic_control (placebo inference) for one treated unit.",
            SmallSampleWarning, stacklevel=3)


def did(data: pd.DataFrame, *, outcome: str, unit: str, time: str, first_treated: str | None = None,
        treated: str | None = None, design: DidDesign = "twfe", scale: Scale = "level", alpha: float = 0.05,
        metric: str | None = None) -> EffectResult:
    """Difference-in-differences: the 2x2 comparison or two-way fixed effects (TWFE).

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy panel, one row per unit and period.
    outcome, unit, time : str
        Columns of the metric, the unit (store) and the period: numbers, dates, or text period
        labels (``"Q1-1999"``, ``"1999Q1"``, ``"10/2001"``, ``"2001-10"``...), which are read as
        periods (:func:`cxlib.periods.parse_period_column`) because text does not sort in time
        order; other text is refused.
    first_treated : str, optional
        Column with the unit's first treated period (same type as ``time``);
        missing for never-treated units.  A value after the last period means
        "not treated within the window".
    treated : str, optional
        Instead of ``first_treated``: a 0/1 (or boolean) column, 1 in the periods a unit is under
        the program.  Each unit's first treated period is derived as its first period with
        ``treated == 1`` (and the method text says so); an indicator that switches off again is
        refused, because these designs assume the program stays on once started.  Give exactly
        one of ``first_treated`` and ``treated``.
    design : {"twfe", "2x2"}
        ``"2x2"``: treated versus control group, before versus after the
        (single, common) program start; ``"twfe"`` (default): unit and period
        fixed effects with ``D_it = 1[t >= g_i]``, which also accepts several
        rollout dates (but see Notes).
    scale : {"level", "log"}
        ``"level"`` (default): parallel trends in the metric itself;
        ``"log"``: parallel trends in ``log(y)``, right when the program and the
        seasons act multiplicatively on a rate (-30 % whatever the store's
        level); relative effect ``exp(tau) - 1``.  Needs positive outcomes.
    alpha : float
        1 - confidence level (default 0.05 for 95 % intervals).
    metric : str, optional
        Label of the result (default: ``outcome``).

    Returns
    -------
    EffectResult
        ``design`` is ``"did_2x2"`` or ``"twfe"``; ``baseline`` is the treated
        units' post-period mean minus the effect.

    Raises
    ------
    DataContractError
        Missing columns, missing outcomes, a first-treated period that varies within a unit, text
        periods in no known format, a ``treated`` indicator that is not 0/1 or switches off again.
    ParameterError
        Duplicated unit-periods; ``"2x2"`` with several rollout dates or without control units;
        both or neither of ``first_treated`` and ``treated``.

    Warns
    -----
    SmallSampleWarning
        Fewer than two treated or two control units (cluster-robust SEs unreliable).

    Notes
    -----
    TWFE fits ``y_it = alpha_i + lambda_t + tau D_it + e_it`` by OLS (fixed
    effects absorbed by alternating projections); the 2x2 design replaces the
    unit and period effects by group and post indicators, so ``tau =
    (ybar_T,post - ybar_T,pre) - (ybar_C,post - ybar_C,pre)``.  Variance:
    CR1 cluster-robust by unit, ``G/(G-1) (N-1)/(N-K)``, with t(G-1) reference
    (Cameron & Miller 2015); ``K`` counts the effect, the constant and the
    period effects but not the unit effects, which are nested in the clusters.  Relative effect ``tau / mu0`` with
    ``mu0 = ybar(treated, post) - tau`` and a delta-method interval from the
    joint cluster scores of ``tau`` and ``ybar``.  On the log scale the test
    is on ``tau``, the relative interval is ``exp(ci) - 1`` and absolute values
    are ``mu0 (exp(.) - 1)`` with ``mu0 = ybar(treated, post) exp(-tau)``.  With staggered rollouts and
    effects that vary over time or cohort, TWFE weights some comparisons
    negatively (Goodman-Bacon 2021); prefer :func:`staggered_did` then.

    References
    ----------
    Angrist, J. & Pischke, J.-S. (2015). *Mastering 'Metrics*, ch. 5.
    Arkhangelsky, D. et al. (2021). Synthetic difference-in-differences. *AER* 111(12), Table 1.
    Cameron, A. C. & Miller, D. L. (2015). A practitioner's guide to cluster-robust inference. *JHR* 50(2).

    Examples
    --------
    >>> import numpy as np
    >>> from cxlib.evaluation.simulate import simulate_panel
    >>> panel, truth = simulate_panel(n_units=40, n_periods=12, effect=-0.2, rng=np.random.default_rng(1))
    >>> res = did(panel, outcome="y", unit="unit", time="period", first_treated="first_treated")
    >>> res.design, res.n_units, res.ci_lower < truth["att"] < res.ci_upper
    ('twfe', 40, True)
    >>> by_indicator = did(panel, outcome="y", unit="unit", time="period", treated="treated")
    >>> by_indicator.estimate == res.estimate, "derived from the 0/1 indicator" in by_indicator.method
    (True, True)
    """
    design = check_choice("design", design, ["twfe", "2x2"])
    scale = check_choice("scale", scale, ["level", "log"])
    alpha = check_alpha(alpha)
    what = f"did(design={design!r})"
    derived = ""
    if (first_treated is None) == (treated is None):
        raise ParameterError(f"{what}: give exactly one of first_treated= (each unit's first treated period) and "
                             f"treated= (a 0/1 treatment indicator); got first_treated={first_treated!r}, "
                             f"treated={treated!r}.")
    if treated is not None:
        require_columns(data, {"unit": unit, "time": time, "treated": treated}, what=what)
        first_treated = "_first_treated_from_indicator"
        data = data.assign(**{first_treated: first_treated_from_indicator(
            data, unit=unit, times=ordered_times(data, time, what=what), treated=treated, what=what)})
        derived = (f"; first treated period derived from the 0/1 indicator {treated!r} (each unit's first period "
                   "with treated == 1)")
    y, t_idx, u_idx, g, levels, units = prepare_panel(data, outcome, unit, time, first_treated, what)
    y_fit = log_outcome(y, outcome, what) if scale == "log" else y
    ever = np.isfinite(g)
    cohorts = np.unique(g[ever])
    if len(cohorts) == 0:
        raise ParameterError(f"{what}: no unit is treated within the observed periods; check {first_treated!r}.")
    if ever.all() and design == "2x2":
        raise ParameterError(f"{what}: every unit is treated; a 2x2 comparison needs never-treated control units.")
    n_treated = int(len(np.unique(u_idx[ever])))
    n_units = len(units)
    if design == "2x2":
        if len(cohorts) > 1:
            raise ParameterError(f"{what}: {len(cohorts)} different rollout periods; the 2x2 design needs one "
                                 "common start. Use design='twfe' or staggered_did().")
        start = int(cohorts[0])
        d = (ever & (t_idx >= start)).astype(float)
        a, b = ever.astype(int), (t_idx >= start).astype(int)
        label = "2x2 difference-in-differences (treated vs control, before vs after)"
    else:
        start = int(cohorts.min())
        d = (ever & (t_idx >= g)).astype(float)
        a, b = u_idx, t_idx
        label = "two-way fixed-effects difference-in-differences (unit and period effects)"
        if len(cohorts) > 1:
            label += f", {len(cohorts)} rollout cohorts (TWFE may be biased if effects vary; see staggered_did)"
    _warn_clusters(n_treated, n_units - n_treated, what)
    fit = _fe_effect(y_fit, d, a, b, u_idx, alpha=alpha, what=what)
    if scale == "log":
        fit.update(log_scale_fields(fit["estimate"], fit["se"], fit["dof"], alpha,
                                    float(y[d > 0.5].mean())))
        label += " on log(outcome), relative effect exp(tau) - 1"
    method = f"{label}; CR1 cluster-robust SE by {unit} ({n_units} clusters), t({n_units - 1}){derived}"
    return EffectResult(
        metric=metric or outcome, design="did_2x2" if design == "2x2" else "twfe",
        estimate=fit["estimate"], se=fit["se"], ci_lower=fit["ci_lower"], ci_upper=fit["ci_upper"],
        ci_level=1 - alpha, statistic=fit["statistic"], dof=fit["dof"], p_value=fit["p_value"],
        baseline=fit["baseline"], relative_estimate=fit["relative_estimate"],
        relative_ci_lower=fit["relative_ci_lower"], relative_ci_upper=fit["relative_ci_upper"],
        n_units=n_units, n_treated=n_treated, n_periods=len(levels), n_pre=start, n_post=len(levels) - start,
        n_obs=len(y), method=method)


def before_after(data: pd.DataFrame, *, outcome: str, unit: str, time: str, first_treated: str,
                 alpha: float = 0.05, metric: str | None = None, hac_lags: int | None = None) -> EffectResult:
    """Naive before/after comparison of the treated units (shown to expose its bias).

    Parameters
    ----------
    data, outcome, unit, time, first_treated, alpha, metric
        As in :func:`did`; only treated units are used.
    hac_lags : int, optional
        Newey-West lags when there is a single treated unit (default
        ``floor(4 (T/100)^(2/9))``, Newey & West 1994).

    Returns
    -------
    EffectResult
        ``design="naive"``: ``estimate = ybar(post) - ybar(pre)`` over the
        treated units' own pre and post periods; ``baseline`` is the
        pre-period mean (the naive counterfactual).

    Notes
    -----
    OLS of ``y`` on a post indicator, SEs cluster-robust by unit (t(G-1)), or
    HAC for a single treated series.  The comparison attributes *everything*
    that changed between the periods (seasonality, market shocks, trends) to
    the program; it is unbiased only if nothing else changed.

    Examples
    --------
    >>> import numpy as np
    >>> from cxlib.evaluation.simulate import simulate_panel
    >>> panel, truth = simulate_panel(n_units=40, n_periods=12, effect=-0.2, shock=10.0,
    ...                               rng=np.random.default_rng(1))
    >>> naive = before_after(panel, outcome="y", unit="unit", time="period", first_treated="first_treated")
    >>> naive.design, naive.estimate - truth["att"] > 3   # the common shock is counted as "effect"
    ('naive', True)
    """
    alpha = check_alpha(alpha)
    what = "before_after()"
    y, t_idx, u_idx, g, levels, units = prepare_panel(data, outcome, unit, time, first_treated, what)
    ever = np.isfinite(g)
    if not ever.any():
        raise ParameterError(f"{what}: no unit is treated within the observed periods; check {first_treated!r}.")
    y, t_idx, u_idx, g = y[ever], t_idx[ever], u_idx[ever], g[ever]
    post = (t_idx >= g).astype(float)
    if post.all() or not post.any():
        raise ParameterError(f"{what}: the treated units need periods both before and after the program start.")
    treated_units, cl = np.unique(u_idx, return_inverse=True)
    x = sm.add_constant(post, has_constant="add")
    if len(treated_units) >= 2:
        fit = sm.OLS(y, x).fit(cov_type="cluster", cov_kwds={"groups": cl}, use_t=True)
        dof = float(len(treated_units) - 1)
        infer = f"CR1 cluster-robust SE by {unit} ({len(treated_units)} treated units), t({int(dof)})"
    else:
        lags = hac_lags if hac_lags is not None else int(math.floor(4 * (len(y) / 100) ** (2 / 9)))
        fit = sm.OLS(y, x).fit(cov_type="HAC", cov_kwds={"maxlags": lags}, use_t=True)
        dof = float(fit.df_resid)
        infer = f"Newey-West HAC SE ({lags} lags), t({int(dof)})"
    est, se = float(fit.params[1]), float(fit.bse[1])
    inf = wald_inference(est, se, dof, alpha)
    cov = np.asarray(fit.cov_params())
    jac = np.array([[0.0, 1.0], [1.0, 0.0]])  # (b0, b1) -> (tau = b1, mu0 = b0)
    baseline = float(fit.params[0])
    rel = relative_effect(est, baseline, jac @ cov @ jac.T, alpha=alpha, dof=dof)
    n_pre = int(np.unique(t_idx[post == 0]).size)
    return EffectResult(
        metric=metric or outcome, design="naive", estimate=est, se=se, ci_lower=inf["ci_lower"],
        ci_upper=inf["ci_upper"], ci_level=1 - alpha, statistic=inf["statistic"], dof=dof,
        p_value=inf["p_value"], baseline=baseline, relative_estimate=rel[0], relative_ci_lower=rel[1],
        relative_ci_upper=rel[2], n_units=len(treated_units), n_treated=len(treated_units),
        n_periods=int(np.unique(t_idx).size), n_pre=n_pre, n_post=int(np.unique(t_idx[post == 1]).size),
        n_obs=len(y), method=f"naive before/after mean difference of the treated units (no control group); {infer}")
