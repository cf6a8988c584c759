"""The journey SQL: how events are cut into journeys, as SQL text, and where it runs.

Every aggregation of :mod:`cxlib.journey` is a DuckDB query run through a
:class:`cxlib.engine.DuckDBBackend`, so an event log of tens of millions of
rows is scanned by DuckDB (in parallel, spilling to disk when needed) and only
the aggregated answer becomes a pandas frame.

Events can come as

* a pandas DataFrame (registered as a view, not copied),
* a DuckDB connection plus a table or view name (``Dataset.connection()``
  gives one view per table reading the Parquet files directly),
* a DuckDB relation (its SQL runs inside the relation's own connection),
* a :class:`cxlib.engine.DuckDBBackend` plus a table name,
* a :class:`cxlib.data.Dataset` (its ``events`` view).

Identifiers and literals that reach SQL are quoted with
:func:`cxlib.engine.sql.ident` and :func:`cxlib.engine.sql.literal`; nothing a
user passes is pasted raw into a query.

The journey SQL is *fused*: :func:`journeyize` only records how to cut the
events into journeys (an :class:`EventSpec`), and each aggregation runs one
query that does the cutting itself -- a single window over the journey key
ordered by time, where an event has a successor in its journey when the next
event of the key comes within the inactivity gap (or shares the explicit
journey id) and the event is not the conversion -- and aggregates straight
away.  Nothing is materialised unless a caller asks for the journey tables.
The builders below (:func:`events_sql`, :func:`window_sql`,
:func:`journeys_sql`, :func:`dfg_sql`, :func:`transition_counts_sql`,
:func:`greedy_funnel_sql`) return SQL text in standard constructs (window
functions with ``lag``/``lead``/running ``sum``, ``CASE``, ``GROUP BY``,
``date_diff('microsecond', a, b)``) so that the same text can be transpiled
(sqlglot, DuckDB to Spark); where a DuckDB-only function is used it is said in
the docstring.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd

from .._deprecation import warn_deprecated
from ..display import displayable
from ..engine.backends import ANCHOR, DuckDBBackend, duckdb_backend
from ..engine.sql import ident, literal, seconds_sql, with_ctes  # noqa: F401 - with_ctes kept importable here
from ..errors import DataContractError, ParameterError

__all__ = ["resolve_source", "median_with_ci", "EventSpec", "events_sql", "window_sql", "journeys_sql", "dfg_sql",
           "transition_counts_sql", "greedy_funnel_sql", "paths_sql", "codes_sql", "decode_sql"]


def __getattr__(name: str) -> Any:
    if name == "Engine":  # the journey module's own DuckDB runner, replaced by the one backend abstraction
        warn_deprecated("cxlib.journey.sql.Engine", "cxlib.engine.DuckDBBackend")
        return DuckDBBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def resolve_source(data: Any, *, table: str = "events") -> tuple[DuckDBBackend, str]:
    """Turn any accepted input into ``(backend, from_clause)``.

    Parameters
    ----------
    data : DataFrame, DuckDBBackend, duckdb connection, duckdb relation or Dataset
        Where the rows are.
    table : str
        Table or view name when ``data`` is a backend, a connection or a Dataset.

    >>> be, src = resolve_source(pd.DataFrame({"a": [1, 2]}))
    >>> be.fetchall(f"SELECT sum(a) FROM {src}")
    [(3,)]
    """
    if isinstance(data, pd.DataFrame):
        backend = DuckDBBackend()
        return backend, backend.register(data, "input")
    if isinstance(data, duckdb.DuckDBPyRelation):
        return DuckDBBackend(anchor=data), ANCHOR
    is_dataset = hasattr(data, "connection") and hasattr(data, "files")  # cxlib.data.Dataset
    if not (is_dataset or isinstance(data, (DuckDBBackend, duckdb.DuckDBPyConnection))):
        raise ParameterError(f"Cannot read events from a {type(data).__name__}; pass a pandas DataFrame, a DuckDB "
                             "connection (with table=...), a DuckDB relation, a cxlib.engine.DuckDBBackend or a "
                             "cxlib.data.Dataset.")
    if is_dataset and table not in data.files:
        raise DataContractError(f"The dataset at {data.path} has no {table!r} table; it has {sorted(data.files)}.",
                                table=table, rule="table present")
    backend = duckdb_backend(data)
    try:
        backend.columns(ident(table))
    except duckdb.Error as exc:
        raise DataContractError(f"The DuckDB connection has no table or view {table!r} "
                                f"({str(exc).splitlines()[0]}). Pass table=... naming the events table.",
                                table=table, rule="table present") from None
    return backend, ident(table)


def median_with_ci(backend: DuckDBBackend, values_sql: str, groups: list[str], alpha: float = 0.05) -> pd.DataFrame:
    """Per-group ``n``, median and distribution-free median CI of column ``x`` of ``values_sql``.

    ``values_sql`` is a SELECT giving the ``groups`` columns and a numeric ``x`` (NULLs dropped).
    The interval takes the order statistics of :func:`cxlib.stats.median_rank_bounds`
    (binomial ranks, coverage >= 1 - alpha); it is NaN where n is too small.  Two scans, both in
    DuckDB: one for n and the median, one ranking values within groups.

    Returns columns ``*groups, n, median, ci_lower, ci_upper``.
    """
    from ..stats import median_rank_bounds

    g = ", ".join(ident(c) for c in groups)
    sel = f"{g}, " if groups else ""
    first = backend.df(f"SELECT {sel}count(*)::BIGINT AS n, median(x)::DOUBLE AS median FROM ({values_sql}) v "
                       f"WHERE x IS NOT NULL" + (f" GROUP BY {g}" if groups else ""))
    first = first[first["n"] > 0].reset_index(drop=True)
    lo, hi = median_rank_bounds(first["n"].to_numpy(), alpha)
    first["ci_lower"] = float("nan")
    first["ci_upper"] = float("nan")
    if len(first) == 0 or not (lo > 0).any():
        return first
    ranks = first[list(groups)].copy()
    ranks["l"], ranks["u"] = lo, hi
    ranks = ranks[ranks["l"] > 0]
    name = backend.register(ranks, "ranks")
    part = f"PARTITION BY {g} " if groups else ""
    join = f"JOIN {name} USING ({g})" if groups else f"CROSS JOIN {name}"
    picked = backend.df(f"""
SELECT {sel}max(CASE WHEN r = l THEN x END)::DOUBLE AS ci_lower, max(CASE WHEN r = u THEN x END)::DOUBLE AS ci_upper
FROM (SELECT *, row_number() OVER ({part}ORDER BY x) AS r FROM ({values_sql}) v WHERE x IS NOT NULL) s {join}
WHERE r = l OR r = u""" + (f" GROUP BY {g}" if groups else ""))
    first = first.drop(columns=["ci_lower", "ci_upper"])
    if groups:
        return first.merge(picked, on=list(groups), how="left")
    return pd.concat([first, picked], axis=1)


# --------------------------------------------------------------------------------------------------------------
# Fused journey SQL


@displayable()
@dataclass(frozen=True)
class EventSpec:
    """How to read the events and cut them into journeys: everything the fused journey SQL needs.

    Attributes
    ----------
    source : str
        FROM clause of the events (a quoted table or view name, or :data:`ANCHOR`).
    key, customer, time, step : str
        Quoted column names: the partition key (the explicit journey id, or the customer), the
        customer, the timestamp and the touchpoint.
    where : tuple of str
        Conditions an event must meet (non-NULL columns, time bounds).
    conversion : str
        The touchpoint that converts (and ends a journey).
    gap_us : int
        Inactivity gap in microseconds: splits journeys when ``explicit`` is False; censoring window.
    explicit : bool
        Whether ``key`` is an explicit journey id (journeys split only at conversions).
    """

    source: str
    key: str
    customer: str
    time: str
    step: str
    where: tuple[str, ...]
    conversion: str
    gap_us: int
    explicit: bool


def events_sql(spec: EventSpec) -> str:
    """The kept events: ``jkey, [customer_id,] ts, tp`` (``customer_id`` only with explicit ids; else it is ``jkey``)."""
    cust = f", CAST({spec.customer} AS VARCHAR) AS customer_id" if spec.explicit else ""
    return (f"SELECT CAST({spec.key} AS VARCHAR) AS jkey{cust}, CAST({spec.time} AS TIMESTAMP) AS ts, "
            f"CAST({spec.step} AS VARCHAR) AS tp FROM {spec.source} WHERE {' AND '.join(spec.where)}")


def window_sql(spec: EventSpec, *, number: bool = False, position: bool = False) -> str:
    """One row per event with its place in its journey, from one window over the key ordered by time.

    Columns ``jkey, [customer_id,] ts, tp, [r,] first, nxt, dt[, k]``: ``first`` marks a journey's
    first event (no earlier event of the key, the previous one converted, or -- without explicit
    ids -- it came more than the gap earlier); ``nxt`` is the next touchpoint *of the same journey*
    (NULL at a journey's last event, so ``nxt IS NULL`` marks the end) and ``dt`` the seconds to
    it; ``r`` (``position``) numbers the events of the key; ``k`` (``number``) numbers the
    journeys of the key from 1.  Ties in time are ordered conversion last, then by touchpoint.

    With explicit ids ``k`` is a running count of earlier conversions in the same window; with the
    gap it needs a second window over the first one's starts (a second sort).
    """
    conv = literal(spec.conversion)
    w = f"PARTITION BY jkey ORDER BY ts, CASE WHEN tp = {conv} THEN 1 ELSE 0 END, tp"
    brk_prev = "" if spec.explicit else f" OR date_diff('microsecond', lag(ts) OVER w, ts) > {spec.gap_us}"
    brk_next = "" if spec.explicit else f" AND date_diff('microsecond', ts, lead(ts) OVER w) <= {spec.gap_us}"
    cols = ["row_number() OVER w AS r"] if position or (number and not spec.explicit) else []
    cols += [f"(lag(ts) OVER w IS NULL OR lag(tp) OVER w = {conv}{brk_prev}) AS first",
             f"CASE WHEN tp <> {conv}{brk_next} THEN lead(tp) OVER w END AS nxt",
             f"CASE WHEN tp <> {conv}{brk_next} THEN {seconds_sql('ts', 'lead(ts) OVER w')} END AS dt"]
    if number and spec.explicit:
        is_conv = f"CASE WHEN tp = {conv} THEN 1 ELSE 0 END"
        cols.append(f"1 + sum({is_conv}) OVER ({w} ROWS UNBOUNDED PRECEDING) - {is_conv} AS k")
    inner = f"SELECT *, {', '.join(cols)} FROM ({events_sql(spec)}) e WINDOW w AS ({w})"
    if number and not spec.explicit:
        return (f"SELECT *, sum(CASE WHEN first THEN 1 ELSE 0 END) OVER (PARTITION BY jkey ORDER BY r "
                f"ROWS UNBOUNDED PRECEDING) AS k FROM ({inner}) f")
    return inner


def _censored_sql(ended: str, spec: EventSpec, observation_end: Any) -> str:
    """Condition: a journey ended at ``ended`` is still open at the end of observation (``ended + gap > end``)."""
    end = literal(pd.Timestamp(observation_end).isoformat(sep=" "))
    return f"date_diff('microsecond', {ended}, TIMESTAMP {end}) < {spec.gap_us}"


def journeys_sql(events: str, spec: EventSpec, observation_end: Any, *, lists: bool = False) -> str:
    """One row per journey, grouped from per-event rows ``events`` (a table name or ``(subquery)``).

    ``events`` has the columns of :func:`window_sql` with ``r`` and ``k``.  Columns: ``jkey, k,
    customer_id, started_at, ended_at, n_events, converted, outcome, weight, first_tp, last_tp``;
    with ``lists`` also ``journey_id, touchpoints, times, path`` (DuckDB-only: ``list_sort`` of
    structs, ``list_transform``, ``list_slice``; Spark has ``array_sort``/``transform``/``slice``).
    """
    conv = literal(spec.conversion)
    cust = "customer_id" if spec.explicit else "jkey"
    outcome = (f"CASE WHEN converted THEN 'conversion' WHEN {_censored_sql('ended_at', spec, observation_end)} "
               f"THEN 'censored' ELSE 'abandonment' END AS outcome, 1::BIGINT AS weight")
    aggregates = (f"min({cust}) AS customer_id, min(ts) AS started_at, max(ts) AS ended_at, count(*)::BIGINT AS "
                  f"n_events, bool_or(tp = {conv}) AS converted")
    if not lists:
        return f"""SELECT jkey, k, customer_id, started_at, ended_at, n_events, converted, {outcome}, first_tp, last_tp
FROM (SELECT jkey, k, {aggregates}, arg_min(tp, r) AS first_tp, arg_max(tp, r) AS last_tp
      FROM {events} ev GROUP BY jkey, k) j"""
    jid = ("jkey || CASE WHEN k > 1 THEN '#' || k ELSE '' END" if spec.explicit else "customer_id || ':' || k")
    return f"""SELECT {jid} AS journey_id, customer_id, started_at, ended_at, n_events, touchpoints, times,
       CASE WHEN converted THEN list_slice(touchpoints, 1, len(touchpoints) - 1) ELSE touchpoints END AS path,
       converted, {outcome}
FROM (SELECT * EXCLUDE (s), list_transform(s, lambda x: x.tp) AS touchpoints,
             list_transform(s, lambda x: x.ts) AS times
      FROM (SELECT jkey, k, {aggregates}, list_sort(list({{'r': r, 'tp': tp, 'ts': ts}})) AS s
            FROM {events} ev GROUP BY jkey, k) g) j"""


def paths_sql(spec: EventSpec, observation_end: Any, codes: list[str], *, include_conversion: bool = False) -> str:
    """One row per journey straight from the events: ``p, weight, converted, outcome, dur``.

    ``p`` is the journey's path as a list of integer codes in time order (touchpoint ``codes[i - 1]``
    has code ``i``; decode with :func:`decode_sql`), the conversion event left out unless
    ``include_conversion``; ``dur`` the seconds from its first to its last event; ``outcome`` as
    in :func:`journeys_sql`.  Integer lists group and compare faster than lists of names (about a
    third less CPU here).  One window, a join with the small code table, one grouping; the ordered
    ``list(... ORDER BY ...)`` aggregate is DuckDB's (Spark: ``array_sort`` of ``collect_list``).
    """
    conv = literal(spec.conversion)
    keep = "" if include_conversion else f" FILTER (WHERE tp <> {conv})"
    censored = _censored_sql("max(ts)", spec, observation_end)
    table = ", ".join(f"({literal(c)}, {i})" for i, c in enumerate(codes, start=1))
    return f"""
SELECT coalesce(list(code ORDER BY r){keep}, []) AS p,
       1::BIGINT AS weight, bool_or(tp = {conv}) AS converted,
       CASE WHEN bool_or(tp = {conv}) THEN 'conversion' WHEN {censored} THEN 'censored' ELSE 'abandonment' END
       AS outcome, {seconds_sql('min(ts)', 'max(ts)')} AS dur
FROM ({window_sql(spec, number=True, position=True)}) cx_w JOIN (VALUES {table}) cx_codes(tp, code) USING (tp)
GROUP BY jkey, k"""


def codes_sql(spec: EventSpec) -> str:
    """The distinct touchpoints of the kept events, sorted (their 1-based rank is the code of :func:`paths_sql`)."""
    return f"SELECT DISTINCT tp FROM ({events_sql(spec)}) e ORDER BY tp"


def decode_sql(column: str, codes: list[str]) -> str:
    """SQL turning a list of codes (:func:`paths_sql`) back into the list of touchpoints (DuckDB list literal)."""
    names = "[" + ", ".join(literal(c) for c in codes) + "]"
    return f"list_transform({column}, lambda c: {names}[c])"


def dfg_sql(spec: EventSpec) -> str:
    """Directly-follows graph in one query over the events (one window, no intermediate table).

    Rows of ``kind = 'edge'``: ``source, target, frequency, journeys, median_seconds, p25_seconds,
    p75_seconds``; rows of ``kind = 'touchpoint'``: ``source`` and its ``starts`` (journeys
    starting there), ``ends`` (journeys ending there) and ``events``.  ``journeys`` counts
    distinct ``(jkey, k)`` per edge.  The three quantiles come from one ``quantile_cont`` over a
    list of levels (a third of the time of three separate aggregates; the same values as
    ``median``); DuckDB-only (Spark: ``percentile(dt, array(0.25, 0.5, 0.75))``).
    """
    return f"""
WITH cx_w AS ({window_sql(spec, number=True)}),
q AS (SELECT tp, nxt, count(*) AS frequency, quantile_cont(dt, [0.25, 0.5, 0.75]) AS qs,
             sum(CASE WHEN first THEN 1 ELSE 0 END) AS starts FROM cx_w GROUP BY tp, nxt),
a AS (SELECT tp, nxt, frequency, qs[2] AS median_seconds, qs[1] AS p25_seconds, qs[3] AS p75_seconds, starts
      FROM q),
b AS (SELECT tp, nxt, count(*) AS journeys FROM (SELECT DISTINCT jkey, k, tp, nxt FROM cx_w WHERE nxt IS NOT NULL) d
      GROUP BY tp, nxt)
SELECT 'edge' AS kind, a.tp AS source, a.nxt AS target, frequency, journeys, median_seconds, p25_seconds,
       p75_seconds, NULL AS starts, NULL AS ends, NULL AS events
FROM a JOIN b ON a.tp = b.tp AND a.nxt = b.nxt
UNION ALL
SELECT 'touchpoint', tp, NULL, NULL, NULL, NULL, NULL, NULL, sum(starts), sum(CASE WHEN nxt IS NULL THEN frequency
       ELSE 0 END), sum(frequency)
FROM a GROUP BY tp"""


def transition_counts_sql(spec: EventSpec, observation_end: Any, *, censored_lost: bool) -> str:
    """First-order transition counts in one query over the events: ``first, tp, out, c``.

    Each event is counted once in the group of (is it a journey's first event, its touchpoint,
    where it goes): ``out`` is the next touchpoint of its journey, ``'(null)'`` when the journey
    ends there without conversion and the end counts as abandonment (censored journeys too when
    ``censored_lost``), NULL otherwise.  The caller adds ``(start) -> tp`` for first events and
    ``tp -> out`` for the rest (a few hundred rows, in pandas).
    """
    conv = literal(spec.conversion)
    lost = "" if censored_lost else f" AND NOT ({_censored_sql('ts', spec, observation_end)})"
    return f"""
SELECT first, tp, CASE WHEN nxt IS NOT NULL THEN nxt WHEN tp <> {conv}{lost} THEN '(null)' END AS out,
       count(*) AS c
FROM ({window_sql(spec)}) cx_w GROUP BY first, tp, out"""


def greedy_funnel_sql(spec: EventSpec, steps: list[str]) -> str:
    """Ordered funnel (greedy matching) in one query over the events: ``level, journeys``.

    Level 0 (journeys never entering the funnel) is the number of journeys minus the rest.  Each
    journey's step events, coded as small integers, are listed in time order and folded (level + 1
    when the event is the next step); the fold is DuckDB's ``list_reduce`` over an ordered ``list``
    (DuckDB-only; Spark: ``aggregate(array_sort(collect_list(struct(...))), ...)``).
    """
    m = len(steps)
    codes = {s: i for i, s in enumerate(dict.fromkeys(steps), start=1)}  # each distinct step as a small integer
    code = "CASE tp " + " ".join(f"WHEN {literal(s)} THEN {c}" for s, c in codes.items()) + " END"
    wanted = "[" + ", ".join(str(codes[s]) for s in steps) + "]"
    fold = f"lambda acc, x: CASE WHEN acc < {m} AND x = {wanted}[acc + 1] THEN acc + 1 ELSE acc END"
    return f"""
WITH cx_w AS ({window_sql(spec, number=True, position=True)}),
lv AS (SELECT list_reduce(list({code} ORDER BY r), {fold}, 0) AS level
       FROM cx_w WHERE tp IN ({", ".join(literal(s) for s in codes)}) GROUP BY jkey, k),
c AS (SELECT level, count(*) AS journeys FROM lv GROUP BY level)
SELECT level, journeys FROM c WHERE level > 0
UNION ALL
SELECT 0, (SELECT sum(CASE WHEN first THEN 1 ELSE 0 END) FROM cx_w) - (SELECT coalesce(sum(journeys), 0) FROM c
       WHERE level > 0)"""
