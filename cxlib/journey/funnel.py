"""Funnels over an ordered list of steps: counts, step and overall conversion with intervals, drop-off by
segment, and a test whether two segments' funnels differ."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..display import displayable
from .._deprecation import moved_names, renamed_arguments, renamed_fields
from ..engine.sql import ident, literal
from ..errors import DataContractError, ParameterError
from ..stats import (
    check_alpha,
    cohens_h,
    holm,
    newcombe_interval,
    pooled_z_test,
    segment_labels,
    wilson_interval,
)
from .sessions import Journeys, _interval, _timedelta, as_journeys
from .sql import greedy_funnel_sql

__all__ = ["Funnel", "funnel", "FunnelComparison", "compare_funnels", "FUNNEL_COLUMNS", "FUNNEL_COMPARISON_COLUMNS",
           "ALL"]

ALL = "all"

#: Columns of :meth:`Funnel.to_frame`, in order (one row per segment and step).
FUNNEL_COLUMNS = ("segment", "step_index", "step", "n_journeys", "n_reached", "n_previous", "drop_off",
                  "step_rate", "step_ci_lower", "step_ci_upper", "overall_rate", "overall_ci_lower",
                  "overall_ci_upper", "ci_level", "method")

#: Columns of :meth:`FunnelComparison.to_frame`, in order (the overall test first, then one row per step).  The
#: columns shared with :data:`cxlib.significance.COMPARISON_COLUMNS` mean the same: ``group_a``/``group_b`` the
#: two segments, ``estimate_a``/``estimate_b`` their rates, ``difference = a - b``, ``p_adjusted`` (Holm over
#: the steps), ``n_a``/``n_b``.  ``COMPARISON_COLUMNS`` is this tuple's deprecated old name.
FUNNEL_COMPARISON_COLUMNS = ("test", "step", "group_a", "group_b", "estimate_a", "estimate_b", "difference",
                             "ci_lower", "ci_upper", "ci_level", "statistic", "dof", "p_value", "p_adjusted",
                             "effect_size", "n_a", "n_b", "method")

#: ``COMPARISON_COLUMNS`` (the old name, which clashed with :data:`cxlib.significance.COMPARISON_COLUMNS`)
#: forwards to :data:`FUNNEL_COMPARISON_COLUMNS` with a DeprecationWarning for one release.
__getattr__ = moved_names("cxlib.journey.funnel", "cxlib.journey.funnel",
                          {"COMPARISON_COLUMNS": "FUNNEL_COMPARISON_COLUMNS"})


@displayable(tables=("table",))
@renamed_fields(by="segment")
@dataclass(frozen=True)
class Funnel:
    """Funnel counts and rates; ``table`` has the columns of :data:`FUNNEL_COLUMNS`.

    ``segment`` is the segment column the funnel was split by (None for one funnel; ``by`` is its
    deprecated old name).

    ``n_reached`` of step ``i`` counts journeys that passed steps 1..i in order (within the
    window); ``step_rate = n_i / n_{i-1}`` and ``overall_rate = n_i / n_1`` with Wilson intervals;
    ``n_journeys`` counts all journeys of the segment (entered the funnel or not).
    """

    table: pd.DataFrame
    steps: tuple[str, ...]
    strict: bool
    window: pd.Timedelta | None
    segment: str | None
    ci_level: float

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    @property
    def segments(self) -> list[str]:
        return list(dict.fromkeys(self.table["segment"]))



def segment_table(js: Any, segment: str, segments: Any) -> str:
    """The SQL name of the customer -> segment labels: a table of the journeys' connection, or ``segments``
    (a frame with ``customer_id`` and ``segment``, one row per customer) registered in it.

    The one type of ``segments=`` is that frame (:func:`cxlib.stats.segment_labels`); for journeys, which live
    in a DuckDB (or Spark) connection, the name of such a table in the same connection (``"customers"``) is the
    same thing without a copy through pandas.  A frame indexed by customer id or a mapping of Series still
    works for one release and warns.
    """
    if isinstance(segments, str):
        return ident(segments)
    frame = segment_labels(segments, segment=segment, where="segments=", stacklevel=7)
    return js.backend.register(frame[["customer_id", segment]], "segments")


def _segment_source(js: Journeys, segment: str | None, segments: Any, table: str | None = None) -> tuple[str, str]:
    """(FROM clause giving journey columns plus ``segment``, segment expression).

    ``table`` is the journey table to read (default the list table :attr:`Journeys.table`).
    """
    table = js.table if table is None else table
    by = segment
    if by is None:
        return table, literal(ALL)
    if segments is None:
        return table, f"CAST({ident(by)} AS VARCHAR)"
    seg = segment_table(js, by, segments)
    src = (f"(SELECT j.*, CAST(s.{ident(by)} AS VARCHAR) AS cx_segment FROM {table} j "
           f"LEFT JOIN {seg} s ON j.customer_id = CAST(s.customer_id AS VARCHAR))")
    return src, "coalesce(cx_segment, '(missing)')"


def _levels_sql(src: str, seg: str, steps: Sequence[str], strict: bool, window: pd.Timedelta | None) -> str:
    """SQL: ``segment, level, journeys`` with level = furthest step reached (0 = never entered)."""
    cond_w = "" if window is None else f" AND b.ts <= a.t0 + {_interval(window)}"
    times = "unnest(times)" if window is not None else "NULL::TIMESTAMP"
    parts = [f"""s1 AS (SELECT journey_id, pos AS p0, pos, ts AS t0 FROM ev WHERE tp = {literal(steps[0])})"""]
    for i, step in enumerate(steps[1:], start=2):
        pos_cond = "b.pos = a.pos + 1" if strict else "b.pos > a.pos"
        parts.append(f"""s{i} AS (SELECT a.journey_id, a.p0, min(b.pos) AS pos, any_value(a.t0) AS t0
    FROM s{i - 1} a JOIN ev b ON b.journey_id = a.journey_id AND b.tp = {literal(step)} AND {pos_cond}{cond_w}
    GROUP BY a.journey_id, a.p0)""")
    union = " UNION ALL ".join(f"SELECT journey_id, {i} AS level FROM s{i}" for i in range(1, len(steps) + 1))
    return f"""
WITH jj AS (SELECT journey_id, weight, {seg} AS segment, touchpoints, times FROM {src}),
ev AS (SELECT journey_id, unnest(touchpoints) AS tp, {times} AS ts,
              unnest(generate_series(1, len(touchpoints))) AS pos FROM jj
       WHERE list_has_any(touchpoints, {"[" + ", ".join(literal(s) for s in steps) + "]"})),
{", ".join(parts)},
lv AS (SELECT journey_id, max(level) AS level FROM ({union}) GROUP BY journey_id)
SELECT segment, coalesce(level, 0) AS level, sum(weight)::BIGINT AS journeys
FROM jj LEFT JOIN lv USING (journey_id) GROUP BY ALL ORDER BY segment, level"""


def _greedy_levels_sql(js: Journeys, src: str, seg: str, steps: Sequence[str]) -> str:
    """SQL like :func:`_levels_sql` for the ordered funnel without window, in one pass over the events.

    Greedy matching (take the earliest occurrence of the next step) finds the furthest level, so a
    journey's level is a left fold over its step events in time order: ``level += 1`` when the
    event is the next step.  With an event table only the events whose touchpoint is a step are
    grouped per journey (sorting a journey's few step events); path-level input folds the lists.
    """
    m = len(steps)
    wanted = "[" + ", ".join(literal(s) for s in steps) + "]"
    fold = f"lambda acc, x: CASE WHEN acc < {m} AND x = {wanted}[acc + 1] THEN acc + 1 ELSE acc END"
    if js.spec is None:
        return f"""
SELECT {seg} AS segment, list_reduce(touchpoints, {fold}, 0) AS level, sum(weight)::BIGINT AS journeys
FROM {src} GROUP BY ALL ORDER BY segment, level"""
    return f"""
WITH lv AS (
  SELECT jkey, k, list_reduce(list_transform(list_sort(list({{'r': r, 'tp': tp}})), lambda e: e.tp), {fold}, 0)
         AS level
  FROM {js.events_table} WHERE tp IN ({", ".join(literal(s) for s in steps)}) AND jkey IN (
    SELECT jkey FROM {js.events_table} WHERE tp = {literal(steps[0])}) GROUP BY jkey, k)
SELECT {seg} AS segment, coalesce(level, 0) AS level, sum(weight)::BIGINT AS journeys
FROM {src} jj LEFT JOIN lv USING (jkey, k) GROUP BY ALL ORDER BY segment, level"""


@renamed_arguments(by="segment")
def funnel(journeys: Any, steps: Sequence[str], *, strict: bool = False, window: str | pd.Timedelta | None = None,
           segment: str | None = None, segments: Any = None, alpha: float = 0.05) -> Funnel:
    """Ordered funnel: how many journeys pass each step, step by step and overall, with Wilson intervals.

    Parameters
    ----------
    journeys : Journeys or events
    steps : sequence of str
        Touchpoints in funnel order (at least two), e.g. ``["product_page", "cart", "checkout", "purchase"]``.
    strict : bool
        False (default): other touchpoints may come between two steps.  True: each step must follow
        the previous one immediately.
    window : str or Timedelta, optional
        Every step must happen within ``window`` of the first step (requires event times).  A journey
        counts at the furthest level any of its first-step occurrences reaches.
    segment : str, optional
        Segment column: taken from ``segments`` (joined on ``customer_id``) when given, else from the
        journey table (``by`` is its deprecated old name).  One funnel per segment, in one table.
    segments : DataFrame or str, optional
        A DataFrame with ``customer_id`` and ``segment`` (one row per customer), or the name of such a table
        in the journeys' DuckDB connection (``"customers"``).  Customers without a row form ``(missing)``.
    alpha : float
        1 - confidence level.

    Returns
    -------
    Funnel

    Notes
    -----
    Step rate ``n_i / n_{i-1}`` and overall rate ``n_i / n_1``, each with the Wilson (1927) score
    interval.  Counting is one SQL query.  Ordered funnels without window: one pass over the step
    events, a left fold per journey taking each step at its earliest occurrence after the previous
    one (greedy matching, which finds a match whenever one exists).  Strict or windowed funnels:
    occurrences of step ``i`` are joined to the earliest later occurrence of step ``i + 1``.

    Examples
    --------
    >>> from cxlib.journey import from_paths
    >>> js = from_paths(pd.DataFrame({"path": ["a > b > c", "a > x > b", "a", "b > c"],
    ...                               "conversions": [0, 0, 0, 0], "nulls": [4, 3, 2, 1]}))
    >>> funnel(js, ["a", "b", "c"]).to_frame()["n_reached"].tolist()
    [9, 7, 4]
    >>> funnel(js, ["a", "b", "c"], strict=True).to_frame()["n_reached"].tolist()
    [9, 4, 4]
    """
    check_alpha(alpha)
    by = segment
    steps = tuple(steps)
    if len(steps) < 2 or not all(isinstance(s, str) and s for s in steps):
        raise ParameterError(f"steps={list(steps)!r} must list at least two touchpoints in funnel order.")
    js = as_journeys(journeys)
    win = None if window is None else _timedelta(window, "window")
    if win is not None and not js.has_times:
        raise ParameterError("window= needs event times, but these journeys come from path counts (no times).")
    if not strict and win is None and by is None and js.fused is not None:
        # One query over the events: cut, fold each journey's step events, count by level.
        lv = js.backend.df(greedy_funnel_sql(js.fused, list(steps))).assign(segment=ALL)
        lv["journeys"] = lv["journeys"].astype("int64")
    elif not strict and win is None and (by is None or by not in ("journey_id", "touchpoints", "times", "path")):
        # Single pass over the event table; the journey table without lists carries weights and segments.
        src, seg = _segment_source(js, by, segments, js.journey_table)
        lv = js.backend.df(_greedy_levels_sql(js, src, seg, steps))
    else:
        src, seg = _segment_source(js, by, segments)
        lv = js.backend.df(_levels_sql(src, seg, steps, strict, win))
    rows = []
    for level_label, g in lv.groupby("segment", sort=True):
        per_level = g.set_index("level")["journeys"].reindex(range(len(steps) + 1), fill_value=0).to_numpy()
        reached = per_level[::-1].cumsum()[::-1][1:]  # n_i for i = 1..m
        rows.append(pd.DataFrame({"segment": str(level_label), "step_index": np.arange(1, len(steps) + 1),
                                  "step": steps, "n_journeys": int(per_level.sum()), "n_reached": reached}))
    if not rows:
        raise DataContractError("No journey to build a funnel from.", rule="non-empty table")
    out = pd.concat(rows, ignore_index=True)
    out["n_previous"] = out.groupby("segment")["n_reached"].shift(1)
    first = out.groupby("segment")["n_reached"].transform("first").to_numpy(float)
    n_prev = out["n_previous"].to_numpy(float)
    n_i = out["n_reached"].to_numpy(float)
    s_lo, s_hi = wilson_interval(n_i, n_prev, alpha=alpha)
    o_lo, o_hi = wilson_interval(n_i, first, alpha=alpha)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = out.assign(drop_off=n_prev - n_i, step_rate=n_i / n_prev, step_ci_lower=s_lo, step_ci_upper=s_hi,
                         overall_rate=n_i / first, overall_ci_lower=o_lo, overall_ci_upper=o_hi, ci_level=1 - alpha)
    out.loc[out["step_index"] == 1, ["step_rate", "step_ci_lower", "step_ci_upper"]] = np.nan
    how = "strict (consecutive)" if strict else "ordered (other steps allowed between)"
    out["method"] = (f"{how} funnel" + (f" within {win}" if win is not None else "")
                     + "; rates with Wilson score CI")
    return Funnel(table=out[list(FUNNEL_COLUMNS)], steps=steps, strict=strict, window=win, segment=by,
                  ci_level=1 - alpha)


@displayable(tables=("table",))
@renamed_fields(segment_a="group_a", segment_b="group_b")
@dataclass(frozen=True)
class FunnelComparison:
    """Two segments' funnels compared; ``table`` has the columns of :data:`FUNNEL_COMPARISON_COLUMNS`.

    ``group_a``/``group_b`` are the two segments (``segment_a``/``segment_b`` their deprecated old names).

    The first row (``test == "funnel"``) is the chi-square test of homogeneity of where journeys
    leave the funnel; the next rows (``test == "step"``) compare each step rate.
    """

    table: pd.DataFrame
    group_a: str
    group_b: str
    ci_level: float

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    @property
    def p_value(self) -> float:
        """p-value of the overall test."""
        return float(self.table["p_value"].iloc[0])


def compare_funnels(result: Funnel, a: str, b: str, *, alpha: float | None = None) -> FunnelComparison:
    """Test whether segments ``a`` and ``b`` of a funnel differ, overall and step by step.

    Parameters
    ----------
    result : Funnel
        A funnel computed with ``segment=`` (the counts are all that is needed).
    a, b : str
        The two segments.
    alpha : float, optional
        1 - confidence level of the difference intervals; default the funnel's.

    Returns
    -------
    FunnelComparison

    Notes
    -----
    Overall: among journeys that entered (reached step 1), the exit level (left after step
    ``1..m-1``, or completed) is a multinomial per segment; Pearson's chi-square test of homogeneity
    on the ``2 x m`` table has ``m - 1`` degrees of freedom (levels empty in both segments dropped).
    Its effect size is Cramer's V.  Per step: pooled two-proportion z-test of ``n_i / n_{i-1}``,
    Newcombe (1998) hybrid-score interval of the difference ``a - b``, Holm (1979) adjusted
    p-values across steps, and Cohen's h as effect size.

    Examples
    --------
    >>> from cxlib.journey import from_paths
    >>> js = from_paths(pd.DataFrame({"path": ["a > b", "a"], "conversions": [0, 0], "nulls": [60, 40]}))
    >>> f = funnel(js, ["a", "b"])
    >>> f.to_frame()["overall_rate"].tolist()
    [1.0, 0.6]
    """
    alpha = 1 - result.ci_level if alpha is None else check_alpha(alpha)
    t = result.table
    missing = [s for s in (a, b) if s not in set(t["segment"])]
    if missing:
        raise ParameterError(f"Segment(s) {missing} not in the funnel; it has {result.segments}.")
    A = t[t["segment"] == a].reset_index(drop=True)
    B = t[t["segment"] == b].reset_index(drop=True)
    m = len(result.steps)
    exits = []
    for S in (A, B):
        n = S["n_reached"].to_numpy(float)
        exits.append(np.append(n[:-1] - n[1:], n[-1]))
    table = np.array(exits)
    keep = table.sum(axis=0) > 0
    table = table[:, keep]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        chi2, dof, p, v = np.nan, np.nan, np.nan, np.nan
    else:
        chi2, p, dof, _ = stats.chi2_contingency(table, correction=False)
        v = float(np.sqrt(chi2 / table.sum()))
    na, nb = float(A["n_reached"].iloc[0]), float(B["n_reached"].iloc[0])
    overall = {"test": "funnel", "step": "(exit level)", "group_a": a, "group_b": b,
               "estimate_a": A["overall_rate"].iloc[-1], "estimate_b": B["overall_rate"].iloc[-1],
               "difference": A["overall_rate"].iloc[-1] - B["overall_rate"].iloc[-1],
               "statistic": chi2, "dof": dof, "p_value": p, "p_adjusted": p, "effect_size": v, "n_a": na, "n_b": nb,
               "method": "Pearson chi-square test of homogeneity of exit levels (effect size Cramer's V); "
                         "difference of overall conversion with Newcombe hybrid score CI"}
    lo, hi = newcombe_interval(A["n_reached"].iloc[-1], na, B["n_reached"].iloc[-1], nb, alpha=alpha)
    overall["ci_lower"], overall["ci_upper"] = float(lo), float(hi)
    k1, n1 = A["n_reached"].to_numpy(float)[1:], A["n_previous"].to_numpy(float)[1:]
    k2, n2 = B["n_reached"].to_numpy(float)[1:], B["n_previous"].to_numpy(float)[1:]
    z, pz = pooled_z_test(k1, n1, k2, n2, zero_variance="no_difference")
    dlo, dhi = newcombe_interval(k1, n1, k2, n2, alpha=alpha)
    with np.errstate(invalid="ignore", divide="ignore"):
        ra, rb = k1 / n1, k2 / n2
    steps = pd.DataFrame({"test": "step", "step": list(result.steps[1:]), "group_a": a, "group_b": b,
                          "estimate_a": ra, "estimate_b": rb, "difference": ra - rb, "ci_lower": dlo, "ci_upper": dhi,
                          "statistic": z, "dof": np.nan, "p_value": pz, "p_adjusted": holm(pz),
                          "effect_size": cohens_h(ra, rb), "n_a": n1, "n_b": n2,
                          "method": "pooled two-proportion z-test of the step rate (Holm-adjusted across steps; "
                                    "effect size Cohen's h); Newcombe hybrid score CI of the difference"})
    out = pd.concat([pd.DataFrame([overall]), steps], ignore_index=True).assign(ci_level=1 - alpha)
    return FunnelComparison(table=out[list(FUNNEL_COMPARISON_COLUMNS)], group_a=a, group_b=b, ci_level=1 - alpha)
