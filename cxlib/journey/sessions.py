"""Journey-ize an event log: which events form one journey, and how each journey ends.

A journey is a customer's ordered run of touchpoints.  It starts at the
customer's first event, after an inactivity gap longer than ``gap``, after a
conversion event, or (when the events carry one) at a new explicit journey
identifier.  It ends in

* ``conversion``: its last event is the conversion touchpoint (``"purchase"``);
* ``censored``: no conversion, but its last event is less than ``gap`` before
  the end of observation, so the customer may still come back and convert;
* ``abandonment``: no conversion and at least ``gap`` of silence afterwards.

The journeys live in temporary DuckDB tables, which every other function of
:mod:`cxlib.journey` reads with SQL; nothing is copied into pandas.  One sorted
window pass over the events gives an event table (position, journey number,
next touchpoint of the same journey and the time to it) and a list-free
journey table; questions about consecutive pairs (directly-follows graph,
first-order transitions) are plain GROUP BYs over the event table.  The list
form (touchpoints and times per journey, what path variants, funnels and
attribution need) is built only when first asked for, by sorting each
journey's few events (``list_sort`` of (position, touchpoint, time) structs,
cheaper than DuckDB's ordered ``list(... ORDER BY ...)`` aggregate).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataContractError, ParameterError
from .sql import Engine, ident, literal, resolve_source

__all__ = ["Journeys", "journeyize", "from_paths", "OUTCOMES", "JOURNEY_COLUMNS"]

#: The ways a journey ends.
OUTCOMES = ("conversion", "abandonment", "censored")

#: Columns of the journey table (``Journeys.to_frame()``), in order.
JOURNEY_COLUMNS = ("journey_id", "customer_id", "started_at", "ended_at", "n_events", "touchpoints", "times",
                   "path", "converted", "outcome", "weight")

#: Inactivity gap that closes a journey without an explicit identifier (the 30-minute session
#: timeout of web analytics, as in :mod:`cxlib.metrics.journeys`).
DEFAULT_GAP = "30min"


@dataclass(frozen=True, eq=False)
class Journeys:
    """Journeys held in temporary DuckDB tables.

    :func:`journeyize` keeps two tables: one row per *event* (``events_table``: the journey key,
    the position, the next touchpoint of the same journey and the seconds until it, computed in one
    sorted window pass) and one row per *journey* without lists (``journey_table``).  Questions
    about consecutive pairs (directly-follows graph, first-order transition counts) are answered
    from the event table by a plain GROUP BY.  The list form :attr:`table` (touchpoints and times
    as lists, what path variants, funnels and attribution read) is built on first use and kept.

    Attributes
    ----------
    engine : Engine
        Where the tables live.
    table : str
        Name of the temporary journey table with lists, columns :data:`JOURNEY_COLUMNS`:
        ``touchpoints`` (list, conversion included), ``times`` (list of timestamps, NULL for
        path-level input), ``path`` (touchpoints before the conversion), ``outcome`` (one of
        :data:`OUTCOMES`), ``weight`` (number of identical journeys the row stands for: 1 for
        events, the count for path-level input).  Built lazily.
    events_table : str or None
        Event-level table (None for path-level input): ``jkey, k, [customer_id,] ts, tp, r, first,
        nxt, dt`` (``customer_id`` only with explicit journey ids; otherwise it is ``jkey``) --
        ``(jkey, k)`` identifies the journey, ``r`` orders events within ``jkey``,
        ``first`` marks a journey's first event, ``nxt`` is the next touchpoint of the same
        journey (NULL at its last event) and ``dt`` the seconds until it.
    journey_table : str
        One row per journey: ``jkey, k`` and the list-free columns of :data:`JOURNEY_COLUMNS`
        (without ``journey_id``, a string built only with the lists) plus ``first_tp, last_tp``.
    conversion : str
        The touchpoint that converts.
    gap : pandas.Timedelta
        Inactivity gap (splits journeys without explicit id; censoring window).
    observation_end : pandas.Timestamp or None
        End of observation used for censoring (None for path-level input).
    n_journeys, n_events : int
        Totals (weighted).
    has_times : bool
        Whether event times are known (False for path-level input).
    """

    engine: Engine
    journey_table: str
    conversion: str
    gap: pd.Timedelta | None
    observation_end: pd.Timestamp | None
    n_journeys: int
    n_events: int
    has_times: bool
    source: str
    events_table: str | None = None
    _built: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def table(self) -> str:
        """The journey table with lists (:data:`JOURNEY_COLUMNS`), built from the events on first use."""
        if "table" not in self._built:
            self._built["table"] = _list_table(self)
        return self._built["table"]

    def __repr__(self) -> str:
        return (f"Journeys(n_journeys={self.n_journeys:,}, n_events={self.n_events:,}, conversion={self.conversion!r}, "
                f"gap={self.gap}, source={self.source!r})")

    def sql(self, query: str) -> pd.DataFrame:
        """Run ``query`` with ``{journeys}`` standing for the journey table; return pandas.

        >>> js = from_paths(pd.DataFrame({"path": ["a > b", "b"], "conversions": [2, 0], "nulls": [1, 3]}))
        >>> js.sql("SELECT sum(weight)::BIGINT AS n FROM {journeys}")["n"].tolist()
        [6]
        """
        return self.engine.df(query.replace("{journeys}", self.table))

    def to_frame(self, *, limit: int | None = None) -> pd.DataFrame:
        """The journey table as pandas (columns :data:`JOURNEY_COLUMNS`), ordered by start and id.

        Meant for small data and inspection; analyses use SQL on :attr:`table`.
        """
        cols = ", ".join(JOURNEY_COLUMNS)
        lim = "" if limit is None else f" LIMIT {int(limit)}"
        out = self.engine.df(f"SELECT {cols} FROM {self.table} ORDER BY started_at NULLS LAST, journey_id{lim}")
        for c in ("touchpoints", "times", "path"):
            out[c] = [list(v) if isinstance(v, (list, tuple, np.ndarray)) else None for v in out[c]]
        return out

    def outcomes(self) -> pd.DataFrame:
        """Journeys by outcome: ``outcome, journeys, share`` (every outcome listed, zeros included).

        >>> js = from_paths(pd.DataFrame({"path": ["a > b", "b"], "conversions": [2, 0], "nulls": [1, 3]}))
        >>> js.outcomes()["journeys"].tolist()
        [2, 4, 0]
        """
        got = self.engine.df(f"SELECT outcome, sum(weight)::BIGINT AS journeys FROM {self.table} GROUP BY outcome")
        out = pd.DataFrame({"outcome": list(OUTCOMES)}).merge(got, on="outcome", how="left")
        out["journeys"] = out["journeys"].fillna(0).astype("int64")
        total = out["journeys"].sum()
        out["share"] = out["journeys"] / total if total else float("nan")
        return out


def _timedelta(value: Any, name: str) -> pd.Timedelta:
    try:
        td = pd.Timedelta(value)
    except (ValueError, TypeError):
        raise ParameterError(f"{name}={value!r} is not a duration; use a pandas timedelta string such as "
                             f"'30min', '2h' or '7D'.") from None
    if pd.isna(td) or td <= pd.Timedelta(0):
        raise ParameterError(f"{name}={value!r} must be a positive duration.")
    return td


def _interval(td: pd.Timedelta) -> str:
    return f"to_microseconds({int(td / pd.Timedelta(microseconds=1))})"


def journeyize(data: Any, *, table: str = "events", customer_col: str = "customer_id",
               time_col: str = "timestamp", step_col: str = "touchpoint", journey_col: str | None = "journey_id",
               gap: str | pd.Timedelta = DEFAULT_GAP, conversion: str = "purchase",
               start: Any = None, end: Any = None, observation_end: Any = None) -> Journeys:
    """Cut an event log into journeys, each ending in conversion, abandonment or censoring.

    Parameters
    ----------
    data : DataFrame, DuckDB connection or relation, or Dataset
        Events with at least ``customer_col``, ``time_col``, ``step_col``.
    table : str
        Table or view holding the events when ``data`` is a connection or Dataset.
    customer_col, time_col, step_col : str
        Columns with the customer, the UTC timestamp and the touchpoint (use ``"channel"`` to
        analyse channels instead of touchpoints).
    journey_col : str or None
        Explicit journey identifier.  Used when the column exists; otherwise journeys are
        rebuilt per customer with the inactivity ``gap``.  Either way a conversion ends the
        journey and the next event starts a new one (suffix ``#2``, ``#3``...).
    gap : str or Timedelta
        Inactivity gap (default 30 minutes, the web-analytics session timeout; use days for
        omnichannel journeys with store visits).  Also the censoring window: a journey whose
        last event lies within ``gap`` of ``observation_end`` is censored.
    conversion : str
        The touchpoint that converts.
    start, end : timestamp-like, optional
        Keep events with ``start <= time < end`` (journeys crossing a bound are cut there).
    observation_end : timestamp-like, optional
        End of observation for censoring; default the latest event time kept.

    Returns
    -------
    Journeys

    Raises
    ------
    DataContractError
        A required column is missing or no event is left.
    ParameterError
        A bad gap or time bound.

    Examples
    --------
    >>> ev = pd.DataFrame({"customer_id": ["a", "a", "a", "b"],
    ...     "timestamp": pd.to_datetime(["2025-01-01 10:00", "2025-01-01 10:05", "2025-01-01 10:06",
    ...                                  "2025-01-03 09:00"]),
    ...     "touchpoint": ["search", "cart", "purchase", "search"]})
    >>> js = journeyize(ev, gap="1h")
    >>> js.to_frame()[["journey_id", "path", "outcome"]].values.tolist()
    [['a:1', ['search', 'cart'], 'conversion'], ['b:1', ['search'], 'censored']]
    """
    gap_td = _timedelta(gap, "gap")
    eng, src = resolve_source(data, table=table)
    cols = eng.columns(src)
    missing = [c for c in (customer_col, time_col, step_col) if c not in cols]
    if missing:
        raise DataContractError(f"Events are missing column(s) {missing}; found {cols}. Pass customer_col=, "
                                "time_col=, step_col= naming them.", table=table, column=missing[0],
                                rule="required column")
    explicit = journey_col is not None and journey_col in cols
    conv = literal(conversion)
    t = ident(time_col)
    where = [f"{t} IS NOT NULL", f"{ident(step_col)} IS NOT NULL", f"{ident(customer_col)} IS NOT NULL"]
    for bound, op in ((start, ">="), (end, "<")):
        if bound is not None:
            try:
                ts = pd.Timestamp(bound)
            except (ValueError, TypeError):
                raise ParameterError(f"Time bound {bound!r} is not a timestamp (use 'YYYY-MM-DD').") from None
            where.append(f"CAST({t} AS TIMESTAMP) {op} TIMESTAMP {literal(ts.isoformat(sep=' '))}")
    key = f"CAST({ident(journey_col)} AS VARCHAR)" if explicit else f"CAST({ident(customer_col)} AS VARCHAR)"
    order = "ts, tp = " + conv + ", tp"
    gap_sql = _interval(gap_td)
    gap_prev = "" if explicit else f" OR ts - lag(ts) OVER w > {gap_sql}"
    gap_next = "" if explicit else f" AND lead(ts) OVER w - ts <= {gap_sql}"
    ev = eng.temp_name("events")
    # One sorted window pass per customer (or explicit id) gives the position r, the journey start, the
    # next event of the same journey and the seconds to it.  With explicit ids the journey number k is a
    # running count of earlier conversions in the same pass; with the inactivity gap it needs a second
    # window (a running count of starts, sorted on the integer r).  With the gap the key is the customer,
    # so the customer column is not stored twice.
    window = f"WINDOW w AS (PARTITION BY jkey ORDER BY {order})"
    per_event = f"""row_number() OVER w AS r,
         (lag(ts) OVER w IS NULL OR lag(tp) OVER w = {conv}{gap_prev}) AS first,
         CASE WHEN tp != {conv}{gap_next} THEN lead(tp) OVER w END AS nxt,
         CASE WHEN tp != {conv}{gap_next} THEN epoch(lead(ts) OVER w - ts) END::DOUBLE AS dt"""
    cust = f", CAST({ident(customer_col)} AS VARCHAR) AS customer_id" if explicit else ""
    e_sql = (f"SELECT {key} AS jkey{cust}, CAST({t} AS TIMESTAMP) AS ts, CAST({ident(step_col)} AS VARCHAR) AS tp "
             f"FROM {src} WHERE {' AND '.join(where)}")
    if explicit:
        body = f"""SELECT jkey, 1 + coalesce(count(*) FILTER (WHERE tp = {conv}) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING
         AND 1 PRECEDING), 0) AS k, customer_id, ts, tp, {per_event}
FROM ({e_sql}) e {window}"""
    else:
        body = f"""SELECT jkey, sum(first::INT) OVER (PARTITION BY jkey ORDER BY r ROWS UNBOUNDED PRECEDING) AS k,
       ts, tp, r, first, nxt, dt
FROM (SELECT *, {per_event} FROM ({e_sql}) e {window}) f"""
    eng.execute(f"CREATE TEMP TABLE {ev} AS {body}")
    n_e, last = eng.fetchall(f"SELECT count(*), max(ts) FROM {ev}")[0]
    if n_e == 0:
        eng.execute(f"DROP TABLE {ev}")
        raise DataContractError(f"No events left to journey-ize in {table!r} (after the time bounds "
                                f"start={start!r}, end={end!r}).", table=table, rule="non-empty table")
    obs_end = pd.Timestamp(observation_end) if observation_end is not None else pd.Timestamp(last)
    jid = ("jkey || CASE WHEN k > 1 THEN '#' || k ELSE '' END" if explicit else "customer_id || ':' || k")
    select = f"""{{jid}}customer_id, started_at, ended_at, n_events, {{lists}}converted,
       CASE WHEN converted THEN 'conversion'
            WHEN ended_at + {gap_sql} > TIMESTAMP {literal(obs_end.isoformat(sep=' '))} THEN 'censored'
            ELSE 'abandonment' END AS outcome, 1::BIGINT AS weight"""
    aggregates = (f"min({'customer_id' if explicit else 'jkey'}) AS customer_id, min(ts) AS started_at, "
                  f"max(ts) AS ended_at, "
                  f"count(*)::BIGINT AS n_events, bool_or(tp = {conv}) AS converted")
    jt = eng.temp_name("journeys")
    eng.execute(f"""
CREATE TEMP TABLE {jt} AS
SELECT jkey, k, {select.format(jid="", lists="")}, first_tp, last_tp
FROM (SELECT jkey, k, {aggregates}, arg_min(tp, r) AS first_tp, arg_max(tp, r) AS last_tp
      FROM {ev} GROUP BY jkey, k)""")
    n_j = eng.fetchall(f"SELECT count(*) FROM {jt}")[0][0]
    how = f"explicit {journey_col}" if explicit else f"inactivity gap {gap_td}"
    lists = """touchpoints, times,
       CASE WHEN converted THEN list_slice(touchpoints, 1, len(touchpoints) - 1) ELSE touchpoints END AS path, """
    list_sql = f"""
SELECT {select.format(jid=jid + " AS journey_id, ", lists=lists)}
FROM (SELECT * EXCLUDE (s), list_transform(s, lambda x: x.tp) AS touchpoints,
             list_transform(s, lambda x: x.ts) AS times
      FROM (SELECT jkey, k, {aggregates}, list_sort(list({{'r': r, 'tp': tp, 'ts': ts}})) AS s
            FROM {ev} GROUP BY jkey, k))"""
    return Journeys(engine=eng, journey_table=jt, events_table=ev, conversion=conversion, gap=gap_td,
                    observation_end=obs_end, n_journeys=int(n_j), n_events=int(n_e), has_times=True,
                    source=f"events ({how}; conversion {conversion!r})", _built={"list_sql": list_sql})


def _list_table(js: Journeys) -> str:
    """Build the journey table with touchpoint and time lists from the event table (sorted within journeys)."""
    out = js.engine.temp_name("journey_lists")
    js.engine.execute(f"CREATE TEMP TABLE {out} AS {js._built['list_sql']}")
    return out


def from_paths(data: Any, *, path_col: str = "path", conversions_col: str = "conversions",
               nulls_col: str = "nulls", sep: str = " > ", conversion: str = "(conversion)") -> Journeys:
    """Journeys from path-level counts (one row per distinct path, as attribution tools export them).

    Parameters
    ----------
    data : DataFrame, DuckDB connection or relation
        One row per path: the path as text, how many journeys with it converted and how many did not.
    path_col, conversions_col, nulls_col : str
        Column names (for the ``channelattribution`` sample data: ``path``, ``total_conversions``,
        ``total_null``).
    sep : str
        Separator between steps in ``path_col``.
    conversion : str
        Label of the conversion step appended to converted journeys' touchpoints.

    Returns
    -------
    Journeys
        Without times (``has_times`` False): paths, funnels, transitions and attribution work;
        timing functions raise.

    Examples
    --------
    >>> js = from_paths(pd.DataFrame({"path": ["a > b", "b"], "conversions": [2, 0], "nulls": [1, 3]}))
    >>> js.n_journeys, js.n_events
    (6, 11)
    """
    eng, src = resolve_source(data, table="paths")
    cols = eng.columns(src)
    missing = [c for c in (path_col, conversions_col, nulls_col) if c not in cols]
    if missing:
        raise DataContractError(f"Path data are missing column(s) {missing}; found {cols}.", column=missing[0],
                                rule="required column")
    bad = eng.fetchall(f"SELECT count(*) FROM {src} WHERE {ident(conversions_col)} < 0 OR {ident(nulls_col)} < 0 "
                       f"OR {ident(conversions_col)} != round({ident(conversions_col)}) "
                       f"OR {ident(nulls_col)} != round({ident(nulls_col)})")[0][0]
    if bad:
        raise DataContractError(f"{bad} path row(s) have negative or fractional counts in {conversions_col!r} or "
                                f"{nulls_col!r}; counts of journeys must be whole numbers >= 0.",
                                column=conversions_col, rule="whole counts")
    out = eng.temp_name("journeys")
    eng.execute(f"""
CREATE TEMP TABLE {out} AS
WITH p AS MATERIALIZED (
  SELECT row_number() OVER () AS r, list_transform(string_split(CAST({ident(path_col)} AS VARCHAR), {literal(sep)}),
         lambda x: trim(x)) AS path,
         CAST({ident(conversions_col)} AS BIGINT) AS c, CAST({ident(nulls_col)} AS BIGINT) AS z
  FROM {src}
)
SELECT 'p' || r || ':conversion' AS journey_id, NULL::VARCHAR AS customer_id, NULL::TIMESTAMP AS started_at,
       NULL::TIMESTAMP AS ended_at, len(path) + 1 AS n_events, list_append(path, {literal(conversion)}) AS touchpoints,
       NULL::TIMESTAMP[] AS times, path, TRUE AS converted, 'conversion' AS outcome, c AS weight
FROM p WHERE c > 0
UNION ALL
SELECT 'p' || r || ':abandonment', NULL, NULL, NULL, len(path), path, NULL, path, FALSE, 'abandonment', z
FROM p WHERE z > 0""")
    n_j, n_e = eng.fetchall(f"SELECT coalesce(sum(weight), 0), coalesce(sum(weight * n_events), 0) FROM {out}")[0]
    if n_j == 0:
        raise DataContractError("The path data hold no journey (all counts are zero).", rule="non-empty table")
    return Journeys(engine=eng, journey_table=out, conversion=conversion, gap=None, observation_end=None,
                    n_journeys=int(n_j), n_events=int(n_e), has_times=False, source="path counts",
                    _built={"table": out})


def as_journeys(data: Any, **kwargs: Any) -> Journeys:
    """``data`` itself if it is already :class:`Journeys`, else :func:`journeyize` ``(data, **kwargs)``."""
    if isinstance(data, Journeys):
        return data
    return journeyize(data, **kwargs)
