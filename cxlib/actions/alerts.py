"""Alerts: which metrics moved, where, by enough to matter, with multiple-testing control.

A dashboard of many cells (segment x metric, touchpoint x metric, store x metric) tested at 5% each
raises false alarms by the handful.  :func:`metric_alerts` tests every cell with the comparisons of
:mod:`cxlib.significance` (cluster-robust by customer, since customers answer repeatedly), adjusts
all p-values of the dashboard together (Benjamini-Hochberg by default, Holm on request), and raises
an alert only when a cell is **statistically significant after adjustment and practically large**
(the change is at least :data:`MIN_CHANGE`).  Every alert carries its evidence: estimate, change,
interval, raw and adjusted p-value and both n.

:func:`simulate_alert_fdr` checks the false-discovery rate of that rule over many simulated
dashboards (vectorised over cells), which is how the workbook shows that 200 cells do not cry wolf.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._deprecation import renamed_arguments
from ..display import displayable
from ..errors import DataContractError, ParameterError, check_choice
from ..findings import Finding
from ..metrics import ces, csat, nps
from ..periods import in_period
from ..significance.compare import ces_arrays, csat_arrays, nps_arrays
from ..stats import (
    Segment,
    adjust_pvalues,
    attach_segment_labels,
    check_alpha,
    nps_difference,
    numeric_values,
    segment_keys,
    z_test,
)

__all__ = ["ALERT_COLUMNS", "MIN_CHANGE", "BETTER", "FDR_COLUMNS", "AlertBoard", "FdrSimulation", "attach_segments",
           "metric_alerts", "simulate_alert_fdr", "alert_findings"]

#: Columns of every alert table, in this order: ``segment_column`` names the column of the cell (``"all"`` for
#: the whole population) and ``segment`` its level, as in the sections' segment tables.
ALERT_COLUMNS = ("segment_column", "segment", "family", "metric", "kind", "period", "reference", "estimate", "reference_estimate",
                 "change", "ci_lower", "ci_upper", "ci_level", "p_value", "p_adjusted", "min_change", "significant",
                 "practical", "alert", "direction", "n", "n_reference", "method")
#: Smallest change that matters, per metric (NPS points; CSAT share, 0.05 = 5 percentage points; CES scale points;
#: churn, SLA, resolved-in-24-h and conversion shares as fractions, see :mod:`cxlib.actions.families`).
MIN_CHANGE = {"nps": 5.0, "csat": 0.05, "ces": 0.2, "churn": 0.02, "sla_share": 0.05, "resolved_24h": 0.05,
              "conversion": 0.02}
#: Which direction is good news.
BETTER = {"nps": "higher", "csat": "higher", "ces": "lower", "churn": "lower", "sla_share": "higher",
          "resolved_24h": "higher", "conversion": "higher"}
#: Unit of each metric's change (for findings).
_UNIT = {"nps": "points", "csat": "share", "ces": "scale points", "churn": "share", "sla_share": "share",
         "resolved_24h": "share", "conversion": "share"}
#: Columns of :meth:`FdrSimulation.to_frame`.
FDR_COLUMNS = ("dashboards", "cells", "changed_share", "change", "n_per_cell", "padjust", "alpha", "min_change",
               "fdr", "fdr_se", "power", "fwer", "mean_alerts", "mean_false_alerts", "method")

Against = Literal["period", "rest", "target"]
PAdjust = Literal["fdr_bh", "holm", "bonferroni", "none"]
_SCALE = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
_PADJ_NAME = {"fdr_bh": "Benjamini-Hochberg (false discovery rate)", "holm": "Holm (family-wise error)",
              "bonferroni": "Bonferroni", "none": "no"}


@renamed_arguments(columns="segment")
def attach_segments(responses: pd.DataFrame, customers: pd.DataFrame, *,
                    segment: Segment = ("loyalty_tier", "region"), segments: Any = None) -> pd.DataFrame:
    """Survey responses with segment columns of ``customers`` and any customer-level segment labels attached.

    ``segment`` names the columns copied from ``customers`` (``columns`` is its deprecated old name);
    ``segments`` is a DataFrame with ``customer_id`` and label columns (an RFM segment, a behavioural
    cluster; :func:`cxlib.stats.segment_labels`), each added as a column; customers without a label get
    ``"unassigned"``.

    >>> r = pd.DataFrame({"customer_id": ["C1", "C2"], "nps": [9, 3]})
    >>> c = pd.DataFrame({"customer_id": ["C1", "C2"], "loyalty_tier": ["gold", "bronze"]})
    >>> rfm = pd.DataFrame({"customer_id": ["C1"], "rfm": ["champions"]})
    >>> attach_segments(r, c, segment=["loyalty_tier"], segments=rfm)[["loyalty_tier", "rfm"]].values.tolist()
    [['gold', 'champions'], ['bronze', 'unassigned']]
    """
    cols = [c for c in segment_keys(segment) if c not in responses.columns]
    missing = [c for c in cols if c not in customers.columns]
    if missing:
        raise DataContractError(f"Customer column(s) {missing} are missing; found {list(customers.columns)}.",
                                table="customers", column=missing[0], rule="column present")
    out = responses.merge(customers[["customer_id", *cols]], on="customer_id", how="left")
    if segments is not None:
        out, _ = attach_segment_labels(out, segments, where="attach_segments(segments=...)", stacklevel=6)
    out.index = responses.index
    return out


_CODE = "__cluster_code__"


def _with_cluster_codes(frames: Sequence[pd.DataFrame | None], cluster: str | None) -> tuple[list, str | None]:
    """The frames with integer codes of ``cluster`` (one factorisation over all of them) in column ``_CODE``.

    The cluster-robust tests then hash integers instead of re-hashing the string ids of every row for every
    cell; the codes identify the same clusters, so the results are identical.  Frames are returned unchanged
    (and the column name ``cluster``) when there is no cluster or it has missing values.
    """
    present = [f for f in frames if f is not None]
    if cluster is None or not present or any(cluster not in f.columns for f in present):
        return list(frames), cluster
    codes = pd.factorize(pd.concat([f[cluster] for f in present], ignore_index=True))[0]
    if (codes < 0).any():
        return list(frames), cluster
    out, start = [], 0
    for f in frames:
        if f is None:
            out.append(None)
            continue
        out.append(f.assign(**{_CODE: codes[start:start + len(f)]}))
        start += len(f)
    return out, _CODE


def _values(frame: pd.DataFrame, metric: str, cluster: str | None) -> tuple[np.ndarray, np.ndarray | None]:
    sub = frame[frame[metric].notna()]
    lo, hi = _SCALE[metric]
    x = numeric_values(sub, metric, low=lo, high=hi, integer=True)
    if metric == "csat":
        x = (x >= 4).astype(float)
    return x, (sub[cluster].to_numpy() if cluster is not None else None)


def _test(metric: str, a: tuple, b: tuple, cluster: str | None, label_a: str, label_b: str, alpha: float):
    (xa, ca), (xb, cb) = a, b
    clusters = (ca, cb, cluster) if cluster is not None else None
    kw = {"group_a": label_a, "group_b": label_b, "comparison": f"{label_a} vs {label_b}", "alpha": alpha,
          "warn": False, "clusters": clusters}
    fn = {"nps": nps_arrays, "csat": csat_arrays, "ces": ces_arrays}[metric]
    return fn(xa, xb, **kw)


def _target_row(metric: str, frame: pd.DataFrame, target: float, alpha: float) -> dict[str, Any]:
    res = {"nps": nps, "csat": csat, "ces": ces}[metric](frame[frame[metric].notna()], alpha=alpha)
    z, p, lo, hi = z_test(res.estimate - target, res.se, alpha=alpha)
    return {"estimate": res.estimate, "reference_estimate": float(target), "change": res.estimate - target,
            "ci_lower": float(lo), "ci_upper": float(hi), "p_value": float(p), "n": res.n, "n_reference": 0,
            "method": f"{res.method}; z test against the target {target:g} with the interval's standard error"}


def _cells(frame: pd.DataFrame, dimensions: Sequence[str], include_overall: bool):
    """``(segment column, level, row mask)`` for every cell (``("all", "all", ...)`` first when asked)."""
    if include_overall:
        yield "all", "all", np.ones(len(frame), dtype=bool)
    for dim in dimensions:
        # one factorisation per dimension, then integer comparisons per level (not a string comparison of
        # every row for every level); the levels and their order are those of values.dropna().unique()
        codes, uniques = pd.factorize(frame[dim].astype(object))
        for i, level in sorted(enumerate(uniques.tolist()), key=lambda iv: str(iv[1])):
            yield dim, str(level), codes == i


@renamed_arguments(dimensions="segment")
def metric_alerts(responses: pd.DataFrame, *, period: str, comparison_period: str | None = None,
                  against: Against = "period", segment: Segment = ("loyalty_tier", "region", "touchpoint"),
                  metrics: Sequence[str] = ("nps", "csat", "ces"), targets: Mapping[str, float] | None = None,
                  min_change: Mapping[str, float] | None = None, padjust: PAdjust = "fdr_bh", alpha: float = 0.05,
                  min_n: int = 30, cluster: str | None = "customer_id", time_col: str = "responded_at",
                  include_overall: bool = True) -> AlertBoard:
    """Test every (cell, metric) of a dashboard and raise alerts on significant, practically large changes.

    Parameters
    ----------
    responses : DataFrame
        Survey responses with the metric columns, ``time_col`` and the ``segment`` columns (attach
        customer attributes and segments with :func:`attach_segments`).
    period, comparison_period : str
        Quarter (or any period :func:`cxlib.periods.period_bounds` reads) under review and the one it is
        compared with (``against="period"`` only).
    against : {"period", "rest", "target"}
        ``"period"`` (default): each cell this period against the same cell in ``comparison_period``
        (did it change?); ``"rest"``: each cell against the other cells of its segment column in ``period``
        (does this segment differ?); ``"target"``: each cell against ``targets[metric]``.
    segment : str or sequence of str
        Columns whose levels are the cells (customer segments, ``touchpoint``, ``unit_id``...;
        ``dimensions`` is its deprecated old name).
    metrics : sequence of {"nps", "csat", "ces"}
    targets : mapping, optional
        Target per metric (NPS points, CSAT share, CES mean) for ``against="target"``.
    min_change : mapping, optional
        Smallest change that matters per metric; default :data:`MIN_CHANGE` (5 NPS points, 5 percentage
        points of CSAT, 0.2 CES points).  Set to 0 for "any significant change".
    padjust : {"fdr_bh", "holm", "bonferroni", "none"}
        Adjustment over every test of the dashboard at once.  Benjamini-Hochberg (default) keeps the
        expected share of false alerts among alerts at ``alpha``; Holm keeps the chance of any false alert
        at ``alpha`` (fewer alerts, for dashboards that trigger costly actions).
    alpha : float
        Level of the adjusted test and ``1 -`` the interval level.
    min_n : int, default 30
        Cells with fewer responses (in either group) are not tested (NaN p-value, no alert) and stay out
        of the adjustment family.
    cluster : str or None, default "customer_id"
        Cluster-robust tests by customer (repeat respondents); ``None`` treats responses as independent.
        Target tests use the metric's own interval (independent responses).
    include_overall : bool
        Also test the whole population (cell ``"all"``).

    Returns
    -------
    AlertBoard
        ``table``: one row per (cell, metric) with :data:`ALERT_COLUMNS`; ``change`` is
        ``estimate - reference_estimate`` in the metric's unit (CSAT as a share); ``alert`` is
        ``p_adjusted < alpha and |change| >= min_change``; ``direction`` says "improved" or "worsened".

    Notes
    -----
    Requiring practical size on top of the adjusted test only removes alerts, so the Benjamini-Hochberg
    guarantee for the adjusted tests (independent or positively dependent tests) carries over to the
    share of false alerts in practice; :func:`simulate_alert_fdr` measures it.

    References
    ----------
    Benjamini, Y. & Hochberg, Y. (1995). JRSS B 57, 289-300. Holm, S. (1979). Scand. J. Statist. 6, 65-70.
    Cameron, A. C. & Miller, D. L. (2015). J. Human Resources 50(2) (cluster-robust inference).

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> n = 4000
    >>> df = pd.DataFrame({"customer_id": rng.integers(0, 3000, n).astype(str),
    ...     "responded_at": pd.to_datetime("2025-07-01") + pd.to_timedelta(rng.integers(0, 184, n), "D"),
    ...     "tier": rng.choice(["gold", "bronze"], n)})
    >>> q4, gold = df["responded_at"] >= "2025-10-01", df["tier"] == "gold"
    >>> df["nps"] = np.clip(rng.integers(4, 11, n) - 3 * (q4 & gold), 0, 10)
    >>> board = metric_alerts(df, period="2025Q4", comparison_period="2025Q3", segment=["tier"], metrics=["nps"])
    >>> board.alerts[["segment", "direction"]].values.tolist()
    [['gold', 'worsened'], ['all', 'worsened']]
    """
    check_choice("against", against, ("period", "rest", "target"))
    check_choice("padjust", padjust, ("fdr_bh", "holm", "bonferroni", "none"))
    check_alpha(alpha)
    for m in metrics:
        check_choice("metric", m, ("nps", "csat", "ces"))
    if against == "period" and not comparison_period:
        raise ParameterError("against='period' needs comparison_period= (e.g. '2025Q3').")
    if against == "target":
        missing = [m for m in metrics if m not in (targets or {})]
        if missing:
            raise ParameterError(f"against='target' needs targets= for {missing} (e.g. {{'nps': 30}}).")
    dimensions = segment_keys(segment)
    need = [c for c in (time_col, *dimensions, *metrics, *([cluster] if cluster else [])) if c not in responses]
    if need:
        raise DataContractError(f"Column(s) {need} are missing from the responses; found {list(responses.columns)}. "
                                "Attach customer attributes with attach_segments().", column=need[0],
                                rule="column present")
    thresholds = {**MIN_CHANGE, **(min_change or {})}
    now = in_period(responses, time_col, period)
    before = in_period(responses, time_col, comparison_period) if against == "period" else None
    reference = {"period": str(comparison_period), "rest": "rest", "target": "target"}[against]
    rows = []
    (now, before), code_col = _with_cluster_codes([now, before], cluster)
    for metric in metrics:
        # the selections per cell copy only the columns _values reads (all of them against a target)
        t_now = now if against == "target" else now[list(dict.fromkeys([metric, *([code_col] if code_col else [])]))]
        t_before = before[t_now.columns] if against == "period" else None
        for dim, cell, mask in _cells(now, dimensions, include_overall and against != "rest"):
            base = {"segment_column": dim, "segment": cell, "family": "survey", "metric": metric, "kind": against,
                    "period": str(period), "reference": reference, "min_change": float(thresholds[metric])}
            a = _values(t_now[mask], metric, code_col)
            if against == "target":
                ok = a[0].size >= min_n
                row = _target_row(metric, now[mask], float(targets[metric]), alpha) if ok else {"n": a[0].size}
                rows.append({**base, **row})
                continue
            if against == "period":
                bmask = before[dim].astype(object) == cell if dim != "all" else np.ones(len(before), dtype=bool)
                b = _values(t_before[np.asarray(bmask)], metric, code_col)
            else:
                b = _values(t_now[~mask], metric, code_col)
            if min(a[0].size, b[0].size) < min_n:
                rows.append({**base, "n": a[0].size, "n_reference": b[0].size,
                             "method": f"not tested: fewer than {min_n} responses"})
                continue
            r = _test(metric, a, b, cluster, cell if against != "period" else str(period), reference, alpha)
            rows.append({**base, "estimate": r.estimate_a, "reference_estimate": r.estimate_b, "change": r.difference,
                         "ci_lower": r.ci_lower, "ci_upper": r.ci_upper, "p_value": r.p_value, "n": r.n_a,
                         "n_reference": r.n_b, "method": r.method})
    table = pd.DataFrame(rows).reindex(columns=list(ALERT_COLUMNS))
    return _finish(table, padjust=padjust, alpha=alpha, against=against, period=str(period), reference=reference)


def _finish(table: pd.DataFrame, *, padjust: str, alpha: float, against: str, period: str,
            reference: str) -> AlertBoard:
    p = table["p_value"].to_numpy(dtype=float)
    table["p_adjusted"] = adjust_pvalues(p, method=padjust)
    tested = int(np.isfinite(p).sum())
    table["ci_level"] = 1 - alpha
    table["significant"] = (table["p_adjusted"] < alpha).fillna(False).astype(bool)
    table["practical"] = (table["change"].abs() >= table["min_change"]).fillna(False).astype(bool)
    table["alert"] = table["significant"] & table["practical"]
    better = table["metric"].map(BETTER)
    good = np.where(better == "higher", table["change"] > 0, table["change"] < 0)
    table["direction"] = np.where(table["change"].isna() | (table["change"] == 0), "",
                                  np.where(good, "improved", "worsened"))
    table["n"] = table["n"].fillna(0).astype("int64")
    table["n_reference"] = table["n_reference"].fillna(0).astype("int64")
    tested_method = table["p_value"].notna()
    table.loc[tested_method, "method"] = (table.loc[tested_method, "method"].astype(str)
                                          + f"; {_PADJ_NAME[padjust]} adjustment over {tested} tests")
    return AlertBoard(table=table[list(ALERT_COLUMNS)].reset_index(drop=True), alpha=alpha, padjust=padjust,
                      against=against, period=period, reference=reference, n_tested=tested)


@displayable(tables=("table",))
@dataclass(frozen=True)
class AlertBoard:
    """Every tested cell of a dashboard and the alerts among them.

    Attributes
    ----------
    table : DataFrame
        One row per (cell, metric), :data:`ALERT_COLUMNS`.
    alpha, padjust, against, period, reference
        How the board was tested.
    n_tested : int
        Tests in the adjustment family (cells with enough responses).
    """

    table: pd.DataFrame
    alpha: float
    padjust: str
    against: str
    period: str
    reference: str
    n_tested: int

    @property
    def alerts(self) -> pd.DataFrame:
        """The alert rows, worst news first (worsened before improved, then by adjusted p-value)."""
        a = self.table[self.table["alert"]]
        return a.sort_values(["direction", "p_adjusted"], ascending=[False, True], kind="stable").reset_index(
            drop=True)

    def to_frame(self) -> pd.DataFrame:
        """The whole board (:data:`ALERT_COLUMNS`)."""
        return self.table.copy()

    def reading(self) -> str:
        """One sentence: how many cells were tested, how many alerts, with which control."""
        a = self.alerts
        worse = int((a["direction"] == "worsened").sum())
        what = {"period": f"since {self.reference}", "rest": "against the rest of their dimension",
                "target": "against target"}[self.against]
        return (f"{len(a)} alert(s) in {self.period} {what} ({worse} worsened, {len(a) - worse} improved) among "
                f"{self.n_tested} tested cells; {_PADJ_NAME[self.padjust]} adjustment at alpha = {self.alpha:g} "
                "and a practical-size threshold per metric.")

    def __repr__(self) -> str:
        return (f"AlertBoard(against={self.against!r}, period={self.period!r}, tested={self.n_tested}, "
                f"alerts={int(self.table['alert'].sum())}, padjust={self.padjust!r})")


@displayable()
@dataclass(frozen=True)
class FdrSimulation:
    """Monte Carlo operating characteristics of the alert rule over simulated dashboards."""

    dashboards: int
    cells: int
    changed_share: float
    change: float
    n_per_cell: int
    padjust: str
    alpha: float
    min_change: float
    fdr: float
    fdr_se: float
    power: float
    fwer: float
    mean_alerts: float
    mean_false_alerts: float
    method: str

    def to_frame(self) -> pd.DataFrame:
        """One row with :data:`FDR_COLUMNS`."""
        return pd.DataFrame([{c: getattr(self, c) for c in FDR_COLUMNS}], columns=list(FDR_COLUMNS))


def simulate_alert_fdr(*, dashboards: int = 1000, cells: int = 200, changed_share: float = 0.1,
                       change: float = 15.0, n_per_cell: int = 1000, promoters: float = 0.45, detractors: float = 0.2,
                       padjust: PAdjust = "fdr_bh", alpha: float = 0.05, min_change: float = 0.0,
                       rng: np.random.Generator) -> FdrSimulation:
    """False-discovery rate, power and family-wise error of the NPS alert rule on simulated dashboards.

    Each dashboard has ``cells`` NPS cells observed in two periods with ``n_per_cell`` independent
    respondents each; a share ``changed_share`` of them truly moved by ``change`` NPS points (promoters up
    and detractors down by ``change/200`` each), the rest did not move at all.  Cells are tested with the
    adjusted-Wald difference of :func:`cxlib.significance.nps_difference` (vectorised over all dashboards
    and cells), adjusted within each dashboard by ``padjust``, and alerted when also ``|change| >= min_change``.

    Returns
    -------
    FdrSimulation
        ``fdr``: mean over dashboards of false alerts / max(alerts, 1), with its Monte Carlo standard error
        ``fdr_se``; ``power``: share of moved cells alerted; ``fwer``: share of dashboards with at least one
        false alert; ``mean_alerts``, ``mean_false_alerts`` per dashboard.

    Examples
    --------
    >>> r = simulate_alert_fdr(dashboards=200, rng=np.random.default_rng(0))
    >>> r.fdr <= 0.05 + 3 * r.fdr_se, r.power > 0.8
    (True, True)
    """
    check_choice("padjust", padjust, ("fdr_bh", "holm", "bonferroni", "none"))
    check_alpha(alpha)
    if not 0 <= changed_share <= 1:
        raise ParameterError(f"changed_share={changed_share!r} must lie in [0, 1].")
    shift = change / 200.0
    if not (0 <= promoters + shift <= 1 and 0 <= detractors - shift <= 1 and promoters + detractors <= 1):
        raise ParameterError("promoters/detractors shares and change/200 must leave valid probabilities.")
    d, c = int(dashboards), int(cells)
    moved = np.zeros((d, c), dtype=bool)
    moved[:, : int(round(changed_share * c))] = True
    base = np.array([promoters, 1 - promoters - detractors, detractors])
    after = np.broadcast_to(base, (d, c, 3)).copy()
    after[moved] = [promoters + shift, 1 - promoters - detractors, detractors - shift]
    xa = rng.multinomial(n_per_cell, after)
    xb = rng.multinomial(n_per_cell, np.broadcast_to(base, (d, c, 3)))
    res = nps_difference(xa[..., 0], xa[..., 2], n_per_cell, xb[..., 0], xb[..., 2], n_per_cell, alpha=alpha)
    p = np.asarray(res["p_value"], dtype=float)
    adjusted = np.vstack([adjust_pvalues(row, method=padjust) for row in p])
    alert = (adjusted < alpha) & (np.abs(100 * np.asarray(res["difference"])) >= min_change)
    false = (alert & ~moved).sum(axis=1)
    total = alert.sum(axis=1)
    fdp = false / np.maximum(total, 1)
    power = float(alert[moved].mean()) if moved.any() else math.nan
    method = (f"{d} simulated dashboards of {c} NPS cells, {n_per_cell} respondents per cell and period; "
              f"adjusted-Wald z test (Rocks 2016) per cell, {_PADJ_NAME[padjust]} adjustment within each dashboard")
    return FdrSimulation(dashboards=d, cells=c, changed_share=float(changed_share), change=float(change),
                         n_per_cell=int(n_per_cell), padjust=padjust, alpha=float(alpha), min_change=float(min_change),
                         fdr=float(fdp.mean()), fdr_se=float(fdp.std(ddof=1) / math.sqrt(d)), power=power,
                         fwer=float((false > 0).mean()), mean_alerts=float(total.mean()),
                         mean_false_alerts=float(false.mean()), method=method)


_LABEL = {"sla_share": "SLA share", "resolved_24h": "Resolved within 24 h", "churn": "Churn",
          "conversion": "Journey conversion"}


def _reference_text(reference: str) -> str:
    return "the rest" if reference == "rest" else reference


def alert_findings(board: AlertBoard, *, section: str = "segments", top: int = 3) -> list[Finding]:
    """Headline findings: the number of alerts, and the ``top`` worsened alerts with their evidence."""
    alerts = board.alerts
    out = [Finding(key=f"alerts_{board.against}_count", section=section,
                   label=f"The number of alerts ({board.period} vs {_reference_text(board.reference)}, "
                         f"among {board.n_tested:,} tested cells)",
                   estimate=float(len(alerts)), n=float(board.n_tested), ci_level=1 - board.alpha,
                   method=f"{_PADJ_NAME[board.padjust]} adjustment at alpha = {board.alpha:g} plus a practical-size "
                          "threshold per metric", unit="alerts", better="neutral", period=board.period,
                   detail=f"{int((alerts['direction'] == 'worsened').sum())} worsened")]
    for i, r in enumerate(alerts[alerts["direction"] == "worsened"].head(top).itertuples(), start=1):
        unit = _UNIT[r.metric]
        out.append(Finding(key=f"alert_{board.against}_{i}", section=section,
                           label=f"{_LABEL.get(r.metric, r.metric.upper())} of {r.segment_column} {r.segment}",
                           estimate=float(r.change),
                           ci_lower=float(r.ci_lower), ci_upper=float(r.ci_upper), ci_level=float(r.ci_level),
                           p_value=float(r.p_adjusted), n=float(r.n + r.n_reference), method=str(r.method), unit=unit,
                           better=BETTER[r.metric], period=board.period, comparison=board.reference,
                           detail="p_value is the adjusted p-value"))
    return out
