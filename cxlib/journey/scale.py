"""The scale path of :mod:`cxlib.journey`: journeys and their counts on any :class:`cxlib.engine.Backend`
(DuckDB or Apache Spark), written once as portable SQL.

The journeys are those of :func:`cxlib.journey.journeyize`, and so is most of the SQL:
:func:`journey_tables` builds the journey module's :class:`~cxlib.journey.sql.EventSpec` and
materialises its :func:`~cxlib.journey.sql.window_sql` (one row per event: ``jkey, ts, tp, r, first,
nxt, dt, k``) and :func:`~cxlib.journey.sql.journeys_sql` (one row per journey) on the backend;
:func:`directly_follows_table` runs :func:`~cxlib.journey.sql.dfg_sql` and :func:`transition_counts`
:func:`~cxlib.journey.sql.transition_counts_sql`.  Those builders are written in constructs that
:func:`cxlib.engine.dialect.to_spark` carries to Spark unchanged in meaning.  The journey module's
path and funnel queries fold ordered DuckDB lists (``list(... ORDER BY ...)``, ``list_reduce``),
which Spark cannot take; :func:`path_variants_sql` (repeats collapsed or not) and :func:`funnel_sql`
(ordered, strict, within a time window) here give the same answers in portable SQL over the
materialised event table (and so does :func:`transitions_sql`
for ``censored="exclude"``, which needs every event's journey outcome).

Every function returns plain counts (pandas frames); rates and intervals follow locally.  Two names
differ from :mod:`cxlib.journey`'s on purpose, because the results differ in kind:
:func:`journey_tables` (tables on the backend, not a :class:`~cxlib.journey.Journeys`) and
:func:`directly_follows_table` (the edge frame, not a :class:`~cxlib.journey.DirectlyFollows`).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from ..display import displayable
from ..engine.backends import Backend
from ..engine.sql import ident, literal
from ..errors import DataContractError, ParameterError, check_choice
from .sessions import DEFAULT_GAP, _timedelta
from .sql import EventSpec, dfg_sql, journeys_sql, transition_counts_sql, window_sql
from .transitions import CONVERSION, DFG_COLUMNS, NULL, START

__all__ = ["EngineJourneys", "journey_tables", "directly_follows_table", "path_variants", "path_variants_sql",
           "funnel_counts", "funnel_sql", "transition_counts", "transitions_sql", "VARIANT_COLUMNS",
           "FUNNEL_COUNT_COLUMNS", "TRANSITION_COUNT_COLUMNS"]

#: Columns of :func:`path_variants`, in order.
VARIANT_COLUMNS = ("path", "length", "journeys", "conversions")
#: Columns of :func:`funnel_counts`, in order.
FUNNEL_COUNT_COLUMNS = ("step_index", "step", "n_journeys", "n_reached")
#: Columns of :func:`transition_counts`, in order.
TRANSITION_COUNT_COLUMNS = ("from_state", "to_state", "count")
Censored = Literal["truncate", "exclude", "abandonment"]
SEP = " > "


@displayable()
@dataclass(frozen=True, eq=False)
class EngineJourneys:
    """Journeys on a :class:`~cxlib.engine.Backend`: the journey module's spec and two materialised tables.

    ``events_table`` holds :func:`cxlib.journey.sql.window_sql` (one row per event, with its journey
    number ``k``, position ``r``, next touchpoint ``nxt`` and seconds to it ``dt``);
    ``journey_table`` holds :func:`cxlib.journey.sql.journeys_sql` (one row per journey).
    """

    backend: Backend
    spec: EventSpec
    events_table: str
    journey_table: str
    gap: pd.Timedelta
    observation_end: pd.Timestamp
    n_journeys: int
    n_events: int

    @property
    def conversion(self) -> str:
        return self.spec.conversion

    def __repr__(self) -> str:
        return (f"EngineJourneys(engine={self.backend.name!r}, n_journeys={self.n_journeys:,}, "
                f"n_events={self.n_events:,}, conversion={self.conversion!r}, gap={self.gap})")

    def drop(self) -> None:
        """Release both tables."""
        self.backend.drop(self.events_table)
        self.backend.drop(self.journey_table)


def journey_tables(backend: Backend, *, table: str = "events", customer_col: str = "customer_id",
                   time_col: str = "timestamp", step_col: str = "touchpoint", journey_col: str | None = "journey_id",
                   gap: str | pd.Timedelta = DEFAULT_GAP, conversion: str = "purchase", start: Any = None,
                   end: Any = None, observation_end: Any = None) -> EngineJourneys:
    """Cut the events of ``table`` into journeys on the backend's engine: two tables kept there.

    Parameters are those of :func:`cxlib.journey.journeyize` (same defaults, same journeys):
    ``journey_col`` is used when the column exists, otherwise journeys are rebuilt per customer
    with the inactivity ``gap``; ``start``/``end`` keep ``start <= time < end``; ``observation_end``
    (default the last event kept) decides censoring.

    Returns
    -------
    EngineJourneys

    Raises
    ------
    DataContractError
        The table or a required column is missing, or no event is left.

    Examples
    --------
    >>> from cxlib.engine import connect
    >>> ev = pd.DataFrame({"customer_id": ["a", "a", "a", "b"],
    ...     "timestamp": pd.to_datetime(["2025-01-01 10:00", "2025-01-01 10:05", "2025-01-01 10:06",
    ...                                  "2025-01-03 09:00"]),
    ...     "touchpoint": ["search", "cart", "purchase", "search"]})
    >>> js = journey_tables(connect({"events": ev}, engine="duckdb"), gap="1h")
    >>> js.n_journeys, funnel_counts(js, ["search", "cart", "purchase"])["n_reached"].tolist()
    (2, [2, 1, 1])
    >>> transition_counts(js).values.tolist()
    [['(start)', 'search', 2], ['cart', '(conversion)', 1], ['search', 'cart', 1]]
    """
    gap_td = _timedelta(gap, "gap")
    backend.require(table)
    cols = backend.columns(table)
    missing = [c for c in (customer_col, time_col, step_col) if c not in cols]
    if missing:
        raise DataContractError(f"Events are missing column(s) {missing}; found {cols}.", table=table,
                                column=missing[0], rule="required column")
    explicit = journey_col is not None and journey_col in cols
    t = ident(time_col)
    where = [f"{t} IS NOT NULL", f"{ident(step_col)} IS NOT NULL", f"{ident(customer_col)} IS NOT NULL"]
    for bound, op in ((start, ">="), (end, "<")):
        if bound is not None:
            where.append(f"CAST({t} AS TIMESTAMP) {op} TIMESTAMP {literal(_timestamp(bound).isoformat(sep=' '))}")
    spec = EventSpec(source=table, key=ident(journey_col) if explicit else ident(customer_col),
                     customer=ident(customer_col), time=t, step=ident(step_col), where=tuple(where),
                     conversion=conversion, gap_us=int(gap_td / pd.Timedelta(microseconds=1)), explicit=explicit)
    ev, jt = backend.temp_name("engine_events"), backend.temp_name("engine_journeys")
    backend.materialize(ev, window_sql(spec, number=True, position=True))
    got = backend.sql(f"SELECT count(*) AS n, max(ts) AS last FROM {ev}", {"n": "int64", "last": "datetime64[ns]"})
    n_events = int(got["n"].iloc[0])
    if n_events == 0:
        backend.drop(ev)
        raise DataContractError(f"No events left to journey-ize in {table!r} (start={start!r}, end={end!r}).",
                                table=table, rule="non-empty table")
    obs_end = _timestamp(observation_end) if observation_end is not None else pd.Timestamp(got["last"].iloc[0])
    backend.materialize(jt, journeys_sql(ev, spec, obs_end))
    n_j = int(backend.sql(f"SELECT count(*) AS n FROM {jt}", {"n": "int64"})["n"].iloc[0])
    return EngineJourneys(backend=backend, spec=spec, events_table=ev, journey_table=jt, gap=gap_td,
                          observation_end=obs_end, n_journeys=n_j, n_events=n_events)


def _timestamp(value: Any) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise ParameterError(f"Time bound {value!r} is not a timestamp (use 'YYYY-MM-DD').") from None
    return ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo is not None else ts


def directly_follows_table(js: EngineJourneys) -> pd.DataFrame:
    """Directly-follows edges with the columns of :data:`cxlib.journey.transitions.DFG_COLUMNS`.

    Runs :func:`cxlib.journey.sql.dfg_sql` (one pass over the events) and keeps its edge rows;
    equal to ``cxlib.journey.directly_follows(...).edges`` on the same events.  ``share_of_source``
    is frequency over all edges leaving the source.
    """
    dtypes = {"source": "object", "target": "object", "frequency": "int64", "journeys": "int64",
              "median_seconds": "float64", "p25_seconds": "float64", "p75_seconds": "float64"}
    sql = (f"SELECT {', '.join(dtypes)} FROM ({dfg_sql(js.spec)}) g WHERE kind = 'edge' "
           "ORDER BY frequency DESC, source, target")
    out = js.backend.sql(sql, dtypes)
    out["share_of_source"] = out["frequency"] / out.groupby("source")["frequency"].transform("sum")
    return out[list(DFG_COLUMNS)]


def path_variants_sql(events: str, journeys: str, *, conversion: str, collapse_repeats: bool = False) -> str:
    """Distinct paths (touchpoints before the conversion, joined by ``' > '``) with journeys and conversions.

    ``collapse_repeats``: a touchpoint equal to the previous one of the path is dropped (``a > a > b``
    is ``a > b``), found with ``lag`` over the journey's path events (portable, no list lambdas).
    """
    conv = literal(conversion)
    path = f"array_to_string(list_transform(list_sort(list({{'r': r, 'tp': tp}})), lambda x: x.tp), {literal(SEP)})"
    source = f"{events} WHERE tp <> {conv}"
    if collapse_repeats:
        source = (f"(SELECT jkey, k, r, tp, lag(tp) OVER (PARTITION BY jkey, k ORDER BY r) AS prev "
                  f"FROM {events} WHERE tp <> {conv}) pe WHERE prev IS NULL OR prev <> tp")
    return f"""WITH p AS (SELECT jkey, k, {path} AS path, CAST(count(*) AS BIGINT) AS length
           FROM {source} GROUP BY jkey, k)
SELECT coalesce(p.path, '') AS path, coalesce(p.length, 0) AS length, CAST(count(*) AS BIGINT) AS journeys,
       CAST(sum(CASE WHEN j.converted THEN 1 ELSE 0 END) AS BIGINT) AS conversions
FROM {journeys} j LEFT JOIN p ON j.jkey IS NOT DISTINCT FROM p.jkey AND j.k = p.k
GROUP BY coalesce(p.path, ''), coalesce(p.length, 0) ORDER BY journeys DESC, path"""


def path_variants(js: EngineJourneys, *, collapse_repeats: bool = False) -> pd.DataFrame:
    """Every distinct path with its journeys and conversions (columns :data:`VARIANT_COLUMNS`).

    A path is what happened before the conversion (as in :func:`cxlib.journey.top_paths`); rows by
    journeys, descending, then path text.  ``top_paths(..., k)`` is its first ``k`` rows plus the rest
    pooled; ``collapse_repeats`` as there (repeated consecutive touchpoints count once).
    """
    dtypes = {"path": "object", "length": "int64", "journeys": "int64", "conversions": "int64"}
    return js.backend.sql(path_variants_sql(js.events_table, js.journey_table, conversion=js.conversion,
                                            collapse_repeats=collapse_repeats), dtypes)


def funnel_sql(events: str, steps: Sequence[str], *, strict: bool = False, window_us: int | None = None) -> str:
    """Journeys reaching each step of an ordered funnel.

    Default (other touchpoints allowed between steps, no window): step ``i`` is taken at its
    earliest occurrence after the step ``i - 1`` taken (greedy matching, which reaches the furthest
    step whenever a match exists): one join and GROUP BY per step, no lists.  ``strict`` (each
    step the very next event of the journey) or ``window_us`` (every step within that many
    microseconds of the first): every occurrence of step 1 starts a chain, each link joins the
    earliest qualifying occurrence of the next step, and a journey reaches step ``i`` when one of
    its chains does -- the rule of :func:`cxlib.journey.funnel` for these options.
    """
    if not strict and window_us is None:
        parts = [f"s1 AS (SELECT jkey, k, min(r) AS r FROM {events} WHERE tp = {literal(steps[0])} GROUP BY jkey, k)"]
        for i, step in enumerate(steps[1:], start=2):
            parts.append(f"""s{i} AS (SELECT e.jkey, e.k, min(e.r) AS r FROM {events} e
    JOIN s{i - 1} p ON e.jkey IS NOT DISTINCT FROM p.jkey AND e.k = p.k AND e.r > p.r
    WHERE e.tp = {literal(step)} GROUP BY e.jkey, e.k)""")
        union = " UNION ALL ".join(f"SELECT {i} AS step_index, CAST(count(*) AS BIGINT) AS n_reached FROM s{i}"
                                   for i in range(1, len(steps) + 1))
        return f"WITH {', '.join(parts)}\nSELECT step_index, n_reached FROM ({union}) u ORDER BY step_index"
    order = "e.r = p.r + 1" if strict else "e.r > p.r"
    within = "" if window_us is None else f" AND date_diff('microsecond', p.t0, e.ts) <= {int(window_us)}"
    parts = [f"s1 AS (SELECT jkey, k, r AS r0, r, ts AS t0 FROM {events} WHERE tp = {literal(steps[0])})"]
    for i, step in enumerate(steps[1:], start=2):
        parts.append(f"""s{i} AS (SELECT p.jkey, p.k, p.r0, min(e.r) AS r, min(p.t0) AS t0 FROM s{i - 1} p
    JOIN {events} e ON e.jkey IS NOT DISTINCT FROM p.jkey AND e.k = p.k AND {order}{within}
    WHERE e.tp = {literal(step)} GROUP BY p.jkey, p.k, p.r0)""")
    union = " UNION ALL ".join(f"SELECT {i} AS step_index, CAST(count(*) AS BIGINT) AS n_reached "
                               f"FROM (SELECT DISTINCT jkey, k FROM s{i}) d{i}" for i in range(1, len(steps) + 1))
    return f"WITH {', '.join(parts)}\nSELECT step_index, n_reached FROM ({union}) u ORDER BY step_index"


def funnel_counts(js: EngineJourneys, steps: Sequence[str], *, strict: bool = False,
                  window: str | pd.Timedelta | None = None) -> pd.DataFrame:
    """Ordered-funnel counts (columns :data:`FUNNEL_COUNT_COLUMNS`), the counts of :func:`cxlib.journey.funnel`
    with the same ``strict`` and ``window`` options.

    Rates and Wilson intervals follow locally from these counts.
    """
    steps = tuple(steps)
    if len(steps) < 2 or not all(isinstance(s, str) and s for s in steps):
        raise ParameterError(f"steps={list(steps)!r} must list at least two touchpoints in funnel order.")
    window_us = None if window is None else int(_timedelta(window, "window") / pd.Timedelta(microseconds=1))
    out = js.backend.sql(funnel_sql(js.events_table, steps, strict=strict, window_us=window_us),
                         {"step_index": "int64", "n_reached": "int64"})
    out = out.set_index("step_index").reindex(range(1, len(steps) + 1), fill_value=0).reset_index()
    out.insert(1, "step", [steps[i - 1] for i in out["step_index"]])
    out.insert(2, "n_journeys", js.n_journeys)
    return out[list(FUNNEL_COUNT_COLUMNS)].astype({"n_journeys": "int64", "n_reached": "int64"})


def transitions_sql(events: str, journeys: str, *, conversion: str) -> str:
    """First-order transition counts with censored journeys left out (``censored="exclude"``).

    Over the materialised tables: each kept journey's first event gives ``(start) -> touchpoint``,
    each event with a successor ``touchpoint -> next`` (the conversion touchpoint is
    ``(conversion)``), each abandoned journey ``last -> (null)``; the edges of censored journeys
    are subtracted.  The other policies use :func:`cxlib.journey.sql.transition_counts_sql`.
    """
    conv = literal(conversion)

    def edges(src: str) -> str:
        return f"""SELECT {literal(START)} AS src, CASE WHEN tp = {conv} THEN {literal(CONVERSION)} ELSE tp END AS dst
  FROM {src} WHERE first
  UNION ALL
  SELECT tp AS src, CASE WHEN nxt = {conv} THEN {literal(CONVERSION)} ELSE nxt END AS dst FROM {src}
  WHERE nxt IS NOT NULL"""

    open_ev = (f"(SELECT e.* FROM {events} e JOIN (SELECT jkey, k FROM {journeys} WHERE outcome = 'censored') o "
               f"ON e.jkey IS NOT DISTINCT FROM o.jkey AND e.k = o.k)")
    parts = [f"SELECT src, dst, count(*) AS c FROM ({edges(events)}) a GROUP BY src, dst",
             f"SELECT last_tp AS src, {literal(NULL)} AS dst, count(*) AS c FROM {journeys} "
             f"WHERE NOT converted AND outcome = 'abandonment' GROUP BY last_tp",
             f"SELECT src, dst, -count(*) AS c FROM ({edges(open_ev)}) b GROUP BY src, dst"]
    return (f"SELECT src AS from_state, dst AS to_state, CAST(sum(c) AS BIGINT) AS count "
            f"FROM ({' UNION ALL '.join(parts)}) u GROUP BY src, dst HAVING sum(c) > 0 ORDER BY from_state, to_state")


def transition_counts(js: EngineJourneys, *, censored: Censored = "truncate") -> pd.DataFrame:
    """First-order transition counts (columns :data:`TRANSITION_COUNT_COLUMNS`): the nonzero cells of
    ``cxlib.journey.transition_matrix(...).counts``; probabilities and intervals follow locally.

    ``censored``: ``truncate`` counts censored journeys' observed transitions without an exit,
    ``abandonment`` counts them as lost, ``exclude`` drops them.
    """
    check_choice("censored", censored, ("truncate", "exclude", "abandonment"))
    dtypes = {"from_state": "object", "to_state": "object", "count": "int64"}
    if censored == "exclude":
        return js.backend.sql(transitions_sql(js.events_table, js.journey_table, conversion=js.conversion), dtypes)
    g = js.backend.sql(transition_counts_sql(js.spec, js.observation_end, censored_lost=censored == "abandonment"),
                       {"first": "bool", "tp": "object", "out": "object", "c": "int64"})
    conv = g["tp"] == js.conversion
    starts = g[g["first"]].assign(from_state=START, to_state=g["tp"].where(~conv, CONVERSION))
    steps = g[g["out"].notna()].assign(from_state=g["tp"], to_state=g["out"].where(g["out"] != js.conversion,
                                                                                   CONVERSION))
    out = (pd.concat([starts, steps]).groupby(["from_state", "to_state"], as_index=False)["c"].sum()
           .rename(columns={"c": "count"}))
    return out[out["count"] > 0].sort_values(["from_state", "to_state"], ignore_index=True).astype(dtypes)
