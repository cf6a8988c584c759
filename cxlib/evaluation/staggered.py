"""Staggered rollouts: Callaway & Sant'Anna (2021) group-time effects, aggregated.

When stores start the program at different times and its effect grows or
differs between waves, two-way fixed effects compare late-treated stores with
early-treated ones and can even flip the sign (Goodman-Bacon 2021).  The
estimator here only ever compares a cohort ``g`` (stores starting in period
``g``) with stores not (yet) treated, period by period, then averages those
clean comparisons.  Inference uses the estimator's influence function, so the
aggregated effects, the event study and the pre-trend test share one
covariance (clustered by unit).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import CxWarning, DataContractError, ParameterError, check_choice
from ..stats import check_alpha, t_value
from ._result import (EVENT_STUDY_COLUMNS, EffectResult, EventStudyResult, PreTrendWarning, Scale, log_outcome,
                      log_scale_fields, prepare_panel, relative_effect, wald_inference)

__all__ = ["staggered_did", "event_study", "ControlGroup", "BasePeriod", "Aggregation"]

ControlGroup = Literal["never_treated", "not_yet_treated"]
BasePeriod = Literal["varying", "universal"]
Aggregation = Literal["simple", "group", "dynamic"]

GROUP_TIME_COLUMNS = ("cohort", "period", "event_time", "period_kind", "estimate", "se", "ci_lower", "ci_upper",
                      "n_treated", "n_control")


@dataclass(frozen=True)
class _GroupTime:
    """Group-time ATTs with influence functions (internal; one fit serves every aggregation)."""

    att: np.ndarray        # (K,) ATT(g, t)
    level: np.ndarray      # (K,) mean outcome of cohort g in period t (for the relative effect)
    inf_att: np.ndarray    # (n, K) influence functions, ATT_hat - ATT ~ mean(inf)
    inf_level: np.ndarray  # (n, K)
    cohort: np.ndarray     # (K,) cohort index g
    period: np.ndarray     # (K,) period index t
    n_treated: np.ndarray  # (K,)
    n_control: np.ndarray  # (K,)
    unit_cohort: np.ndarray  # (n,) cohort index per unit (inf = never / after window)
    levels: np.ndarray     # sorted periods
    n_dropped: int         # always-treated units dropped
    method: str

    @property
    def n(self) -> int:
        return len(self.unit_cohort)


def _fit(data: pd.DataFrame, *, outcome: str, unit: str, time: str, first_treated: str,
         control_group: str, base_period: str, scale: str, what: str) -> _GroupTime:
    control_group = check_choice("control_group", control_group, ["never_treated", "not_yet_treated"])
    scale = check_choice("scale", scale, ["level", "log"])
    base_period = check_choice("base_period", base_period, ["varying", "universal"])
    y, t_idx, u_idx, g, levels, units = prepare_panel(data, outcome, unit, time, first_treated, what)
    n_all, T = len(units), len(levels)
    if len(y) != n_all * T:
        counts = np.bincount(u_idx, minlength=n_all)
        short = [str(u) for u in units[counts < T][:5]]
        raise DataContractError(
            f"{what}: the panel is unbalanced ({len(y)} rows for {n_all} units x {T} periods); units such as "
            f"{short} miss periods. Keep units observed in every period, or fill the gaps explicitly.",
            column=unit, rule="balanced panel")
    Y_level = np.empty((n_all, T))
    Y_level[u_idx, t_idx] = y
    Y = Y_level
    if scale == "log":
        Y = np.empty((n_all, T))
        Y[u_idx, t_idx] = log_outcome(y, outcome, what)
    G = np.full(n_all, np.inf)
    G[u_idx] = g
    keep = ~(G <= 0)
    n_dropped = int((~keep).sum())
    if n_dropped:
        warnings.warn(f"{what}: {n_dropped} unit(s) treated from the first observed period have no "
                      "pre-period and were dropped (as in Callaway & Sant'Anna 2021).", CxWarning, stacklevel=3)
    Y, Y_level, G = Y[keep], Y_level[keep], G[keep]
    n = len(G)
    never = np.isinf(G)
    cohorts = np.unique(G[~never]).astype(int)
    if len(cohorts) == 0:
        raise ParameterError(f"{what}: no unit starts the program inside the observed periods.")
    if control_group == "never_treated" and not never.any():
        raise ParameterError(f"{what}: there are no never-treated units; use control_group='not_yet_treated'.")
    rows = []
    for gg in cohorts:
        tr = G == gg
        n_tr = int(tr.sum())
        for t in range(0 if base_period == "universal" else 1, T):
            if base_period == "universal":
                if t == gg - 1:
                    continue
                b = gg - 1
            else:
                b = gg - 1 if t >= gg else t - 1
            ctrl = never.copy() if control_group == "never_treated" else (never | (G > max(t, b)))
            ctrl &= ~tr
            n_c = int(ctrl.sum())
            if n_c == 0:
                continue
            dy = Y[:, t] - Y[:, b]
            mu_t, mu_c = dy[tr].mean(), dy[ctrl].mean()
            inf = n * (np.where(tr, dy - mu_t, 0.0) / n_tr - np.where(ctrl, dy - mu_c, 0.0) / n_c)
            lev = Y_level[tr, t].mean()
            inf_lev = n * np.where(tr, Y_level[:, t] - lev, 0.0) / n_tr
            rows.append((mu_t - mu_c, lev, inf, inf_lev, gg, t, n_tr, n_c))
    if not rows:
        raise ParameterError(f"{what}: no cohort has a valid comparison group in any period.")
    att, lev, inf, inf_lev, coh, per, ntr, nct = zip(*rows)
    ctrl_txt = "never-treated" if control_group == "never_treated" else "not-yet-treated"
    method = (f"Callaway & Sant'Anna (2021) group-time ATT, {ctrl_txt} controls, {base_period} base period, "
              f"no covariates{'; log(outcome), effects in log points' if scale == 'log' else ''}; "
              f"influence-function SE clustered by {unit}, normal reference")
    return _GroupTime(np.array(att), np.array(lev), np.column_stack(inf), np.column_stack(inf_lev),
                      np.array(coh), np.array(per), np.array(ntr), np.array(nct), G, levels, n_dropped, method)


def _aggregate(fit: _GroupTime, sel: np.ndarray, mult: np.ndarray | None = None):
    """Weighted average of the selected ATT(g,t), weights ~ cohort share (x ``mult``), with influence functions.

    The weights are estimated (cohort shares), so their influence enters too
    (Callaway & Sant'Anna 2021, eq. 3.8 and appendix).
    Returns ``(theta, inf_theta, level, inf_level)``.
    """
    idx = np.flatnonzero(sel)
    coh = fit.cohort[idx]
    ind = (fit.unit_cohort[:, None] == coh[None, :]).astype(float)  # (n, k)
    pi = ind.mean(axis=0)
    c = np.ones(len(idx)) if mult is None else mult[idx]
    a = c * pi
    big_a = a.sum()
    w = a / big_a
    inf_a = c * (ind - pi)
    inf_w = inf_a / big_a - np.outer(inf_a.sum(axis=1), a) / big_a ** 2
    theta = float(w @ fit.att[idx])
    inf_theta = fit.inf_att[:, idx] @ w + inf_w @ fit.att[idx]
    level = float(w @ fit.level[idx])
    inf_level = fit.inf_level[:, idx] @ w + inf_w @ fit.level[idx]
    return theta, inf_theta, level, inf_level


def _event_table(fit: _GroupTime, *, alpha: float, base_period: str, metric: str, window):
    """Event-study rows and the joint influence functions of the leads."""
    e_all = fit.period - fit.cohort
    es = np.unique(e_all)
    if window is not None:
        es = es[(es >= window[0]) & (es <= window[1])]
    z = t_value(alpha, math.inf)
    rows, lead_inf, lead_est = [], [], []
    for e in es:
        theta, inf, _, _ = _aggregate(fit, e_all == e)
        se = float(np.sqrt((inf ** 2).sum()) / fit.n)
        p = float(2 * stats.norm.sf(abs(theta / se))) if se > 0 else math.nan
        sel = e_all == e
        rows.append({"event_time": int(e), "period_kind": "pre" if e < 0 else "post", "estimate": theta, "se": se,
                     "ci_lower": theta - z * se, "ci_upper": theta + z * se, "p_value": p,
                     "n_cohorts": int(sel.sum()), "n_treated": int(fit.n_treated[sel].sum())})
        if e < 0:
            lead_inf.append(inf)
            lead_est.append(theta)
    if base_period == "universal" and (window is None or window[0] <= -1 <= window[1]):
        rows.append({"event_time": -1, "period_kind": "reference", "estimate": 0.0, "se": math.nan,
                     "ci_lower": math.nan, "ci_upper": math.nan, "p_value": math.nan, "n_cohorts": 0,
                     "n_treated": 0})
    table = pd.DataFrame(rows).sort_values("event_time", ignore_index=True)
    table["metric"] = metric
    table["ci_level"] = 1 - alpha
    table["method"] = fit.method + "; event-time aggregation weighted by cohort size"
    if lead_est:
        psi = np.column_stack(lead_inf)
        vcov = psi.T @ psi / fit.n ** 2
        est = np.array(lead_est)
        stat = float(est @ np.linalg.pinv(vcov) @ est)
        dof = float(np.linalg.matrix_rank(vcov))
        n = fit.n
        # Hotelling's small-sample correction: the covariance is estimated from n clusters
        p_pre = float(stats.f.sf(stat * (n - dof) / (dof * (n - 1)), dof, n - dof)) if 0 < dof < n else math.nan
    else:
        stat = dof = p_pre = math.nan
    return table.loc[:, list(EVENT_STUDY_COLUMNS)], stat, dof, p_pre


def _warn_pretrend(p_pre: float, dof: float, alpha: float, metric: str) -> None:
    if math.isfinite(p_pre) and p_pre < alpha:
        warnings.warn(
            f"{metric}: the pre-period effects (leads) differ jointly from zero (Wald test of {int(dof)} leads, "
            f"p = {p_pre:.3g} < {alpha}). Parallel trends look violated, so the post-period effects may be biased: "
            "inspect the event-study plot, try control_group='not_yet_treated', a shorter window, or "
            "synthetic_control.", PreTrendWarning, stacklevel=3)


def event_study(data: pd.DataFrame, *, outcome: str, unit: str, time: str, first_treated: str,
                control_group: ControlGroup = "never_treated", base_period: BasePeriod = "varying",
                window: tuple[int, int] | None = None, scale: Scale = "level", alpha: float = 0.05,
                metric: str | None = None) -> EventStudyResult:
    """Event study (effects by periods since the program start) with pre-period leads and a pre-trend test.

    Parameters
    ----------
    data : pandas.DataFrame
        Balanced tidy panel, one row per unit and period.
    outcome, unit, time, first_treated : str
        As in :func:`cxlib.evaluation.did`; ``first_treated`` is missing for never-treated units.
    control_group : {"never_treated", "not_yet_treated"}
        Comparison units for cohort ``g`` at period ``t``: never-treated units
        (default, the cleanest), or also units first treated after ``max(t, base)``
        (more power, needed when every unit is eventually treated).
    base_period : {"varying", "universal"}
        ``"varying"`` (default, as the R package ``did``): post effects compare
        with period ``g - 1``, leads are period-on-period placebo changes;
        ``"universal"``: everything compares with ``g - 1``, shown as the
        reference row ``e = -1`` with estimate 0.
    window : (int, int), optional
        Smallest and largest event time to report (default: all).
    scale : {"level", "log"}
        Parallel trends in the metric (default) or in its logarithm (for
        multiplicative effects and seasons on rates; estimates then are log
        points, about the relative change).
    alpha : float
        1 - level of the pointwise intervals and size of the pre-trend test.
    metric : str, optional
        Label (default ``outcome``).

    Returns
    -------
    EventStudyResult
        Table with the columns of :data:`~cxlib.evaluation.EVENT_STUDY_COLUMNS`
        and the joint pre-trend test.

    Warns
    -----
    PreTrendWarning
        When the pre-trend test rejects at ``alpha``.

    Notes
    -----
    ``theta(e) = sum_g w_g ATT(g, g + e)`` with ``w_g`` proportional to the cohort
    sizes.  ``ATT(g,t) = E[Y_t - Y_b | G = g] - E[Y_t - Y_b | C]``.  The
    pre-trend statistic is the Wald ``W = theta_pre' V^+ theta_pre`` with
    ``V`` from the joint influence functions; because ``V`` is estimated from
    ``n`` units, its p-value uses Hotelling's correction
    ``W (n - k) / (k (n - 1)) ~ F(k, n - k)``, ``k = rank V`` (a plain chi2(k)
    over-rejects badly with many leads and few stores).  Intervals are pointwise.

    References
    ----------
    Callaway, B. & Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time periods.
    *Journal of Econometrics* 225(2), 200-230.

    Examples
    --------
    >>> import numpy as np
    >>> from cxlib.evaluation.simulate import simulate_panel
    >>> panel, truth = simulate_panel(n_units=60, n_periods=10, cohorts=[4, 6], effect=-0.2,
    ...                               rng=np.random.default_rng(3))
    >>> es = event_study(panel, outcome="y", unit="unit", time="period", first_treated="first_treated")
    >>> es.to_frame()["event_time"].tolist()
    [-5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5]
    >>> es.pre_trends_ok
    True
    """
    alpha = check_alpha(alpha)
    metric = metric or outcome
    fit = _fit(data, outcome=outcome, unit=unit, time=time, first_treated=first_treated,
               control_group=control_group, base_period=base_period, scale=scale, what="event_study()")
    table, stat, dof, p_pre = _event_table(fit, alpha=alpha, base_period=base_period, metric=metric,
                                           window=window)
    _warn_pretrend(p_pre, dof, alpha, metric)
    return EventStudyResult(metric=metric, table=table, ci_level=1 - alpha, pre_trend_statistic=stat,
                            pre_trend_dof=dof, pre_trend_p_value=p_pre,
                            method=str(table["method"].iloc[0]) + "; joint Wald pre-trend test on the leads (Hotelling F)")


def staggered_did(data: pd.DataFrame, *, outcome: str, unit: str, time: str, first_treated: str,
                  control_group: ControlGroup = "never_treated", base_period: BasePeriod = "varying",
                  aggregation: Aggregation = "simple", scale: Scale = "level", alpha: float = 0.05,
                  metric: str | None = None) -> EffectResult:
    """Overall program effect under a staggered rollout (Callaway & Sant'Anna 2021).

    Parameters
    ----------
    data, outcome, unit, time, first_treated, control_group, base_period, scale, alpha, metric
        As in :func:`event_study`.  With ``scale="log"`` the relative effect is
        ``exp(theta) - 1`` with the exactly transformed interval, and the
        absolute effect ``baseline (exp(theta) - 1)``.
    aggregation : {"simple", "group", "dynamic"}
        How group-time effects ``ATT(g,t), t >= g`` become one number:
        ``"simple"`` (default) weights each treated unit-period equally (the
        average effect over all treated store-periods); ``"group"`` averages
        each cohort's effects first, then weights cohorts by size; ``"dynamic"``
        averages the event-study effects ``theta(e), e >= 0`` equally.

    Returns
    -------
    EffectResult
        ``design="staggered"``, with ``pre_trend_p_value`` from the event study
        and ``tables["group_time"]`` (columns ``GROUP_TIME_COLUMNS``) and
        ``tables["event_study"]``.  ``baseline`` is the same weighted average of
        the treated cohorts' outcome levels minus the effect.

    Warns
    -----
    PreTrendWarning
        When the leads differ jointly from zero at ``alpha``.

    Notes
    -----
    ``theta = sum_{g,t>=g} w_gt ATT(g,t)`` with ``w_gt ~ P(G = g)`` (times
    ``1 / #periods of g`` for ``"group"``).  The variance is
    ``sum_i psi_i^2 / n^2`` where ``psi`` is the influence function, including
    the estimation of the weights.  The relative effect uses the delta method
    on the joint influence functions of ``theta`` and the treated level.

    References
    ----------
    Callaway, B. & Sant'Anna, P. H. C. (2021). *Journal of Econometrics* 225(2), 200-230.
    Goodman-Bacon, A. (2021). Difference-in-differences with variation in treatment timing.
    *Journal of Econometrics* 225(2), 254-277.

    Examples
    --------
    >>> import numpy as np
    >>> from cxlib.evaluation.simulate import simulate_panel
    >>> panel, truth = simulate_panel(n_units=60, n_periods=10, cohorts=[4, 6], effect=-0.2,
    ...                               rng=np.random.default_rng(3))
    >>> res = staggered_did(panel, outcome="y", unit="unit", time="period", first_treated="first_treated")
    >>> res.ci_lower < truth["att"] < res.ci_upper, res.relative_ci_lower < -0.2 < res.relative_ci_upper
    (True, True)
    """
    alpha = check_alpha(alpha)
    aggregation = check_choice("aggregation", aggregation, ["simple", "group", "dynamic"])
    metric = metric or outcome
    fit = _fit(data, outcome=outcome, unit=unit, time=time, first_treated=first_treated,
               control_group=control_group, base_period=base_period, scale=scale, what="staggered_did()")
    post = fit.period >= fit.cohort
    if aggregation == "dynamic":
        e_all = fit.period - fit.cohort
        parts = [_aggregate(fit, post & (e_all == e)) for e in np.unique(e_all[post])]
        theta = float(np.mean([p[0] for p in parts]))
        inf = np.mean([p[1] for p in parts], axis=0)
        level = float(np.mean([p[2] for p in parts]))
        inf_level = np.mean([p[3] for p in parts], axis=0)
    else:
        mult = None
        if aggregation == "group":
            per_cohort = pd.Series(post.astype(int)).groupby(fit.cohort).transform("sum").to_numpy()
            mult = 1.0 / np.maximum(per_cohort, 1)
        theta, inf, level, inf_level = _aggregate(fit, post, mult)
    n = fit.n
    se = math.sqrt(inf @ inf) / n
    if scale == "log":
        out = log_scale_fields(theta, se, math.inf, alpha, level)
    else:
        inf_mu0 = inf_level - inf
        cov = np.array([[inf @ inf, inf @ inf_mu0], [inf @ inf_mu0, inf_mu0 @ inf_mu0]]) / n ** 2
        wald = wald_inference(theta, se, math.inf, alpha)
        rel = relative_effect(theta, level - theta, cov, alpha=alpha, dof=math.inf)
        out = {"estimate": theta, "se": se, **wald, "baseline": level - theta, "relative_estimate": rel[0],
               "relative_ci_lower": rel[1], "relative_ci_upper": rel[2]}
    table, _, dof_pre, p_pre = _event_table(fit, alpha=alpha, base_period=base_period, metric=metric, window=None)
    _warn_pretrend(p_pre, dof_pre, alpha, metric)
    z = t_value(alpha, math.inf)
    gt_se = np.sqrt((fit.inf_att ** 2).sum(axis=0)) / n
    group_time = pd.DataFrame({
        "cohort": fit.levels[fit.cohort], "period": fit.levels[fit.period], "event_time": fit.period - fit.cohort,
        "period_kind": np.where(post, "post", "pre"), "estimate": fit.att, "se": gt_se,
        "ci_lower": fit.att - z * gt_se, "ci_upper": fit.att + z * gt_se, "n_treated": fit.n_treated,
        "n_control": fit.n_control}, columns=list(GROUP_TIME_COLUMNS))
    first = int(fit.cohort.min())
    n_treated = int(np.isfinite(fit.unit_cohort).sum())
    return EffectResult(
        metric=metric, design="staggered", estimate=out["estimate"], se=out["se"], ci_lower=out["ci_lower"],
        ci_upper=out["ci_upper"], ci_level=1 - alpha, statistic=out["statistic"], dof=math.inf,
        p_value=out["p_value"], baseline=out["baseline"], relative_estimate=out["relative_estimate"],
        relative_ci_lower=out["relative_ci_lower"], relative_ci_upper=out["relative_ci_upper"], n_units=n, n_treated=n_treated, n_periods=len(fit.levels), n_pre=first,
        n_post=len(fit.levels) - first, n_obs=n * len(fit.levels), pre_trend_p_value=p_pre,
        method=f"{fit.method}; {aggregation} aggregation over {int(post.sum())} post-period group-time effects",
        tables={"group_time": group_time, "event_study": table})
