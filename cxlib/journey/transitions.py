"""Transition matrix (first or higher order, with start / conversion / abandonment states) and the
directly-follows graph (edge frequencies and median transition times)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..display import displayable
from ..engine.sql import literal, with_ctes
from ..errors import ParameterError, check_choice
from ..stats import check_alpha, wilson_interval
from .bysegment import by_segment, journey_split
from .paths import path_expression
from .sessions import Journeys, as_journeys
from .sql import dfg_sql, transition_counts_sql

__all__ = ["TransitionMatrix", "transition_matrix", "DirectlyFollows", "directly_follows", "START", "CONVERSION",
           "NULL", "TRANSITION_COLUMNS", "DFG_COLUMNS", "CensoredPolicy"]

START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"
STATE_SEP = " > "
CensoredPolicy = Literal["exclude", "abandonment", "truncate"]
CENSORED_POLICIES = ("exclude", "abandonment", "truncate")

#: Columns of :meth:`TransitionMatrix.to_frame`, in order.
TRANSITION_COLUMNS = ("from_state", "to_state", "count", "n_from", "probability", "ci_lower", "ci_upper",
                      "ci_level", "order", "method")
#: Columns of :meth:`DirectlyFollows.to_frame`, in order.
DFG_COLUMNS = ("source", "target", "frequency", "journeys", "share_of_source", "median_seconds", "p25_seconds",
               "p75_seconds")


def check_order(order: int) -> int:
    if not isinstance(order, (int, np.integer)) or not 1 <= order <= 4:
        raise ParameterError(f"order={order!r} must be a whole number from 1 to 4 (Markov chain order).")
    return int(order)


def edges_sql(js: Journeys, *, order: int = 1, censored: str = "exclude", collapse_repeats: bool = False,
              distinct: str | None = None) -> str:
    """SQL giving one row per (distinct path ``pid``, edge): ``pid, n, src, dst, k``.

    ``n`` is how many journeys share the distinct (path, outcome) ``pid`` and ``k`` how often the
    edge occurs in it.  Order-``m`` states are the last ``m`` touchpoints joined by ``" > "``;
    every path starts in ``(start)`` and ends in ``(conversion)`` or ``(null)`` (censored journeys:
    see ``censored``).  The distinct paths are numbered by :func:`distinct_paths_sql`, or read from
    the table ``distinct`` holding its result.
    """
    check_choice("censored", censored, CENSORED_POLICIES)
    m = check_order(order)
    ends = {"exclude": f"WHEN outcome = 'abandonment' THEN {literal(NULL)}",
            "abandonment": f"WHEN outcome IN ('abandonment', 'censored') THEN {literal(NULL)}",
            "truncate": f"WHEN outcome = 'abandonment' THEN {literal(NULL)}"}[censored]
    sep = literal(STATE_SEP)
    d_sql = (f"SELECT * FROM {distinct}" if distinct
             else distinct_paths_sql(js, censored=censored, collapse_repeats=collapse_repeats))
    return f"""
WITH d AS ({d_sql}),
s AS (SELECT pid, n, outcome, path, unnest(generate_series(0, len(path))) AS i FROM d),
e AS (
  SELECT pid, n,
    CASE WHEN i = 0 THEN {literal(START)}
         ELSE array_to_string(list_slice(path, greatest(1, i - {m - 1}), i), {sep}) END AS src,
    CASE WHEN i < len(path) THEN array_to_string(list_slice(path, greatest(1, i + 1 - {m - 1}), i + 1), {sep})
         WHEN outcome = 'conversion' THEN {literal(CONVERSION)} {ends} END AS dst
  FROM s)
SELECT pid, any_value(n) AS n, src, dst, count(*)::BIGINT AS k FROM e WHERE dst IS NOT NULL
GROUP BY pid, src, dst"""


def distinct_paths_sql(js: Journeys, *, censored: str = "exclude", collapse_repeats: bool = False) -> str:
    """SQL of the distinct (path, outcome) pairs: ``pid, path, outcome, n`` (``pid`` 0-based, stable order)."""
    check_choice("censored", censored, CENSORED_POLICIES)
    keep = "WHERE outcome != 'censored'" if censored == "exclude" else ""
    expr = path_expression(collapse_repeats=collapse_repeats)
    return f"""
SELECT (row_number() OVER (ORDER BY array_to_string(path, '\x1f'), len(path), outcome) - 1)::BIGINT AS pid,
       path, outcome, n
FROM (SELECT {expr} AS path, outcome, sum(weight)::BIGINT AS n FROM {js.table} {keep} GROUP BY ALL)"""


@displayable(tables=("probabilities",))
@dataclass(frozen=True)
class TransitionMatrix:
    """Estimated Markov transition matrix of the journeys.

    Attributes
    ----------
    counts : DataFrame
        Transition counts, rows = from-states (``(start)`` first), columns = to-states
        (``(conversion)`` and ``(null)`` last).
    probabilities : DataFrame
        Row-normalised counts (rows without any transition are all zero).
    order : int
    censored : str
        How censored journeys entered (see :func:`transition_matrix`).
    n_journeys : int
        Journeys behind the counts.
    ci_level : float
    """

    counts: pd.DataFrame
    probabilities: pd.DataFrame
    order: int
    censored: str
    n_journeys: int
    ci_level: float

    @property
    def states(self) -> list[str]:
        return list(self.counts.index)

    def to_frame(self) -> pd.DataFrame:
        """Long form, one row per observed transition, columns :data:`TRANSITION_COLUMNS`.

        ``ci_lower``/``ci_upper`` are Wilson intervals of each probability taken alone.
        """
        c = self.counts.stack()
        c = c[c > 0]
        out = c.rename("count").rename_axis(["from_state", "to_state"]).reset_index()
        n_from = self.counts.sum(axis=1)
        out["n_from"] = out["from_state"].map(n_from).astype("int64")
        out["probability"] = out["count"] / out["n_from"]
        lo, hi = wilson_interval(out["count"].to_numpy(float), out["n_from"].to_numpy(float), alpha=1 - self.ci_level)
        out = out.assign(ci_lower=lo, ci_upper=hi, ci_level=self.ci_level, order=self.order,
                         method=f"maximum-likelihood order-{self.order} Markov chain (row-normalised counts); "
                                f"Wilson score CI per cell; censored journeys: {self.censored}")
        return out[list(TRANSITION_COLUMNS)]


@journey_split
def transition_matrix(journeys: Any, *, order: int = 1, censored: CensoredPolicy = "truncate",
                      collapse_repeats: bool = False, alpha: float = 0.05,
                      segment: str | None = None, segments: Any = None) -> TransitionMatrix:
    """Count transitions between touchpoints, from ``(start)`` to ``(conversion)`` / ``(null)``.

    Per segment: ``by_segment(transition_matrix, journeys, segment=..., segments=...)``, a
    :class:`~cxlib.journey.BySegment` (:func:`cxlib.journey.by_segment`; ``by=`` here is deprecated).

    Parameters
    ----------
    journeys : Journeys or events
    order : int
        Markov order ``m``: a state is the last ``m`` touchpoints (``"search > cart"`` for m = 2).
    censored : {"truncate", "exclude", "abandonment"}
        Censored journeys (still open at the end of observation): ``truncate`` (default) counts
        their observed transitions but no final exit, which is the maximum-likelihood estimate
        under independent censoring; ``exclude`` drops them; ``abandonment`` treats them as lost.
    collapse_repeats : bool
        Merge immediate repeats before counting (removes self-loops).
    alpha : float
        1 - confidence level of the per-cell intervals.

    Returns
    -------
    TransitionMatrix

    Notes
    -----
    The maximum-likelihood estimate of a Markov chain's transition probability is
    ``p_ij = n_ij / sum_j n_ij`` (Anderson & Goodman 1957).

    Examples
    --------
    >>> from cxlib.journey import from_paths
    >>> js = from_paths(pd.DataFrame({"path": ["a > b", "b"], "conversions": [3, 1], "nulls": [1, 3]}))
    >>> tm = transition_matrix(js)
    >>> tm.probabilities.loc["b", ["(conversion)", "(null)"]].tolist()
    [0.5, 0.5]
    """
    if segment is not None:
        def run(j: Journeys) -> Any:
            return transition_matrix(
                j, order=order, censored=censored, collapse_repeats=collapse_repeats, alpha=alpha)
        return by_segment(run, journeys, segment, segments)
    check_alpha(alpha)
    check_choice("censored", censored, CENSORED_POLICIES)
    js = as_journeys(journeys)
    first_order = check_order(order) == 1 and not collapse_repeats
    if first_order and js.fused is not None and censored != "exclude":  # one pass, no journey-level join
        e, n = _counts_fused(js, censored)
    elif first_order and js.spec is not None:
        e, n = _counts_from_events(js, censored)
    else:
        edges = edges_sql(js, order=order, censored=censored, collapse_repeats=collapse_repeats)
        e = js.backend.df(f"SELECT src, dst, sum(n * k)::BIGINT AS c FROM ({edges}) GROUP BY src, dst")
        n = js.backend.fetchall(f"SELECT sum(n)::BIGINT FROM ({distinct_paths_sql(js, censored=censored)})")[0][0] or 0
    transient = [START] + sorted(set(e["src"]) - {START})
    extra = sorted(set(e["dst"]) - set(transient) - {CONVERSION, NULL})
    rows = transient + extra
    cols = rows + [CONVERSION, NULL]
    counts = e.pivot_table(index="src", columns="dst", values="c", aggfunc="sum", fill_value=0)
    counts = counts.reindex(index=rows, columns=cols, fill_value=0).astype("int64")
    counts.index.name, counts.columns.name = "from_state", "to_state"
    tot = counts.sum(axis=1).replace(0, np.nan)
    probs = counts.div(tot, axis=0).fillna(0.0)
    return TransitionMatrix(counts=counts, probabilities=probs, order=check_order(order), censored=censored,
                            n_journeys=int(n), ci_level=1 - alpha)


def _counts_fused(js: Journeys, censored: str) -> tuple[pd.DataFrame, int]:
    """First-order counts ``src, dst, c`` and journeys counted, in one query over the events (no table built).

    Only for ``censored`` in ``truncate``/``abandonment``: whether a journey's end is lost is known
    at its last event; ``exclude`` needs every event to know its journey's outcome.
    """
    g = js.backend.df(transition_counts_sql(js.fused, js.observation_end, censored_lost=censored == "abandonment"))
    g["c"] = g["c"].astype("int64")
    conv = g["tp"] == js.conversion
    starts = g[g["first"]].assign(src=START, dst=g["tp"].where(~conv, CONVERSION))
    steps = g[g["out"].notna()].assign(src=g["tp"], dst=g["out"].where(g["out"] != js.conversion, CONVERSION))
    e = pd.concat([starts, steps])[["src", "dst", "c"]].groupby(["src", "dst"], as_index=False)["c"].sum()
    n = int(starts["c"].sum())
    js._built.setdefault("n_journeys", n)
    return e, n


def _counts_from_events(js: Journeys, censored: str) -> tuple[pd.DataFrame, int]:
    """First-order transition counts ``src, dst, c`` and journeys counted, from the event table (no lists).

    Each journey's first event gives ``(start) -> touchpoint``, each event with a successor in the
    same journey ``touchpoint -> next`` (the conversion touchpoint becomes ``(conversion)``), and a
    journey ending without conversion ``last touchpoint -> (null)`` when its outcome counts as
    abandonment.  ``censored="exclude"`` subtracts the edges of censored journeys (a semi-join
    against the few journeys still open at the end of observation).
    """
    check_choice("censored", censored, CENSORED_POLICIES)
    ctes, ev, jt = js.sources()
    conv = literal(js.conversion)
    edges = f"""
SELECT {literal(START)} AS src, CASE WHEN tp = {conv} THEN {literal(CONVERSION)} ELSE tp END AS dst FROM {{ev}} WHERE first
UNION ALL
SELECT tp, CASE WHEN nxt = {conv} THEN {literal(CONVERSION)} ELSE nxt END FROM {{ev}} WHERE nxt IS NOT NULL"""
    lost = "('abandonment', 'censored')" if censored == "abandonment" else "('abandonment')"
    parts = [f"SELECT src, dst, count(*) AS c FROM ({edges.format(ev=ev)}) GROUP BY ALL",
             f"SELECT last_tp, {literal(NULL)}, count(*) FROM {jt} WHERE NOT converted AND outcome IN {lost} GROUP BY ALL"]
    if censored == "exclude":
        open_ev = (f"(SELECT * FROM {ev} e SEMI JOIN (SELECT jkey, k FROM {jt} WHERE outcome = 'censored') o "
                   f"ON e.jkey IS NOT DISTINCT FROM o.jkey AND e.k = o.k)")
        parts.append(f"SELECT src, dst, -count(*) FROM ({edges.format(ev=open_ev)}) GROUP BY ALL")
    e = js.backend.df(with_ctes(ctes, f"SELECT src, dst, sum(c)::BIGINT AS c FROM ({' UNION ALL '.join(parts)}) u "
                                      f"GROUP BY src, dst HAVING sum(c) > 0"))
    n = int(e.loc[e["src"] == START, "c"].sum())  # one start edge per journey counted
    return e, n


@displayable(tables=("edges",))
@dataclass(frozen=True)
class DirectlyFollows:
    """Directly-follows graph: how often touchpoint b comes right after a, and how long it takes.

    ``edges`` has the columns of :data:`DFG_COLUMNS`; ``start_activities`` / ``end_activities``
    count journeys starting / ending with each touchpoint; ``activities`` counts events.
    Transition times are in seconds (NaN for path-level input).
    """

    edges: pd.DataFrame
    start_activities: pd.Series
    end_activities: pd.Series
    activities: pd.Series
    n_journeys: int

    def to_frame(self) -> pd.DataFrame:
        return self.edges.copy()


@journey_split
def directly_follows(journeys: Any, *, segment: str | None = None, segments: Any = None) -> DirectlyFollows:
    """The directly-follows graph over all touchpoints, the conversion included (process-mining view).

    Per segment: ``by_segment(directly_follows, journeys, segment=..., segments=...)``, a
    :class:`~cxlib.journey.BySegment` (:func:`cxlib.journey.by_segment`; ``by=`` here is deprecated).

    One query over the events (:func:`~cxlib.journey.sql.dfg_sql`: a window gives each event the
    next touchpoint of its journey and the seconds to it, then a GROUP BY), or a GROUP BY over the
    event table once it is built: each pair of consecutive events is an edge; frequency counts
    occurrences, ``journeys`` the journeys containing the edge at least once; ``share_of_source``
    is frequency over all edges leaving the source; times are the median and quartiles of the
    gaps between the two events (seconds).

    Examples
    --------
    >>> ev = pd.DataFrame({"customer_id": ["a"] * 3 + ["b"] * 2,
    ...     "timestamp": pd.to_datetime(["2025-01-01 10:00", "2025-01-01 10:01", "2025-01-01 10:03",
    ...                                  "2025-01-01 11:00", "2025-01-01 11:05"]),
    ...     "touchpoint": ["search", "cart", "purchase", "search", "cart"]})
    >>> from cxlib.journey import journeyize
    >>> dfg = directly_follows(journeyize(ev, gap="1h"))
    >>> dfg.edges[["source", "target", "frequency", "median_seconds"]].values.tolist()
    [['search', 'cart', 2, 180.0], ['cart', 'purchase', 1, 120.0]]
    """
    if segment is not None:
        def run(j: Journeys) -> Any:
            return directly_follows(j)
        return by_segment(run, journeys, segment, segments)
    js = as_journeys(journeys)
    if js.fused is not None:
        edges, ends, acts = _dfg_fused(js)
    elif js.spec is not None:
        edges, ends, acts = _dfg_from_events(js)
    else:
        edges, ends, acts = _dfg_from_lists(js)
    out_tot = edges.groupby("source")["frequency"].transform("sum")
    edges["share_of_source"] = edges["frequency"] / out_tot
    start = ends.groupby("first")["n"].sum().sort_values(ascending=False, kind="mergesort")
    end = ends.groupby("last")["n"].sum().sort_values(ascending=False, kind="mergesort")
    return DirectlyFollows(edges=edges[list(DFG_COLUMNS)].reset_index(drop=True),
                           start_activities=start.rename_axis("touchpoint").rename("journeys"),
                           end_activities=end.rename_axis("touchpoint").rename("journeys"),
                           activities=acts.set_index("tp")["n"].rename_axis("touchpoint").rename("events"),
                           n_journeys=js.n_journeys)


def _dfg_fused(js: Journeys) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Edges, (first, last, n) and activity counts in one query over the events (:func:`~cxlib.journey.sql.dfg_sql`).

    Start and end counts come per touchpoint, so ``ends`` pairs each with a NULL partner; the
    caller only sums them by ``first`` and by ``last``.
    """
    g = js.backend.df(dfg_sql(js.fused))
    edges = g[g["kind"] == "edge"].drop(columns=["kind", "starts", "ends", "events"])
    for c in ("frequency", "journeys"):
        edges[c] = edges[c].astype("int64")
    for c in ("median_seconds", "p25_seconds", "p75_seconds"):
        edges[c] = edges[c].astype(float)
    edges = edges.sort_values(["frequency", "source", "target"], ascending=[False, True, True], kind="mergesort")
    tps = g[g["kind"] == "touchpoint"]
    ends = pd.concat([pd.DataFrame({"first": tps["source"], "last": None, "n": tps["starts"]}),
                      pd.DataFrame({"first": None, "last": tps["source"], "n": tps["ends"]})], ignore_index=True)
    ends["n"] = ends["n"].astype("int64")
    ends = ends[ends["n"] > 0]
    acts = pd.DataFrame({"tp": tps["source"], "n": tps["events"].astype("int64")})
    acts = acts.sort_values(["n", "tp"], ascending=[False, True], kind="mergesort")
    js._built.setdefault("n_journeys", int(tps["starts"].sum()))
    return edges.reset_index(drop=True), ends, acts


def _dfg_from_events(js: Journeys) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Edges, (first, last, n) and activity counts straight from the event table (no lists)."""
    ev, jt = js.events_table, js.journey_table
    edges = js.backend.df(f"""
SELECT tp AS source, nxt AS target, count(*)::BIGINT AS frequency, count(DISTINCT (jkey, k))::BIGINT AS journeys,
       median(dt)::DOUBLE AS median_seconds, quantile_cont(dt, 0.25)::DOUBLE AS p25_seconds,
       quantile_cont(dt, 0.75)::DOUBLE AS p75_seconds
FROM {ev} WHERE nxt IS NOT NULL GROUP BY tp, nxt ORDER BY frequency DESC, source, target""")
    ends = js.backend.df(f"SELECT first_tp AS first, last_tp AS last, count(*)::BIGINT AS n FROM {jt} GROUP BY ALL")
    acts = js.backend.df(f"SELECT tp, count(*)::BIGINT AS n FROM {ev} GROUP BY tp ORDER BY n DESC, tp")
    return edges, ends, acts


def _dfg_from_lists(js: Journeys) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The same from the list table (path-level input, where a row stands for ``weight`` journeys)."""
    t = js.table
    edges = js.backend.df(f"""
WITH s AS (SELECT journey_id, weight, touchpoints AS tp, times, unnest(generate_series(1, len(touchpoints) - 1)) AS i
           FROM {t} WHERE len(touchpoints) > 1)
SELECT tp[i] AS source, tp[i + 1] AS target, sum(weight)::BIGINT AS frequency,
       median(epoch(times[i + 1] - times[i]))::DOUBLE AS median_seconds,
       quantile_cont(epoch(times[i + 1] - times[i]), 0.25)::DOUBLE AS p25_seconds,
       quantile_cont(epoch(times[i + 1] - times[i]), 0.75)::DOUBLE AS p75_seconds
FROM s GROUP BY ALL ORDER BY frequency DESC, source, target""")
    edges["journeys"] = js.backend.df(f"""
SELECT source, target, sum(weight)::BIGINT AS journeys FROM (
  SELECT DISTINCT journey_id, weight, touchpoints[i] AS source, touchpoints[i + 1] AS target
  FROM (SELECT *, unnest(generate_series(1, len(touchpoints) - 1)) AS i FROM {t} WHERE len(touchpoints) > 1))
GROUP BY ALL""").set_index(["source", "target"])["journeys"].reindex(
        pd.MultiIndex.from_frame(edges[["source", "target"]])).to_numpy()
    ends = js.backend.df(f"""
SELECT touchpoints[1] AS first, touchpoints[len(touchpoints)] AS last, sum(weight)::BIGINT AS n
FROM {t} WHERE len(touchpoints) > 0 GROUP BY ALL""")
    acts = js.backend.df(f"SELECT tp, sum(weight)::BIGINT AS n FROM (SELECT unnest(touchpoints) AS tp, weight "
                        f"FROM {t}) GROUP BY tp ORDER BY n DESC, tp")
    return edges, ends, acts
