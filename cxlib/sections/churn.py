"""Glue for the churn notebook: display tables and headline findings of the churn section.

Kept here (not in notebook cells) so that ``notebooks/30_churn.ipynb`` stays a few calls and the logic
is tested.  The churn frame, the Cox design and the report's churn model live in :mod:`cxlib.survival`
(:func:`cxlib.survival.fit_churn_model`); their old names here are deprecated aliases.  Every frame
returned carries full precision; formatting is the report layer's job.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .._deprecation import moved_names, renamed_arguments
from ..errors import ParameterError
from ..findings import Finding
from ..stats import Segment, segment_keys
from ..survival import SURVIVAL_TEST_COLUMNS, CoxResult, KaplanMeier, PHCheck

__all__ = ["DAYS_PER_MONTH", "follow_up_sentence", "retention_table", "retention_display", "rmst_comparisons", "rmst_table",
           "at_risk_table", "driver_table", "churn_findings"]
#: Deprecated aliases (one release): the churn frame and Cox design moved to :mod:`cxlib.survival`.
__getattr__ = moved_names("cxlib.sections.churn", "cxlib.survival", ["CX_STATUS", "churn_frame", "cox_design"])

SECTION = "churn"
#: Mean Gregorian month (365.25 / 12 days): months are converted explicitly, never as hidden 30-day months.
DAYS_PER_MONTH = 365.25 / 12
RETENTION_COLUMNS = ("segment_column", "segment", "n", "events", "horizon_months", "retention", "retention_lower",
                     "retention_upper", "ci_level", "method")
#: Columns of the display table of :func:`rmst_table`.
RMST_COLUMNS = ("segment_column", "segment", "n", "events", "tau", "rmst", "rmst_lower", "rmst_upper", "difference",
                "difference_lower", "difference_upper", "p_value", "logrank_p")
DRIVER_COLUMNS = ("term", "driver", "hazard_ratio", "ci_lower", "ci_upper", "ci_level", "p_value", "ph_p_value",
                  "ph_violated", "n", "events", "method")


@renamed_arguments(segment_columns="segment")
def retention_table(frame: pd.DataFrame, *, segment: Segment, horizons_months: Sequence[float],
                    kaplan_meier_fn, alpha: float = 0.05) -> pd.DataFrame:
    """Kaplan-Meier retention at month horizons, overall and per level of each ``segment`` column.

    ``segment_columns`` is the deprecated old name of ``segment``.
    ``kaplan_meier_fn`` is :func:`cxlib.survival.kaplan_meier` (passed in so that this module stays a thin
    layer).  Horizons in months are converted with :data:`DAYS_PER_MONTH`; NaN beyond a segment's follow-up.
    Columns: :data:`RETENTION_COLUMNS`.

    >>> from cxlib.survival import kaplan_meier, logrank_test
    >>> subs = pd.DataFrame({"duration": [30, 60, 90, 120, 200, 45, 80, 150, 300, 365],
    ...                      "event": [1, 1, 0, 1, 0, 1, 1, 0, 0, 0], "plan": ["basic"] * 5 + ["plus"] * 5})
    >>> t = retention_table(subs, segment="plan", horizons_months=[1, 3], kaplan_meier_fn=kaplan_meier)
    >>> [str(x) for x in t["segment"]], t["retention"].round(2).tolist()
    (['all', 'all', 'basic', 'basic', 'plus', 'plus'], [0.9, 0.6, 0.8, 0.6, 1.0, 0.6])
    """
    days = [m * DAYS_PER_MONTH for m in horizons_months]
    parts = []
    for col in [None, *segment_keys(segment)]:
        km = kaplan_meier_fn(frame, segment=col, alpha=alpha)
        s = km.survival_at(days)
        parts.append(pd.DataFrame({
            "segment_column": col or "all", "segment": s["segment"], "n": s["n"], "events": s["events"],
            "horizon_months": np.tile(np.asarray(horizons_months, dtype=float), len(s) // len(days)),
            "retention": s["estimate"], "retention_lower": s["ci_lower"], "retention_upper": s["ci_upper"],
            "ci_level": s["ci_level"], "method": s["method"]}, columns=list(RETENTION_COLUMNS)))
    return pd.concat(parts, ignore_index=True)


def retention_display(retention: pd.DataFrame) -> pd.DataFrame:
    """Wide display of :func:`retention_table`: one row per segment, ``m<h>``/``m<h>_lower``/``m<h>_upper``
    columns per horizon (fractions), with ``n`` and ``events``.

    >>> r = pd.DataFrame({"segment_column": ["all"] * 2, "segment": ["all"] * 2, "n": [10.0] * 2,
    ...                   "events": [4.0] * 2, "horizon_months": [3.0, 12.0], "retention": [0.9, 0.6],
    ...                   "retention_lower": [0.5, 0.3], "retention_upper": [0.98, 0.8]})
    >>> list(retention_display(r).columns)
    ['segment_column', 'segment', 'n', 'events', 'm3', 'm3_lower', 'm3_upper', 'm12', 'm12_lower', 'm12_upper']
    """
    keys = ["segment_column", "segment"]
    base = retention.drop_duplicates(keys)[keys + ["n", "events"]].reset_index(drop=True)
    base = base.astype({"n": "int64", "events": "int64"})
    for h in dict.fromkeys(retention["horizon_months"]):
        part = retention[retention["horizon_months"] == h].set_index(keys)
        idx = pd.MultiIndex.from_frame(base[keys])
        tag = f"m{h:g}"
        base[tag] = part["retention"].reindex(idx).to_numpy()
        base[f"{tag}_lower"] = part["retention_lower"].reindex(idx).to_numpy()
        base[f"{tag}_upper"] = part["retention_upper"].reindex(idx).to_numpy()
    return base


@renamed_arguments(segment_columns="segment")
def rmst_table(frame: pd.DataFrame, *, segment: Segment, tau: float, kaplan_meier_fn, logrank_fn,
               alpha: float = 0.05) -> tuple[pd.DataFrame, pd.DataFrame]:
    """RMST per segment, its difference from the largest segment (z test) and the log-rank p of the column.

    ``segment`` names the segment columns (``segment_columns`` is its deprecated old name).
    ``kaplan_meier_fn`` and ``logrank_fn`` are :func:`cxlib.survival.kaplan_meier` and
    :func:`cxlib.survival.logrank_test`.  Returns ``(display, differences)``: the display has columns
    ``segment_column, segment, n, events, tau, rmst, rmst_lower, rmst_upper, difference, difference_lower,
    difference_upper, p_value, logrank_p`` (difference NaN for the reference); ``differences`` stacks
    the :data:`SURVIVAL_TEST_COLUMNS` rows of every column (for the findings).

    >>> from cxlib.survival import kaplan_meier, logrank_test
    >>> subs = pd.DataFrame({"duration": [30, 60, 90, 120, 200, 45, 80, 150, 300, 365],
    ...                      "event": [1, 1, 0, 1, 0, 1, 1, 0, 0, 0], "plan": ["basic"] * 5 + ["plus"] * 5})
    >>> shown, _ = rmst_table(subs, segment="plan", tau=180, kaplan_meier_fn=kaplan_meier, logrank_fn=logrank_test)
    >>> shown[["segment", "rmst", "difference"]].to_dict("records")[1], round(float(shown["logrank_p"].iloc[0]), 3)
    ({'segment': 'plus', 'rmst': 133.0, 'difference': 25.0}, 0.512)
    """
    shown, tests = [], []
    for col in segment_keys(segment):
        km = kaplan_meier_fn(frame, segment=col, alpha=alpha)
        r, d = rmst_comparisons(km, tau=tau, segment_column=col)
        lr = logrank_fn(frame, segment=col) if r["segment"].nunique() > 1 else None
        d = d.set_index("group_a")
        shown.append(pd.DataFrame({
            "segment_column": col, "segment": r["segment"], "n": r["n"].astype("int64"),
            "events": r["events"].astype("int64"), "tau": r["horizon"],
            "rmst": r["estimate"], "rmst_lower": r["ci_lower"], "rmst_upper": r["ci_upper"],
            "difference": d["difference"].reindex(r["segment"]).to_numpy(),
            "difference_lower": d["ci_lower"].reindex(r["segment"]).to_numpy(),
            "difference_upper": d["ci_upper"].reindex(r["segment"]).to_numpy(),
            "p_value": d["p_value"].reindex(r["segment"]).to_numpy(),
            "logrank_p": lr.p_value if lr is not None else np.nan}))
        tests.append(d.reset_index(drop=True))
    if not shown:  # no segment column on these data: empty tables with their columns
        return pd.DataFrame(columns=list(RMST_COLUMNS)), pd.DataFrame(columns=list(SURVIVAL_TEST_COLUMNS))
    return pd.concat(shown, ignore_index=True), pd.concat(tests, ignore_index=True)


def _tau(km: KaplanMeier, tau: float) -> float:
    last = km.curves.groupby("segment")["time"].max().min()
    return float(min(tau, last))


def rmst_comparisons(km: KaplanMeier, *, tau: float, segment_column: str,
                     reference: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """RMST per segment and the difference of every other segment from the reference (z test).

    ``tau`` (days) is lowered to the shortest maximum follow-up among the segments when needed (the RMST
    is only defined up to it); the tau used is in the ``horizon`` column.  The reference defaults to the
    largest segment.  Returns ``(rmst frame with ESTIMATE_COLUMNS + segment_column, differences with
    SURVIVAL_TEST_COLUMNS + segment_column)``.

    >>> from cxlib.survival import kaplan_meier, logrank_test
    >>> subs = pd.DataFrame({"duration": [30, 60, 90, 120, 200, 45, 80, 150, 300, 365],
    ...                      "event": [1, 1, 0, 1, 0, 1, 1, 0, 0, 0], "plan": ["basic"] * 5 + ["plus"] * 5})
    >>> rmst, diff = rmst_comparisons(kaplan_meier(subs, segment="plan"), tau=180, segment_column="plan")
    >>> rmst["estimate"].tolist(), diff["comparison"].tolist(), diff["difference"].tolist()
    ([108.0, 133.0], ['plus - basic'], [25.0])
    """
    t = _tau(km, tau)
    r = km.rmst(t)
    ref = reference if reference is not None else str(r.sort_values("n", ascending=False, kind="stable")
                                                     .iloc[0]["segment"])
    if ref not in set(r["segment"]):
        raise ParameterError(f"reference={ref!r} is not a segment; segments are {r['segment'].tolist()}.")
    diffs = [km.rmst_difference(t, treatment=s, control=ref).to_frame() for s in r["segment"] if s != ref]
    d = pd.concat(diffs, ignore_index=True) if diffs else pd.DataFrame(columns=list(SURVIVAL_TEST_COLUMNS))
    return r.assign(segment_column=segment_column), d.assign(segment_column=segment_column)


def at_risk_table(km: KaplanMeier, times: Sequence[float]) -> pd.DataFrame:
    """Numbers at risk at each of ``times`` per segment (the table printed under a KM plot).

    The count at ``t`` is the number of subjects with follow-up ``>= t`` (R's ``summary(survfit, times=)``
    ``n.risk``), 0 beyond the last follow-up.

    >>> from cxlib.survival import kaplan_meier
    >>> d = pd.DataFrame({"duration": [1.0, 2, 2, 3, 4], "event": [1, 1, 0, 1, 0]})
    >>> at_risk_table(kaplan_meier(d), [0, 2, 5])
      segment  time  at_risk
    0     all   0.0        5
    1     all   2.0        4
    2     all   5.0        0
    """
    rows = []
    for seg, c in km.curves.groupby("segment", sort=False):
        t = c["time"].to_numpy()
        y = c["at_risk"].to_numpy()
        for time in times:
            i = np.searchsorted(t, time, side="left")
            rows.append({"segment": seg, "time": float(time), "at_risk": int(y[i]) if i < len(y) else 0})
    return pd.DataFrame(rows, columns=["segment", "time", "at_risk"])


def driver_table(cox: CoxResult, ph: PHCheck, *, labels: dict[str, str]) -> pd.DataFrame:
    """The hazard-ratio table of the drivers with each term's proportional-hazards test p-value.

    Columns :data:`DRIVER_COLUMNS`; ordered by the strength of the effect (|log HR|, largest first).

    >>> from cxlib.survival import check_proportional_hazards, fit_cox
    >>> g = np.random.default_rng(1)
    >>> x = g.integers(0, 2, 200)
    >>> subs = pd.DataFrame({"duration": g.exponential(100 / np.exp(0.7 * x)),
    ...                      "event": (g.random(200) < 0.8).astype(int), "detractor": x})
    >>> cox = fit_cox(subs)
    >>> ph = check_proportional_hazards(cox, subs, rng=np.random.default_rng(2))
    >>> t = driver_table(cox, ph, labels={"detractor": "Detractor (NPS 0-6)"})
    >>> t["driver"].tolist(), t["hazard_ratio"].round(2).tolist(), t["n"].tolist()
    (['Detractor (NPS 0-6)'], [2.21], [200.0])
    """
    t = cox.table
    p = ph.table.set_index("term").reindex(t["term"])
    out = pd.DataFrame({
        "term": t["term"], "driver": [labels.get(x, x) for x in t["term"]], "hazard_ratio": t["ratio"],
        "ci_lower": t["ratio_ci_lower"], "ci_upper": t["ratio_ci_upper"], "ci_level": t["ci_level"],
        "p_value": t["p_value"], "ph_p_value": p["p_value"].to_numpy(), "ph_violated": p["violates"].to_numpy(),
        "n": t["n"], "events": t["events"], "method": t["method"]}, columns=list(DRIVER_COLUMNS))
    order = np.argsort(-np.abs(np.log(out["hazard_ratio"].to_numpy())), kind="stable")
    return out.iloc[order].reset_index(drop=True)


def churn_findings(*, retention: pd.DataFrame, drivers: pd.DataFrame, rmst_differences: pd.DataFrame,
                   period: str, cx_terms: Sequence[str] = ("detractor", "unresolved_ticket"),
                   headline_months: float = 12) -> list[Finding]:
    """Headline findings of the churn section.

    * ``churn_retention_<m>m``: overall Kaplan-Meier retention at ``headline_months`` (log-log CI);
    * ``churn_hr_<term>``: the hazard ratio (Wald CI, p) of every Cox term;
    * ``churn_top_cx_driver``: the CX term of ``cx_terms`` with the largest |log HR|;
    * ``churn_rmst_gap``: the largest significant RMST difference between segments (if any).

    Examples
    --------
    >>> ret = pd.DataFrame({"segment_column": ["all"], "segment": ["all"], "n": [900.0], "events": [300.0],
    ...                     "horizon_months": [12.0], "retention": [0.7], "retention_lower": [0.66],
    ...                     "retention_upper": [0.73], "ci_level": [0.95], "method": ["KM"]})
    >>> drv = pd.DataFrame({"term": ["detractor"], "driver": ["detractor (yes vs no)"], "hazard_ratio": [1.8],
    ...                     "ci_lower": [1.4], "ci_upper": [2.3], "ci_level": [0.95], "p_value": [1e-5],
    ...                     "ph_p_value": [0.4], "ph_violated": [False], "n": [900.0], "events": [300.0],
    ...                     "method": ["Cox PH"]})
    >>> [f.key for f in churn_findings(retention=ret, drivers=drv, rmst_differences=pd.DataFrame(),
    ...                                period="2025Q4")]
    ['churn_retention_12m', 'churn_hr_detractor', 'churn_top_cx_driver']
    """
    out = []
    r = retention[(retention["segment_column"] == "all") & (retention["horizon_months"] == headline_months)]
    if len(r) and not math.isnan(r["retention"].iloc[0]):
        r = r.iloc[0]
        out.append(Finding(key=f"churn_retention_{headline_months:g}m", section=SECTION,
                           label=f"{headline_months:g}-month subscription retention", estimate=float(r.retention),
                           ci_lower=float(r.retention_lower), ci_upper=float(r.retention_upper),
                           ci_level=float(r.ci_level), n=float(r.n), unit="share", better="higher", period=period,
                           method="Kaplan-Meier, log-log interval",
                           detail=f"{int(r.events)} cancellations among {int(r.n)} subscriptions"))
    for d in drivers.itertuples():
        out.append(_hr_finding(d, key=f"churn_hr_{d.term}", label=f"Hazard ratio of cancelling, {d.driver}",
                               period=period))
    cx = drivers[drivers["term"].isin(cx_terms)]
    if len(cx):
        d = next(cx.itertuples())  # drivers are sorted by |log HR|
        out.append(_hr_finding(d, key="churn_top_cx_driver",
                               label=f"Strongest CX driver of cancelling ({d.driver}), hazard ratio",
                               period=period))
    if len(rmst_differences):
        sig = rmst_differences[rmst_differences["p_value"] < 1 - rmst_differences["ci_level"]]
        if len(sig):
            g = sig.loc[sig["difference"].abs().idxmax()]
            out.append(Finding(key="churn_rmst_gap", section=SECTION,
                               label=f"Difference in mean subscribed days within the first {_tau_of(g)} days, "
                                     f"{g.segment_column} {g.comparison}",
                               estimate=float(g.difference), ci_lower=float(g.ci_lower), ci_upper=float(g.ci_upper),
                               ci_level=float(g.ci_level), p_value=float(g.p_value), n=float(g.n), unit="days",
                               better="neutral", period=period, method="restricted mean survival time, z test"))
    return out


def _tau_of(row) -> str:
    text = str(row.method)
    return text.split("tau=")[1].split(" ")[0] if "tau=" in text else "?"


def _hr_finding(d, *, key: str, label: str, period: str) -> Finding:
    note = "; proportional hazards rejected for this term" if bool(d.ph_violated) else ""
    return Finding(key=key, section=SECTION, label=label, estimate=float(d.hazard_ratio),
                   ci_lower=float(d.ci_lower), ci_upper=float(d.ci_upper), ci_level=float(d.ci_level),
                   p_value=float(d.p_value), n=float(d.n), unit="", better="lower", period=period,
                   method="Cox proportional hazards, Wald interval",
                   detail=f"{int(d.events)} cancellations; PH test p = {d.ph_p_value:.3g}{note}")


def follow_up_sentence(frame: pd.DataFrame, end: pd.Timestamp, landmark_days: float) -> str:
    """The churn section's opening sentence: memberships, cancellations, censoring and the landmark rule.

    >>> f = pd.DataFrame({"event": [1, 0, 0]})
    >>> f.attrs["dropped_before_landmark"] = 2
    >>> follow_up_sentence(f, pd.Timestamp("2025-12-31"), 1)[:60]
    '3 memberships started by 2025-12-31 (1 cancelled, 2 still ac'
    """
    day = end.date()
    return (f"{len(frame):,} memberships started by {day} ({int(frame['event'].sum()):,} cancelled, "
            f"{int((1 - frame['event']).sum()):,} still active and right-censored at {day}); "
            f"{frame.attrs.get('dropped_before_landmark', 0)} ended within the first {landmark_days:g} day(s) and "
            "are left out of the landmark analysis.")
