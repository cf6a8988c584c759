"""Synthetic control for one treated unit, with placebo-in-space inference.

A weighted average of untreated donor units (weights non-negative, summing
to one) is fitted to the treated unit before the program: to its pre-program
outcome path (the default), or to a set of predictors, covariate averages
and outcome lags, in a metric chosen to reproduce that path (Abadie, Diamond
& Hainmueller 2010; the weights are found in :mod:`.donor_weights`).  After
the program, the gap between the treated unit and its synthetic twin is the
effect.  Inference permutes the treated unit: the same method applied to each
donor ("placebo in space") shows how large gaps get by chance.  Refitting
without each donor that carries weight ("leave one out") shows how much the
estimate rests on any single one of them.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataContractError, ParameterError, SmallSampleWarning
from ..stats import check_alpha
from ._result import EffectResult, is_text_column, numeric_outcome, ordered_time_value, ordered_times, require_columns
from .donor_weights import Predictor, nested_weights, predictor_matrix, simplex_weights

__all__ = ["synthetic_control", "simplex_weights", "BALANCE_COLUMNS", "LEAVE_ONE_OUT_COLUMNS"]

#: Columns of ``tables["balance"]`` (with predictors): ADH (2010) Table 1 plus the weight of each predictor.
BALANCE_COLUMNS = ("predictor", "treated", "synthetic", "donor_mean", "v_weight")
#: Columns of ``tables["leave_one_out"]``: one refit per donor with positive weight, without that donor.
LEAVE_ONE_OUT_COLUMNS = ("dropped_unit", "dropped_weight", "estimate", "pre_rmspe", "post_rmspe", "ratio")


def _gaps(y1: np.ndarray, y0: np.ndarray, pre: np.ndarray, w: np.ndarray) -> dict[str, Any]:
    synth = y0 @ w
    gap = y1 - synth
    pre_rmspe = float(np.sqrt(np.mean(gap[pre] ** 2)))
    post_rmspe = float(np.sqrt(np.mean(gap[~pre] ** 2)))
    return {"weights": w, "synthetic": synth, "gap": gap, "pre_rmspe": pre_rmspe, "post_rmspe": post_rmspe,
            "ratio": post_rmspe / pre_rmspe if pre_rmspe > 0 else math.inf}


def _fit_one(y_target: np.ndarray, y_donors: np.ndarray, pre: np.ndarray) -> dict[str, Any]:
    return _gaps(y_target, y_donors, pre, simplex_weights(y_target[pre], y_donors[pre]))


def _periods_mask(given: Sequence[Any] | None, times: np.ndarray, pre: np.ndarray, read, name: str,
                  what: str) -> np.ndarray:
    """Which panel periods a caller's list of periods names (all of them pre-program); ``pre`` if None."""
    if given is None:
        return pre
    values = [read(p, name) for p in ([given] if isinstance(given, (str, int, np.integer)) else list(given))]
    index = pd.Index(times)
    wrong = [p for p in values if p not in index or not pre[index.get_loc(p)]]
    if wrong or not values:
        raise ParameterError(f"{what}: {name} must be pre-program periods of the panel; {wrong[:5] or 'none'} "
                             "given are not.")
    return index.isin(values)


def synthetic_control(data: pd.DataFrame, *, outcome: str, unit: str, time: str, treated_unit: Any,
                      treatment_start: Any, donors: Sequence[Any] | None = None, alpha: float = 0.05,
                      placebos: bool = True, metric: str | None = None,
                      predictors: Sequence[Predictor] | None = None, predictor_periods: Sequence[Any] | None = None,
                      optimization_periods: Sequence[Any] | None = None,
                      predictor_weights: Sequence[float] | None = None, restarts: int = 3,
                      rng: np.random.Generator | int | None = None, leave_one_out: bool = False) -> EffectResult:
    """Synthetic-control estimate of the program effect on one treated unit.

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy balanced panel, one row per unit and period (predictor columns may have gaps
        outside the periods they are averaged over).
    outcome, unit, time : str
        Columns of the metric, the unit and the period.  Text period labels (``"Q1-1999"``,
        ``"1999Q1"``, ``"10/2001"``, ``"2001-10"``...) are read as periods
        (:func:`cxlib.periods.parse_period_column`) since text does not sort in time order; the
        tables then report each period's first day.  Other text is refused.
    treated_unit : object
        The ``unit`` value of the treated unit (for a group of stores, average
        them into one pseudo-unit first).
    treatment_start : object
        First treated period (same type as ``time``, or a label when ``time`` holds labels).
    donors : sequence, optional
        Units allowed in the synthetic control (default: every other unit; they
        must be untreated during the whole window).
    alpha : float
        Level of the placebo test and of the test-inversion interval (default 0.05).
    placebos : bool
        Run the placebo-in-space permutation (default True; one fit per donor).
    metric : str, optional
        Label (default ``outcome``).
    predictors : sequence, optional
        Match predictors instead of the whole pre-period outcome path (default None: outcome
        matching, the outcomes-only estimator of Arkhangelsky et al. 2021).  Each item is a
        column name, averaged over ``predictor_periods``, or a pair ``(column, periods)``
        averaged over those periods: an outcome lag such as ``("cigsale", [1975])`` or a
        covariate over its own window such as ``("beer", range(1984, 1989))``.  Missing values
        inside a window are skipped.  Every period must be before ``treatment_start``.
    predictor_periods : sequence, optional
        Periods averaged for the plain column names (default: every pre-program period).
    optimization_periods : sequence, optional
        Pre-program periods whose outcome MSPE the predictor weights ``V`` minimise (default:
        every pre-program period; R ``Synth``'s ``time.optimize.ssr``).
    predictor_weights : sequence of float, optional
        A fixed diagonal of ``V``, one weight per predictor; skips the search.
    restarts : int
        Random starts of the ``V`` search besides the regression-based and equal-weight starts
        (default 3); each fit, the placebos' included, runs ``restarts + 2`` searches.
    rng : numpy.random.Generator or int, optional
        Seeded generator (or seed) of the random starts; needed with ``predictors`` unless
        ``restarts=0`` or ``predictor_weights`` is given.
    leave_one_out : bool
        Refit without each donor that has positive weight (default False; Abadie, Diamond &
        Hainmueller 2015), in ``tables["leave_one_out"]``.

    Returns
    -------
    EffectResult
        ``design="synthetic_control"``: ``estimate`` is the mean post-period gap
        (treated minus synthetic); ``statistic`` the post/pre RMSPE ratio;
        ``p_value`` its placebo rank; ``ci_lower``/``ci_upper`` the set of
        constant effects the placebo test does not reject; ``se`` is NaN;
        ``pre_fit_rmspe`` the root mean squared gap over the pre-program periods; ``baseline``
        the synthetic control's post-period mean.  ``tables``: ``"weights"`` (unit, weight),
        ``"series"`` (time, period_kind, treated, synthetic, gap), ``"placebos"``
        (unit, pre_rmspe, post_rmspe, ratio, mean_gap, is_treated) and
        ``"placebo_gaps"`` (unit, time, gap); with predictors ``"balance"``
        (:data:`BALANCE_COLUMNS`: each predictor for the treated unit, its synthetic control and
        the donors' plain mean, and its weight in ``V``); with ``leave_one_out``
        ``"leave_one_out"`` (:data:`LEAVE_ONE_OUT_COLUMNS`) and ``"leave_one_out_series"``
        (dropped_unit, time, synthetic, gap).

    Raises
    ------
    ParameterError
        Unknown treated unit or donors, fewer than 2 donors, too few pre- or post-periods,
        predictors or periods that are not pre-program periods, a missing ``rng``.
    DataContractError
        An unbalanced panel, missing or non-numeric outcomes, text periods in no known format,
        a predictor without a value for some unit.

    Warns
    -----
    SmallSampleWarning
        When ``alpha * (donors + 1) <= 1``: the permutation test cannot reject
        at ``alpha`` and the interval is unbounded.

    Notes
    -----
    Weights without predictors: ``w = argmin ||Y1_pre - Y0_pre w||^2`` over the simplex (Abadie,
    Diamond & Hainmueller 2010, outcomes-only version, as the ``sc_estimate`` of Arkhangelsky et
    al. 2021).  With predictors ``X`` (k x units, divided by their standard deviation across units):
    ``W(V) = argmin (X1 - X0 W)' V (X1 - X0 W)`` over the simplex, with the diagonal ``V``
    minimising the outcome MSPE over the optimisation periods, searched from R ``Synth``'s
    regression-based start, equal weights and ``restarts`` random starts
    (:func:`~cxlib.evaluation.donor_weights.nested_weights`).  Effect: ``tau = mean_{t >= T0}(Y1t -
    Y0t w)``.  Permutation p-value: ``(1 + #{j: r_j >= r_1}) / (J + 1)`` with ``r`` the post/pre
    RMSPE ratio of each unit's own synthetic control (donor pool: the other donors; with
    predictors, ``V`` and ``W`` are fitted anew for every placebo; ADH 2010, section 4).  Interval:
    test inversion under a constant effect (Firpo & Possebom 2018): shifting the treated post path
    by ``tau0`` leaves the pre fit and the placebos unchanged (predictors only use pre-program
    periods), so ``{tau0 : p(tau0) > alpha}`` is ``mean gap +- sqrt((c RMSPE_pre)^2 -
    var(gap_post))`` with ``c`` the critical placebo ratio.  Relative interval: bounds divided by
    ``baseline``.  Leave-one-out: the whole fit again without one donor of positive weight
    (ADH 2015, section 5).

    References
    ----------
    Abadie, A., Diamond, A. & Hainmueller, J. (2010). *JASA* 105(490), 493-505 (Table 1: predictor balance;
    Table 2: donor weights of synthetic California; section 4: placebo runs and the post/pre MSPE ratio).
    Abadie, A., Diamond, A. & Hainmueller, J. (2015). Comparative politics and the synthetic control method.
    *AJPS* 59(2), 495-510 (leave-one-out robustness).
    Abadie, A., Diamond, A. & Hainmueller, J. (2011). Synth: an R package for synthetic control methods.
    *Journal of Statistical Software* 42(13).
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

    With predictors (two outcome lags and the mean of the first four periods):

    >>> res = synthetic_control(panel, outcome="y", unit="unit", time="period", treated_unit=treated,
    ...                         treatment_start=8, predictors=[("y", [3]), ("y", [7]), ("y", range(4))],
    ...                         placebos=False, rng=np.random.default_rng(1))
    >>> res.tables["balance"]["predictor"].tolist()
    ['y (3)', 'y (7)', 'y (0-3)']
    """
    alpha = check_alpha(alpha)
    what = "synthetic_control()"
    require_columns(data, {"outcome": outcome, "unit": unit, "time": time}, what=what)
    text = is_text_column(data[time])
    times_col = ordered_times(data, time, what=what)
    treatment_start = ordered_time_value(treatment_start, text=text, name="treatment_start", what=what)
    wide = data.assign(**{time: times_col}).pivot_table(index=time, columns=unit, values=outcome, aggfunc="first",
                                                         dropna=False)
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
    if len(pool) < 2 + bool(leave_one_out):
        raise ParameterError(f"{what}: synthetic control needs at least 2 donor units (3 with leave_one_out); "
                             f"got {len(pool)}.")
    times = wide.index.to_numpy()
    pre = times < treatment_start
    n_pre, n_post = int(pre.sum()), int((~pre).sum())
    if n_pre < 2 or n_post < 1:
        raise ParameterError(f"{what}: need at least 2 pre-periods and 1 post-period around "
                             f"treatment_start={treatment_start!r}; got {n_pre} and {n_post}.")
    y_all = wide[[treated_unit, *pool]].to_numpy(dtype=float)  # column 0: treated, 1..J: donors
    fit, describe = _fitter(data, y_all, pre, times, times_col, unit=unit, units=[treated_unit, *pool], text=text,
                            predictors=predictors, predictor_periods=predictor_periods,
                            optimization_periods=optimization_periods, predictor_weights=predictor_weights,
                            restarts=restarts, rng=rng, what=what)
    donor_idx = np.arange(1, len(pool) + 1)
    main = fit(0, donor_idx)
    tau = float(main["gap"][~pre].mean())
    baseline = float(main["synthetic"][~pre].mean())
    rows = [{"unit": treated_unit, "pre_rmspe": main["pre_rmspe"], "post_rmspe": main["post_rmspe"],
             "ratio": main["ratio"], "mean_gap": tau, "is_treated": True}]
    gaps = [pd.DataFrame({"unit": treated_unit, "time": times, "gap": main["gap"]})]
    p_value = lo = hi = math.nan
    if placebos:
        for j, name in enumerate(pool):
            placebo = fit(j + 1, np.delete(donor_idx, j))
            rows.append({"unit": name, "pre_rmspe": placebo["pre_rmspe"], "post_rmspe": placebo["post_rmspe"],
                         "ratio": placebo["ratio"], "mean_gap": float(placebo["gap"][~pre].mean()),
                         "is_treated": False})
            gaps.append(pd.DataFrame({"unit": name, "time": times, "gap": placebo["gap"]}))
        ratios = np.array([r["ratio"] for r in rows[1:]])
        n_perm = len(ratios) + 1
        p_value = (1 + int((ratios >= main["ratio"]).sum())) / n_perm
        lo, hi = _inverted_interval(main["gap"][~pre], main["pre_rmspe"], ratios, alpha)
    rel = (tau / baseline, lo / baseline, hi / baseline) if baseline > 0 else (math.nan,) * 3
    weights = pd.DataFrame({"unit": pool, "weight": main["weights"]}).sort_values(
        "weight", ascending=False, ignore_index=True)
    series = pd.DataFrame({"time": times, "period_kind": np.where(pre, "pre", "post"), "treated": y_all[:, 0],
                           "synthetic": main["synthetic"], "gap": main["gap"]})
    tables = {"weights": weights, "series": series, "placebos": pd.DataFrame(rows),
              "placebo_gaps": pd.concat(gaps, ignore_index=True)}
    if "balance" in main:
        tables["balance"] = main["balance"]
    infer = (f"placebo-in-space permutation over {len(pool)} donors (post/pre RMSPE ratio), "
             f"constant-effect test-inversion interval" if placebos else "no placebo inference")
    if leave_one_out:
        tables.update(_leave_one_out(fit, pool, main["weights"], times, pre))
        infer += f"; leave-one-out refits without each of the {len(tables['leave_one_out'])} donors with weight"
    return EffectResult(
        metric=metric or outcome, design="synthetic_control", estimate=tau, ci_lower=lo, ci_upper=hi,
        ci_level=1 - alpha, statistic=main["ratio"], p_value=p_value, baseline=baseline,
        relative_estimate=rel[0], relative_ci_lower=rel[1], relative_ci_upper=rel[2], n_units=len(pool) + 1,
        n_treated=1, n_periods=len(times), n_pre=n_pre, n_post=n_post, n_obs=len(times) * (len(pool) + 1),
        pre_fit_rmspe=main["pre_rmspe"], method=f"{describe(main, n_pre)}; {infer}", tables=tables)


def _fitter(data, y_all, pre, times, times_col, *, unit, units, text, predictors, predictor_periods,
            optimization_periods, predictor_weights, restarts, rng, what):
    """``fit(target, donors)`` on the columns of ``y_all``, and ``describe(main_fit, n_pre)`` for the method text."""
    if predictors is None:
        if any(a is not None for a in (predictor_periods, optimization_periods, predictor_weights)):
            raise ParameterError(f"{what}: predictor_periods, optimization_periods and predictor_weights only "
                                 "apply with predictors=...")

        def fit_outcomes(i: int, idx: np.ndarray) -> dict[str, Any]:
            return _fit_one(y_all[:, i], y_all[:, idx], pre)

        return fit_outcomes, (lambda main, n_pre:
                              f"synthetic control (convex donor weights fitted on {n_pre} pre-periods)")
    if predictor_weights is None and restarts and rng is None:
        raise ParameterError(f"{what}: the random restarts of the predictor-weight search need a seeded generator: "
                             "pass rng=np.random.default_rng(seed) (or an int seed), or restarts=0.")
    gen = rng if isinstance(rng, np.random.Generator) or rng is None else np.random.default_rng(rng)

    def read(value, name):
        return ordered_time_value(value, text=text, name=name, what=what)

    default = pre if predictor_periods is None else _periods_mask(predictor_periods, times, pre, read,
                                                                   "predictor_periods", what)
    opt = _periods_mask(optimization_periods, times, pre, read, "optimization_periods", what)
    names, x_all = predictor_matrix(data, predictors=list(predictors), unit=unit, times=times_col, units=units,
                                    periods=times, pre=pre, default_periods=times[default], read_period=read,
                                    what=what)

    def fit_nested(i: int, idx: np.ndarray) -> dict[str, Any]:
        nested = nested_weights(x_all[:, i], x_all[:, idx], y_all[opt, i], y_all[opt][:, idx], names=names,
                                v=predictor_weights, restarts=restarts, rng=gen)
        out = _gaps(y_all[:, i], y_all[:, idx], pre, nested.w)
        out["nested"] = nested
        out["balance"] = pd.DataFrame({"predictor": names, "treated": x_all[:, i],
                                       "synthetic": x_all[:, idx] @ nested.w, "donor_mean": x_all[:, idx].mean(axis=1),
                                       "v_weight": nested.v}, columns=list(BALANCE_COLUMNS))
        return out

    def describe(main, n_pre):
        nested = main["nested"]
        how = ("the given predictor weights V" if nested.start == "given" else
               f"predictor weights V minimising the outcome MSPE over {int(opt.sum())} pre-periods (nested "
               f"optimisation of Abadie, Diamond & Hainmueller 2010; best of {nested.n_starts} starts, "
               f"reached from the {nested.start} start)")
        return f"synthetic control matching {len(names)} predictors ({', '.join(names)}) with {how}"

    return fit_nested, describe


def _leave_one_out(fit, pool, weights, times, pre) -> dict[str, pd.DataFrame]:
    """Refit without each donor of positive weight (largest first)."""
    rows, series = [], []
    donor_idx = np.arange(1, len(pool) + 1)
    for j in np.argsort(-weights, kind="stable"):
        if not weights[j] > 1e-6:
            continue
        out = fit(0, np.delete(donor_idx, j))
        rows.append({"dropped_unit": pool[j], "dropped_weight": float(weights[j]),
                     "estimate": float(out["gap"][~pre].mean()), "pre_rmspe": out["pre_rmspe"],
                     "post_rmspe": out["post_rmspe"], "ratio": out["ratio"]})
        series.append(pd.DataFrame({"dropped_unit": pool[j], "time": times, "synthetic": out["synthetic"],
                                    "gap": out["gap"]}))
    return {"leave_one_out": pd.DataFrame(rows, columns=list(LEAVE_ONE_OUT_COLUMNS)),
            "leave_one_out_series": (pd.concat(series, ignore_index=True) if series else
                                     pd.DataFrame(columns=["dropped_unit", "time", "synthetic", "gap"]))}


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
