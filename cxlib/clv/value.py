"""Customer lifetime value: discounting expected purchases and survival curves.

Time is always explicit: model times are in the model's unit (``"day"`` or
``"week"``), and the discount rate is an *annual* rate converted with a
365.25-day year, ``factor(t) = (1 + rate) ** (-t * days_per_unit / 365.25)``.
There is no month unit, hence no hidden 30-day month.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from ..errors import ParameterError
from ._base import TIME_UNITS, check_time_unit

DAYS_PER_YEAR = 365.25

CLV_CURVE_COLUMNS = ("segment", "expected_lifetime", "clv", "horizon", "time_unit", "annual_discount_rate",
                     "margin_per_period", "method")


def discount_factors(times, *, time_unit: str, annual_discount_rate: float) -> np.ndarray:
    """Discount factors ``(1 + rate) ** (-years)`` at ``times`` given in ``time_unit``.

    >>> discount_factors([0, 52.17857142857143], time_unit="week", annual_discount_rate=0.1).round(6).tolist()
    [1.0, 0.909091]
    """
    check_time_unit(time_unit)
    if not annual_discount_rate > -1:
        raise ParameterError(f"annual_discount_rate={annual_discount_rate!r} must be > -1 (0.1 means 10% a year).")
    years = np.asarray(times, dtype=float) * TIME_UNITS[time_unit] / DAYS_PER_YEAR
    return np.power(1.0 + annual_discount_rate, -years)


def discounted_purchases(cumulative: Callable[[float], np.ndarray], *, horizon: float, step: float,
                         time_unit: str, annual_discount_rate: float) -> np.ndarray:
    """Discounted expected purchases over ``(0, horizon]``.

    ``cumulative(t)`` returns the expected number of purchases in ``(0, t]``
    for every customer.  The horizon is cut into steps of ``step`` time units;
    the purchases expected in step ``(t_{k-1}, t_k]`` are discounted at
    ``t_k`` (end of period), as in the lifetimes convention but with an
    explicit step and unit.

    .. math:: \\sum_k [E(t_k) - E(t_{k-1})] (1 + d)^{-t_k/\\text{year}}
    """
    if not horizon > 0 or not step > 0:
        raise ParameterError(f"horizon={horizon!r} and step={step!r} must be positive (in {time_unit}s).")
    n = int(np.ceil(horizon / step - 1e-9))
    grid = np.minimum(np.arange(1, n + 1) * step, horizon)
    disc = discount_factors(grid, time_unit=time_unit, annual_discount_rate=annual_discount_rate)
    prev = 0.0
    total = 0.0
    for t, f in zip(grid, disc):
        cur = cumulative(float(t))
        total = total + (cur - prev) * f
        prev = cur
    return np.asarray(total, dtype=float)


def clv_from_survival(survival: pd.DataFrame | pd.Series, *, margin_per_period: float, time_unit: str,
                      annual_discount_rate: float, horizon: float | None = None,
                      timing: str = "end") -> pd.DataFrame:
    """CLV as margin times the discounted expected number of paid periods from a survival curve.

    Parameters
    ----------
    survival : pandas.Series or DataFrame
        Survival probabilities indexed by time (in ``time_unit``) at the end of
        each billing period (t = 1, 2, ...); a DataFrame holds one curve per
        column (segments or customers).  Kaplan-Meier, Cox or sBG curves all fit.
    margin_per_period : float
        Margin earned per period the customer is still active (e.g. a monthly
        fee minus cost, with weekly periods converted by the caller).
    time_unit : {"day", "week"}
        Unit of the index.  Discounting converts it to years with 365.25 days.
    annual_discount_rate : float
        Yearly discount rate (0.1 = 10%).
    horizon : float, optional
        Only periods with ``t <= horizon`` count (default: the whole curve).
    timing : {"end", "start"}
        ``"end"`` pays the margin at the end of a period survived, ``S(t)`` for
        ``t = 1, 2, ...`` (Fader & Hardie 2007, eq. 7 without the initial
        payment); ``"start"`` also counts the payment at ``t = 0`` (S(0) = 1).

    Returns
    -------
    pandas.DataFrame
        One row per curve: ``segment, expected_lifetime`` (undiscounted sum of
        survival, periods), ``clv, horizon, time_unit, annual_discount_rate,
        margin_per_period, method``.

    Notes
    -----
    :math:`CLV = m \\sum_{t \\le H} S(t) (1 + d)^{-t/\\text{year}}`.

    References
    ----------
    Fader, P. S. and Hardie, B. G. S. (2007). How to project customer
    retention. Journal of Interactive Marketing 21(1), 76-90.

    Examples
    --------
    >>> s = pd.Series([0.8, 0.64, 0.512], index=[1.0, 2.0, 3.0])
    >>> clv_from_survival(s, margin_per_period=10, time_unit="week", annual_discount_rate=0.0)[["clv"]]
         clv
    0  19.52
    """
    check_time_unit(time_unit)
    if timing not in ("end", "start"):
        raise ParameterError(f"timing={timing!r} is not allowed; choose one of ['end', 'start'].")
    frame = survival.to_frame("survival") if isinstance(survival, pd.Series) else survival
    t = frame.index.to_numpy(dtype=float)
    if np.any(np.diff(t) <= 0) or np.any(t < 0):
        raise ParameterError("The survival index must be increasing, non-negative times.")
    keep = t <= (horizon if horizon is not None else np.inf)
    t = t[keep]
    s = frame.to_numpy(dtype=float)[keep]
    if np.any((s < 0) | (s > 1 + 1e-12)):
        raise ParameterError("Survival probabilities must lie in [0, 1].")
    disc = discount_factors(t, time_unit=time_unit, annual_discount_rate=annual_discount_rate)
    value = (s * disc[:, None]).sum(axis=0)
    life = s.sum(axis=0)
    if timing == "start":
        value = value + 1.0
        life = life + 1.0
    return pd.DataFrame({
        "segment": [str(c) for c in frame.columns], "expected_lifetime": life,
        "clv": margin_per_period * value, "horizon": float(t[-1]) if len(t) else np.nan,
        "time_unit": time_unit, "annual_discount_rate": float(annual_discount_rate),
        "margin_per_period": float(margin_per_period), "method": "discounted survival",
    }, columns=list(CLV_CURVE_COLUMNS))
