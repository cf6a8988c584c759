"""The result schemas shared by every evaluation design, and their inference helpers.

Every design returns an :class:`EffectResult` whose :meth:`~EffectResult.to_frame`
has the columns of :data:`EFFECT_COLUMNS`, in that order, whatever the design or
the arguments, so ``pd.concat([r.to_frame() for r in results])`` stacks naive,
difference-in-differences, staggered, time-series and synthetic-control
estimates into one comparison table.  Event studies (one row per event time)
are a second result kind, :class:`EventStudyResult`, with the columns of
:data:`EVENT_STUDY_COLUMNS`.
"""
from __future__ import annotations

import datetime
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from ..display import displayable
from ..errors import CxWarning, DataContractError, ParameterError
from ..periods import COLUMN_FORMATS, parse_period_column
from ..stats import t_value

Design = Literal["naive", "did_2x2", "twfe", "staggered", "its", "structural", "synthetic_control"]
DESIGNS: tuple[str, ...] = ("naive", "did_2x2", "twfe", "staggered", "its", "structural", "synthetic_control")

#: Columns of every effect estimate, in this order, whatever the design.
EFFECT_COLUMNS = ("metric", "design", "estimate", "se", "ci_lower", "ci_upper", "ci_level", "statistic", "dof",
                  "p_value", "baseline", "relative_estimate", "relative_ci_lower", "relative_ci_upper",
                  "n_units", "n_treated", "n_periods", "n_pre", "n_post", "n_obs", "pre_trend_p_value",
                  "pre_fit_rmspe", "method")

#: Columns of every event study (one row per event time, ``e = t - g``).
EVENT_STUDY_COLUMNS = ("metric", "event_time", "period_kind", "estimate", "se", "ci_lower", "ci_upper",
                       "ci_level", "p_value", "n_cohorts", "n_treated", "method")


class PreTrendWarning(CxWarning):
    """The pre-period (lead) effects of an event study differ jointly from zero.

    Parallel trends, the assumption behind every difference-in-differences
    estimate, is then doubtful: read the post-period effects with care, try the
    not-yet-treated control group, a shorter window or synthetic control.
    """


@displayable()
@dataclass(frozen=True, kw_only=True)
class EffectResult:
    """One program-effect estimate with its uncertainty, sample sizes and method.

    Attributes
    ----------
    metric : str
        Outcome column (or metric key) the effect is measured on.
    design : str
        One of :data:`DESIGNS`.
    estimate : float
        Average effect on the treated in the outcome's unit (treated minus
        counterfactual), at full precision.
    se : float
        Standard error (NaN for permutation-only designs such as synthetic control).
    ci_lower, ci_upper : float
        Confidence (or, for the structural model, prediction) interval at ``ci_level``.
    ci_level : float
        ``1 - alpha``.
    statistic : float
        Test statistic: t or z for the regression designs, post/pre RMSPE ratio
        for synthetic control, the simulated z for the structural model.
    dof : float
        Degrees of freedom of the t reference distribution (``inf`` = normal; NaN = permutation).
    p_value : float
        Two-sided p-value of "no effect".
    baseline : float
        Counterfactual mean of the treated in the post period (what they would
        have had without the program); the denominator of the relative effect.
    relative_estimate, relative_ci_lower, relative_ci_upper : float
        ``estimate / baseline`` as a fraction (-0.3 = -30 %) with its interval
        (delta method unless the method says otherwise); NaN when the baseline
        is zero or negative.
    n_units, n_treated : int
        Units (stores) used, and how many of them were treated.
    n_periods, n_pre, n_post : int
        Periods in the panel or series, before and after the program start.
    n_obs : int
        Unit-period observations used.
    pre_trend_p_value : float
        p-value of the joint test that the pre-period effects are zero (event
        studies) or NaN.
    pre_fit_rmspe : float
        Root mean squared prediction error of the counterfactual before the
        program (synthetic control, time-series designs) or NaN.
    method : str
        Estimator, comparison and inference, in words.
    tables : Mapping[str, pandas.DataFrame]
        Design-specific detail (event study, group-time effects, donor weights,
        the actual-versus-counterfactual series, placebo runs); not part of
        :meth:`to_frame`.
    """

    metric: str
    design: str
    estimate: float
    se: float = math.nan
    ci_lower: float = math.nan
    ci_upper: float = math.nan
    ci_level: float = 0.95
    statistic: float = math.nan
    dof: float = math.nan
    p_value: float = math.nan
    baseline: float = math.nan
    relative_estimate: float = math.nan
    relative_ci_lower: float = math.nan
    relative_ci_upper: float = math.nan
    n_units: int = 0
    n_treated: int = 0
    n_periods: int = 0
    n_pre: int = 0
    n_post: int = 0
    n_obs: int = 0
    pre_trend_p_value: float = math.nan
    pre_fit_rmspe: float = math.nan
    method: str
    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.design not in DESIGNS:
            raise ParameterError(f"design={self.design!r} is not allowed; choose one of {list(DESIGNS)}.")
        object.__setattr__(self, "tables", MappingProxyType(dict(self.tables)))

    @property
    def significant(self) -> bool | None:
        """Whether ``p_value < 1 - ci_level`` (None when no p-value exists)."""
        if math.isnan(self.p_value):
            return None
        return bool(self.p_value < 1 - self.ci_level)

    def to_frame(self) -> pd.DataFrame:
        """This result as a one-row frame with the columns of :data:`EFFECT_COLUMNS`."""
        row = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "tables"}
        return pd.DataFrame([row], columns=list(EFFECT_COLUMNS))

    def __str__(self) -> str:
        level = f"{100 * self.ci_level:g}%"
        rel = ("" if math.isnan(self.relative_estimate) else
               f", {100 * self.relative_estimate:+.1f}% ({100 * self.relative_ci_lower:+.1f}% to "
               f"{100 * self.relative_ci_upper:+.1f}%)")
        return (f"{self.metric} [{self.design}] effect = {self.estimate:.4g} ({level} CI {self.ci_lower:.4g} to "
                f"{self.ci_upper:.4g}; p = {self.p_value:.3g}{rel}; {self.n_units} units, "
                f"{self.n_treated} treated; {self.method})")


@displayable(tables=("table",))
@dataclass(frozen=True, kw_only=True)
class EventStudyResult:
    """Effects by event time ``e = t - g`` (periods since the program start) with a pre-trend test.

    Attributes
    ----------
    metric : str
        Outcome column.
    table : pandas.DataFrame
        One row per event time with the columns of :data:`EVENT_STUDY_COLUMNS`;
        ``period_kind`` is ``"pre"`` (leads, placebo effects that should be
        zero), ``"reference"`` (the normalised base period, estimate 0, no SE)
        or ``"post"``.
    ci_level : float
        ``1 - alpha`` of the pointwise intervals.
    pre_trend_statistic, pre_trend_dof, pre_trend_p_value : float
        Wald statistic that all leads are zero, the number of leads tested and
        the p-value (Hotelling F reference; NaN without leads).
    method : str
        Estimator and inference, in words.
    """

    metric: str
    table: pd.DataFrame = field(repr=False)
    ci_level: float
    pre_trend_statistic: float
    pre_trend_dof: float
    pre_trend_p_value: float
    method: str

    def to_frame(self) -> pd.DataFrame:
        """The event-study table (columns of :data:`EVENT_STUDY_COLUMNS`)."""
        return self.table.loc[:, list(EVENT_STUDY_COLUMNS)].reset_index(drop=True)

    @property
    def pre_trends_ok(self) -> bool | None:
        """False when the joint lead test rejects at ``1 - ci_level``; None without leads."""
        if math.isnan(self.pre_trend_p_value):
            return None
        return bool(self.pre_trend_p_value >= 1 - self.ci_level)


# --------------------------------------------------------------------------- inference helpers

def wald_inference(estimate: float, se: float, dof: float, alpha: float) -> dict[str, float]:
    """Statistic, two-sided p-value and interval of ``estimate`` with standard error ``se``.

    >>> out = wald_inference(2.0, 1.0, math.inf, 0.05)
    >>> round(out["p_value"], 4), round(out["ci_lower"], 3)
    (0.0455, 0.04)
    """
    if not (se > 0 and math.isfinite(se)):
        return {"statistic": math.nan, "p_value": math.nan, "ci_lower": math.nan, "ci_upper": math.nan}
    stat = estimate / se
    dist = stats.norm if math.isinf(dof) else stats.t(dof)
    p = float(2 * dist.sf(abs(stat)))
    crit = t_value(alpha, dof)
    return {"statistic": float(stat), "p_value": p, "ci_lower": estimate - crit * se,
            "ci_upper": estimate + crit * se}


def relative_effect(estimate: float, baseline: float, cov: np.ndarray, *, alpha: float,
                    dof: float) -> tuple[float, float, float]:
    """Relative effect ``estimate / baseline`` with a Fieller interval.

    Parameters
    ----------
    estimate, baseline : float
        Absolute effect ``tau`` and counterfactual mean ``mu0``.
    cov : ndarray, shape (2, 2)
        Covariance of ``(tau, mu0)``.
    alpha, dof : float
        Interval level and reference distribution, the same as the absolute effect's.

    Returns
    -------
    (relative, lower, upper) : tuple of float
        NaN when ``mu0 <= 0`` (a percentage change of a non-positive baseline means nothing);
        infinite bounds when the baseline itself is not significantly above zero (the
        Fieller set is then unbounded).

    Notes
    -----
    Fieller (1954): the interval is the set of ratios ``r`` not rejected by the Wald test of
    ``tau - r mu0 = 0``, i.e. ``(tau - r mu0)^2 <= c^2 (v_tt - 2 r v_tm + r^2 v_mm)``, a
    quadratic inequality in ``r``.  Unlike the delta method (``r +- c * se(r)``), it contains 0
    exactly when the test of ``tau = 0`` at the same level does not reject, so the relative
    interval never contradicts the effect's p-value; with a fixed baseline (``v_mm = 0``) it
    reduces to ``(tau +- c se) / mu0``.

    >>> [round(x, 4) for x in relative_effect(-3.0, 10.0, np.diag([1.0, 0.0]), alpha=0.05, dof=math.inf)]
    [-0.3, -0.496, -0.104]
    """
    if not (baseline > 0 and math.isfinite(baseline)):
        return math.nan, math.nan, math.nan
    rel = estimate / baseline
    cov = np.asarray(cov, dtype=float)
    v_tt, v_tm, v_mm = float(cov[0, 0]), float(cov[0, 1]), float(cov[1, 1])
    if not (v_tt > 0 and math.isfinite(v_tt)):
        return rel, math.nan, math.nan
    c2 = t_value(alpha, dof) ** 2
    a = baseline ** 2 - c2 * v_mm
    b = -2.0 * (estimate * baseline - c2 * v_tm)
    k = estimate ** 2 - c2 * v_tt
    disc = b * b - 4 * a * k
    if a <= 0 or disc < 0:  # the baseline is indistinguishable from zero: unbounded set
        return rel, -math.inf, math.inf
    root = math.sqrt(disc)
    lo, hi = sorted(((-b - root) / (2 * a), (-b + root) / (2 * a)))
    return rel, lo, hi


# --------------------------------------------------------------------------- input checks

def require_columns(data: pd.DataFrame, columns: Mapping[str, str | None], *, what: str) -> None:
    """Raise ``DataContractError`` if a named column is missing from ``data``."""
    if not isinstance(data, pd.DataFrame):
        raise ParameterError(f"{what} needs a pandas DataFrame; got {type(data).__name__}.")
    for role, col in columns.items():
        if col is not None and col not in data.columns:
            raise DataContractError(
                f"{what}: the {role} column {col!r} is not in the data; columns are {list(data.columns)}.",
                column=col, rule="required column")


def numeric_outcome(data: pd.DataFrame, outcome: str, *, what: str) -> np.ndarray:
    """The outcome as float, refusing missing or non-numeric values with a clear message."""
    y = pd.to_numeric(data[outcome], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(y)
    if bad.any():
        raise DataContractError(
            f"{what}: outcome {outcome!r} has {int(bad.sum())} missing or non-numeric value(s) of {len(y)} "
            "(for example empty store-periods). Drop or fill them explicitly before estimating, e.g. "
            f"data.dropna(subset=[{outcome!r}]), keeping the panel balanced where the design needs it.",
            column=outcome, rule="finite outcome", rows=data.loc[bad].head(5))
    return y


def period_index(times: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct periods and each row's position among them."""
    levels = np.sort(pd.unique(times))
    return levels, np.searchsorted(levels, times.to_numpy())


def is_text_column(values: pd.Series) -> bool:
    """Whether a column holds text labels (object or string dtype with at least one ``str`` value)."""
    if not (values.dtype == object or pd.api.types.is_string_dtype(values.dtype)):
        return False
    return bool(values.map(lambda v: isinstance(v, str)).any())


def ordered_times(data: pd.DataFrame, time: str, *, what: str) -> pd.Series:
    """The time column in values that sort in time order.

    Text labels (``"Q1-1999"``, ``"10/2001"``, ``"2001-10"``...) would sort as text, which is not
    time order (``"10/2001" < "2/2001"``), so they are read as periods by
    :func:`cxlib.periods.parse_period_column` and replaced by each period's first day; other
    labels are refused with the column's name and examples.  Numbers, dates and other sortable
    types are returned as they are.

    >>> ordered_times(pd.DataFrame({"t": ["Q2-1999", "Q1-2000"]}), "t", what="f()").dt.year.tolist()
    [1999, 2000]
    """
    values = data[time]
    if not is_text_column(values):
        return values
    try:
        parsed = parse_period_column(values, column=time)
    except DataContractError as exc:
        raise DataContractError(f"{what}: the time column {time!r} holds text, which sorts as text and not in "
                                f"time order. {exc}", column=time, rule="period labels") from exc
    if parsed.isna().any():
        raise DataContractError(f"{what}: the time column {time!r} has {int(parsed.isna().sum())} missing value(s).",
                                column=time, rule="time present", rows=data.loc[parsed.isna()].head(5))
    return parsed


def ordered_time_value(value, *, text: bool, name: str, what: str):
    """A period given in a call (program start, predictor periods) in the terms of :func:`ordered_times`.

    Unchanged unless the time column held text (``text``); then a label is read as its period's
    first day (an int such as 1999 as the label ``"1999"``) and a date is taken as it is, both as a
    ``numpy.datetime64`` (which, unlike a ``Timestamp``, ``numpy.searchsorted`` compares with the times).
    """
    if not text or value is None or (not isinstance(value, str) and pd.isna(value)):
        return value
    if isinstance(value, (pd.Timestamp, np.datetime64, datetime.date)):  # datetime.datetime is a date too
        return pd.Timestamp(value).to_datetime64()
    label = str(value) if isinstance(value, (int, np.integer)) else value
    try:
        return parse_period_column(pd.Series([label], dtype=object), column=name).iloc[0].to_datetime64()
    except DataContractError as exc:
        raise ParameterError(f"{what}: {name}={value!r} is not a period like the labels of the time column; "
                             f"expected {COLUMN_FORMATS}.") from exc


def first_treated_from_indicator(data: pd.DataFrame, *, unit: str, times: pd.Series, treated: str,
                                 what: str) -> pd.Series:
    """Each row's unit's first period with ``treated == 1`` (missing for units never treated).

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy panel with a 0/1 (or boolean) treatment indicator column ``treated``.
    unit : str
        Unit column.
    times : pandas.Series
        The time values in time order (:func:`ordered_times`), aligned with ``data``.
    treated, what : str
        Indicator column; caller, for messages.

    Raises
    ------
    DataContractError
        Values other than 0 and 1 (or missing), or an indicator that switches off again within a
        unit: the designs assume a program that stays on once started (staggered adoption).

    >>> panel = pd.DataFrame({"u": ["a", "a", "b", "b"], "t": [2, 1, 1, 2], "d": [1, 0, 0, 0]})
    >>> first_treated_from_indicator(panel, unit="u", times=panel["t"], treated="d", what="f()").tolist()
    [2.0, 2.0, nan, nan]
    """
    d = pd.to_numeric(data[treated].astype(object).map(lambda v: float(v) if isinstance(v, (bool, np.bool_)) else v),
                      errors="coerce")
    bad = ~d.isin([0.0, 1.0])
    if bad.any():
        raise DataContractError(
            f"{what}: the treatment indicator {treated!r} must be 0 or 1 in every row; {int(bad.sum())} row(s) "
            f"hold other or missing values such as {data.loc[bad, treated].head(3).tolist()}.",
            column=treated, rule="0/1 indicator", rows=data.loc[bad].head(5))
    frame = pd.DataFrame({"unit": data[unit].to_numpy(), "time": times.to_numpy(), "d": d.to_numpy()},
                         index=data.index).sort_values(["unit", "time"], kind="stable")
    off = (frame["d"].diff() < 0) & frame["unit"].eq(frame["unit"].shift())
    if off.any():
        first = frame.loc[off].iloc[0]
        was_on = frame.loc[(frame["unit"] == first["unit"]) & (frame["time"] < first["time"]) & (frame["d"] == 1),
                           "time"].iloc[-1]
        raise DataContractError(
            f"{what}: the treatment indicator {treated!r} switches off again in {int(off.sum())} unit-period(s), "
            f"e.g. {unit} {first['unit']!r}: 1 in {was_on}, 0 in {first['time']}. The designs assume a program "
            "that stays on once started (staggered adoption). Keep only the periods up to the end of the "
            "program, or give each unit's first treated period as first_treated=... if the switch-off is an "
            "error in the data.", column=treated, rule="indicator stays on")
    starts = frame.loc[frame["d"] == 1].groupby("unit")["time"].min()
    return pd.Series(data[unit].map(starts).to_numpy(), index=data.index, name="first_treated")


def first_treated_index(data: pd.DataFrame, *, unit: str, first_treated: str, levels: np.ndarray,
                        what: str) -> pd.Series:
    """Per unit, the index (into ``levels``) of its first treated period; ``inf`` for never treated.

    A first-treated value between two observed periods maps to the next
    observed period; one after the last period maps to ``inf`` (not treated
    within the window, hence a valid control).
    """
    per_unit = data.groupby(unit, sort=True)[first_treated].agg(["nunique", "first"])
    varying = per_unit.index[per_unit["nunique"] > 1]
    if len(varying):
        raise DataContractError(
            f"{what}: {first_treated!r} must be constant within each unit; it varies for {len(varying)} unit(s) "
            f"such as {list(varying[:3])}.", column=first_treated, rule="constant per unit")
    ft = data.groupby(unit, sort=True)[first_treated].first()
    out = pd.Series(np.inf, index=ft.index)
    treated = ft.notna()
    if treated.any():
        try:
            pos = np.searchsorted(levels, ft[treated].to_numpy().astype(levels.dtype), side="left")
        except (TypeError, ValueError) as exc:
            raise DataContractError(
                f"{what}: {first_treated!r} values ({ft[treated].dtype}) are not comparable with the time "
                f"column ({levels.dtype}); give the first treated period in the same type as the time.",
                column=first_treated, rule="same type as time") from exc
        out[treated] = np.where(pos >= len(levels), np.inf, pos)
    return out


def prepare_panel(data: pd.DataFrame, outcome: str, unit: str, time: str, first_treated: str, what: str):
    """Checked arrays of a tidy panel: ``y, t_idx, u_idx, g (first treated index per row, inf = never),
    levels (sorted periods), units (sorted unit labels)``."""
    require_columns(data, {"outcome": outcome, "unit": unit, "time": time, "first_treated": first_treated},
                    what=what)
    if data.duplicated([unit, time]).any():
        dup = data.loc[data.duplicated([unit, time], keep=False), [unit, time]].head(5)
        raise ParameterError(f"{what}: more than one row per ({unit}, {time}); aggregate to one row per unit "
                             f"and period first (see cxlib.evaluation.build_panel). Examples:\n{dup}")
    y = numeric_outcome(data, outcome, what=what)
    text = is_text_column(data[time])
    times = ordered_times(data, time, what=what)
    levels, t_idx = period_index(times)
    if text and is_text_column(data[first_treated]):  # text periods: read both alike
        data = data.assign(**{first_treated: data[first_treated].map(
            lambda v: ordered_time_value(v, text=True, name=first_treated, what=what))})
    g_unit = first_treated_index(data, unit=unit, first_treated=first_treated, levels=levels, what=what)
    units, u_idx = np.unique(data[unit].to_numpy(), return_inverse=True)
    g = g_unit.reindex(units).to_numpy(dtype=float)[u_idx]
    return y, t_idx, u_idx, g, levels, units


Scale = Literal["level", "log"]


def log_outcome(y: np.ndarray, outcome: str, what: str) -> np.ndarray:
    """``log(y)``, refusing zero or negative values with a clear message."""
    bad = y <= 0
    if bad.any():
        raise DataContractError(
            f"{what}: scale='log' needs a positive outcome, but {outcome!r} has {int(bad.sum())} value(s) <= 0 "
            "(for example store-periods with no complaints). Use scale='level', or a longer period "
            "(freq='quarter') so that every cell has events.", column=outcome, rule="positive outcome")
    return np.log(y)


def log_scale_fields(theta: float, se: float, dof: float, alpha: float, treated_mean: float) -> dict[str, float]:
    """EffectResult fields for an effect ``theta`` estimated on the log scale.

    The test (statistic, p-value) is the log-scale Wald test; the relative
    effect and its interval are ``exp(theta) - 1`` and ``exp(ci) - 1`` (exact
    transformation); ``baseline = treated_mean * exp(-theta)`` is the implied
    counterfactual mean, and the absolute effect and interval are
    ``baseline * (exp(.) - 1)`` (baseline held fixed; ``se`` by the delta method).

    >>> out = log_scale_fields(math.log(0.7), 0.05, math.inf, 0.05, 7.0)
    >>> round(out["relative_estimate"], 3), round(out["baseline"], 3), round(out["estimate"], 3)
    (-0.3, 10.0, -3.0)
    """
    inf = wald_inference(theta, se, dof, alpha)
    baseline = treated_mean * math.exp(-theta)
    rel = math.expm1(theta)
    rel_lo, rel_hi = math.expm1(inf["ci_lower"]), math.expm1(inf["ci_upper"])
    return {"estimate": baseline * rel, "se": baseline * math.exp(theta) * se, "ci_lower": baseline * rel_lo,
            "ci_upper": baseline * rel_hi, "statistic": inf["statistic"], "p_value": inf["p_value"],
            "baseline": baseline, "relative_estimate": rel, "relative_ci_lower": rel_lo,
            "relative_ci_upper": rel_hi}
