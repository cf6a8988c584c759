"""The store x period metric panel that every evaluation design reads.

``build_panel(dataset, metric=...)`` aggregates one workbook metric by store
and period from the contract tables and adds each store's first treated
period from ``program_rollout``.  The metric definitions are the ones the
synthetic world plants its effects on (``truth.json``, ``program_effects``),
so the designs can be checked against the truth.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..display import displayable
from ..errors import DataContractError, ParameterError, check_choice

__all__ = ["build_panel", "segment_data", "first_full_period", "PANEL_METRICS", "PANEL_COLUMNS", "PANEL_FREQUENCIES",
           "PanelMetric", "Frequency"]

Frequency = Literal["month", "quarter", "week"]
_FREQ = {"month": "M", "quarter": "Q", "week": "W-SUN"}
#: The period lengths a panel can have.
PANEL_FREQUENCIES = tuple(_FREQ)

#: Columns of every panel, in this order.
PANEL_COLUMNS = ("unit_id", "period", "metric", "value", "numerator", "denominator", "first_treated", "treated")


@displayable()
@dataclass(frozen=True)
class PanelMetric:
    """How one metric is aggregated by store and period."""

    key: str
    label: str
    unit: str
    better: Literal["higher", "lower"]
    definition: str


PANEL_METRICS: dict[str, PanelMetric] = {m.key: m for m in (
    PanelMetric("complaint_rate", "Complaints per 1,000 customers", "complaints per 1,000 customers per period",
                "lower", "tickets of type 'complaint' naming store u (tickets.unit_id) opened in the period, per "
                "1,000 customers whose home store is u and who signed up before the period's first day"),
    PanelMetric("purchase_frequency", "Purchase frequency", "purchases per customer per period", "higher",
                "transactions (any store) in the period of customers with home store u who signed up before the "
                "period's first day, divided by the number of those customers"),
    PanelMetric("return_rate", "Return rate", "share of items returned", "lower",
                "sum(returned_items) / sum(items) over transactions at store u in the period"),
    PanelMetric("out_of_stock_rate", "Out-of-stock rate", "share of requested items out of stock", "lower",
                "sum(stockout_items) / (sum(items) + sum(stockout_items)) over transactions at store u"),
    PanelMetric("nps", "NPS", "points (-100..100)", "higher",
                "100 x (promoters - detractors) / respondents with an NPS score; the store is the response's "
                "unit_id, else the respondent's home store"),
    PanelMetric("csat", "CSAT (top-2-box)", "share of respondents scoring 4-5", "higher",
                "share of CSAT scores 4 or 5 among responses with a CSAT score, store as for NPS"),
    PanelMetric("resolution_time", "Resolution time", "hours", "lower",
                "mean hours from opened_at to resolved_at of tickets resolved, by the period they were opened; "
                "the store is the ticket's unit_id, else the customer's home store"),
)}


def _period(ts: pd.Series, freq: str) -> pd.Series:
    return ts.dt.to_period(_FREQ[freq]).dt.start_time


def first_full_period(dates: pd.Series, freq: str) -> pd.Series:
    """The first period (``freq`` of :data:`PANEL_FREQUENCIES`) starting on or after each date.

    That is the first period a program ran in from its first day: a rollout on 2025-03-10 with
    ``freq="month"`` has its first full period in April 2025.
    """
    per = dates.dt.to_period(_FREQ[freq])
    start = per.dt.start_time
    return start.where(start >= dates.dt.normalize(), (per + 1).dt.start_time)


def _table(data, name: str) -> pd.DataFrame:
    tables = getattr(data, "tables", data)
    if not isinstance(tables, Mapping) or name not in tables:
        raise DataContractError(f"build_panel(): table {name!r} is needed but missing; pass a cxlib.data.Dataset "
                                "or a dict of contract tables.", table=name, rule="required table")
    return tables[name]


def _customers_before(customers: pd.DataFrame, units: np.ndarray, periods: pd.DatetimeIndex) -> pd.DataFrame:
    """Customers per home store who signed up before each period's first day (units x periods)."""
    out = np.zeros((len(units), len(periods)))
    by_unit = customers.groupby("home_unit_id")["signup_date"]
    for i, u in enumerate(units):
        if u in by_unit.groups:
            dates = np.sort(by_unit.get_group(u).to_numpy())
            out[i] = np.searchsorted(dates, periods.to_numpy(), side="left")
    return pd.DataFrame(out, index=pd.Index(units, name="unit_id"), columns=periods).stack().rename("den")


def _store_of(frame: pd.DataFrame, customers: pd.DataFrame) -> pd.Series:
    home = frame["customer_id"].map(customers.set_index("customer_id")["home_unit_id"])
    return frame["unit_id"].where(frame["unit_id"].notna(), home)


_SOURCE = {"return_rate": ("transactions", "timestamp"), "out_of_stock_rate": ("transactions", "timestamp"),
           "purchase_frequency": ("transactions", "timestamp"), "complaint_rate": ("tickets", "opened_at"),
           "nps": ("survey_responses", "responded_at"), "csat": ("survey_responses", "responded_at"),
           "resolution_time": ("tickets", "opened_at")}


def _numerators(data, metric: str, freq: str) -> tuple[pd.DataFrame, str]:
    """(unit_id, period, num, den) for the metric's own rows; and the name of the source table."""
    if metric in ("return_rate", "out_of_stock_rate", "purchase_frequency"):
        tx = _table(data, "transactions")
        if metric == "purchase_frequency":
            cust = _table(data, "customers").set_index("customer_id")
            f = pd.DataFrame({"unit_id": tx["customer_id"].map(cust["home_unit_id"]),
                              "period": _period(tx["timestamp"], freq),
                              "signup": tx["customer_id"].map(cust["signup_date"])})
            f = f[f["signup"] < f["period"]]
            return f.assign(num=1.0).groupby(["unit_id", "period"], as_index=False)["num"].sum(), "transactions"
        f = pd.DataFrame({"unit_id": tx["unit_id"], "period": _period(tx["timestamp"], freq)})
        if metric == "return_rate":
            f["num"], f["den"] = tx["returned_items"].astype(float), tx["items"].astype(float)
        else:
            f["num"] = tx["stockout_items"].astype(float)
            f["den"] = (tx["items"] + tx["stockout_items"]).astype(float)
        return f.groupby(["unit_id", "period"], as_index=False)[["num", "den"]].sum(), "transactions"
    if metric == "complaint_rate":
        tk = _table(data, "tickets")
        tk = tk[(tk["ticket_type"] == "complaint") & tk["unit_id"].notna()]
        f = pd.DataFrame({"unit_id": tk["unit_id"], "period": _period(tk["opened_at"], freq), "num": 1.0})
        return f.groupby(["unit_id", "period"], as_index=False)["num"].sum(), "tickets"
    if metric in ("nps", "csat"):
        sv = _table(data, "survey_responses")
        sv = sv[sv[metric].notna()]
        score = sv[metric].astype(float)
        num = (np.where(score >= 9, 100.0, 0.0) - np.where(score <= 6, 100.0, 0.0)) if metric == "nps" else \
            (score >= 4).astype(float).to_numpy()
        f = pd.DataFrame({"unit_id": _store_of(sv, _table(data, "customers")).to_numpy(),
                          "period": _period(sv["responded_at"], freq).to_numpy(), "num": num, "den": 1.0})
        return f.groupby(["unit_id", "period"], as_index=False)[["num", "den"]].sum(), "survey_responses"
    tk = _table(data, "tickets")
    tk = tk[tk["resolved_at"].notna()]
    hours = (tk["resolved_at"] - tk["opened_at"]).dt.total_seconds() / 3600.0
    f = pd.DataFrame({"unit_id": _store_of(tk, _table(data, "customers")).to_numpy(),
                      "period": _period(tk["opened_at"], freq).to_numpy(), "num": hours.to_numpy(), "den": 1.0})
    return f.groupby(["unit_id", "period"], as_index=False)[["num", "den"]].sum(), "tickets"


def segment_data(data, segment: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    """The contract tables restricted to the customers of one segment (rows of other customers dropped).

    ``segment`` maps a column of ``customers`` to the level kept (or a list of levels), e.g.
    ``{"rfm_segment": "champions"}`` after joining the RFM segment to customers; several columns
    must all match. Tables without ``customer_id`` (``units``, ``program_rollout``) are kept whole.

    >>> t = {"customers": pd.DataFrame({"customer_id": ["c1", "c2"], "tier": ["gold", "bronze"]}),
    ...      "tickets": pd.DataFrame({"ticket_id": ["t1", "t2"], "customer_id": ["c2", "c1"]})}
    >>> segment_data(t, {"tier": "gold"})["tickets"]["ticket_id"].tolist()
    ['t2']
    """
    customers = _table(data, "customers")
    if not isinstance(segment, Mapping) or not segment:
        raise ParameterError(f"segment={segment!r} must map a customers column to a level, e.g. "
                             "{'rfm_segment': 'champions'}.")
    keep = np.ones(len(customers), dtype=bool)
    for column, level in segment.items():
        if column not in customers.columns:
            raise DataContractError(f"build_panel(): segment column {column!r} is not in customers; found "
                                    f"{list(customers.columns)}. Join the segment to customers by customer_id first.",
                                    table="customers", column=column, rule="column present")
        levels = list(level) if isinstance(level, (list, tuple, set, frozenset)) else [level]
        hit = customers[column].isin(levels).to_numpy()
        if not hit.any():
            found = sorted(customers[column].dropna().astype(str).unique().tolist())[:12]
            raise ParameterError(f"build_panel(): no customer has {column} in {levels}; levels found: {found}.")
        keep &= hit
    ids = set(customers.loc[keep, "customer_id"])
    tables = dict(getattr(data, "tables", data))
    return {name: (t[t["customer_id"].isin(ids)] if "customer_id" in t.columns else t) for name, t in tables.items()}


def build_panel(data, *, metric: str, freq: Frequency = "month", program: str | None = None,
                start=None, end=None, segment: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """One metric by store and period, with each store's first treated period.

    Parameters
    ----------
    data : cxlib.data.Dataset or mapping of str to DataFrame
        The contract tables (``units``, ``program_rollout``, ``customers`` and
        the metric's source table).
    metric : str
        One of :data:`PANEL_METRICS`: ``complaint_rate``, ``purchase_frequency``,
        ``return_rate``, ``out_of_stock_rate``, ``nps``, ``csat``, ``resolution_time``.
    freq : {"month", "quarter", "week"}
        Period length (default month: enough periods for pre-trends, enough
        events per store-period for stable rates).
    program : str, optional
        Program in ``program_rollout`` (default: the only one; required when several).
    start, end : date-like, optional
        First and last period start to keep (default: the range of the
        metric's source table, e.g. all tickets for the complaint rate).
    segment : mapping, optional
        Customers of one segment only, e.g. ``{"rfm_segment": "champions"}`` (a column of ``customers``
        and its level or list of levels; see :func:`segment_data`): every metric is then computed from
        that segment's customers' rows (their transactions, tickets, answers; denominators count only
        them), so the designs run per segment on the same stores and periods.

    Returns
    -------
    pandas.DataFrame
        Balanced panel (every store x every period) with the columns of
        :data:`PANEL_COLUMNS`: ``value = scale x numerator / denominator`` (NaN
        when the denominator is 0, e.g. a store-month without survey
        responses); ``first_treated`` is the first period starting on or after
        the store's ``rollout_date`` (NaT for stores never treated);
        ``treated`` is 1 from that period on.  Periods in which the metric is
        undefined for every store (e.g. before any customer signed up) are
        left out; single empty cells stay NaN.

    Raises
    ------
    ParameterError
        Unknown metric or frequency; several programs and none chosen; unknown program.
    DataContractError
        A needed table is missing.

    Notes
    -----
    A period counts as treated only if the program ran from its first day, so
    the rollout period itself is "post" only when the rollout is on a period
    start (the synthetic world's convention; partial periods would dilute the effect).

    Examples
    --------
    >>> import pandas as pd
    >>> day = pd.Timestamp
    >>> tables = {
    ...     "units": pd.DataFrame({"unit_id": ["S1", "S2"]}),
    ...     "program_rollout": pd.DataFrame({"unit_id": ["S1"], "program": ["cx"], "rollout_date": [day("2025-02-01")]}),
    ...     "customers": pd.DataFrame({"customer_id": ["c1", "c2"], "home_unit_id": ["S1", "S2"],
    ...                                "signup_date": [day("2024-12-01")] * 2}),
    ...     "transactions": pd.DataFrame({"transaction_id": ["t1", "t2", "t3"], "customer_id": ["c1", "c2", "c1"],
    ...         "unit_id": ["S1", "S2", "S1"], "timestamp": [day("2025-01-05"), day("2025-01-09"), day("2025-02-03")],
    ...         "amount": [10.0, 20.0, 30.0], "items": [2, 4, 1], "returned_items": [1, 0, 0],
    ...         "stockout_items": [0, 1, 0]})}
    >>> build_panel(tables, metric="return_rate")[["unit_id", "value", "treated"]].to_dict("list")
    {'unit_id': ['S1', 'S1', 'S2', 'S2'], 'value': [0.5, 0.0, 0.0, nan], 'treated': [0, 1, 0, 0]}
    """
    check_choice("metric", metric, list(PANEL_METRICS))
    freq = check_choice("freq", freq, list(_FREQ))
    if segment is not None:
        data = segment_data(data, segment)
    units = np.sort(_table(data, "units")["unit_id"].astype(str).unique())
    rollout = _table(data, "program_rollout")
    program = select_program(rollout, program, caller="build_panel")
    rows, _ = _numerators(data, metric, freq)
    source, column = _SOURCE[metric]
    observed = _period(_table(data, source)[column], freq)
    lo = pd.Timestamp(start) if start is not None else observed.min()
    hi = pd.Timestamp(end) if end is not None else observed.max()
    customers = _table(data, "customers") if metric in _PER_CUSTOMER else None
    return assemble_panel(rows, units=units, lo=lo, hi=hi, freq=freq, metric=metric, rollout=rollout,
                          program=program,
                          customers_before=None if customers is None else
                          (lambda grid: _customers_before(customers, units, grid.levels[1]).reindex(grid).to_numpy()))


_PER_CUSTOMER = ("complaint_rate", "purchase_frequency")


def select_program(rollout: pd.DataFrame, program: str | None, *, caller: str) -> str | None:
    """The program a panel is built for: the only one in ``program_rollout`` when none is named."""
    programs = sorted(rollout["program"].unique())
    if program is None:
        if len(programs) > 1:
            raise ParameterError(f"{caller}(): program_rollout holds {len(programs)} programs {programs}; "
                                 "choose one with program=...")
        return programs[0] if programs else None
    if program not in programs:
        raise ParameterError(f"{caller}(): program={program!r} is not in program_rollout; found {programs}.")
    return program


def assemble_panel(rows: pd.DataFrame, *, units: np.ndarray, lo: pd.Timestamp, hi: pd.Timestamp, freq: str,
                   metric: str, rollout: pd.DataFrame, program: str | None,
                   customers_before: Any = None) -> pd.DataFrame:
    """The unit x period panel from per-cell numerators and denominators (``rows``: unit_id, period, num, den).

    Every unit gets every period in ``[lo, hi]``; an empty cell counts 0 of 0 (value NaN). For the
    per-customer metrics ``customers_before(grid)`` gives the denominator of each grid cell (customers of
    the store who signed up before the period). ``value = scale * num / den`` (scale 1,000 for complaints),
    ``first_treated`` is the unit's first full period after its rollout, and periods where no store has a
    value (no customers yet) are dropped. Shared by :func:`build_panel` and
    :func:`cxlib.evaluation.scale.metric_panel`.
    """
    rows = rows[(rows["period"] >= lo) & (rows["period"] <= hi)]
    periods = pd.DatetimeIndex(pd.period_range(lo, hi, freq=_FREQ[freq]).start_time)
    grid = pd.MultiIndex.from_product([units, periods], names=["unit_id", "period"])
    cell = rows.set_index(["unit_id", "period"]).reindex(grid)
    if metric in _PER_CUSTOMER:
        cell["den"] = np.asarray(customers_before(grid), dtype=float)
    cell["num"] = cell["num"].fillna(0.0)
    cell["den"] = cell["den"].fillna(0.0)
    scale = 1000.0 if metric == "complaint_rate" else 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(cell["den"] > 0, scale * cell["num"] / cell["den"], np.nan)
    out = cell.reset_index().rename(columns={"num": "numerator", "den": "denominator"})
    out["value"] = value
    out["metric"] = metric
    ro = rollout[rollout["program"] == program] if program is not None else rollout.iloc[:0]
    first = pd.Series(first_full_period(pd.to_datetime(ro["rollout_date"]), freq).to_numpy(),
                      index=ro["unit_id"].astype(str))
    out["first_treated"] = pd.to_datetime(out["unit_id"].map(first))
    out["treated"] = (out["period"] >= out["first_treated"]).astype(int)
    defined = out.groupby("period")["value"].transform(lambda v: v.notna().any())
    out = out[defined]  # periods where the metric is undefined for every store (no customers yet)
    return out.loc[:, list(PANEL_COLUMNS)].sort_values(["unit_id", "period"], ignore_index=True)
