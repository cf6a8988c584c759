"""The scale path of :mod:`cxlib.clv`: RFM summaries (frequency, recency, T, monetary value per customer)
as portable SQL on any :class:`cxlib.engine.Backend` (DuckDB or Apache Spark).

The definitions are those of :func:`cxlib.clv.rfm.rfm_summary` (the tests check equality): the
transaction log is compressed to one row per customer, the input of the BG/NBD, Pareto/NBD and
Gamma-Gamma fits, which then run locally on that small frame whatever engine made it.
"""
from __future__ import annotations

from typing import Literal

import pandas as pd

from ..engine.backends import Backend
from ..engine.sql import ident, literal
from ..errors import DataContractError, ParameterError, check_choice
from ._base import TIME_UNITS, check_time_unit

__all__ = ["rfm_sql", "rfm_summary_table"]

_DAY_US = 86_400_000_000


def rfm_sql(table: str, *, calibration_end: pd.Timestamp, observation_end: pd.Timestamp, customer_col: str,
            timestamp_col: str, amount_col: str | None, unit_days: float, merge: str) -> str:
    """SELECT of one row per customer: ``customer_id, frequency, recency, T, monetary_value,
    frequency_holdout, monetary_value_holdout`` (holdout columns always present; the caller keeps them
    only with a holdout period).  Dates are midnights; times are microseconds since 1970 (UTC)."""
    t = f"CAST({ident(timestamp_col)} AS TIMESTAMP)"
    t = f"CAST(CAST({t} AS DATE) AS TIMESTAMP)" if merge == "day" else t
    amount = f"CAST({ident(amount_col)} AS DOUBLE)" if amount_col else "CAST(0 AS DOUBLE)"
    cal, obs = literal(str(calibration_end.date())), literal(str(observation_end.date()))
    cal_us = int(calibration_end.value // 1000)
    unit = f"CAST({_DAY_US} AS DOUBLE) * {float(unit_days)!r}"
    return f"""WITH tx AS (
  SELECT CAST({ident(customer_col)} AS VARCHAR) AS c, {t} AS t, {amount} AS amount FROM {table}
  WHERE CAST({t} AS DATE) <= CAST({obs} AS DATE)),
d AS (SELECT c, t, epoch_us(t) AS u, coalesce(sum(amount), 0) AS amount FROM tx GROUP BY c, t),
f AS (SELECT c, t, u, amount, min(u) OVER (PARTITION BY c) AS first_u, min(t) OVER (PARTITION BY c) AS first_t,
             CAST(t AS DATE) <= CAST({cal} AS DATE) AS in_cal FROM d)
SELECT c AS customer_id,
       CAST(count(*) FILTER (WHERE in_cal) - 1 AS BIGINT) AS frequency,
       CAST(max(u) FILTER (WHERE in_cal) - first_u AS DOUBLE) / ({unit}) AS recency,
       CAST({cal_us} - first_u AS DOUBLE) / ({unit}) AS "T",
       avg(amount) FILTER (WHERE in_cal AND u <> first_u) AS monetary_value,
       CAST(count(*) FILTER (WHERE NOT in_cal) AS BIGINT) AS frequency_holdout,
       avg(amount) FILTER (WHERE NOT in_cal) AS monetary_value_holdout
FROM f WHERE CAST(first_t AS DATE) <= CAST({cal} AS DATE)
GROUP BY c, first_u ORDER BY customer_id"""


def rfm_summary_table(backend: Backend, *, observation_end, calibration_end=None, table: str = "transactions",
                      customer_col: str = "customer_id", timestamp_col: str = "timestamp",
                      amount_col: str | None = "amount", time_unit: Literal["day", "week"] = "week",
                      merge: Literal["day", "none"] = "day") -> pd.DataFrame:
    """One (frequency, recency, T, spend) row per customer, computed by the backend's engine.

    Parameters and result are those of :func:`cxlib.clv.rfm.rfm_summary` (same columns, index,
    dtypes and ``attrs``), with the transactions read from the backend's ``table`` instead of a
    pandas frame.

    Notes
    -----
    ``recency = (last - first) / d`` and ``T = (calibration_end - first) / d`` in days over ``d``
    (1 or 7), from microsecond timestamps; ``monetary_value`` is the mean of the repeat purchases
    (the first, merged by day with ``merge="day"``, excluded).  Fader, Hardie and Lee (2005).

    Examples
    --------
    >>> from cxlib.engine import connect
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "a", "b"],
    ...                    "timestamp": pd.to_datetime(["2024-01-01 09:00", "2024-01-01 17:00",
    ...                                                 "2024-01-15 00:00", "2024-01-08 00:00"]),
    ...                    "amount": [10.0, 5.0, 20.0, 7.0]})
    >>> rfm_summary_table(connect({"transactions": tx}, engine="duckdb"), observation_end="2024-01-29")["T"].tolist()
    [4.0, 3.0]
    """
    check_time_unit(time_unit)
    check_choice("merge", merge, ["day", "none"])
    backend.require(table)
    cols = backend.columns(table)
    missing = [c for c in [customer_col, timestamp_col] + ([amount_col] if amount_col else []) if c not in cols]
    if missing:
        raise DataContractError(f"transactions lack column(s) {missing}; found {cols}.", table=table,
                                column=missing[0], rule="required")
    nulls = backend.sql(f"SELECT count(*) AS n FROM {table} WHERE {ident(timestamp_col)} IS NULL", {"n": "int64"})
    if int(nulls["n"].iloc[0]):
        raise DataContractError(f"{int(nulls['n'].iloc[0])} transaction(s) have no {timestamp_col}.", table=table,
                                column=timestamp_col, rule="not null")
    obs_end = pd.Timestamp(observation_end).normalize()
    cal_end = obs_end if calibration_end is None else pd.Timestamp(calibration_end).normalize()
    if cal_end > obs_end:
        raise ParameterError(f"calibration_end={cal_end.date()} is after observation_end={obs_end.date()}.")
    unit_days = TIME_UNITS[time_unit]
    sql = rfm_sql(table, calibration_end=cal_end, observation_end=obs_end, customer_col=customer_col,
                  timestamp_col=timestamp_col, amount_col=amount_col, unit_days=unit_days, merge=merge)
    out = backend.sql(sql, {"customer_id": "object", "frequency": "int64", "recency": "float64", "T": "float64",
                            "monetary_value": "float64", "frequency_holdout": "int64",
                            "monetary_value_holdout": "float64"})
    out = out.set_index("customer_id").rename_axis(customer_col)
    keep = ["frequency", "recency", "T"] + (["monetary_value"] if amount_col else [])
    if cal_end < obs_end:
        keep += ["frequency_holdout"] + (["monetary_value_holdout"] if amount_col else [])
        out["duration_holdout"] = (obs_end - cal_end).days / unit_days
        keep.append("duration_holdout")
    out = out[keep]
    out.attrs.update(time_unit=time_unit, calibration_end=str(cal_end.date()), observation_end=str(obs_end.date()))
    return out
