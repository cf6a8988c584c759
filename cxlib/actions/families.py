"""Alerts over every metric family of the dashboard: survey, churn, support and journeys, adjusted together.

:func:`metric_alerts` tests survey cells only.  :func:`dashboard_alerts` adds the other families the
workbook measures, each reduced to one 0/1 outcome per observation so that every cell is a share:

========== ================ ================================================================================
family     metric           observation and outcome (in the period)
========== ================ ================================================================================
churn      ``churn``        subscription active at the period start; 1 if it ended before the period end
support    ``sla_share``    ticket opened; 1 if first answered within ``sla_minutes``
support    ``resolved_24h`` ticket opened at least ``resolve_hours`` before the period end; 1 if resolved
                            within ``resolve_hours`` (the censoring-safe reading of resolution time)
journey    ``conversion``   journey of the period's events with a known outcome (:mod:`cxlib.journey.sessions`;
                            still open at the period end: left out); 1 if it reached ``purchase``
survey     NPS/CSAT/CES     as :func:`metric_alerts`
========== ================ ================================================================================

Cells are levels of the ``segment`` columns found in each family's table (customer segments attached by
``customer_id``; ``touchpoint`` and ``channel`` are the journey's entry touchpoint and channel and the
ticket's channel; ``unit_id`` the ticket's or journey's store, or the member's home store).  Each share
is compared with the same cell in ``comparison_period`` by the cluster-robust (CR1, by customer)
difference of means of the 0/1 outcomes, and **all** p-values of the dashboard, every family together,
are adjusted at once (Benjamini-Hochberg by default).  An alert needs the adjusted test *and* a change of
at least :data:`MIN_CHANGE_ALL` of the metric.

:func:`simulate_dashboard_fdr` measures the false-discovery rate and per-family power of that rule on
mixed dashboards (vectorised).
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._deprecation import renamed_arguments
from ..display import displayable
from ..errors import DataContractError, ParameterError, check_choice
from ..journey.sessions import DEFAULT_GAP, KNOWN_OUTCOMES, journey_frame
from ..periods import period_bounds
from ..significance import compare_proportions
from ..stats import (
    Segment,
    adjust_pvalues,
    attach_segment_labels,
    check_alpha,
    cluster_mean_difference,
    nps_difference,
    segment_keys,
    segment_labels,
    welch,
)
from .alerts import (_PADJ_NAME, _UNIT, ALERT_COLUMNS, BETTER, MIN_CHANGE, AlertBoard, PAdjust, _cells, _finish,
                     _with_cluster_codes, metric_alerts)

__all__ = ["FAMILIES", "MIN_CHANGE_ALL", "BETTER_ALL", "UNITS", "DASHBOARD_FDR_COLUMNS", "family_outcomes",
           "dashboard_alerts", "DashboardFdr", "simulate_dashboard_fdr"]

#: Metrics of each family.
FAMILIES = {"survey": ("nps", "csat", "ces"), "churn": ("churn",), "support": ("sla_share", "resolved_24h"),
            "journey": ("conversion",)}
#: Smallest change that matters, every metric (shares as fractions: 0.02 = 2 percentage points).
MIN_CHANGE_ALL = MIN_CHANGE
#: Which direction is good news, every metric.
BETTER_ALL = BETTER
#: Unit of each metric's change.
UNITS = _UNIT
#: Columns of :meth:`DashboardFdr.to_frame` (one row per family and one for the whole dashboard).
DASHBOARD_FDR_COLUMNS = ("family", "cells", "change", "min_change", "n_per_cell", "power", "false_alert_rate",
                         "fdr", "fdr_se", "fwer", "padjust", "alpha", "dashboards", "method")
_TABLE = {"churn": "subscriptions", "support": "tickets", "journey": "events"}


def _tables(data: Any) -> Any:
    """A mapping of table name to DataFrame, or a :class:`~cxlib.data.Dataset` (read lazily by name)."""
    if isinstance(data, Mapping) or (hasattr(data, "__getitem__") and hasattr(data, "__contains__")):
        return data
    raise ParameterError(f"data must be a Dataset or a mapping of table name to DataFrame; found {type(data).__name__}.")


def _need(frame: pd.DataFrame, table: str, cols: Sequence[str]) -> None:
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise DataContractError(f"Table {table!r} lacks column(s) {missing}; found {list(frame.columns)}.",
                                table=table, column=missing[0], rule="column present")


def _churn(subs: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    _need(subs, "subscriptions", ("customer_id", "start_date", "end_date"))
    s, e = pd.to_datetime(subs["start_date"]), pd.to_datetime(subs["end_date"])
    at_risk = (s < start) & (e.isna() | (e >= start))
    out = subs[at_risk].copy()
    out["value"] = (e[at_risk] < end).astype(float).to_numpy()
    return out.assign(metric="churn")


def _support(tickets: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, sla_minutes: float,
             resolve_hours: float) -> pd.DataFrame:
    _need(tickets, "tickets", ("customer_id", "opened_at", "first_response_at", "resolved_at"))
    opened = pd.to_datetime(tickets["opened_at"])
    t = tickets[(opened >= start) & (opened < end)].copy()
    o = pd.to_datetime(t["opened_at"])
    first = (pd.to_datetime(t["first_response_at"]) - o).dt.total_seconds() / 60
    sla = t.assign(metric="sla_share", value=(first <= sla_minutes).astype(float).to_numpy())
    done = t[o + pd.Timedelta(hours=resolve_hours) <= end]
    hours = (pd.to_datetime(done["resolved_at"]) - pd.to_datetime(done["opened_at"])).dt.total_seconds() / 3600
    res = done.assign(metric="resolved_24h", value=(hours <= resolve_hours).astype(float).to_numpy())
    return pd.concat([sla, res], ignore_index=True)


def _journey_events(data: Any, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """The events of ``[start, end)`` (a lazily held log read through DuckDB, :meth:`cxlib.data.Dataset.frame`):
    all that :func:`_journeys` keeps, since a period's journeys are cut at its bounds."""
    if "events" in getattr(data, "lazy", ()):
        return data.frame("events", where="timestamp >= ? AND timestamp < ?", params=[start, end])
    return data["events"]


def _journeys(events: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, *, gap: str = DEFAULT_GAP
              ) -> pd.DataFrame:
    """One row per journey of the period with a known outcome: ``value`` 1 if it converted, 0 if abandoned.

    The journeys and the conversion of :mod:`cxlib.journey.sessions` (the one definition): the
    period's events cut into journeys (explicit ``journey_id`` when every event has one), journeys
    still open at the period end left out (:func:`~cxlib.journey.sessions.conversion_counts`).
    """
    _need(events, "events", ("customer_id", "timestamp", "touchpoint"))
    entry = [c for c in ("touchpoint", "channel", "unit_id") if c in events.columns]
    jf = journey_frame(events, start=start, end=end, first=entry, gap=gap)
    jf = jf[jf["outcome"].isin(KNOWN_OUTCOMES).to_numpy()]
    out = pd.DataFrame({"customer_id": jf["customer_id"], "timestamp": jf["started_at"],
                        "touchpoint": jf["touchpoint"], "value": jf["converted"].astype(float)})
    for col in ("channel", "unit_id"):
        if col in jf:
            out[col] = jf[col]
    return out.reset_index(drop=True).assign(metric="conversion")


@renamed_arguments(customer_columns="segment")
def family_outcomes(data: Any, *, family: str, period: str, segments: Any = None,
                    segment: Segment = None, sla_minutes: float = 10.0,
                    resolve_hours: float = 24.0, gap: str = DEFAULT_GAP) -> pd.DataFrame:
    """One row per observation of ``family`` in ``period``: ``metric``, ``value`` (0/1), ``customer_id``, dimensions.

    ``segments`` is a DataFrame of customer-level labels (``customer_id`` plus label columns: an RFM
    segment, a behavioural cluster; :func:`cxlib.stats.segment_labels`), attached to every row
    (``"unassigned"`` when missing); ``segment`` names segment columns copied from the ``customers`` table
    (``customer_columns`` is its deprecated old name; members also get their home store as ``unit_id``).
    See the module docstring for each family's outcome.

    >>> subs = pd.DataFrame({"customer_id": ["C1", "C2", "C3"], "start_date": pd.to_datetime(["2025-01-05"] * 3),
    ...                      "end_date": pd.to_datetime(["2025-11-02", None, "2025-08-01"])})
    >>> family_outcomes({"subscriptions": subs}, family="churn", period="2025Q4")[["customer_id", "value"]].values.tolist()
    [['C1', 1.0], ['C2', 0.0]]
    """
    check_choice("family", family, tuple(k for k in FAMILIES if k != "survey"))
    tables = _tables(data)
    start, end = (pd.Timestamp(x) for x in period_bounds(period))
    if family == "churn":
        out = _churn(tables["subscriptions"], start, end)
    elif family == "support":
        out = _support(tables["tickets"], start, end, sla_minutes, resolve_hours)
    else:
        out = _journeys(_journey_events(tables, start, end), start, end, gap=gap)
    cols = [c for c in segment_keys(segment) if c not in out.columns]
    if family == "churn" and "unit_id" not in out.columns and "customers" in tables:
        cust = tables["customers"]
        if "home_unit_id" in cust.columns:
            out = out.merge(cust[["customer_id", "home_unit_id"]].rename(columns={"home_unit_id": "unit_id"}),
                            on="customer_id", how="left")
    if cols:
        cust = tables["customers"]
        _need(cust, "customers", ("customer_id", *cols))
        out = out.merge(cust[["customer_id", *cols]], on="customer_id", how="left")
    if segments is not None:
        out, _ = attach_segment_labels(out, segments, where="family_outcomes(segments=...)", stacklevel=6)
    return out.reset_index(drop=True)


def _share_row(a: pd.DataFrame, b: pd.DataFrame, cluster: str | None, alpha: float, metric: str,
               label_a: str, label_b: str, cluster_col: str | None = None) -> dict[str, Any]:
    ya, yb = a["value"].to_numpy(float), b["value"].to_numpy(float)
    if cluster is None:
        r = compare_proportions(int(ya.sum()), ya.size, int(yb.sum()), yb.size, metric=metric, group_a=label_a,
                                group_b=label_b, alpha=alpha, warn=False)
        return {"estimate": r.estimate_a, "reference_estimate": r.estimate_b, "change": r.difference,
                "ci_lower": r.ci_lower, "ci_upper": r.ci_upper, "p_value": r.p_value, "n": ya.size,
                "n_reference": yb.size, "method": f"share of {metric}: {r.method}"}
    col = cluster_col or cluster
    r = cluster_mean_difference(ya, a[col].to_numpy(), yb, b[col].to_numpy(), alpha=alpha)
    return {"estimate": float(ya.mean()), "reference_estimate": float(yb.mean()), "change": float(r["difference"]),
            "ci_lower": float(r["ci_lower"]), "ci_upper": float(r["ci_upper"]), "p_value": float(r["p_value"]),
            "n": ya.size, "n_reference": yb.size,
            "method": f"difference of {metric} shares, cluster-robust (CR1) t test by {cluster}"}


def _share_rows(now: pd.DataFrame, before: pd.DataFrame | None, *, family: str, dimensions: Sequence[str],
                against: str, period: str, reference: str, thresholds: Mapping[str, float], min_n: int,
                cluster: str | None, alpha: float, include_overall: bool) -> list[dict[str, Any]]:
    rows = []
    dims = [d for d in dimensions if d in now.columns]
    (now, before), code_col = _with_cluster_codes([now, before], cluster)
    keep_cols = list(dict.fromkeys(["metric", "value", *dims, *([cluster, code_col] if cluster else [])]))
    now = now[keep_cols]  # only what the cells and tests read: boolean selections copy fewer columns
    before = before[keep_cols] if before is not None else None
    for metric in FAMILIES[family]:
        m_now = now[now["metric"] == metric]
        m_before = before[before["metric"] == metric] if before is not None else None
        tested = list(dict.fromkeys(["value", *([cluster, code_col] if cluster else [])]))
        t_now = m_now[tested]  # the selections per cell copy only the columns the test reads
        t_before = m_before[tested] if m_before is not None else None
        for dim, cell, mask in _cells(m_now, dims, include_overall and against != "rest"):
            base = {"segment_column": dim, "segment": cell, "family": family, "metric": metric, "kind": against,
                    "period": period, "reference": reference, "min_change": float(thresholds[metric])}
            a = t_now[mask]
            if against == "period":
                keep = (m_before[dim].astype(object) == cell) if dim != "all" else np.ones(len(m_before), bool)
                b = t_before[np.asarray(keep, dtype=bool)]
            else:
                b = t_now[~mask]
            if min(len(a), len(b)) < min_n:
                rows.append({**base, "n": len(a), "n_reference": len(b),
                             "method": f"not tested: fewer than {min_n} observations"})
                continue
            rows.append({**base, **_share_row(a, b, cluster, alpha, metric, cell if against == "rest" else period,
                                              reference, cluster_col=code_col)})
    return rows


@renamed_arguments(dimensions="segment")
def dashboard_alerts(data: Any, *, period: str, comparison_period: str | None = None, against: str = "period",
                     families: Sequence[str] = ("survey", "churn", "support", "journey"),
                     segment: Segment = ("loyalty_tier", "region", "touchpoint", "channel"),
                     segments: Any = None,
                     min_change: Mapping[str, float] | None = None, padjust: PAdjust = "fdr_bh",
                     alpha: float = 0.05, min_n: int = 30, cluster: str | None = "customer_id",
                     sla_minutes: float = 10.0, resolve_hours: float = 24.0,
                     include_overall: bool = True, gap: str = DEFAULT_GAP) -> AlertBoard:
    """Alerts over survey, churn, support and journey cells, every p-value of the dashboard adjusted together.

    Parameters
    ----------
    data : Dataset or mapping of table name to DataFrame
        ``customers`` plus the tables of the chosen ``families`` (``survey_responses``, ``subscriptions``,
        ``tickets``, ``events``).
    period, comparison_period, against
        As :func:`metric_alerts` (``"period"`` or ``"rest"``; targets are survey-only).
    families : sequence of {"survey", "churn", "support", "journey"}
    segment : str or sequence of str
        Cell columns (``dimensions`` is the deprecated old name); each family uses those its table has
        (customer attributes from ``customers`` and the ``segments`` columns are available to all;
        ``touchpoint``, ``channel``, ``unit_id`` where recorded).
    segments : DataFrame, optional
        Customer-level segment labels: ``customer_id`` plus one column per segmentation (RFM segments,
        behavioural clusters; :func:`cxlib.stats.segment_labels`); add their names to ``segment`` to get one
        cell per segment.
    min_change : mapping, optional
        Overrides of :data:`MIN_CHANGE_ALL` (NPS points; shares as fractions; CES points).
    padjust, alpha, min_n, cluster, include_overall
        As :func:`metric_alerts`; the adjustment family is every tested cell of every family.
    sla_minutes, resolve_hours : float
        First-response target of ``sla_share`` and the horizon of ``resolved_24h``.
    gap : str
        Inactivity gap of the journey definition (:func:`cxlib.journey.journey_frame`): a journey not
        converted whose last event is within ``gap`` of the period end is still open and left out.

    Returns
    -------
    AlertBoard
        :data:`~cxlib.actions.alerts.ALERT_COLUMNS`; ``family`` says which family a row belongs to.

    Notes
    -----
    Shares are compared by the cluster-robust difference of means of the 0/1 outcomes (CR1, t with
    ``G - 1`` degrees of freedom, ``G`` customers; Cameron & Miller 2015), since one customer has several
    tickets or journeys; ``cluster=None`` uses Newcombe's interval and the pooled z test.  Churn compares
    two cohorts that share members, so its test is approximate (conservative when churn is stable).

    References
    ----------
    Benjamini, Y. & Hochberg, Y. (1995). JRSS B 57, 289-300.
    """
    check_choice("against", against, ("period", "rest"))
    check_alpha(alpha)
    for f in families:
        check_choice("family", f, tuple(FAMILIES))
    if against == "period" and not comparison_period:
        raise ParameterError("against='period' needs comparison_period= (e.g. '2025Q3').")
    tables = _tables(data)
    dimensions = segment_keys(segment)
    if segments is not None:  # checked (and old types converted) once for every family
        segments = segment_labels(segments, where="dashboard_alerts(segments=...)", stacklevel=5)
    thresholds = {**MIN_CHANGE_ALL, **(min_change or {})}
    cust_cols = [d for d in dimensions if "customers" in tables and d in tables["customers"].columns
                 and d != "customer_id"]
    reference = str(comparison_period) if against == "period" else "rest"
    parts = []
    if "survey" in families:
        responses = family_responses(tables, segments=segments, segment=cust_cols)
        dims = [d for d in dimensions if d in responses.columns]
        board = metric_alerts(responses, period=period, comparison_period=comparison_period, against=against,
                              segment=dims, min_change={k: thresholds[k] for k in FAMILIES["survey"]},
                              padjust="none", alpha=alpha, min_n=min_n, cluster=cluster,
                              include_overall=include_overall)
        t = board.table.copy()
        tested = t["p_value"].notna()  # may be none: "method" is then all NaN (float), with no .str accessor
        t["method"] = t["method"].astype(object)
        t.loc[tested, "method"] = [re.sub(r"; no adjustment over \d+ tests$", "", m) for m in t.loc[tested, "method"]]
        parts.append(t)
    for family in (f for f in families if f != "survey"):
        kw = {"family": family, "segments": segments, "segment": cust_cols, "sla_minutes": sla_minutes,
              "resolve_hours": resolve_hours, "gap": gap}
        now = family_outcomes(tables, period=period, **kw)
        before = family_outcomes(tables, period=comparison_period, **kw) if against == "period" else None
        parts.append(pd.DataFrame(_share_rows(now, before, family=family, dimensions=dimensions, against=against,
                                              period=str(period), reference=reference, thresholds=thresholds,
                                              min_n=min_n, cluster=cluster, alpha=alpha,
                                              include_overall=include_overall)))
    table = pd.concat([p.reindex(columns=list(ALERT_COLUMNS)) for p in parts if len(p)], ignore_index=True)
    return _finish(table, padjust=padjust, alpha=alpha, against=against, period=str(period), reference=reference)


@renamed_arguments(customer_columns="segment")
def family_responses(tables: Any, *, segments: Any = None, segment: Segment = None) -> pd.DataFrame:
    """Survey responses with the ``segment`` columns of ``customers`` and the ``segments`` labels attached.

    ``customer_columns`` is the deprecated old name of ``segment``.
    """
    from .alerts import attach_segments
    responses = tables["survey_responses"]
    if "customers" in tables:
        return attach_segments(responses, tables["customers"], segment=segment_keys(segment), segments=segments)
    if segments is None:
        return responses.copy()
    out, _ = attach_segment_labels(responses, segments, where="family_responses(segments=...)", stacklevel=6)
    return out


@displayable(tables=("table",))
@dataclass(frozen=True)
class DashboardFdr:
    """Monte Carlo operating characteristics of the alert rule on mixed-family dashboards."""

    table: pd.DataFrame
    fdr: float
    fdr_se: float
    fwer: float
    power: float
    dashboards: int
    method: str

    def to_frame(self) -> pd.DataFrame:
        """One row per family and one ``"all"`` row, :data:`DASHBOARD_FDR_COLUMNS`."""
        return self.table.copy()


_SIM_DEFAULTS = {"nps": dict(cells=50, change=15.0), "share": dict(cells=100, change=0.08),
                 "ces": dict(cells=50, change=0.3)}


def simulate_dashboard_fdr(*, dashboards: int = 500, cells: Mapping[str, int] | None = None,
                           changes: Mapping[str, float] | None = None, changed_share: float = 0.1,
                           n_per_cell: int = 1000, share_base: float = 0.3,
                           min_change: Mapping[str, float] | None = None, padjust: PAdjust = "fdr_bh",
                           alpha: float = 0.05, rng: np.random.Generator) -> DashboardFdr:
    """False-discovery rate and per-family power of the alert rule on simulated mixed dashboards.

    Each dashboard holds ``cells["nps"]`` NPS cells (promoters 45%, detractors 20%), ``cells["share"]``
    share cells (churn, SLA, resolution, conversion; base rate ``share_base``) and ``cells["ces"]`` CES
    cells (1-7, pmf of the synthetic world), each observed in two periods with ``n_per_cell`` independent
    observations.  A share ``changed_share`` of the cells of each family truly moved by ``changes[family]``
    (NPS points; share as a fraction; CES points); the others did not move at all.  Cells are tested with the
    workbook's tests (adjusted Wald NPS difference, Newcombe + pooled z, Welch), vectorised over dashboards
    and cells; p-values are adjusted within each dashboard over all families together; an alert needs the
    adjusted test and ``|change| >= min_change[family]`` (default: half the planted change).

    Returns
    -------
    DashboardFdr
        ``fdr``: mean over dashboards of false alerts / max(alerts, 1) with its Monte Carlo SE; ``fwer``:
        share of dashboards with any false alert; ``power``: share of moved cells alerted; ``table``: the
        same per family.

    Examples
    --------
    >>> r = simulate_dashboard_fdr(dashboards=100, rng=np.random.default_rng(0))
    >>> bool(r.fdr <= 0.05 + 3 * r.fdr_se), bool(r.power > 0.8)
    (True, True)
    """
    check_choice("padjust", padjust, tuple(_PADJ_NAME))
    check_alpha(alpha)
    if not 0 <= changed_share <= 1:
        raise ParameterError(f"changed_share={changed_share!r} must lie in [0, 1].")
    cells = {k: int(v["cells"]) for k, v in _SIM_DEFAULTS.items()} | dict(cells or {})
    changes = {k: float(v["change"]) for k, v in _SIM_DEFAULTS.items()} | dict(changes or {})
    mins = {k: v / 2 for k, v in changes.items()} | dict(min_change or {})
    unknown = sorted(set(cells) - set(_SIM_DEFAULTS))
    if unknown:
        raise ParameterError(f"cells has unknown families {unknown}; use {sorted(_SIM_DEFAULTS)}.")
    d, n = int(dashboards), int(n_per_cell)
    p_parts, diff_parts, moved_parts, fam = [], [], [], []
    for family, c in cells.items():
        moved = np.zeros((d, c), dtype=bool)
        moved[:, : int(round(changed_share * c))] = True
        p, diff = _simulate_family(family, moved, changes[family], n, share_base, alpha, rng)
        p_parts.append(p)
        diff_parts.append(np.abs(diff) >= mins[family])
        moved_parts.append(moved)
        fam += [family] * c
    p, practical, moved, fam = (np.hstack(p_parts), np.hstack(diff_parts), np.hstack(moved_parts),
                                np.asarray(fam))
    adjusted = np.vstack([adjust_pvalues(row, method=padjust) for row in p])
    alert = (adjusted < alpha) & practical
    rows = [_fdr_row("all", alert, moved, d, changes, mins, n, padjust, alpha)]
    for family in cells:
        sel = fam == family
        rows.append(_fdr_row(family, alert[:, sel], moved[:, sel], d, changes, mins, n, padjust, alpha))
    method = (f"{d} simulated dashboards of {alert.shape[1]} cells ({', '.join(f'{v} {k}' for k, v in cells.items())}),"
              f" {n} observations per cell and period; adjusted-Wald NPS, Newcombe + pooled z and Welch tests; "
              f"{_PADJ_NAME[padjust]} adjustment over the whole dashboard; practical threshold per family")
    table = pd.DataFrame(rows, columns=list(DASHBOARD_FDR_COLUMNS)).assign(method=method)
    top = table.iloc[0]
    return DashboardFdr(table=table, fdr=float(top["fdr"]), fdr_se=float(top["fdr_se"]), fwer=float(top["fwer"]),
                        power=float(top["power"]), dashboards=d, method=method)


_CES_PMF = np.array([0.25, 0.25, 0.18, 0.12, 0.09, 0.06, 0.05])


def _simulate_family(family: str, moved: np.ndarray, change: float, n: int, base: float, alpha: float,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    d, c = moved.shape
    if family == "nps":
        shift = change / 200.0
        p0 = np.array([0.45, 0.35, 0.20])
        after = np.broadcast_to(p0, (d, c, 3)).copy()
        after[moved] = p0 + [shift, 0.0, -shift]
        xa, xb = rng.multinomial(n, after), rng.multinomial(n, np.broadcast_to(p0, (d, c, 3)))
        r = nps_difference(xa[..., 0], xa[..., 2], n, xb[..., 0], xb[..., 2], n, alpha=alpha)
        return np.asarray(r["p_value"], float), 100 * np.asarray(r["difference"], float)
    if family == "share":
        from ..stats import pooled_z_test
        pa = np.where(moved, base + change, base)
        xa, xb = rng.binomial(n, pa), rng.binomial(n, np.full((d, c), base))
        _, p = pooled_z_test(xa, n, xb, n)
        return np.asarray(p, float), (xa - xb) / n
    # CES: a moved cell shifts mass between the two ends so the mean moves by ``change``
    scores = np.arange(1, 8)
    pmf = np.broadcast_to(_CES_PMF, (d, c, 7)).copy()
    delta = change / 6.0
    pmf[moved, 0] += delta
    pmf[moved, 6] -= delta
    if (pmf < 0).any():
        raise ParameterError(f"CES change {change} is too large for the simulated score distribution.")
    xa, xb = rng.multinomial(n, pmf), rng.multinomial(n, np.broadcast_to(_CES_PMF, (d, c, 7)))
    ma, mb = (xa * scores).sum(-1) / n, (xb * scores).sum(-1) / n
    va = ((xa * scores**2).sum(-1) - n * ma**2) / (n - 1)
    vb = ((xb * scores**2).sum(-1) - n * mb**2) / (n - 1)
    r = welch(ma, va, n, mb, vb, n, alpha=alpha)
    return np.asarray(r["p_value"], float), ma - mb


def _fdr_row(family, alert, moved, d, changes, mins, n, padjust, alpha) -> dict[str, Any]:
    false = (alert & ~moved).sum(axis=1)
    total = alert.sum(axis=1)
    fdp = false / np.maximum(total, 1)
    null_cells = (~moved).sum()
    return {"family": family, "cells": int(alert.shape[1]), "change": changes.get(family, math.nan),
            "min_change": mins.get(family, math.nan), "n_per_cell": n,
            "power": float(alert[moved].mean()) if moved.any() else math.nan,
            "false_alert_rate": float((alert & ~moved).sum() / null_cells) if null_cells else math.nan,
            "fdr": float(fdp.mean()), "fdr_se": float(fdp.std(ddof=1) / math.sqrt(d)),
            "fwer": float((false > 0).mean()), "padjust": padjust, "alpha": float(alpha), "dashboards": d}
