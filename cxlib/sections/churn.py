"""Glue for the churn notebook: the churn frame, the Cox design, display tables and headline findings.

Kept here (not in notebook cells) so that ``notebooks/30_churn.ipynb`` stays a few calls and the logic
is tested.  Every frame returned carries full precision; formatting is the report layer's job.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import DataContractError, ParameterError
from ..findings import Finding
from ..schema import TABLES
from ..survival._results import TEST_COLUMNS
from ..survival.cox import CoxResult, PHCheck
from ..survival.km import KaplanMeier
from ..survival.table import covariates_as_of, landmark, survival_table

__all__ = ["DAYS_PER_MONTH", "CX_STATUS", "churn_frame", "cox_design", "retention_table", "retention_display",
           "rmst_comparisons", "rmst_table", "at_risk_table", "driver_table", "churn_findings"]

SECTION = "churn"
#: Mean Gregorian month (365.25 / 12 days): months are converted explicitly, never as hidden 30-day months.
DAYS_PER_MONTH = 365.25 / 12
#: Levels of ``cx_at_start`` (the customer-experience status when the subscription started).
CX_STATUS = ("neither", "detractor", "unresolved ticket", "both")
RETENTION_COLUMNS = ("segment_column", "segment", "n", "events", "horizon_months", "retention", "retention_lower",
                     "retention_upper", "ci_level", "method")
DRIVER_COLUMNS = ("term", "driver", "hazard_ratio", "ci_lower", "ci_upper", "ci_level", "p_value", "ph_p_value",
                  "ph_violated", "n", "events", "method")


def churn_frame(subscriptions: pd.DataFrame, *, customers: pd.DataFrame, survey_responses: pd.DataFrame,
                tickets: pd.DataFrame, observation_end, segment_columns: Sequence[str] = (),
                landmark_days: float = 1.0) -> pd.DataFrame:
    """One row per subscription with follow-up, churn and the CX covariates known at its start.

    Parameters
    ----------
    subscriptions, customers, survey_responses, tickets : pandas.DataFrame
        Tables of the data contract (:mod:`cxlib.schema`).
    observation_end : date-like
        Administrative censoring date: subscriptions starting later are dropped, later ends are censored.
    segment_columns : sequence of str
        Customer columns (e.g. ``loyalty_tier``) attached for segment curves; unknown names raise.
    landmark_days : float, default 1
        Follow-up starts this many days after ``start_date`` (the landmark), and covariates use only what
        was known by then.  One day lets the onboarding survey answered on the start day count without
        immortal-time bias (the few subscriptions ending within the first day are dropped, and counted in
        ``attrs['dropped_before_landmark']``).

    Returns
    -------
    pandas.DataFrame
        The subscription columns plus ``duration`` (days since the landmark), ``event`` (1 = cancelled),
        ``detractor`` (1 if the last onboarding NPS known at the landmark is 0-6; 0 if 6 < NPS or no
        answer), ``onboarding_answered`` (0/1), ``unresolved_ticket`` (1 if a ticket opened before
        ``start_date`` was not resolved by it), ``cx_at_start`` (one of :data:`CX_STATUS`) and the
        segment columns.

    Examples
    --------
    >>> subs = pd.DataFrame({"subscription_id": ["S1", "S2"], "customer_id": ["C1", "C2"],
    ...                      "plan": ["basic", "plus"], "start_date": pd.to_datetime(["2025-01-01", "2025-02-01"]),
    ...                      "end_date": pd.to_datetime(["2025-03-02", None])})
    >>> cust = pd.DataFrame({"customer_id": ["C1", "C2"], "loyalty_tier": ["gold", "bronze"]})
    >>> srv = pd.DataFrame({"customer_id": ["C1"], "touchpoint": ["onboarding"], "nps": [3],
    ...                     "responded_at": pd.to_datetime(["2025-01-01 15:00"])})
    >>> tck = pd.DataFrame({"customer_id": ["C2"], "opened_at": pd.to_datetime(["2025-01-20"]),
    ...                     "resolved_at": pd.to_datetime([None])})
    >>> f = churn_frame(subs, customers=cust, survey_responses=srv, tickets=tck, observation_end="2025-04-01",
    ...                 segment_columns=["loyalty_tier"])
    >>> f[["duration", "event", "detractor", "unresolved_ticket"]].to_dict("list")
    {'duration': [59.0, 58.0], 'event': [1, 0], 'detractor': [1, 0], 'unresolved_ticket': [0, 1]}
    >>> f["cx_at_start"].tolist(), f["loyalty_tier"].tolist()
    (['detractor', 'unresolved ticket'], ['gold', 'bronze'])
    """
    missing = [c for c in segment_columns if c not in customers.columns]
    if missing:
        raise ParameterError(f"segment_columns {missing} are not columns of customers; "
                             f"choose from {list(customers.columns)}.")
    table = survival_table(subscriptions, observation_end=observation_end, time_unit="day")
    end = pd.Timestamp(observation_end)
    onb = survey_responses[(survey_responses["touchpoint"] == "onboarding") & survey_responses["nps"].notna()
                           & (survey_responses["responded_at"] <= end)]
    table = covariates_as_of(table, onb, key="customer_id", measured_at_col="responded_at", value_cols=["nps"],
                             landmark_days=landmark_days)
    table["onboarding_answered"] = table["nps"].notna().astype("int64")
    table["detractor"] = (table["nps"].astype(float) <= 6).astype("int64")
    table = table.drop(columns="nps")
    table["unresolved_ticket"] = _unresolved_at_start(table, tickets)
    code = table["detractor"] + 2 * table["unresolved_ticket"]
    table["cx_at_start"] = np.asarray(CX_STATUS, dtype=object)[code.to_numpy()]
    seg = customers[["customer_id", *segment_columns]].drop_duplicates("customer_id")
    out = table.reset_index(drop=True).merge(seg, on="customer_id", how="left", validate="many_to_one")
    out.attrs.update(table.attrs)
    return landmark(out, at=landmark_days)


def _unresolved_at_start(table: pd.DataFrame, tickets: pd.DataFrame) -> np.ndarray:
    """1 where the customer has a ticket opened before ``start_date`` and not resolved by it."""
    for c in ("customer_id", "opened_at", "resolved_at"):
        if c not in tickets.columns:
            raise DataContractError(f"tickets lack column {c!r}.", table="tickets", column=c, rule="required")
    m = table[["customer_id", "start_date"]].reset_index().merge(tickets[["customer_id", "opened_at",
                                                                           "resolved_at"]], on="customer_id")
    start = pd.to_datetime(m["start_date"])
    open_at_start = (m["opened_at"] < start) & (m["resolved_at"].isna() | (m["resolved_at"] >= start))
    hit = set(m.loc[open_at_start, "index"])
    return np.array([int(i in hit) for i in table.index], dtype="int64")


def _levels(column: str, values: pd.Series) -> list[str]:
    """Levels of a categorical column: the data contract's vocabulary order when it has one, else sorted."""
    present = set(values.dropna().astype(str))
    for table in TABLES.values():
        col = next((c for c in table.columns if c.name == column), None)
        if col is not None and col.allowed:
            return [v for v in col.allowed if v in present]
    if column == "cx_at_start":
        return [v for v in CX_STATUS if v in present]
    return sorted(present)


def cox_design(frame: pd.DataFrame, *, covariates: Sequence[str]) -> tuple[pd.DataFrame, dict[str, str]]:
    """Numeric design for :func:`cxlib.survival.fit_cox`: 0/1 columns kept, categorical ones dummy-coded.

    A categorical covariate gets one ``<column>_<level>`` dummy per level except the reference, the
    first level in the data contract's vocabulary (``basic`` for ``plan``), else the first in sorted order.

    Returns
    -------
    (pandas.DataFrame, dict)
        ``duration``, ``event`` and the design columns; and a readable label per design column
        (``"plan: plus vs basic"``).

    Examples
    --------
    >>> f = pd.DataFrame({"duration": [1.0, 2.0, 3.0], "event": [1, 0, 1], "detractor": [0, 1, 0],
    ...                   "plan": ["premium", "basic", "plus"]})
    >>> x, labels = cox_design(f, covariates=["detractor", "plan"])
    >>> list(x.columns), labels["plan_premium"]
    (['duration', 'event', 'detractor', 'plan_plus', 'plan_premium'], 'plan: premium vs basic')
    """
    missing = [c for c in covariates if c not in frame.columns]
    if missing:
        raise ParameterError(f"covariates {missing} are not columns of the churn frame; "
                             f"choose from {list(frame.columns)}.")
    out = frame[["duration", "event"]].copy()
    labels: dict[str, str] = {}
    for c in covariates:
        col = frame[c]
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            out[c] = col.astype(float)
            labels[c] = c.replace("_", " ") + (" (yes vs no)" if set(col.dropna().unique()) <= {0, 1} else "")
            continue
        levels = _levels(c, col)
        for level in levels[1:]:
            name = f"{c}_{str(level).replace(' ', '_')}"
            out[name] = (col.astype(str) == level).astype(float)
            labels[name] = f"{c.replace('_', ' ')}: {level} vs {levels[0]}"
    if out.drop(columns=["duration", "event"]).isna().any().any():
        raise DataContractError("The Cox design has missing covariate values; drop or impute them first.",
                                table="subscriptions", column=", ".join(covariates), rule="not null")
    return out, labels


def retention_table(frame: pd.DataFrame, *, segment_columns: Sequence[str], horizons_months: Sequence[float],
                    kaplan_meier_fn, alpha: float = 0.05) -> pd.DataFrame:
    """Kaplan-Meier retention at month horizons, overall and per level of each segment column.

    ``kaplan_meier_fn`` is :func:`cxlib.survival.kaplan_meier` (passed in so that this module stays a thin
    layer).  Horizons in months are converted with :data:`DAYS_PER_MONTH`; NaN beyond a segment's follow-up.
    Columns: :data:`RETENTION_COLUMNS`.
    """
    days = [m * DAYS_PER_MONTH for m in horizons_months]
    parts = []
    for col in [None, *segment_columns]:
        km = kaplan_meier_fn(frame, segment_col=col, alpha=alpha)
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


def rmst_table(frame: pd.DataFrame, *, segment_columns: Sequence[str], tau: float, kaplan_meier_fn, logrank_fn,
               alpha: float = 0.05) -> tuple[pd.DataFrame, pd.DataFrame]:
    """RMST per segment, its difference from the largest segment (z test) and the log-rank p of the column.

    ``kaplan_meier_fn`` and ``logrank_fn`` are :func:`cxlib.survival.kaplan_meier` and
    :func:`cxlib.survival.logrank_test`.  Returns ``(display, differences)``: the display has columns
    ``segment_column, segment, n, events, tau, rmst, rmst_lower, rmst_upper, difference, difference_lower,
    difference_upper, p_value, logrank_p`` (difference NaN for the reference); ``differences`` stacks
    the :data:`TEST_COLUMNS` rows of every column (for the findings).
    """
    shown, tests = [], []
    for col in segment_columns:
        km = kaplan_meier_fn(frame, segment_col=col, alpha=alpha)
        r, d = rmst_comparisons(km, tau=tau, segment_column=col)
        lr = logrank_fn(frame, group_col=col) if r["segment"].nunique() > 1 else None
        d = d.assign(treatment=d["comparison"].str.split(" - ").str[0]).set_index("treatment")
        shown.append(pd.DataFrame({
            "segment_column": col, "segment": r["segment"], "n": r["n"].astype("int64"),
            "events": r["events"].astype("int64"), "tau": r["horizon"],
            "rmst": r["estimate"], "rmst_lower": r["ci_lower"], "rmst_upper": r["ci_upper"],
            "difference": d["estimate"].reindex(r["segment"]).to_numpy(),
            "difference_lower": d["ci_lower"].reindex(r["segment"]).to_numpy(),
            "difference_upper": d["ci_upper"].reindex(r["segment"]).to_numpy(),
            "p_value": d["p_value"].reindex(r["segment"]).to_numpy(),
            "logrank_p": lr.p_value if lr is not None else np.nan}))
        tests.append(d.reset_index(drop=True))
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
    TEST_COLUMNS + segment_column)``.
    """
    t = _tau(km, tau)
    r = km.rmst(t)
    ref = reference if reference is not None else str(r.sort_values("n", ascending=False, kind="stable")
                                                     .iloc[0]["segment"])
    if ref not in set(r["segment"]):
        raise ParameterError(f"reference={ref!r} is not a segment; segments are {r['segment'].tolist()}.")
    diffs = [km.rmst_difference(t, treatment=s, control=ref).to_frame() for s in r["segment"] if s != ref]
    d = pd.concat(diffs, ignore_index=True) if diffs else pd.DataFrame(columns=list(TEST_COLUMNS))
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
            g = sig.loc[sig["estimate"].abs().idxmax()]
            out.append(Finding(key="churn_rmst_gap", section=SECTION,
                               label=f"Difference in mean subscribed days within the first {_tau_of(g)} days, "
                                     f"{g.segment_column} {g.comparison}",
                               estimate=float(g.estimate), ci_lower=float(g.ci_lower), ci_upper=float(g.ci_upper),
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
