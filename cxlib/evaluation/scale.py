"""The scale path of :mod:`cxlib.evaluation`: metric panels by store and period as portable SQL on any
:class:`cxlib.engine.Backend` (DuckDB or Apache Spark).

:func:`metric_panel` is :func:`cxlib.evaluation.panel.build_panel` with the scan of the large tables
(transactions, survey responses, tickets) done by the engine: the engine returns one numerator and
denominator per (store, period) cell, customers per (home store, signup day) and the small
``units`` / ``program_rollout`` tables; the balanced grid, denominators of per-customer rates and
treatment timing are assembled locally from those few rows, exactly as ``build_panel`` does.

:func:`unit_period_summary` returns the sufficient statistics of the survey and support metrics by
store and period (NPS components, CSAT top-2-box counts, tickets and complaints, purchases and
revenue), from which :mod:`cxlib.metrics` intervals follow without touching the raw rows again.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..engine.backends import Backend
from ..engine.sql import literal
from ..errors import check_choice
from .panel import _FREQ, _SOURCE, PANEL_METRICS, Frequency, assemble_panel, select_program

__all__ = ["metric_panel", "panel_cells_sql", "unit_period_summary", "unit_period_sql", "SUMMARY_COLUMNS"]

_TRUNC = {"month": "month", "quarter": "quarter", "week": "week"}  # ISO weeks start on Monday, as W-SUN periods
_HOUR_US = 3_600_000_000

#: Columns of :func:`unit_period_summary`, in order.
SUMMARY_COLUMNS = ("unit_id", "period", "nps_responses", "promoters", "passives", "detractors", "csat_responses",
                   "csat_top2", "tickets", "complaints", "purchases", "revenue")


def _period(col: str, freq: str) -> str:
    return f"date_trunc({literal(_TRUNC[freq])}, CAST({col} AS TIMESTAMP))"


def panel_cells_sql(metric: str, freq: str) -> str:
    """SELECT ``unit_id, period, num, den`` of one panel metric (``den`` NULL where customers divide)."""
    check_choice("metric", metric, list(PANEL_METRICS))
    home = "LEFT JOIN customers c ON CAST(x.customer_id AS VARCHAR) = CAST(c.customer_id AS VARCHAR)"
    unit = "CAST(coalesce(x.unit_id, c.home_unit_id) AS VARCHAR)"
    if metric == "purchase_frequency":
        body = (f"SELECT CAST(c.home_unit_id AS VARCHAR) AS unit_id, {_period('x.timestamp', freq)} AS period, "
                "CAST(1 AS DOUBLE) AS num, CAST(NULL AS DOUBLE) AS den FROM transactions x JOIN customers c "
                "ON CAST(x.customer_id AS VARCHAR) = CAST(c.customer_id AS VARCHAR) "
                f"WHERE CAST(c.signup_date AS TIMESTAMP) < {_period('x.timestamp', freq)}")
    elif metric in ("return_rate", "out_of_stock_rate"):
        num, den = (("returned_items", "items") if metric == "return_rate"
                    else ("stockout_items", "items + stockout_items"))
        body = (f"SELECT CAST(unit_id AS VARCHAR) AS unit_id, {_period('timestamp', freq)} AS period, "
                f"CAST({num} AS DOUBLE) AS num, CAST({den} AS DOUBLE) AS den FROM transactions x")
    elif metric == "complaint_rate":
        body = (f"SELECT CAST(unit_id AS VARCHAR) AS unit_id, {_period('opened_at', freq)} AS period, "
                "CAST(1 AS DOUBLE) AS num, CAST(NULL AS DOUBLE) AS den FROM tickets x "
                "WHERE ticket_type = 'complaint' AND unit_id IS NOT NULL")
    elif metric in ("nps", "csat"):
        score = f"x.{metric}"
        num = (f"CASE WHEN {score} >= 9 THEN 100.0 ELSE 0.0 END - CASE WHEN {score} <= 6 THEN 100.0 ELSE 0.0 END"
               if metric == "nps" else f"CASE WHEN {score} >= 4 THEN 1.0 ELSE 0.0 END")
        body = (f"SELECT {unit} AS unit_id, {_period('x.responded_at', freq)} AS period, CAST({num} AS DOUBLE) AS num, "
                f"CAST(1 AS DOUBLE) AS den FROM survey_responses x {home} WHERE {score} IS NOT NULL")
    else:  # resolution_time
        hours = (f"CAST(epoch_us(CAST(x.resolved_at AS TIMESTAMP)) - epoch_us(CAST(x.opened_at AS TIMESTAMP)) "
                 f"AS DOUBLE) / {_HOUR_US}")
        body = (f"SELECT {unit} AS unit_id, {_period('x.opened_at', freq)} AS period, {hours} AS num, "
                f"CAST(1 AS DOUBLE) AS den FROM tickets x {home} WHERE x.resolved_at IS NOT NULL")
    return (f"SELECT unit_id, period, sum(num) AS num, sum(den) AS den FROM ({body}) b "
            "WHERE unit_id IS NOT NULL AND period IS NOT NULL GROUP BY unit_id, period ORDER BY unit_id, period")


def _customers_before(backend: Backend, units: np.ndarray, periods: pd.DatetimeIndex) -> np.ndarray:
    """Customers per home store who signed up before each period's first day (flattened units x periods)."""
    signups = backend.sql("SELECT CAST(home_unit_id AS VARCHAR) AS unit_id, CAST(signup_date AS TIMESTAMP) AS signup, "
                          "CAST(count(*) AS BIGINT) AS n FROM customers GROUP BY home_unit_id, signup_date "
                          "ORDER BY unit_id, signup",
                          {"unit_id": "object", "signup": "datetime64[ns]", "n": "int64"})
    out = np.zeros((len(units), len(periods)))
    for i, u in enumerate(units):
        s = signups[signups["unit_id"] == u]
        cum = np.concatenate([[0], np.cumsum(s["n"].to_numpy())])
        out[i] = cum[np.searchsorted(s["signup"].to_numpy(), periods.to_numpy(), side="left")]
    return out.ravel()


def metric_panel(backend: Backend, *, metric: str, freq: Frequency = "month", program: str | None = None,
                 start=None, end=None) -> pd.DataFrame:
    """One metric by store and period, with each store's first treated period, on the backend's engine.

    Parameters, definitions and result (columns :data:`cxlib.evaluation.panel.PANEL_COLUMNS`) are
    those of :func:`cxlib.evaluation.panel.build_panel`, with the contract tables registered in
    ``backend`` (:func:`cxlib.engine.connect`).
    """
    check_choice("metric", metric, list(PANEL_METRICS))
    freq = check_choice("freq", freq, list(_FREQ))
    source, column = _SOURCE[metric]
    backend.require("units", "program_rollout", "customers", source)
    units = np.sort(backend.sql("SELECT DISTINCT CAST(unit_id AS VARCHAR) AS unit_id FROM units",
                                {"unit_id": "object"})["unit_id"].to_numpy())
    rollout = backend.sql("SELECT CAST(unit_id AS VARCHAR) AS unit_id, CAST(program AS VARCHAR) AS program, "
                          "CAST(rollout_date AS TIMESTAMP) AS rollout_date FROM program_rollout",
                          {"unit_id": "object", "program": "object", "rollout_date": "datetime64[ns]"})
    program = select_program(rollout, program, caller="metric_panel")
    rows = backend.sql(panel_cells_sql(metric, freq), {"unit_id": "object", "period": "datetime64[ns]",
                                                       "num": "float64", "den": "float64"})
    rng = backend.sql(f"SELECT min({_period(column, freq)}) AS lo, max({_period(column, freq)}) AS hi FROM {source}",
                      {"lo": "datetime64[ns]", "hi": "datetime64[ns]"})
    lo = pd.Timestamp(start) if start is not None else rng["lo"].iloc[0]
    hi = pd.Timestamp(end) if end is not None else rng["hi"].iloc[0]
    return assemble_panel(rows, units=units, lo=lo, hi=hi, freq=freq, metric=metric, rollout=rollout,
                          program=program, customers_before=lambda grid: _customers_before(backend, units,
                                                                                            grid.levels[1]))


def unit_period_sql(freq: str) -> str:
    """SELECT of :data:`SUMMARY_COLUMNS`: one row per (store, period) seen in any of the three tables."""
    home = "LEFT JOIN customers c ON CAST(x.customer_id AS VARCHAR) = CAST(c.customer_id AS VARCHAR)"
    unit = "CAST(coalesce(x.unit_id, c.home_unit_id) AS VARCHAR)"
    z = "CAST(0 AS BIGINT)"
    survey = (f"SELECT {unit} AS unit_id, {_period('x.responded_at', freq)} AS period, "
              "CASE WHEN x.nps IS NOT NULL THEN 1 ELSE 0 END AS nps_responses, "
              "CASE WHEN x.nps >= 9 THEN 1 ELSE 0 END AS promoters, "
              "CASE WHEN x.nps BETWEEN 7 AND 8 THEN 1 ELSE 0 END AS passives, "
              "CASE WHEN x.nps <= 6 THEN 1 ELSE 0 END AS detractors, "
              "CASE WHEN x.csat IS NOT NULL THEN 1 ELSE 0 END AS csat_responses, "
              f"CASE WHEN x.csat >= 4 THEN 1 ELSE 0 END AS csat_top2, {z} AS tickets, {z} AS complaints, "
              f"{z} AS purchases, CAST(0 AS DOUBLE) AS revenue FROM survey_responses x {home}")
    tickets = (f"SELECT {unit}, {_period('x.opened_at', freq)}, 0, 0, 0, 0, 0, 0, 1, "
               f"CASE WHEN x.ticket_type = 'complaint' THEN 1 ELSE 0 END, 0, CAST(0 AS DOUBLE) FROM tickets x {home}")
    sales = (f"SELECT CAST(x.unit_id AS VARCHAR), {_period('x.timestamp', freq)}, 0, 0, 0, 0, 0, 0, 0, 0, 1, "
             "CAST(x.amount AS DOUBLE) FROM transactions x")
    sums = ", ".join(f"CAST(sum({c}) AS BIGINT) AS {c}" for c in SUMMARY_COLUMNS[2:-1])
    return (f"SELECT unit_id, period, {sums}, sum(revenue) AS revenue "
            f"FROM ({survey} UNION ALL {tickets} UNION ALL {sales}) u WHERE unit_id IS NOT NULL AND period IS NOT NULL "
            "GROUP BY unit_id, period ORDER BY unit_id, period")


def unit_period_summary(backend: Backend, *, freq: Frequency = "month") -> pd.DataFrame:
    """Sufficient statistics of the CX metrics by store and period (columns :data:`SUMMARY_COLUMNS`).

    ``nps_responses = promoters + passives + detractors``; NPS is ``100 (promoters - detractors) /
    nps_responses`` with :func:`cxlib.metrics.nps_interval` from the same counts; CSAT top-2-box is
    ``csat_top2 / csat_responses`` (Wilson interval); ``tickets`` and ``complaints`` count tickets
    opened; ``purchases`` and ``revenue`` are transactions at the store.  The store of a response or
    ticket is its ``unit_id``, else the customer's home store (as in :func:`metric_panel`).
    """
    freq = check_choice("freq", freq, list(_FREQ))
    backend.require("customers", "survey_responses", "tickets", "transactions")
    dtypes = {c: "int64" for c in SUMMARY_COLUMNS}
    dtypes.update(unit_id="object", period="datetime64[ns]", revenue="float64")
    return backend.sql(unit_period_sql(freq), dtypes)
