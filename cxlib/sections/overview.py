"""The data overview: what is in the input folder, before any analysis.

Used by ``notebooks/00_data_overview.ipynb``: a table of every input table
(rows, columns, time span, validation status), daily event volumes, the NPS
score distribution and the distribution of basket values, and two count
findings (customers, survey responses in the period) for the executive
summary.  Statistics are computed here; the ``plot_*`` functions only draw
what these return.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from .._deprecation import warn_deprecated
from ..engine.sql import ident
from ..errors import DataContractError, ParameterError
from ..findings import Finding
from ..periods import Period

__all__ = ["quarter_bounds", "table_overview", "daily_counts", "daily_counts_db", "score_distribution", "amount_histogram",
           "overview_findings", "plot_daily_counts", "plot_score_distribution", "plot_amount_histogram",
           "OVERVIEW_COLUMNS"]

OVERVIEW_COLUMNS = ("table", "rows", "columns", "time_column", "first", "last", "checks", "status")


def quarter_bounds(period: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Deprecated: use ``cxlib.periods.Period.parse(period, kind="quarter").bounds``.

    First instant of the quarter and of the next one (half-open ``[start, end)``).
    """
    warn_deprecated("cxlib.sections.overview.quarter_bounds()", "cxlib.periods.Period.parse(period).bounds")
    return Period.parse(period, kind="quarter").bounds


def table_overview(validation: pd.DataFrame) -> pd.DataFrame:
    """One row per table from ``Dataset.validation``, with the columns of ``OVERVIEW_COLUMNS``.

    >>> v = pd.DataFrame({"table": ["customers"], "file": ["customers.csv"], "rows": [3], "columns": [9],
    ...                   "time_column": ["signup_date"], "first": [pd.Timestamp("2024-01-01")],
    ...                   "last": [pd.Timestamp("2025-01-01")], "checks": [20], "status": ["valid"]})
    >>> table_overview(v).columns.tolist() == list(OVERVIEW_COLUMNS)
    True
    """
    missing = [c for c in OVERVIEW_COLUMNS if c not in validation.columns]
    if missing:
        raise DataContractError(f"The validation summary lacks column(s) {missing}; expected the frame of "
                                "cxlib.data.load(folder).validation.")
    return validation.loc[:, list(OVERVIEW_COLUMNS)].reset_index(drop=True)


def daily_counts(frame: pd.DataFrame, *, time_col: str = "timestamp") -> pd.DataFrame:
    """Rows per calendar day (days without rows included as 0): columns ``date, n``.

    >>> t = pd.DataFrame({"timestamp": pd.to_datetime(["2025-01-01 10:00", "2025-01-01 12:00", "2025-01-03 09:00"])})
    >>> daily_counts(t)["n"].tolist()
    [2, 0, 1]
    """
    if time_col not in frame.columns:
        raise DataContractError(f"Column {time_col!r} not found; the frame has {list(frame.columns)}.",
                                column=time_col)
    days = frame[time_col].dropna().dt.normalize()
    if days.empty:
        return pd.DataFrame({"date": pd.Series(dtype="datetime64[ns]"), "n": pd.Series(dtype="int64")})
    counts = days.value_counts().sort_index()
    full = pd.date_range(counts.index.min(), counts.index.max(), freq="D")
    counts = counts.reindex(full, fill_value=0)
    return pd.DataFrame({"date": full, "n": counts.to_numpy().astype("int64")})


def daily_counts_db(con: Any, *, table: str = "events", time_col: str = "timestamp") -> pd.DataFrame:
    """:func:`daily_counts` computed in DuckDB over ``table`` of ``con`` (e.g. ``Dataset.connection()``).

    Only one row per day leaves the database, so the event log is never loaded into pandas. Text
    times (a CSV view) are read as :func:`cxlib.data.load` reads them: a value with a UTC offset
    (``+02:00``, ``Z``) is converted to UTC, one without is taken as UTC already.

    >>> import duckdb
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE ev AS SELECT * FROM (VALUES ('2025-01-01 23:30:00+02:00'), "
    ...                 "('2025-01-01 10:00:00'), ('2025-01-03T01:00:00Z')) t(timestamp)")
    >>> daily_counts_db(con, table="ev")["n"].tolist()
    [2, 0, 1]
    """
    described = con.execute(f"DESCRIBE {table}").fetchall()
    types = {row[0]: str(row[1]).upper() for row in described}
    if time_col not in types:
        raise DataContractError(f"Column {time_col!r} not found in {table!r}; it has {list(types)}.",
                                table=table, column=time_col)
    col = ident(time_col)
    if types[time_col] in ("VARCHAR", "TEXT", "STRING"):
        expr = (f"CASE WHEN regexp_matches(trim({col}), '(?:[+-]\\d{{2}}:?\\d{{2}}|Z)$') "
                f"THEN CAST(CAST(trim({col}) AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS TIMESTAMP) "
                f"ELSE TRY_CAST(trim({col}) AS TIMESTAMP) END")
    elif "WITH TIME ZONE" in types[time_col] or types[time_col] == "TIMESTAMPTZ":
        expr = f"CAST({col} AT TIME ZONE 'UTC' AS TIMESTAMP)"
    else:
        expr = f"CAST({col} AS TIMESTAMP)"
    rows = con.execute(f"SELECT CAST(CAST(t AS DATE) AS TIMESTAMP) AS date, count(*) AS n "
                       f"FROM (SELECT {expr} AS t FROM {table}) x WHERE t IS NOT NULL GROUP BY 1 ORDER BY 1").df()
    if rows.empty:
        return pd.DataFrame({"date": pd.Series(dtype="datetime64[ns]"), "n": pd.Series(dtype="int64")})
    counts = pd.Series(rows["n"].to_numpy(), index=pd.DatetimeIndex(rows["date"]).as_unit("ns"))
    full = pd.date_range(counts.index.min(), counts.index.max(), freq="D")
    return pd.DataFrame({"date": full, "n": counts.reindex(full, fill_value=0).to_numpy().astype("int64")})


def score_distribution(survey: pd.DataFrame, *, col: str = "nps", low: int = 0, high: int = 10) -> pd.DataFrame:
    """Count and share of each score ``low..high`` (missing scores ignored): columns ``score, n, share``.

    >>> score_distribution(pd.DataFrame({"nps": [10, 9, 9, None, 0]}))["n"].tolist()
    [1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 1]
    """
    if col not in survey.columns:
        raise DataContractError(f"Column {col!r} not found in the survey responses.", table="survey_responses",
                                column=col)
    scores = survey[col].dropna().astype(int)
    counts = scores.value_counts().reindex(range(low, high + 1), fill_value=0)
    total = int(counts.sum())
    share = counts / total if total else counts * np.nan
    return pd.DataFrame({"score": np.arange(low, high + 1), "n": counts.to_numpy().astype("int64"),
                         "share": share.to_numpy(dtype=float)})


def amount_histogram(transactions: pd.DataFrame, *, col: str = "amount", bins: int = 30) -> pd.DataFrame:
    """Histogram of basket values on log-spaced bins (amounts are right-skewed): ``left, right, n``.

    Zero amounts are counted in the first bin.

    >>> h = amount_histogram(pd.DataFrame({"amount": [1.0, 10.0, 100.0, 0.0]}), bins=2)
    >>> h["n"].tolist(), int(h["n"].sum())
    ([2, 2], 4)
    """
    if bins < 1:
        raise ParameterError(f"bins={bins!r} must be a positive integer.")
    x = transactions[col].dropna().to_numpy(dtype=float)
    pos = x[x > 0]
    if pos.size == 0:
        return pd.DataFrame({"left": [0.0], "right": [0.0], "n": [int(x.size)]})
    lo, hi = pos.min(), pos.max()
    edges = np.geomspace(lo, hi, bins + 1) if hi > lo else np.array([lo, hi])
    counts, _ = np.histogram(np.clip(x, lo, hi), bins=edges)
    return pd.DataFrame({"left": edges[:-1], "right": edges[1:], "n": counts.astype("int64")})


def overview_findings(tables: Any, *, period: str) -> list[Finding]:
    """Count findings for the executive summary: customers, and survey responses and baskets in ``period``.

    ``period`` is anything :meth:`cxlib.periods.Period.parse` reads (the report passes a quarter).

    ``tables`` is a :class:`cxlib.data.Dataset` or a mapping of table name to frame.

    >>> tabs = {"customers": pd.DataFrame({"customer_id": ["a", "b"]}),
    ...         "survey_responses": pd.DataFrame({"responded_at": pd.to_datetime(["2025-10-02", "2025-07-01"])})}
    >>> [(f.key, f.estimate) for f in overview_findings(tabs, period="2025Q4")]
    [('customers', 2.0), ('survey_responses_in_period', 1.0)]
    """
    start, end = Period.parse(period).bounds
    get = tables.__getitem__
    has = tables.__contains__
    out = []
    if has("customers"):
        n = float(len(get("customers")))
        out.append(Finding(key="customers", section="overview", label="The number of customers", estimate=n,
                           n=n, method="count", detail="All customers in the customers table."))
    for table, col, key, label in (
            ("survey_responses", "responded_at", "survey_responses_in_period", "The number of survey responses"),
            ("transactions", "timestamp", "transactions_in_period", "The number of baskets bought")):
        if has(table):
            ts = get(table)[col]
            n = float(((ts >= start) & (ts < end)).sum())
            out.append(Finding(key=key, section="overview", label=label, estimate=n, n=n, method="count",
                               period=period, detail=f"Rows of {table} with {col} in {period}."))
    return out


def _new_ax(ax: Axes | None, size: tuple[float, float] = (7, 3)) -> Axes:
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    return Figure(figsize=size, layout="constrained").add_subplot()


def plot_daily_counts(daily: pd.DataFrame, *, ax: Axes | None = None, ylabel: str = "events per day") -> Axes:
    """Line of ``daily_counts`` output; returns the Axes (a new Figure when ``ax`` is None).

    >>> t = pd.DataFrame({"timestamp": pd.to_datetime(["2025-01-01 10:00", "2025-01-01 12:00", "2025-01-03 09:00"])})
    >>> ax = plot_daily_counts(daily_counts(t))
    >>> ax.lines[0].get_ydata().tolist(), ax.get_ylabel()
    ([2, 0, 1], 'events per day')
    """
    ax = _new_ax(ax)
    ax.plot(daily["date"], daily["n"], lw=0.8, color="#1f5f8b")
    ax.set_ylabel(ylabel)
    ax.set_xlabel("date (UTC)")
    ax.grid(alpha=0.3)
    return ax


def plot_score_distribution(dist: pd.DataFrame, *, ax: Axes | None = None, xlabel: str = "NPS score") -> Axes:
    """Bars of ``score_distribution`` output (detractors red, passives grey, promoters green for 0-10).

    >>> ax = plot_score_distribution(score_distribution(pd.DataFrame({"nps": [10, 9, 9, 7, 0]})))
    >>> [int(p.get_height()) for p in ax.patches][-3:], len(ax.patches)
    ([0, 2, 1], 11)
    """
    ax = _new_ax(ax)
    colors = ["#c0392b" if s <= 6 else "#95a5a6" if s <= 8 else "#27ae60" for s in dist["score"]]
    ax.bar(dist["score"], dist["n"], color=colors)
    ax.set_xticks(dist["score"])
    ax.set_xlabel(xlabel)
    ax.set_ylabel("responses")
    return ax


def plot_amount_histogram(hist: pd.DataFrame, *, ax: Axes | None = None, unit: str = "EUR") -> Axes:
    """Bars of ``amount_histogram`` output on a log x axis.

    >>> hist = amount_histogram(pd.DataFrame({"amount": [12.0, 30.0, 45.0, 250.0]}), bins=4)
    >>> ax = plot_amount_histogram(hist)
    >>> sum(int(p.get_height()) for p in ax.patches), ax.get_xscale()
    (4, 'log')
    """
    ax = _new_ax(ax)
    ax.bar(hist["left"], hist["n"], width=hist["right"] - hist["left"], align="edge", color="#1f5f8b",
           edgecolor="white", lw=0.3)
    if (hist["left"] > 0).all():
        ax.set_xscale("log")
    ax.set_xlabel(f"basket value ({unit}, log scale)")
    ax.set_ylabel("baskets")
    return ax
