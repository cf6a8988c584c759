"""Recency-frequency-monetary summaries of transaction logs, the input of the CLV models."""
from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from ..errors import DataContractError, ParameterError, check_choice
from ._base import TIME_UNITS, check_time_unit

RFM_COLUMNS = ("frequency", "recency", "T", "monetary_value")
HOLDOUT_COLUMNS = ("frequency_holdout", "monetary_value_holdout", "duration_holdout")


def rfm_summary(transactions: pd.DataFrame, *, observation_end, calibration_end=None,
                customer_col: str = "customer_id", timestamp_col: str = "timestamp",
                amount_col: str | None = "amount", time_unit: Literal["day", "week"] = "week",
                merge: Literal["day", "none"] = "day") -> pd.DataFrame:
    """Summarise a transaction log into one (frequency, recency, T, spend) row per customer.

    Parameters
    ----------
    transactions : pandas.DataFrame
        One row per purchase (the ``transactions`` table of the data contract).
    observation_end : date-like
        Last day of data used (inclusive).  Purchases after it are ignored.
    calibration_end : date-like, optional
        Last day of the calibration period (inclusive).  When given and earlier
        than ``observation_end``, the purchases of ``(calibration_end,
        observation_end]`` become the holdout columns.  Defaults to
        ``observation_end`` (no holdout).
    customer_col, timestamp_col, amount_col : str
        Column names; ``amount_col=None`` skips the monetary columns.
    time_unit : {"week", "day"}
        Unit of ``recency``, ``T`` and ``duration_holdout`` (days / 7 for weeks).
        Weeks are the default because the BG/NBD literature (and CDNOW) uses
        them; there is no month unit, to avoid a hidden 30-day month.
    merge : {"day", "none"}
        Purchases of one customer on the same calendar day count as one
        purchase (amounts summed), as in Fader, Hardie and Lee (2005);
        ``"none"`` keeps every timestamp.

    Returns
    -------
    pandas.DataFrame
        Indexed by customer, only customers whose first purchase is on or
        before ``calibration_end``; columns

        - ``frequency``: number of *repeat* purchases in the calibration period,
        - ``recency``: time from the first to the last calibration purchase,
        - ``T``: time from the first purchase to ``calibration_end``,
        - ``monetary_value``: mean amount of the repeat purchases (NaN when
          frequency is 0; the first purchase is excluded as in the Gamma-Gamma model),
        - with a holdout: ``frequency_holdout`` (purchases in the holdout),
          ``monetary_value_holdout`` (their mean amount) and ``duration_holdout``.

        ``attrs`` records ``time_unit``, ``calibration_end`` and ``observation_end``.

    Notes
    -----
    Recency and T are ``days / d`` with ``d`` = 1 (day) or 7 (week), computed
    on calendar days: a customer first buying on 1997-01-01 with calibration
    ending 1997-09-30 has ``T = 272 / 7 = 38.86`` weeks.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "Counting your
    customers" the easy way: an alternative to the Pareto/NBD model.
    Marketing Science 24(2), 275-284.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "a", "b"],
    ...                    "timestamp": pd.to_datetime(["2024-01-01 09:00", "2024-01-01 17:00",
    ...                                                 "2024-01-15 00:00", "2024-01-08 00:00"]),
    ...                    "amount": [10.0, 5.0, 20.0, 7.0]})
    >>> rfm_summary(tx, observation_end="2024-01-29")  # doctest: +NORMALIZE_WHITESPACE
                 frequency  recency    T  monetary_value
    customer_id
    a                    1      2.0  4.0            20.0
    b                    0      0.0  3.0             NaN
    """
    check_time_unit(time_unit)
    check_choice("merge", merge, ["day", "none"])
    needed = [customer_col, timestamp_col] + ([amount_col] if amount_col else [])
    missing = [c for c in needed if c not in transactions.columns]
    if missing:
        raise DataContractError(f"transactions lack column(s) {missing}; found {list(transactions.columns)}.",
                                table="transactions", column=missing[0], rule="required")
    obs_end = pd.Timestamp(observation_end).normalize()
    cal_end = obs_end if calibration_end is None else pd.Timestamp(calibration_end).normalize()
    if cal_end > obs_end:
        raise ParameterError(f"calibration_end={cal_end.date()} is after observation_end={obs_end.date()}.")
    unit_days = TIME_UNITS[time_unit]

    tx = pd.DataFrame({"c": transactions[customer_col].to_numpy(),
                       "t": pd.to_datetime(transactions[timestamp_col]).to_numpy()})
    tx["amount"] = transactions[amount_col].to_numpy(dtype=float) if amount_col else 0.0
    if tx["t"].isna().any():
        raise DataContractError(f"{int(tx['t'].isna().sum())} transaction(s) have no {timestamp_col}.",
                                table="transactions", column=timestamp_col, rule="not null")
    if merge == "day":
        tx["t"] = tx["t"].dt.normalize()
    tx = tx[tx["t"].dt.normalize() <= obs_end]
    tx = tx.groupby(["c", "t"], sort=True, observed=True)["amount"].sum().reset_index()
    first = tx.groupby("c", sort=False)["t"].transform("min")
    tx = tx[first.dt.normalize() <= cal_end]
    first = first.loc[tx.index]
    in_cal = tx["t"].dt.normalize() <= cal_end
    is_first = tx["t"] == first

    cal = tx[in_cal]
    g = cal.groupby("c", sort=True)
    first_t = g["t"].min()
    out = pd.DataFrame(index=first_t.index)
    out.index.name = customer_col
    out["frequency"] = (g.size() - 1).astype("int64")
    out["recency"] = (g["t"].max() - first_t).dt.total_seconds().to_numpy() / 86400.0 / unit_days
    out["T"] = (cal_end - first_t).dt.total_seconds().to_numpy() / 86400.0 / unit_days
    if amount_col:
        rep = cal[~is_first[in_cal]]
        out["monetary_value"] = rep.groupby("c")["amount"].mean().reindex(out.index)
    if cal_end < obs_end:
        hold = tx[~in_cal].groupby("c")
        out["frequency_holdout"] = hold.size().reindex(out.index, fill_value=0).astype("int64")
        if amount_col:
            out["monetary_value_holdout"] = hold["amount"].mean().reindex(out.index)
        out["duration_holdout"] = (obs_end - cal_end).days / unit_days
    out.attrs.update(time_unit=time_unit, calibration_end=str(cal_end.date()), observation_end=str(obs_end.date()))
    return out


def repeat_buyers(rfm: pd.DataFrame, *, frequency_col: str = "frequency",
                  monetary_col: str = "monetary_value") -> pd.DataFrame:
    """Rows with at least one repeat purchase and a positive mean spend (the Gamma-Gamma sample).

    >>> repeat_buyers(pd.DataFrame({"frequency": [0, 2], "monetary_value": [np.nan, 3.0]}))
       frequency  monetary_value
    1          2             3.0
    """
    keep = (rfm[frequency_col] > 0) & (rfm[monetary_col] > 0)
    return rfm[keep]
