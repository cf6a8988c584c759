"""Journey-ize an event log: which events form one journey, and how each journey ends.

A journey is a customer's ordered run of touchpoints.  It starts at the
customer's first event, after an inactivity gap longer than ``gap``, after a
conversion event, or (when the events carry one) at a new explicit journey
identifier.  It ends in

* ``conversion``: its last event is the conversion touchpoint (``"purchase"``);
* ``censored``: no conversion, but its last event is less than ``gap`` before
  the end of observation, so the customer may still come back and convert;
* ``abandonment``: no conversion and at least ``gap`` of silence afterwards.

This module is the one home of that definition.  An explicit journey identifier is used when the
column exists and every kept event has one (otherwise all journeys are rebuilt with the gap).  The
end of observation is, unless given, the latest event kept: for a period (``start``, ``end``) the
journeys still open at the period end are censored.  **Conversion** is counted by
:func:`conversion_counts`: converted journeys over journeys with a known outcome, open journeys
left out of both (counting them as failures biases the rate down at the period end).  The
scorecard, the metric trends and the dashboard alerts (event frames in memory) cut journeys with
:func:`journey_frame`, the same rules in pandas; the journeys section and the scale path
(:mod:`cxlib.journey.scale`) run the SQL of :mod:`cxlib.journey.sql`.  Both paths give the same
journeys (``tests/test_journey_definition.py``).

Journey-izing is lazy.  :func:`journeyize` checks the columns, counts the events
and finds the end of observation (one scan), and records how to cut the events
(an :class:`~cxlib.journey.sql.EventSpec`).  Each aggregation then runs one
fused DuckDB query that cuts and aggregates in the same window pass over the
events (see :mod:`cxlib.journey.sql`); nothing is copied into pandas and no
intermediate table is written.  The tables are materialised only when a caller
asks for them (:attr:`Journeys.events_table`, :attr:`Journeys.journey_table`,
:attr:`Journeys.table`, ``to_frame``); once they exist, later questions read
them instead of re-reading the events.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from .._deprecation import warn_deprecated
from ..display import displayable
from ..engine.backends import DuckDBBackend
from ..engine.sql import ident, literal
from ..errors import DataContractError, ParameterError
from .sql import EventSpec, codes_sql, events_sql, journeys_sql, resolve_source, window_sql

__all__ = ["Journeys", "journeyize", "from_paths", "journey_frame", "conversion_counts", "OUTCOMES",
           "KNOWN_OUTCOMES", "JOURNEY_COLUMNS", "JOURNEY_FRAME_COLUMNS", "DEFAULT_GAP"]

#: The ways a journey ends.
OUTCOMES = ("conversion", "abandonment", "censored")

#: Columns of the journey table (``Journeys.to_frame()``), in order.
JOURNEY_COLUMNS = ("journey_id", "customer_id", "started_at", "ended_at", "n_events", "touchpoints", "times",
                   "path", "converted", "outcome", "weight")

#: Inactivity gap that closes a journey without an explicit identifier (the 30-minute session
#: timeout of web analytics, as in :mod:`cxlib.metrics.journeys`).
DEFAULT_GAP = "30min"


@displayable()
@dataclass(frozen=True, eq=False)
class Journeys:
    """Journeys over an event log (cut lazily) or path-level counts.

    For events, the object holds an :class:`~cxlib.journey.sql.EventSpec` (``spec``) and every
    aggregation is one fused query over the events.  Three temporary DuckDB tables are built
    only on first access and then kept (later questions read them):

    * :attr:`events_table`: one row per event, ``jkey, k, [customer_id,] ts, tp, r, first, nxt,
      dt`` (``customer_id`` only with explicit journey ids; otherwise it is ``jkey``) --
      ``(jkey, k)`` identifies the journey, ``r`` orders events within ``jkey``, ``first`` marks
      a journey's first event, ``nxt`` is the next touchpoint of the same journey (NULL at its
      last event) and ``dt`` the seconds until it;
    * :attr:`journey_table`: one row per journey, ``jkey, k`` and the list-free columns of
      :data:`JOURNEY_COLUMNS` (without ``journey_id``) plus ``first_tp, last_tp``;
    * :attr:`table`: the journey table with lists, columns :data:`JOURNEY_COLUMNS`:
      ``touchpoints`` (list, conversion included), ``times`` (list of timestamps, NULL for
      path-level input), ``path`` (touchpoints before the conversion), ``outcome`` (one of
      :data:`OUTCOMES`), ``weight`` (journeys the row stands for: 1 for events, the count for
      path-level input).

    Attributes
    ----------
    backend : cxlib.engine.DuckDBBackend
        Where the queries run and the tables live (``engine`` is its deprecated name).
    conversion : str
        The touchpoint that converts.
    gap : pandas.Timedelta
        Inactivity gap (splits journeys without explicit id; censoring window).
    observation_end : pandas.Timestamp or None
        End of observation used for censoring (None for path-level input).
    n_events : int
        Events kept (weighted for path-level input).
    has_times : bool
        Whether event times are known (False for path-level input).
    spec : EventSpec or None
        How the events are cut (None for path-level input, whose journey table exists already).
    """

    backend: DuckDBBackend
    conversion: str
    gap: pd.Timedelta | None
    observation_end: pd.Timestamp | None
    n_events: int
    has_times: bool
    source: str
    spec: EventSpec | None = None
    _built: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def engine(self) -> DuckDBBackend:
        """Deprecated name of :attr:`backend`."""
        warn_deprecated("Journeys.engine", "Journeys.backend")
        return self.backend

    def _table(self, name: str, sql: str) -> str:
        if name not in self._built:
            out = self.backend.temp_name(name)
            self.backend.execute(f"CREATE TEMP TABLE {out} AS {sql}")
            self._built[name] = out
        return self._built[name]

    @property
    def fused(self) -> EventSpec | None:
        """The spec when no event table has been built yet (aggregations then run fused on the events)."""
        return self.spec if self.spec is not None and "events" not in self._built else None

    @property
    def events_table(self) -> str | None:
        """Event-level table (built on first access; None for path-level input)."""
        if self.spec is None:
            return self._built.get("events")
        return self._table("events", window_sql(self.spec, number=True, position=True))

    @property
    def journey_table(self) -> str:
        """One row per journey without lists (built on first access)."""
        if "journeys" not in self._built:
            self._table("journeys", journeys_sql(self.events_table, self.spec, self.observation_end))
        return self._built["journeys"]

    @property
    def table(self) -> str:
        """The journey table with lists (:data:`JOURNEY_COLUMNS`), built on first access.

        Built straight from the events (one window and one grouping, no event table) unless the
        event table exists already.
        """
        if "table" not in self._built:
            ev = self._built.get("events") or f"({window_sql(self.spec, number=True, position=True)})"
            self._table("table", journeys_sql(ev, self.spec, self.observation_end, lists=True))
        return self._built["table"]

    def sources(self) -> tuple[list[tuple[str, str]], str, str]:
        """``(ctes, events, journeys)`` for one query over the event and journey tables.

        The built tables when the event table exists (``ctes`` empty); otherwise two common table
        expressions that cut the events inside the query itself (DuckDB evaluates a CTE used more
        than once a single time).  Wrap the query with :func:`~cxlib.journey.sql.with_ctes`.
        """
        if self.fused is None:
            return [], self.events_table, self.journey_table
        ev, jt = "cx_ev", "cx_jt"
        return ([(ev, window_sql(self.spec, number=True, position=True)),
                 (jt, journeys_sql(ev, self.spec, self.observation_end))], ev, jt)

    @property
    def codes(self) -> list[str]:
        """The distinct touchpoints of the events, sorted (codes of :func:`~cxlib.journey.sql.paths_sql`)."""
        if "codes" not in self._built:
            self._built["codes"] = [r[0] for r in self.backend.fetchall(codes_sql(self.spec))]
        return self._built["codes"]

    @property
    def n_journeys(self) -> int:
        """Number of journeys (weighted for path-level input); one count over the events on first access."""
        if "n_journeys" not in self._built:
            if "journeys" in self._built:
                sql = f"SELECT count(*) FROM {self._built['journeys']}"
            elif "events" in self._built:
                sql = f"SELECT count(*) FROM {self._built['events']} WHERE first"
            else:
                sql = f"SELECT count(*) FROM ({window_sql(self.spec)}) x WHERE first"
            self._built["n_journeys"] = int(self.backend.fetchall(sql)[0][0])
        return self._built["n_journeys"]

    def __repr__(self) -> str:
        return (f"Journeys(n_journeys={self.n_journeys:,}, n_events={self.n_events:,}, conversion={self.conversion!r}, "
                f"gap={self.gap}, source={self.source!r})")

    def sql(self, query: str) -> pd.DataFrame:
        """Run ``query`` with ``{journeys}`` standing for the journey table; return pandas.

        >>> js = from_paths(pd.DataFrame({"path": ["a > b", "b"], "conversions": [2, 0], "nulls": [1, 3]}))
        >>> js.sql("SELECT sum(weight)::BIGINT AS n FROM {journeys}")["n"].tolist()
        [6]
        """
        return self.backend.df(query.replace("{journeys}", self.table))

    def to_frame(self, *, limit: int | None = None) -> pd.DataFrame:
        """The journey table as pandas (columns :data:`JOURNEY_COLUMNS`), ordered by start and id.

        Meant for small data and inspection; analyses use SQL on :attr:`table`.
        """
        cols = ", ".join(JOURNEY_COLUMNS)
        lim = "" if limit is None else f" LIMIT {int(limit)}"
        out = self.backend.df(f"SELECT {cols} FROM {self.table} ORDER BY started_at NULLS LAST, journey_id{lim}")
        for c in ("touchpoints", "times", "path"):
            out[c] = [list(v) if isinstance(v, (list, tuple, np.ndarray)) else None for v in out[c]]
        return out

    def outcomes(self) -> pd.DataFrame:
        """Journeys by outcome: ``outcome, journeys, share`` (every outcome listed, zeros included).

        >>> js = from_paths(pd.DataFrame({"path": ["a > b", "b"], "conversions": [2, 0], "nulls": [1, 3]}))
        >>> js.outcomes()["journeys"].tolist()
        [2, 4, 0]
        """
        got = self.backend.df(f"SELECT outcome, sum(weight)::BIGINT AS journeys FROM {self.table} GROUP BY outcome")
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
    data : DataFrame, DuckDB connection or relation, DuckDBBackend, or Dataset
        Events with at least ``customer_col``, ``time_col``, ``step_col``.
    table : str
        Table or view holding the events when ``data`` is a connection, a backend or a Dataset.
    customer_col, time_col, step_col : str
        Columns with the customer, the UTC timestamp and the touchpoint (use ``"channel"`` to
        analyse channels instead of touchpoints).
    journey_col : str or None
        Explicit journey identifier.  Used when the column exists and every kept event has one;
        otherwise journeys are rebuilt per customer with the inactivity ``gap``.  Either way a
        conversion ends the journey and the next event starts a new one (suffix ``#2``, ``#3``...).
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
    t = ident(time_col)
    where = [f"{t} IS NOT NULL", f"{ident(step_col)} IS NOT NULL", f"{ident(customer_col)} IS NOT NULL"]
    for bound, op in ((start, ">="), (end, "<")):
        if bound is not None:
            where.append(f"CAST({t} AS TIMESTAMP) {op} TIMESTAMP "
                         f"{literal(_instant(bound, 'Time bound').isoformat(sep=' '))}")
    spec = EventSpec(source=src, key=ident(journey_col) if explicit else ident(customer_col),
                     customer=ident(customer_col), time=t, step=ident(step_col), where=tuple(where),
                     conversion=conversion, gap_us=int(gap_td / pd.Timedelta(microseconds=1)), explicit=explicit)
    n_e, last, no_id = eng.fetchall(f"SELECT count(*), max(ts), count(*) - count(jkey) "
                                    f"FROM ({events_sql(spec)}) e")[0]
    if explicit and no_id:  # ids only where every event has one: else the gap rebuilds every journey
        explicit = False
        spec = replace(spec, key=spec.customer, explicit=False)
    if n_e == 0:
        raise DataContractError(f"No events left to journey-ize in {table!r} (after the time bounds "
                                f"start={start!r}, end={end!r}).", table=table, rule="non-empty table")
    obs_end = _instant(observation_end, "observation_end") if observation_end is not None else pd.Timestamp(last)
    how = f"explicit {journey_col}" if explicit else f"inactivity gap {gap_td}"
    return Journeys(backend=eng, conversion=conversion, gap=gap_td, observation_end=obs_end, n_events=int(n_e),
                    has_times=True, source=f"events ({how}; conversion {conversion!r})", spec=spec)


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
    return Journeys(backend=eng, conversion=conversion, gap=None, observation_end=None, n_events=int(n_e),
                    has_times=False, source="path counts",
                    _built={"table": out, "journeys": out, "n_journeys": int(n_j)})


def as_journeys(data: Any, **kwargs: Any) -> Journeys:
    """``data`` itself if it is already :class:`Journeys`, else :func:`journeyize` ``(data, **kwargs)``."""
    if isinstance(data, Journeys):
        return data
    return journeyize(data, **kwargs)


# --------------------------------------------------------------------------------------------------------------
# The same journeys in pandas, for event frames already in memory (the metrics, the scorecard, the alerts)

#: Columns of :func:`journey_frame`, in order (before its ``first`` and ``reached_*`` columns).
JOURNEY_FRAME_COLUMNS = ("journey_id", "customer_id", "started_at", "ended_at", "n_events", "converted", "outcome")
#: The outcomes that are known: a conversion rate counts these journeys (:func:`conversion_counts`).
KNOWN_OUTCOMES = ("conversion", "abandonment")


def _to_us(ns: np.ndarray) -> np.ndarray:
    """Nanoseconds (int64) rounded to whole microseconds, halves away from zero (DuckDB's ``CAST`` of a
    ``TIMESTAMP_NS`` to ``TIMESTAMP``, which is how the SQL path reads pandas times)."""
    return np.sign(ns) * ((np.abs(ns) + 500) // 1000) * 1000


def _utc_us(values: pd.Series) -> pd.Series:
    """Timestamps as naive UTC at microsecond precision, as the SQL path reads them (NaT kept)."""
    ts = pd.to_datetime(values)
    if getattr(ts.dt, "tz", None) is not None:
        ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    ts = ts.astype("datetime64[ns]")
    ns = ts.to_numpy().astype("int64")
    return pd.Series(np.where(ts.isna().to_numpy(), ns, _to_us(ns)).astype("datetime64[ns]"), index=ts.index)


def _instant(value: Any, what: str) -> pd.Timestamp:
    """A time bound or end of observation as both paths read it: naive UTC, whole microseconds."""
    try:
        ts = _utc_us(pd.Series([value], dtype=object)).iloc[0]
    except (ValueError, TypeError, OverflowError):
        ts = pd.NaT
    if pd.isna(ts):
        raise ParameterError(f"{what} {value!r} is not a timestamp (use 'YYYY-MM-DD').")
    return ts


def journey_frame(events: pd.DataFrame, *, customer_col: str = "customer_id", time_col: str = "timestamp",
                  step_col: str = "touchpoint", journey_col: str | None = "journey_id",
                  gap: str | pd.Timedelta = DEFAULT_GAP, conversion: str = "purchase", start: Any = None,
                  end: Any = None, observation_end: Any = None, first: tuple[str, ...] | list[str] = (),
                  reached: tuple[str, ...] | list[str] = ()) -> pd.DataFrame:
    """The journeys of :func:`journeyize`, cut in pandas from an event frame in memory: one row per journey.

    Same parameters, same rules and the same journeys as :func:`journeyize` (tested against it and
    against :func:`cxlib.journey.scale.journey_tables`): events need a customer, a time and a
    touchpoint and ``start <= time < end``; times are read as UTC at microsecond precision (rounded
    as DuckDB reads them); a key's events are ordered by time, ties with the conversion last, then
    by touchpoint.

    Parameters
    ----------
    events : DataFrame
        Events with at least ``customer_col``, ``time_col``, ``step_col``.
    first : sequence of str
        Event columns whose value at each journey's first event is kept (e.g. the entry
        ``touchpoint`` and ``channel``, a segment column).
    reached : sequence of str
        Touchpoints to flag: a boolean column ``reached_<touchpoint>`` per name, True when the
        journey has that touchpoint (before its conversion, which ends it).
    customer_col, time_col, step_col, journey_col, gap, conversion, start, end, observation_end
        As :func:`journeyize`.

    Returns
    -------
    DataFrame
        :data:`JOURNEY_FRAME_COLUMNS` (``journey_id`` as in :meth:`Journeys.to_frame`), then the
        ``first`` columns and the ``reached_*`` columns; ordered by start and id.  No row when no
        event is left (unlike :func:`journeyize`, which raises).

    Raises
    ------
    DataContractError
        A required or ``first`` column is missing.
    ParameterError
        A bad gap or time, or a ``first`` column that clashes with an output column.

    Examples
    --------
    >>> ev = pd.DataFrame({"customer_id": ["c7"] * 4 + ["c9"], "journey_id": ["J1", "J1", "J1", "J1", "J2"],
    ...     "touchpoint": ["cart", "purchase", "search", "homepage", "cart"],
    ...     "timestamp": pd.date_range("2025-03-01 09:00", periods=5, freq="20min")})
    >>> jf = journey_frame(ev, reached=["cart"], observation_end="2025-03-02")
    >>> jf[["journey_id", "n_events", "outcome", "reached_cart"]].values.tolist()
    [['J1', 2, 'conversion', True], ['J1#2', 2, 'abandonment', False], ['J2', 1, 'abandonment', True]]
    """
    gap_td = _timedelta(gap, "gap")
    first, reached = list(first), list(reached)
    missing = [c for c in (customer_col, time_col, step_col, *first) if c not in events.columns]
    if missing:
        raise DataContractError(f"Events are missing column(s) {missing}; found {list(events.columns)}.",
                                table="events", column=missing[0], rule="required column")
    clash = [c for c in first if c in (*JOURNEY_FRAME_COLUMNS, *(f"reached_{s}" for s in reached))]
    if clash:
        raise ParameterError(f"first={first!r}: {clash} would overwrite output column(s) of the journey frame.")
    ts = _utc_us(events[time_col])
    keep = (ts.notna() & events[step_col].notna() & events[customer_col].notna()).to_numpy()
    if start is not None:
        keep &= (ts >= _instant(start, "Time bound")).to_numpy()
    if end is not None:
        keep &= (ts < _instant(end, "Time bound")).to_numpy()
    ev = events.iloc[np.flatnonzero(keep)]
    explicit = journey_col is not None and journey_col in events.columns and bool(ev[journey_col].notna().all())
    cust = ev[customer_col].astype(str).to_numpy(dtype=object)
    key = ev[journey_col].astype(str).to_numpy(dtype=object) if explicit else cust
    tp = ev[step_col].astype(str).to_numpy(dtype=object)
    t = ts.to_numpy(dtype="datetime64[ns]")[keep].astype("int64")
    order, starts, k = _cut(key, tp, t, tp == conversion, None if explicit else gap_td)
    cust, key, tp, t = cust[order], key[order], tp[order], t[order]
    ends = np.r_[starts[1:], len(order)] - 1 if len(starts) else starts
    if explicit:
        ids = [s if i == 1 else f"{s}#{i}" for s, i in zip(key[starts], k)]
        codes, labels = pd.factorize(cust, sort=True)  # codes ordered as the labels: min(customer) per journey
        customer = np.asarray(labels, dtype=object)[np.minimum.reduceat(codes, starts)] if len(starts) else cust
    else:
        ids = [f"{s}:{i}" for s, i in zip(key[starts], k)]
        customer = cust[starts]
    converted = np.logical_or.reduceat(tp == conversion, starts) if len(starts) else np.zeros(0, bool)
    end_of_data = _instant(observation_end, "observation_end").value if observation_end is not None else (
        int(t.max()) if len(t) else 0)
    still_open = (end_of_data - t[ends]) // 1000 < int(gap_td / pd.Timedelta(microseconds=1))
    out = pd.DataFrame({
        "journey_id": pd.Series(ids, dtype=object), "customer_id": customer,
        "started_at": pd.to_datetime(t[starts]), "ended_at": pd.to_datetime(t[ends]),
        "n_events": (ends - starts + 1).astype("int64"), "converted": converted.astype(bool),
        "outcome": np.where(converted, "conversion", np.where(still_open, "censored", "abandonment")).astype(object)})
    for c in first:
        out[c] = ev[c].to_numpy()[order][starts]
    for s in reached:
        out[f"reached_{s}"] = np.logical_or.reduceat(tp == s, starts) if len(starts) else np.zeros(0, bool)
    return out.sort_values(["started_at", "journey_id"], kind="stable", ignore_index=True)


def _cut(key: np.ndarray, tp: np.ndarray, t: np.ndarray, conv: np.ndarray,
         gap: pd.Timedelta | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(order, starts, k)``: the events' journey order, where each journey starts in it, and each journey's number.

    The rules of :func:`cxlib.journey.sql.window_sql`: events ordered by key, time (``t``, int64 ns),
    the conversion last among ties, then touchpoint; a journey starts at a key's first event, after a
    conversion, and (``gap`` given: no explicit ids) after more than ``gap`` (in whole microseconds)
    without events.  ``k`` numbers the journeys of each key from 1.
    """
    key_code = pd.factorize(key, sort=True)[0]
    order = np.lexsort((pd.factorize(tp, sort=True)[0], conv, t, key_code))
    if not len(order):
        return order, order, order
    key_code, t, conv = key_code[order], t[order], conv[order]
    new_key = np.r_[True, key_code[1:] != key_code[:-1]]
    starts_j = new_key | np.r_[False, conv[:-1]]
    if gap is not None:
        starts_j |= np.r_[False, np.diff(t) > int(gap / pd.Timedelta(microseconds=1)) * 1000]
    starts = np.flatnonzero(starts_j)
    first_of_key = np.maximum.accumulate(np.where(new_key[starts], np.arange(len(starts)), 0))
    return order, starts, np.arange(len(starts)) - first_of_key + 1


def conversion_counts(counts: Mapping[str, int]) -> tuple[int, int, int]:
    """The one definition of journey conversion: ``(conversions, journeys with a known outcome, open journeys)``.

    The conversion rate is ``conversions / known``: journeys ending in a conversion over the
    journeys whose outcome is known (converted or abandoned).  Journeys still open at the end of
    the period (``censored``: no conversion and their last event within ``gap`` of the end of
    observation) are neither conversions nor failures and are left out of both counts: counting
    them as failures would bias the rate down, and most at the end of a period, where the journeys
    that have not yet had the time to convert are.  The scorecard, the metric trends, the dashboard
    alerts and the journeys section all count with this function.

    Parameters
    ----------
    counts : mapping of outcome to number of journeys
        Keys among :data:`OUTCOMES` (missing ones count 0): ``frame["outcome"].value_counts()`` of
        :func:`journey_frame`, or ``Journeys.outcomes().set_index("outcome")["journeys"]``.

    Raises
    ------
    ParameterError
        A key that is not an outcome.

    Examples
    --------
    >>> conversion_counts(pd.Series(["conversion", "abandonment", "censored", "abandonment"]).value_counts())
    (1, 3, 1)
    >>> conversion_counts({"conversion": 5, "abandonment": 15, "censored": 2})
    (5, 20, 2)
    """
    unknown = sorted(str(k) for k in set(counts.keys()) - set(OUTCOMES))
    if unknown:
        raise ParameterError(f"Unknown journey outcome(s) {unknown}; the outcomes are {list(OUTCOMES)}.")
    c, a, o = (int(counts.get(name, 0)) for name in OUTCOMES)
    return c, c + a, o
