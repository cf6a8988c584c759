"""Structural time-series counterfactual with a CausalImpact-style summary.

An unobserved-components model (local level or local linear trend, optional
seasonal and control series as regressors) is fitted on the pre-program
period only and forecast over the post period: the forecast is what would
have happened without the program.  Actual minus forecast is the effect, with
pointwise, average and cumulative intervals from simulated forecast paths.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from statsmodels.tsa.statespace.structural import UnobservedComponents

from ..errors import ConvergenceError, ParameterError, SmallSampleWarning
from ..stats import check_alpha
from ._result import EffectResult, is_text_column, numeric_outcome, ordered_time_value, ordered_times, require_columns

__all__ = ["structural_counterfactual", "SERIES_COLUMNS", "SUMMARY_COLUMNS"]

SERIES_COLUMNS = ("time", "period_kind", "actual", "predicted", "predicted_lower", "predicted_upper", "effect",
                  "effect_lower", "effect_upper", "cumulative_effect", "cumulative_lower", "cumulative_upper")
SUMMARY_COLUMNS = ("statistic", "actual", "predicted", "predicted_lower", "predicted_upper", "effect",
                   "effect_lower", "effect_upper", "relative_effect", "relative_lower", "relative_upper")


def structural_counterfactual(data: pd.DataFrame, *, outcome: str, time: str, intervention_start,
                              controls: Sequence[str] = (), trend: bool = False,
                              seasonal_period: int | None = None, alpha: float = 0.05, n_sim: int = 1000,
                              rng: np.random.Generator, metric: str | None = None) -> EffectResult:
    """Counterfactual forecast from a structural time-series model fitted before the program.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per period of one regularly spaced series, with optional
        control series as extra columns (for example the control stores' mean),
        which must be unaffected by the program.
    outcome, time : str
        Columns of the metric and the period (numbers, dates, or text period labels such as
        ``"Q1-1999"``, read as periods by :func:`cxlib.periods.parse_period_column`).
    intervention_start : object
        First period of the program (same type as ``time``, or a label when ``time`` holds labels).
    controls : sequence of str
        Columns used as regressors (CausalImpact's "covariates"); default none.
    trend : bool
        Local linear trend (True) or local level (False, default: more stable
        forecasts; CausalImpact's default too).
    seasonal_period : int, optional
        Periods per seasonal cycle (stochastic seasonal component).
    alpha : float
        1 - level of the intervals.
    n_sim : int
        Simulated forecast paths for the average and cumulative intervals (default 1000).
    rng : numpy.random.Generator
        Seeded generator for the simulated paths.
    metric : str, optional
        Label (default ``outcome``).

    Returns
    -------
    EffectResult
        ``design="structural"``: ``estimate`` is the average post-period effect
        (actual minus forecast); ``ci_*`` its simulation interval; ``se`` the
        simulated standard deviation; ``p_value`` the two-sided tail-area
        probability; ``baseline`` the mean forecast.  ``tables``:
        ``"series"`` (columns ``SERIES_COLUMNS``: pointwise and cumulative
        effects; pre-period rows hold the one-step-ahead in-sample fit) and
        ``"summary"`` (columns ``SUMMARY_COLUMNS``, rows average and cumulative).

    Raises
    ------
    ConvergenceError
        When the maximum-likelihood fit does not converge.

    Notes
    -----
    Model: ``y_t = mu_t [+ gamma_t] [+ x_t' beta] + e_t`` with a random-walk
    level ``mu`` (plus slope if ``trend``), estimated by Kalman-filter maximum
    likelihood (Harvey 1989; statsmodels ``UnobservedComponents``).  Paths are
    simulated from the filtered state at the end of the pre-period
    (state and observation noise; parameter uncertainty is *not* included,
    unlike the Bayesian CausalImpact, so intervals are somewhat narrower).
    Tail-area p-value: ``2 min(P(S >= s), P(S <= s))`` with ``S`` the simulated
    and ``s`` the actual post-period mean, ``(k + 1) / (R + 1)`` form.

    References
    ----------
    Brodersen, K. H. et al. (2015). Inferring causal impact using Bayesian structural time-series models.
    *Annals of Applied Statistics* 9(1), 247-274.
    Harvey, A. C. (1989). *Forecasting, Structural Time Series Models and the Kalman Filter*.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(11)
    >>> x = 50 + np.cumsum(rng.normal(0, 0.5, 60))
    >>> y = 10 + 1.2 * x + rng.normal(0, 0.5, 60) - 8 * (np.arange(60) >= 45)
    >>> res = structural_counterfactual(pd.DataFrame({"t": range(60), "y": y, "x": x}), outcome="y", time="t",
    ...                                 intervention_start=45, controls=["x"], n_sim=300,
    ...                                 rng=np.random.default_rng(1))
    >>> res.ci_lower < -8 < res.ci_upper, list(res.tables["summary"]["statistic"])
    (True, ['average', 'cumulative'])
    """
    alpha = check_alpha(alpha)
    what = "structural_counterfactual()"
    controls = list(controls)
    require_columns(data, {"outcome": outcome, "time": time, **{f"control {c}": c for c in controls}}, what=what)
    if not isinstance(rng, np.random.Generator):
        raise ParameterError(f"{what}: rng must be a numpy.random.Generator; got {type(rng).__name__}.")
    if n_sim < 100:
        raise ParameterError(f"{what}: n_sim={n_sim} is too few simulated paths for {1 - alpha:.0%} intervals; "
                             "use at least 100 (default 1000).")
    text = is_text_column(data[time])
    frame = data.assign(**{time: ordered_times(data, time, what=what)})
    intervention_start = ordered_time_value(intervention_start, text=text, name="intervention_start", what=what)
    if frame[time].duplicated().any():
        raise ParameterError(f"{what}: {time!r} has repeated values; give one row per period.")
    frame = frame.sort_values(time)
    y = numeric_outcome(frame, outcome, what=what)
    x = np.column_stack([numeric_outcome(frame, c, what=what) for c in controls]) if controls else None
    times = frame[time].to_numpy()
    if np.issubdtype(times.dtype, np.datetime64):  # numpy cannot order a Timestamp among datetime64 values
        intervention_start = pd.Timestamp(intervention_start).to_datetime64()
    start = int(np.searchsorted(times, intervention_start, side="left"))
    n, h = len(y), len(y) - start
    if start < 6 or h < 1:
        raise ParameterError(f"{what}: need at least 6 pre-periods and 1 post-period; got {start} and {h}.")
    if seasonal_period and start < 2 * seasonal_period:
        warnings.warn(f"{what}: {start} pre-periods cover fewer than two {seasonal_period}-period seasons; "
                      "the seasonal component is poorly identified.", SmallSampleWarning, stacklevel=2)
    model = UnobservedComponents(y[:start], level="local linear trend" if trend else "local level",
                                 seasonal=seasonal_period, exog=None if x is None else x[:start])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels' optimiser chatter; convergence is checked below
        res = model.fit(disp=False, method="lbfgs", maxiter=2000)
    if not res.mle_retvals.get("converged", True):
        raise ConvergenceError(f"{what}: the structural model's likelihood did not converge. Likely causes: "
                               "1. too few pre-periods for the components; 2. a control series on a very "
                               "different scale (standardise it); 3. trend=True on a short noisy series "
                               "(use the local level).")
    x_post = None if x is None else x[start:]
    fc = res.get_forecast(steps=h, exog=x_post)
    pred = np.asarray(fc.predicted_mean)
    band = np.asarray(fc.conf_int(alpha=alpha))
    sims = np.asarray(res.simulate(h, anchor="end", repetitions=n_sim, exog=x_post, rng=rng)).reshape(h, n_sim)
    actual = y[start:]
    q = [alpha / 2, 1 - alpha / 2]
    cum_sim = np.cumsum(actual[:, None] - sims, axis=0)
    avg_sim = (actual[:, None] - sims).mean(axis=0)  # simulated average effect
    tau = float(actual.mean() - pred.mean())
    lo, hi = np.quantile(avg_sim, q)
    se = float(avg_sim.std(ddof=1))
    k_hi, k_lo = int((avg_sim >= 0).sum()), int((avg_sim <= 0).sum())
    p_value = min(1.0, 2 * min(k_hi + 1, k_lo + 1) / (n_sim + 1))
    baseline = float(pred.mean())
    rel_sim = avg_sim / sims.mean(axis=0)
    rel_lo, rel_hi = np.quantile(rel_sim, q)
    pre_pred = np.asarray(res.get_prediction().predicted_mean)
    pre_band = np.asarray(res.get_prediction().conf_int(alpha=alpha))
    burn = max(int(res.loglikelihood_burn), 1)
    pre_rmspe = float(np.sqrt(np.mean((y[burn:start] - pre_pred[burn:]) ** 2)))
    nan_pre = np.full(start, np.nan)
    series = pd.DataFrame({
        "time": times, "period_kind": np.where(np.arange(n) < start, "pre", "post"), "actual": y,
        "predicted": np.concatenate([pre_pred, pred]),
        "predicted_lower": np.concatenate([pre_band[:, 0], band[:, 0]]),
        "predicted_upper": np.concatenate([pre_band[:, 1], band[:, 1]]),
        "effect": np.concatenate([nan_pre, actual - pred]),
        "effect_lower": np.concatenate([nan_pre, actual - band[:, 1]]),
        "effect_upper": np.concatenate([nan_pre, actual - band[:, 0]]),
        "cumulative_effect": np.concatenate([nan_pre, np.cumsum(actual - pred)]),
        "cumulative_lower": np.concatenate([nan_pre, np.quantile(cum_sim, q[0], axis=1)]),
        "cumulative_upper": np.concatenate([nan_pre, np.quantile(cum_sim, q[1], axis=1)])},
        columns=list(SERIES_COLUMNS))
    tot_sim = sims.sum(axis=0)
    summary = pd.DataFrame([
        ["average", actual.mean(), pred.mean(), *np.quantile(sims.mean(axis=0), q), tau, lo, hi,
         tau / baseline, rel_lo, rel_hi],
        ["cumulative", actual.sum(), pred.sum(), *np.quantile(tot_sim, q), actual.sum() - pred.sum(),
         *np.quantile(actual.sum() - tot_sim, q), tau / baseline, rel_lo, rel_hi]], columns=list(SUMMARY_COLUMNS))
    comp = ("local linear trend" if trend else "local level") + (f" + {seasonal_period}-period seasonal"
                                                                  if seasonal_period else "")
    comp += f" + {len(controls)} control series" if controls else ""
    return EffectResult(
        metric=metric or outcome, design="structural", estimate=tau, se=se, ci_lower=float(lo), ci_upper=float(hi),
        ci_level=1 - alpha, statistic=tau / se if se > 0 else math.nan, dof=math.inf, p_value=p_value,
        baseline=baseline, relative_estimate=tau / baseline if baseline > 0 else math.nan,
        relative_ci_lower=float(rel_lo) if baseline > 0 else math.nan,
        relative_ci_upper=float(rel_hi) if baseline > 0 else math.nan, n_units=1, n_treated=1, n_periods=n,
        n_pre=start, n_post=h, n_obs=n, pre_fit_rmspe=pre_rmspe,
        method=(f"structural time-series counterfactual ({comp}; Kalman ML fit on {start} pre-periods), "
                f"CausalImpact-style summary; intervals from {n_sim} simulated forecast paths "
                "(parameter uncertainty not included)"),
        tables={"series": series, "summary": summary})
