"""The quarterly-review analyses: the scorecard (each metric this period and last, the change and its
test), the trends, the segment comparisons and the power notes.  Their display and findings live in
:mod:`cxlib.sections.metrics`."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._deprecation import renamed_arguments
from ..errors import DataContractError
from ..metrics import (
    MetricResult,
    ces,
    churn_rate,
    DEFAULT_GAP,
    conversion_rate,
    csat,
    nps,
    resolved_within,
    sla_share,
    subscription_status,
)
from ..periods import in_period, period_bounds
from ..stats import Segment, check_alpha, lead_columns, numeric_values, segment_keys
from ._core import COMPARISON_COLUMNS, ComparisonResult
from .compare import ces_arrays, compare_proportions, csat_arrays, nps_arrays

#: Columns of the scorecard table, in this order.
SCORECARD_COLUMNS = ("key", "label", "unit", "better", "period", "estimate", "ci_lower", "ci_upper", "n",
                     "comparison_period", "estimate_comparison", "n_comparison", "change", "change_ci_lower",
                     "change_ci_upper", "p_value", "significant", "marker", "method", "test_method", "reading")

#: Columns of the trends table written beside the findings for the scorecard's sparklines.
TREND_COLUMNS = ("key", "period", "estimate", "ci_lower", "ci_upper")


@dataclass(frozen=True)
class _Spec:
    key: str
    label: str
    unit: str
    better: str
    table: str


SPECS = (
    _Spec("nps", "NPS", "points", "higher", "survey_responses"),
    _Spec("csat", "CSAT (top-2-box share)", "share", "higher", "survey_responses"),
    _Spec("ces", "CES (mean effort, 1-7)", "scale points", "lower", "survey_responses"),
    _Spec("churn_rate", "Membership churn rate", "share", "lower", "subscriptions"),
    _Spec("resolved_within", "Tickets resolved within 24 h", "share", "higher", "tickets"),
    _Spec("sla_share", "Tickets answered within SLA", "share", "higher", "tickets"),
    _Spec("conversion_rate", "Journey conversion rate (open journeys censored)", "share", "higher", "events"),
)
# Headlines recorded by another section of the report (a second, differently defined number for the
# same thing would confuse the executive summary).
JOURNEY_SECTION_KEYS = frozenset({"conversion_rate"})
_TIME_COL = {"survey_responses": "responded_at", "tickets": "opened_at", "events": "timestamp"}


def _tables(data: Any, periods: Sequence[Any] = ()) -> Mapping[str, pd.DataFrame]:
    """The tables of ``data`` in memory; an event log the Dataset holds lazily is read for ``periods`` only.

    The journey metrics use the events of each period alone, so the rows from the first period's
    start to the last period's end are all they need (read through :meth:`cxlib.data.Dataset.frame`).
    """
    tables = getattr(data, "tables", data)
    if periods and "events" in getattr(data, "lazy", ()):
        bounds = [period_bounds(p) for p in periods]
        start, end = min(b[0] for b in bounds), max(b[1] for b in bounds)
        tables = {**tables, "events": data.frame("events", where="timestamp >= ? AND timestamp < ?",
                                                 params=[start, end])}
    return tables


def _observed_until(tickets: pd.DataFrame) -> pd.Timestamp:
    stamps = [pd.to_datetime(tickets[c]).max() for c in ("opened_at", "first_response_at", "resolved_at")
              if c in tickets.columns]
    return max(s for s in stamps if not pd.isna(s))


def _available(tables: Mapping[str, pd.DataFrame]) -> list[_Spec]:
    """The metrics whose table (and, for survey metrics, column) is present."""
    return [s for s in SPECS if s.table in tables
            and (s.table != "survey_responses" or s.key in tables["survey_responses"].columns)]


_in_period = in_period


@renamed_arguments(by="segment")
def segment_tables(tables: Mapping[str, pd.DataFrame], segment: Segment, names: Sequence[str]
                   ) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """The tables ``names`` with the segment columns ``segment``, joined from ``customers`` where a table lacks them.

    A table that has the columns keeps them; one that lacks them gets them from the ``customers``
    table by ``customer_id`` (rows of unknown or anonymous customers get NaN and fall in no segment).

    Raises
    ------
    DataContractError
        Neither the table nor ``customers`` has a segment column (names the table and the column).
    """
    keys = segment_keys(segment)
    out = dict(tables)
    customers = tables.get("customers")
    for name in names:
        frame = tables[name]
        lacking = [k for k in keys if k not in frame.columns]
        if not lacking:
            continue
        if customers is None or "customer_id" not in frame.columns or any(k not in customers.columns for k in lacking):
            where = "customers" if customers is not None else "customers (absent)"
            raise DataContractError(f"Table {name!r} lacks the segment column(s) {lacking} and cannot get them from "
                                    f"{where} by customer_id; join the segment to {name!r} or to customers first.",
                                    table=name, column=lacking[0], rule="column present")
        labels = customers.drop_duplicates("customer_id").set_index("customer_id")[lacking]
        joined = labels.reindex(frame["customer_id"].to_numpy())
        out[name] = frame.assign(**{k: joined[k].to_numpy() for k in lacking})
    return out, keys


def _levels(tables: Mapping[str, pd.DataFrame], keys: list[str], names: Sequence[str]) -> list[tuple]:
    """The observed segment levels over the tables ``names``, sorted by their labels."""
    found: set[tuple] = set()
    for name in names:
        found |= set(tables[name][keys].dropna().drop_duplicates().itertuples(index=False, name=None))
    return sorted(found, key=lambda k: tuple(str(v) for v in k))


def _only(tables: Mapping[str, pd.DataFrame], keys: list[str], key: tuple, names: Sequence[str]
          ) -> dict[str, pd.DataFrame]:
    """The tables ``names`` restricted to the rows of one segment level."""
    out = dict(tables)
    for name in names:
        frame = tables[name]
        mask = np.ones(len(frame), dtype=bool)
        for k, v in zip(keys, key):
            mask &= (frame[k] == v).to_numpy()
        out[name] = frame[mask]
    return out


def _measure(spec: _Spec, tables: Mapping[str, pd.DataFrame], period: Any, *, alpha: float,
             sla_minutes: float, cluster: str | None = None,
             observed_until: pd.Timestamp | None = None, gap: str = DEFAULT_GAP) -> tuple[MetricResult, Any]:
    """The metric in one period and the raw material of its two-period test."""
    if spec.table == "subscriptions":
        status = subscription_status(tables["subscriptions"], period=period)
        s = status[status["active_start"]]
        return churn_rate(tables["subscriptions"], period=period, alpha=alpha), (
            int((~s["active_end"]).sum()), len(s))
    frame = _in_period(tables[spec.table], _TIME_COL[spec.table], period)
    if spec.table == "survey_responses":
        answered = frame[frame[spec.key].notna()]
        low, high = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}[spec.key]
        values = numeric_values(answered, spec.key, low=low, high=high, integer=True)
        clusters = answered[cluster].to_numpy() if cluster is not None else None
        result = {"nps": nps, "csat": csat, "ces": ces}[spec.key](answered, alpha=alpha)
        return result, (values, clusters)
    if spec.key == "resolved_within":  # not the mean time: it is censored (slow recent tickets still open)
        until = observed_until if observed_until is not None else _observed_until(tables["tickets"])
        r = resolved_within(frame, hours=24.0, alpha=alpha, observed_until=until)
        return r, (int(round(r.estimate * r.n)) if r.n else 0, r.n)
    if spec.key == "sla_share":
        r = sla_share(frame, minutes=sla_minutes, alpha=alpha)
        return r, (int(round(r.estimate * r.n)) if r.n else 0, r.n)
    # the one conversion definition (cxlib.journey.sessions.conversion_counts): converted journeys over journeys
    # with a known outcome, those still open at the period end left out; the counts are in the result
    r = conversion_rate(frame, alpha=alpha, gap=gap)
    return r, (int(round(r.estimate * r.n)) if r.n else 0, r.n)


def _compare(spec: _Spec, now: Any, before: Any, *, period: str, comparison_period: str,
             alpha: float, cluster: str | None = None) -> ComparisonResult:
    kw = {"group_a": str(period), "group_b": str(comparison_period), "comparison": f"{period} vs {comparison_period}",
          "alpha": alpha, "warn": False}
    if spec.table == "survey_responses":
        (xa, ca), (xb, cb) = now, before
        clusters = (ca, cb, cluster) if cluster is not None else None
        if spec.key == "nps":
            return nps_arrays(xa, xb, clusters=clusters, **kw)
        if spec.key == "ces":
            return ces_arrays(xa, xb, clusters=clusters, **kw)
        return csat_arrays((xa >= 4).astype(float), (xb >= 4).astype(float), clusters=clusters, **kw)
    return compare_proportions(now[0], now[1], before[0], before[1], metric=spec.key, label=spec.label, **kw)


@renamed_arguments(by="segment")
def scorecard(data: Any, *, period: str, comparison_period: str, alpha: float = 0.05,
              sla_minutes: float = 10.0, cluster: str | None = None, gap: str = DEFAULT_GAP,
              segment: Segment = None) -> pd.DataFrame:
    """The scorecard: every metric in ``period`` and ``comparison_period``, the change and its test.

    Parameters
    ----------
    data : Dataset or mapping of table name to DataFrame
        Needs ``survey_responses``; ``subscriptions``, ``tickets`` and ``events`` add their rows when present.
    period, comparison_period : str
        E.g. ``"2025Q4"`` and ``"2025Q3"`` (see :class:`cxlib.periods.Period`).
    alpha : float
        Significance level of the change tests and ``1 - alpha`` the interval level.
    sla_minutes : float
        First-response target of the SLA share.
    gap : str
        Inactivity gap of the journey definition (:func:`cxlib.journey.journey_frame`) for the conversion
        rate; the report passes one value to every section (plan parameter ``journey_gap``).
    cluster : str, optional
        Cluster column of the survey responses (``"customer_id"``): the survey changes then get
        cluster-robust standard errors, allowing for customers who answer in both periods or
        several times (see :func:`~cxlib.significance.cluster_mean_difference`).
    segment : str or list of str, optional
        Segment column(s) (``by`` is the deprecated old name): one scorecard block per observed level,
        each the scorecard of that level's rows. A table that lacks the column gets it from ``customers`` by ``customer_id`` (so a segment
        joined to customers flows into every metric; anonymous rows fall in no segment). Tickets keep
        the whole dataset's observation end for the censoring of "resolved within 24 h".

    Returns
    -------
    DataFrame
        Columns of :data:`SCORECARD_COLUMNS` (led by the segment columns when given), one row per metric
        (and segment level). ``change = estimate -
        estimate_comparison`` with the interval and p-value of the metric's test (NPS adjusted
        Wald, CSAT Newcombe + pooled z, CES Welch, or the cluster-robust difference of means with
        ``cluster``; churn, SLA, resolved-in-24-h and conversion shares Newcombe + pooled z);
        ``marker`` is ``"▲"``/``"▼"`` for a significant rise/fall and ``""`` otherwise. Support is
        judged by the share of tickets resolved within 24 h, not by the mean resolution time, which
        is censored (slow recent tickets are still open). Churn compares two cohorts that share
        customers, so its test is approximate.

    Examples
    --------
    >>> rng = np.random.default_rng(5)
    >>> survey = pd.DataFrame({"responded_at": pd.to_datetime("2025-07-01") + pd.to_timedelta(
    ...     rng.integers(0, 180, 800), unit="D"), "nps": rng.integers(0, 11, 800),
    ...     "csat": rng.integers(1, 6, 800), "ces": rng.integers(1, 8, 800)})
    >>> card = scorecard({"survey_responses": survey}, period="2025Q4", comparison_period="2025Q3")
    >>> card["key"].tolist()
    ['nps', 'csat', 'ces']
    """
    check_alpha(alpha)
    tables = _tables(data, [period, comparison_period])
    if "survey_responses" not in tables:
        raise DataContractError("The scorecard needs the survey_responses table.", table="survey_responses",
                                rule="table present")
    kw = {"period": period, "comparison_period": comparison_period, "alpha": alpha, "sla_minutes": sla_minutes,
          "cluster": cluster, "gap": gap}
    if segment is None:
        return pd.DataFrame(_scorecard_rows(tables, **kw), columns=list(SCORECARD_COLUMNS))
    names = sorted({s.table for s in _available(tables)})
    tables, keys = segment_tables(tables, segment, names)
    until = _observed_until(tables["tickets"]) if "tickets" in tables else None
    blocks = [lead_columns(pd.DataFrame(_scorecard_rows(_only(tables, keys, key, names), observed_until=until, **kw),
                                        columns=list(SCORECARD_COLUMNS)), keys, key)
              for key in _levels(tables, keys, names)]
    return (pd.concat(blocks, ignore_index=True) if blocks
            else pd.DataFrame(columns=[*keys, *SCORECARD_COLUMNS]))


def _scorecard_rows(tables: Mapping[str, pd.DataFrame], *, period: str, comparison_period: str, alpha: float,
                    sla_minutes: float, cluster: str | None, observed_until: pd.Timestamp | None = None,
                    gap: str = DEFAULT_GAP) -> list[dict]:
    """The scorecard rows of one set of tables (the whole data, or one segment's rows)."""
    rows = []
    for spec in _available(tables):
        mkw = {"alpha": alpha, "sla_minutes": sla_minutes, "cluster": cluster, "observed_until": observed_until,
               "gap": gap}
        now, raw_now = _measure(spec, tables, period, **mkw)
        before, raw_before = _measure(spec, tables, comparison_period, **mkw)
        test = _compare(spec, raw_now, raw_before, period=period, comparison_period=comparison_period, alpha=alpha,
                        cluster=cluster)
        significant = bool(test.p_value < alpha) if not math.isnan(test.p_value) else False
        marker = ("▲" if test.difference > 0 else "▼") if significant else ""
        rows.append({
            "key": spec.key, "label": spec.label, "unit": spec.unit, "better": spec.better, "period": str(period),
            "estimate": now.estimate, "ci_lower": now.ci_lower, "ci_upper": now.ci_upper, "n": now.n,
            "comparison_period": str(comparison_period), "estimate_comparison": before.estimate,
            "n_comparison": before.n, "change": now.estimate - before.estimate, "change_ci_lower": test.ci_lower,
            "change_ci_upper": test.ci_upper, "p_value": test.p_value, "significant": significant, "marker": marker,
            "method": now.method, "test_method": test.method, "reading": test.reading})
    return rows


@renamed_arguments(by="segment")
def metric_trends(data: Any, *, periods: list[str], alpha: float = 0.05, sla_minutes: float = 10.0,
                  gap: str = DEFAULT_GAP,
                  segment: Segment = None) -> pd.DataFrame:
    """Every scorecard metric in each of ``periods``: the sparkline table beside the findings.

    Parameters
    ----------
    gap : str
        Inactivity gap of the journey definition, as in :func:`scorecard`.
    segment : str or list of str, optional
        Segment column(s) (``by`` is the deprecated old name), found in each table or joined from
        ``customers`` as in :func:`scorecard`;
        the rows of each level are that level's trends.

    Returns
    -------
    DataFrame
        Columns of :data:`TREND_COLUMNS` (``key, period, estimate, ci_lower, ci_upper``), led by the
        segment columns when given; periods without data are left out.

    Examples
    --------
    >>> survey = pd.DataFrame({"responded_at": pd.to_datetime(["2025-08-01", "2025-11-01"] * 5),
    ...                        "nps": [10, 9, 3, 10, 8, 9, 10, 0, 9, 9]})
    >>> metric_trends({"survey_responses": survey}, periods=["2025Q3", "2025Q4"])[["key", "period"]].values.tolist()
    [['nps', '2025Q3'], ['nps', '2025Q4']]
    """
    check_alpha(alpha)
    if segment is None and "events" in getattr(data, "lazy", ()):
        # a lazily held event log is read one period at a time: one quarter of it in memory at once
        base = {k: v for k, v in _tables(data).items() if k != "events"}
        rows = _trend_rows(base, periods, alpha=alpha, sla_minutes=sla_minutes, gap=gap)
        for p in periods:
            rows += _trend_rows({**base, "events": _tables(data, [p])["events"]}, [p], alpha=alpha,
                                sla_minutes=sla_minutes, only_table="events", gap=gap)
        return pd.DataFrame(rows, columns=list(TREND_COLUMNS))
    tables = _tables(data, periods)
    if segment is None:
        return pd.DataFrame(_trend_rows(tables, periods, alpha=alpha, sla_minutes=sla_minutes, gap=gap),
                            columns=list(TREND_COLUMNS))
    names = sorted({s.table for s in _available(tables)})
    tables, keys = segment_tables(tables, segment, names)
    until = _observed_until(tables["tickets"]) if "tickets" in tables else None
    blocks = [lead_columns(pd.DataFrame(_trend_rows(_only(tables, keys, key, names), periods, alpha=alpha,
                                                    sla_minutes=sla_minutes, observed_until=until, gap=gap),
                                        columns=list(TREND_COLUMNS)), keys, key)
              for key in _levels(tables, keys, names)]
    return pd.concat(blocks, ignore_index=True) if blocks else pd.DataFrame(columns=[*keys, *TREND_COLUMNS])


def _trend_rows(tables: Mapping[str, pd.DataFrame], periods: list[str], *, alpha: float, sla_minutes: float,
                observed_until: pd.Timestamp | None = None, only_table: str | None = None,
                gap: str = DEFAULT_GAP) -> list[dict]:
    rows = []
    for spec in _available(tables):
        if only_table is not None and spec.table != only_table:
            continue
        for p in periods:
            if spec.table != "subscriptions":
                frame = _in_period(tables[spec.table], _TIME_COL[spec.table], p)
                if spec.table == "survey_responses" and frame[spec.key].notna().sum() == 0:  # no such question
                    continue
                if frame.empty:
                    continue
            r, _ = _measure(spec, tables, p, alpha=alpha, sla_minutes=sla_minutes, observed_until=observed_until,
                            gap=gap)
            if r.n == 0:
                continue
            rows.append({"key": spec.key, "period": str(p), "estimate": r.estimate, "ci_lower": r.ci_lower,
                         "ci_upper": r.ci_upper})
    return rows


@renamed_arguments(by="segment")
def survey_power(data: Any, *, period: str, comparison_period: str, alpha: float = 0.05,
                 power: float = 0.8, segment: Segment = None) -> pd.DataFrame:
    """For NPS, CSAT and CES: the minimum detectable change between the two periods' samples.

    Parameters
    ----------
    segment : str or list of str, optional
        Segment column(s) (``by`` is the deprecated old name) of the survey responses (or of ``customers``,
        joined by ``customer_id``): the
        MDE of each segment's own change from its own samples and SD.

    Returns
    -------
    DataFrame
        Columns of :data:`~cxlib.significance.POWER_COLUMNS` (led by the segment columns when given), one
        row per metric (question ``"mde"``, ``difference`` = MDE in the metric's display unit: NPS points,
        CSAT percentage points, CES scale points), with the per-respondent SD estimated from both periods.
        Metrics with fewer than 2 answers in a period are left out.

    Examples
    --------
    >>> rng = np.random.default_rng(5)
    >>> survey = pd.DataFrame({"responded_at": pd.to_datetime("2025-07-01") + pd.to_timedelta(
    ...     rng.integers(0, 180, 800), unit="D"), "nps": rng.integers(0, 11, 800)})
    >>> survey_power({"survey_responses": survey}, period="2025Q4", comparison_period="2025Q3")["metric"].tolist()
    ['nps']
    """
    from .power import POWER_COLUMNS

    check_alpha(alpha)
    tables = _tables(data)
    if segment is None:
        return _power_rows(tables["survey_responses"], period=period, comparison_period=comparison_period,
                           alpha=alpha, power=power)
    tables, keys = segment_tables(tables, segment, ["survey_responses"])
    blocks = [lead_columns(_power_rows(_only(tables, keys, key, ["survey_responses"])["survey_responses"],
                                       period=period, comparison_period=comparison_period, alpha=alpha, power=power),
                           keys, key)
              for key in _levels(tables, keys, ["survey_responses"])]
    return pd.concat(blocks, ignore_index=True) if blocks else pd.DataFrame(columns=[*keys, *POWER_COLUMNS])


def _power_rows(survey: pd.DataFrame, *, period: str, comparison_period: str, alpha: float,
                power: float) -> pd.DataFrame:
    from .power import POWER_COLUMNS, minimum_detectable_effect, respondent_sd

    now = _in_period(survey, "responded_at", period)
    before = _in_period(survey, "responded_at", comparison_period)
    rows = []
    for metric in ("nps", "csat", "ces"):
        if metric not in survey.columns:
            continue
        n_a, n_b = int(now[metric].notna().sum()), int(before[metric].notna().sum())
        if min(n_a, n_b) < 2:
            continue
        sd = respondent_sd(pd.concat([now[metric], before[metric]]).rename(metric), metric=metric)
        if metric == "csat":  # in percentage points, as the report shows CSAT in percent
            sd *= 100.0
        rows.append(minimum_detectable_effect(sd=sd, n_a=n_a, n_b=n_b, alpha=alpha, power=power,
                                              metric=metric).to_frame())
    if not rows:
        return pd.DataFrame(columns=list(POWER_COLUMNS))
    return pd.concat(rows, ignore_index=True)


@renamed_arguments(segment_columns="segment")
def segment_comparisons(survey: pd.DataFrame, *, segment: Segment, metrics: tuple[str, ...] = (
        "nps", "csat", "ces"), padjust: str = "holm", alpha: float = 0.05,
        cluster: str | None = None) -> pd.DataFrame:
    """Every segment against the rest, for each segment column and metric, adjusted within each family.

    One family per (metric, segment column): a report reader compares tiers with tiers, regions with regions.
    ``segment`` names the segment column(s) (``segment_columns`` is its deprecated old name); ``cluster``
    (normally ``"customer_id"``) gives cluster-robust tests, see :func:`pairwise`.

    Returns
    -------
    DataFrame
        The rows of :func:`~cxlib.significance.pairwise` stacked (``group_a`` the segment, ``group_b`` the
        rest), plus a leading ``segment_column`` column naming the segment column of the row.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"tier": np.repeat(["a", "b"], 100), "nps": rng.integers(0, 11, 200)})
    >>> segment_comparisons(df, segment="tier", metrics=("nps",))[["segment_column", "group_a"]].values.tolist()
    [['tier', 'a'], ['tier', 'b']]
    """
    from .compare import pairwise

    parts = []
    for metric in metrics:
        if metric not in survey.columns:
            continue
        for column in segment_keys(segment):
            out = pairwise(survey, metric=metric, group=column, against="rest", padjust=padjust, alpha=alpha,
                           cluster=cluster)
            parts.append(out.assign(segment_column=column))
    if not parts:
        return pd.DataFrame(columns=["segment_column", *COMPARISON_COLUMNS])
    out = pd.concat(parts, ignore_index=True)
    return out[["segment_column", *[c for c in out.columns if c != "segment_column"]]]
