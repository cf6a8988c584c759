"""Diagnostics of the repeat-purchase models: calibration vs holdout, cumulative tracking, heatmaps.

The checks a reader of Fader, Hardie & Lee (2005) expects: (1) the mean
number of holdout purchases, expected vs actual, by the number of purchases in
the calibration period (their Figure 4); (2) actual vs expected cumulative
repeat purchases over time across the calibration and the holdout periods
(their Figure 2); (3) frequency x recency heatmaps of the expected future
purchases and of the probability of being alive.

Every function takes a fitted :class:`~cxlib.clv.BetaGeo` or
:class:`~cxlib.clv.ParetoNBD` (anything with ``predict_purchases``,
``predict_alive``, ``expected_purchases_new`` and ``time_unit``) and returns
a frozen dataclass with ``to_frame()``; the drawings live in
:mod:`cxlib.plots.clv`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from ..display import displayable
from ..errors import DataContractError, ParameterError, check_choice
from ._base import TIME_UNITS

__all__ = ["CalibrationHoldout", "Tracking", "FrequencyRecencyGrid", "calibration_holdout", "tracking",
           "frequency_recency_grid", "CALIBRATION_HOLDOUT_COLUMNS", "TRACKING_COLUMNS", "GRID_COLUMNS"]

CALIBRATION_HOLDOUT_COLUMNS = ("frequency_calibration", "label", "n", "actual_mean", "expected_mean",
                               "actual_total", "expected_total")
TRACKING_COLUMNS = ("time", "date", "actual_cumulative", "expected_cumulative", "actual_incremental",
                    "expected_incremental", "holdout")
GRID_COLUMNS = ("frequency", "recency", "T", "t", "quantity", "value")


def _frame(data: dict, columns) -> pd.DataFrame:
    return pd.DataFrame(data, columns=list(columns))


@displayable(tables=("table",))
@dataclass(frozen=True)
class CalibrationHoldout:
    """Expected vs actual holdout purchases by number of calibration repeat purchases.

    ``table`` has the columns :data:`CALIBRATION_HOLDOUT_COLUMNS` (one row
    per frequency ``0 .. max_frequency-1`` and one for ``max_frequency+``);
    the totals are over all customers.
    """

    table: pd.DataFrame = field(repr=False)
    actual_total: float
    expected_total: float
    n: int
    duration: float
    time_unit: str
    method: str

    @property
    def relative_error(self) -> float:
        """``expected_total / actual_total - 1`` (positive: the model over-forecasts)."""
        return self.expected_total / self.actual_total - 1 if self.actual_total else float("nan")

    def to_frame(self) -> pd.DataFrame:
        """The per-frequency table (columns :data:`CALIBRATION_HOLDOUT_COLUMNS`)."""
        return self.table.copy()


def calibration_holdout(model, data: pd.DataFrame, *, max_frequency: int = 7,
                        holdout_col: str = "frequency_holdout",
                        duration_col: str = "duration_holdout") -> CalibrationHoldout:
    """Conditional expectations for the holdout period, grouped by calibration frequency.

    Parameters
    ----------
    model : BetaGeo or ParetoNBD
        Fitted on the calibration columns of ``data``.
    data : pandas.DataFrame
        :func:`cxlib.clv.rfm_summary` output with a ``calibration_end``: the
        model's frequency/recency/T columns plus ``frequency_holdout`` and
        ``duration_holdout`` (length of the holdout in the model's time unit).
    max_frequency : int
        Customers with ``max_frequency`` or more calibration repeat purchases
        share the last row (``"7+"`` by default, as in FHL 2005, Figure 4).

    Returns
    -------
    CalibrationHoldout
        ``table`` with, per calibration frequency ``x``: ``n`` customers, the
        mean actual and the mean expected number of holdout purchases and
        their totals; ``actual_total``/``expected_total`` over everybody.

    Notes
    -----
    The expected value is the model's conditional expectation
    :math:`E[Y(t^*) \\mid x, t_x, T]` with :math:`t^*` the holdout length
    (FHL 2005, eq. 10 for BG/NBD).

    References
    ----------
    Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "Counting your customers" the easy way.
    Marketing Science 24(2), 275-284, Figure 4 (CDNOW, 39-week holdout).

    Examples
    --------
    >>> from cxlib.clv import BetaGeo
    >>> rng = np.random.default_rng(3)
    >>> d = BetaGeo.simulate(dict(r=0.5, alpha=5.0, a=0.8, b=2.5), T=np.full(2000, 40.0), rng=rng)
    >>> m = BetaGeo().fit(d, time_unit="week")
    >>> d["frequency_holdout"], d["duration_holdout"] = rng.poisson(m.predict_purchases(d, t=20.0)), 20.0
    >>> res = calibration_holdout(m, d, max_frequency=3)
    >>> res.table["label"].tolist(), int(res.table["n"].sum())
    (['0', '1', '2', '3+'], 2000)
    """
    if not isinstance(max_frequency, (int, np.integer)) or max_frequency < 1:
        raise ParameterError(f"max_frequency={max_frequency!r} must be a positive integer.")
    missing = [c for c in (holdout_col, duration_col) if c not in data.columns]
    if missing:
        raise ParameterError(f"data lacks holdout column(s) {missing}: build it with rfm_summary(..., "
                             "calibration_end=...) earlier than observation_end.")
    duration = data[duration_col].to_numpy(dtype=float)
    if len(data) == 0 or not np.all(duration == duration[0]) or not duration[0] > 0:
        raise ParameterError(f"{duration_col} must be one positive value shared by all rows.")
    expected = model.predict_purchases(data, t=float(duration[0])).to_numpy()
    actual = data[holdout_col].to_numpy(dtype=float)
    freq = data[model._cols["frequency"]].to_numpy(dtype=float)
    group = np.minimum(freq, max_frequency).astype(np.int64)
    n = np.bincount(group, minlength=max_frequency + 1)
    act = np.bincount(group, weights=actual, minlength=max_frequency + 1)
    exp_ = np.bincount(group, weights=expected, minlength=max_frequency + 1)
    keep = n > 0
    k = np.arange(max_frequency + 1)
    labels = np.array([str(i) for i in range(max_frequency)] + [f"{max_frequency}+"])
    with np.errstate(invalid="ignore", divide="ignore"):
        table = _frame({"frequency_calibration": k[keep], "label": labels[keep], "n": n[keep],
                        "actual_mean": act[keep] / n[keep], "expected_mean": exp_[keep] / n[keep],
                        "actual_total": act[keep], "expected_total": exp_[keep]}, CALIBRATION_HOLDOUT_COLUMNS)
    return CalibrationHoldout(table=table, actual_total=float(actual.sum()), expected_total=float(expected.sum()),
                              n=int(len(data)), duration=float(duration[0]), time_unit=model.time_unit,
                              method=f"{type(model).__name__} conditional expectation")


@displayable(tables=("table",))
@dataclass(frozen=True)
class Tracking:
    """Actual vs expected cumulative repeat purchases of a cohort on a regular time grid.

    ``table`` has the columns :data:`TRACKING_COLUMNS`: ``time`` in the
    model's unit since ``start``, the grid ``date`` (purchases on or before
    it are counted), cumulative and per-step counts, and ``holdout`` (True
    after ``calibration_end``).
    """

    table: pd.DataFrame = field(repr=False)
    start: pd.Timestamp
    calibration_end: pd.Timestamp
    observation_end: pd.Timestamp
    n_customers: int
    time_unit: str
    method: str

    @property
    def calibration_time(self) -> float:
        """Position of ``calibration_end`` on the time axis (the vertical line of the plot)."""
        return (self.calibration_end - self.start).days / TIME_UNITS[self.time_unit]

    def to_frame(self) -> pd.DataFrame:
        """The tracking table (columns :data:`TRACKING_COLUMNS`)."""
        return self.table.copy()


def tracking(model, transactions: pd.DataFrame, *, calibration_end, observation_end,
             customer_col: str = "customer_id", timestamp_col: str = "timestamp",
             merge: Literal["day", "none"] = "day") -> Tracking:
    """Cumulative repeat purchases, actual vs expected, of the customers acquired by ``calibration_end``.

    Parameters
    ----------
    model : BetaGeo or ParetoNBD
        Fitted on ``rfm_summary(transactions, calibration_end=...)`` of the same log.
    transactions : pandas.DataFrame
        The purchase log (``customer_col``, ``timestamp_col``).
    calibration_end, observation_end : date-like
        Last days (inclusive) of the calibration period and of the data.
    merge : {"day", "none"}
        Same-day purchases count once (as in :func:`rfm_summary`); use the
        value the model was fitted with.

    Returns
    -------
    Tracking
        One row per step of one time unit (a week or a day) after the first
        acquisition day ``start``, plus ``observation_end`` when it is off the grid.

    Notes
    -----
    With customer *i* making the first purchase at day :math:`d_i` (time
    :math:`s_i`), the expected cumulative number of repeat purchases by time
    :math:`t` is :math:`\\sum_{i: s_i \\le t} E[X(t - s_i)]`, the new-customer
    expectation (FHL 2005, eq. 9), evaluated once per distinct acquisition day.
    Repeat purchases are all purchases after the first one, by day.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "Counting your customers" the easy way.
    Marketing Science 24(2), 275-284, Figure 2 (CDNOW weekly cumulative repeat purchases).

    Examples
    --------
    >>> from cxlib.clv import BetaGeo, rfm_summary
    >>> tx = pd.DataFrame({"customer_id": list("aaabbc"), "timestamp": pd.to_datetime(
    ...     ["2024-01-01", "2024-01-10", "2024-02-01", "2024-01-03", "2024-01-20", "2024-01-05"])})
    >>> m = BetaGeo()
    >>> m.params_, m.time_unit = pd.Series([0.5, 4.0, 0.8, 2.5], index=["r", "alpha", "a", "b"]), "week"
    >>> res = tracking(m, tx, calibration_end="2024-01-21", observation_end="2024-02-04")
    >>> res.table["actual_cumulative"].tolist()
    [0, 1, 2, 2, 3]
    >>> res.table["holdout"].tolist()
    [False, False, True, True, True]
    """
    for c in (customer_col, timestamp_col):
        if c not in transactions.columns:
            raise DataContractError(f"transactions lack column {c!r}; found {list(transactions.columns)}.",
                                    table="transactions", column=c, rule="required")
    check_choice("merge", merge, ["day", "none"])
    cal_end = pd.Timestamp(calibration_end).normalize()
    obs_end = pd.Timestamp(observation_end).normalize()
    if cal_end > obs_end:
        raise ParameterError(f"calibration_end={cal_end.date()} is after observation_end={obs_end.date()}.")
    model._check_fitted()
    unit_days = TIME_UNITS[model.time_unit]
    t = pd.to_datetime(transactions[timestamp_col])
    if merge == "day":
        t = t.dt.normalize()
    tx = pd.DataFrame({"c": transactions[customer_col].to_numpy(), "t": t.to_numpy()})
    tx = tx[tx["t"].dt.normalize() <= obs_end].drop_duplicates()
    first = tx.groupby("c")["t"].transform("min")
    tx = tx[first.dt.normalize() <= cal_end]
    first = first.loc[tx.index]
    if tx.empty:
        raise ParameterError(f"No customer made a first purchase on or before calibration_end={cal_end.date()}.")
    start = first.min().normalize()
    first_day = (tx.groupby("c")["t"].min().dt.normalize() - start).dt.days
    total_days = (obs_end - start).days
    grid_days = unit_days * np.arange(1, int(total_days // unit_days) + 1)
    if len(grid_days) == 0 or grid_days[-1] < total_days:  # the last point is observation_end itself
        grid_days = np.append(grid_days, float(total_days))
    repeat_day = ((tx.loc[tx["t"] > first, "t"].dt.normalize() - start).dt.days).to_numpy()
    actual = np.searchsorted(np.sort(repeat_day), grid_days, side="right")
    acq_day, acq_n = np.unique(first_day.to_numpy(), return_counts=True)
    lag = (grid_days[:, None] - acq_day[None, :]) / unit_days
    expected = (np.where(lag > 0, model.expected_purchases_new(np.maximum(lag, 0.0)), 0.0) * acq_n).sum(axis=1)
    time = grid_days / unit_days
    table = _frame({"time": time, "date": start + pd.to_timedelta(grid_days, unit="D"),
                    "actual_cumulative": actual, "expected_cumulative": expected,
                    "actual_incremental": np.diff(actual, prepend=0),
                    "expected_incremental": np.diff(expected, prepend=0.0),
                    "holdout": start + pd.to_timedelta(grid_days, unit="D") > cal_end}, TRACKING_COLUMNS)
    return Tracking(table=table, start=start, calibration_end=cal_end, observation_end=obs_end,
                    n_customers=int(len(first_day)), time_unit=model.time_unit,
                    method=f"{type(model).__name__} new-customer expectation summed over acquisition days")


@displayable()
@dataclass(frozen=True)
class FrequencyRecencyGrid:
    """A model quantity over a grid of (frequency, recency) histories at a fixed T.

    ``values[i, j]`` belongs to ``frequency[i]`` and ``recency[j]``; cells with
    impossible histories (recency > 0 with frequency 0, or frequency > 0 with
    recency 0) are NaN.
    """

    frequency: np.ndarray = field(repr=False)
    recency: np.ndarray = field(repr=False)
    values: np.ndarray = field(repr=False)
    quantity: str
    T: float
    t: float
    time_unit: str
    method: str

    def to_frame(self) -> pd.DataFrame:
        """Long form, one row per cell (columns :data:`GRID_COLUMNS`)."""
        f, r = np.meshgrid(self.frequency, self.recency, indexing="ij")
        return _frame({"frequency": f.ravel(), "recency": r.ravel(), "T": self.T, "t": self.t,
                       "quantity": self.quantity, "value": self.values.ravel()}, GRID_COLUMNS)


def frequency_recency_grid(model, *, quantity: Literal["expected_purchases", "p_alive"] = "expected_purchases",
                           T: float, t: float = 1.0, max_frequency: int = 30,
                           n_recency: int = 40) -> FrequencyRecencyGrid:
    """Expected purchases in the next ``t`` units, or P(alive), for every (frequency, recency) at age ``T``.

    Parameters
    ----------
    model : BetaGeo or ParetoNBD
        A fitted model.
    quantity : {"expected_purchases", "p_alive"}
        What to evaluate (``predict_purchases(t=t)`` or ``predict_alive``).
    T : float
        Customer age in the model's time unit (e.g. the calibration length).
    t : float
        Forecast horizon of ``"expected_purchases"`` (ignored for ``"p_alive"``).
    max_frequency : int
        Frequencies ``0 .. max_frequency``.
    n_recency : int
        Recencies: ``n_recency`` equally spaced points on ``[0, T]``.

    Returns
    -------
    FrequencyRecencyGrid

    Examples
    --------
    >>> from cxlib.clv import BetaGeo
    >>> m = BetaGeo()
    >>> m.params_, m.time_unit, m._cols = (pd.Series([0.243, 4.414, 0.793, 2.426], index=["r", "alpha", "a", "b"]),
    ...                                   "week", dict(frequency="frequency", recency="recency", T="T"))
    >>> g = frequency_recency_grid(m, quantity="p_alive", T=39.0, max_frequency=2, n_recency=3)
    >>> np.round(g.values, 3)
    array([[1.   ,   nan,   nan],
           [  nan, 0.593, 0.754],
           [  nan, 0.531, 0.812]])
    """
    check_choice("quantity", quantity, ["expected_purchases", "p_alive"])
    if not (np.isfinite(T) and T > 0 and np.isfinite(t) and t > 0):
        raise ParameterError(f"T={T!r} and t={t!r} must be positive finite times in the model's unit.")
    if max_frequency < 1 or n_recency < 2:
        raise ParameterError("max_frequency must be >= 1 and n_recency >= 2.")
    model._check_fitted()
    freq = np.arange(max_frequency + 1, dtype=float)
    rec = np.linspace(0.0, T, n_recency)
    f, r = np.meshgrid(freq, rec, indexing="ij")
    valid = (f == 0) == (r == 0)
    cols = model._cols
    data = pd.DataFrame({cols["frequency"]: f[valid], cols["recency"]: r[valid], cols["T"]: T})
    out = (model.predict_purchases(data, t=t) if quantity == "expected_purchases" else model.predict_alive(data))
    values = np.full(f.shape, np.nan)
    values[valid] = out.to_numpy()
    return FrequencyRecencyGrid(frequency=freq, recency=rec, values=values, quantity=quantity, T=float(T),
                                t=float(t) if quantity == "expected_purchases" else float("nan"),
                                time_unit=model.time_unit, method=f"{type(model).__name__} {quantity}")
