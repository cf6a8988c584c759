"""Where the journey SQL runs: one small engine over a DuckDB connection or relation.

Every aggregation of :mod:`cxlib.journey` is a DuckDB query, so an event log
of tens of millions of rows is scanned by DuckDB (in parallel, spilling to
disk when needed) and only the aggregated answer becomes a pandas frame.

Events can come as

* a pandas DataFrame (registered as a view, not copied),
* a DuckDB connection plus a table or view name (``Dataset.connection()``
  gives one view per table reading the Parquet files directly),
* a DuckDB relation (its SQL runs inside the relation's own connection),
* a :class:`cxlib.data.Dataset` (its ``events`` view).

Identifiers and literals that reach SQL are quoted with :func:`ident` and
:func:`literal`; nothing a user passes is pasted raw into a query.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd

from ..errors import DataContractError, ParameterError

__all__ = ["Engine", "resolve_source", "ident", "literal"]

_counter = itertools.count(1)

#: Name under which a relation input is visible to its own queries.
ANCHOR = "cx_src"


def ident(name: str) -> str:
    """Quote an SQL identifier.

    >>> ident('time"stamp')
    '"time""stamp"'
    """
    if not isinstance(name, str) or not name:
        raise ParameterError(f"Column or table name {name!r} must be a non-empty string.")
    return '"' + name.replace('"', '""') + '"'


def literal(value: Any) -> str:
    """Quote a string (or pass a number) as an SQL literal.

    >>> literal("it's")
    "'it''s'"
    """
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


@dataclass(frozen=True, eq=False)
class Engine:
    """Runs SQL on a DuckDB connection, or inside the connection of a relation.

    Exactly one of ``con`` and ``anchor`` is set.  With a relation anchor the
    relation itself is visible to every query under the name :data:`ANCHOR`.
    """

    con: duckdb.DuckDBPyConnection | None = None
    anchor: duckdb.DuckDBPyRelation | None = None

    def relation(self, sql: str) -> duckdb.DuckDBPyRelation:
        """The lazy relation of a SELECT query."""
        if self.con is not None:
            return self.con.sql(sql)
        return self.anchor.query(ANCHOR, sql)

    def df(self, sql: str) -> pd.DataFrame:
        """Run a SELECT query and return its (small, aggregated) answer as pandas."""
        return self.relation(sql).df()

    def fetchall(self, sql: str) -> list[tuple]:
        return self.relation(sql).fetchall()

    def execute(self, sql: str) -> None:
        """Run a statement (CREATE, DROP...) for its effect."""
        if self.con is not None:
            self.con.execute(sql)
        else:
            self.anchor.query(ANCHOR, sql)

    def temp_name(self, prefix: str) -> str:
        """A fresh name for a temporary table of this process."""
        return f"cx_{prefix}_{next(_counter)}"

    def register(self, frame: pd.DataFrame, prefix: str = "frame") -> str:
        """Make a pandas frame queryable under a fresh temporary name; return the name."""
        name = self.temp_name(prefix)
        if self.con is not None:
            self.con.register(name, frame)
        else:
            cx_frame = frame  # noqa: F841 - found by DuckDB's replacement scan
            self.anchor.query(ANCHOR, f"CREATE TEMP TABLE {name} AS SELECT * FROM cx_frame")
        return name

    def columns(self, source: str) -> list[str]:
        """Column names of a table, view or query."""
        return list(self.relation(f"SELECT * FROM {source} LIMIT 0").columns)


def resolve_source(data: Any, *, table: str = "events") -> tuple[Engine, str]:
    """Turn any accepted input into ``(engine, from_clause)``.

    Parameters
    ----------
    data : DataFrame, duckdb connection, duckdb relation or Dataset
        Where the rows are.
    table : str
        Table or view name when ``data`` is a connection or a Dataset.

    >>> eng, src = resolve_source(pd.DataFrame({"a": [1, 2]}))
    >>> eng.fetchall(f"SELECT sum(a) FROM {src}")
    [(3,)]
    """
    if isinstance(data, pd.DataFrame):
        con = duckdb.connect()
        eng = Engine(con=con)
        return eng, eng.register(data, "input")
    if isinstance(data, duckdb.DuckDBPyConnection):
        eng = Engine(con=data)
        try:
            eng.columns(ident(table))
        except duckdb.Error as exc:
            raise DataContractError(f"The DuckDB connection has no table or view {table!r} "
                                    f"({str(exc).splitlines()[0]}). Pass table=... naming the events table.",
                                    table=table, rule="table present") from None
        return eng, ident(table)
    if isinstance(data, duckdb.DuckDBPyRelation):
        return Engine(anchor=data), ANCHOR
    if hasattr(data, "connection") and hasattr(data, "files"):  # cxlib.data.Dataset
        if table not in data.files:
            raise DataContractError(f"The dataset at {data.path} has no {table!r} table; it has {sorted(data.files)}.",
                                    table=table, rule="table present")
        return resolve_source(data.connection(), table=table)
    raise ParameterError(f"Cannot read events from a {type(data).__name__}; pass a pandas DataFrame, a DuckDB "
                         "connection (with table=...), a DuckDB relation or a cxlib.data.Dataset.")


def median_with_ci(engine: Engine, values_sql: str, groups: list[str], alpha: float = 0.05) -> pd.DataFrame:
    """Per-group ``n``, median and distribution-free median CI of column ``x`` of ``values_sql``.

    ``values_sql`` is a SELECT giving the ``groups`` columns and a numeric ``x`` (NULLs dropped).
    The interval takes the order statistics of :func:`cxlib.journey._stats.median_rank_bounds`
    (binomial ranks, coverage >= 1 - alpha); it is NaN where n is too small.  Two scans, both in
    DuckDB: one for n and the median, one ranking values within groups.

    Returns columns ``*groups, n, median, ci_lower, ci_upper``.
    """
    from ._stats import median_rank_bounds

    g = ", ".join(ident(c) for c in groups)
    sel = f"{g}, " if groups else ""
    first = engine.df(f"SELECT {sel}count(*)::BIGINT AS n, median(x)::DOUBLE AS median FROM ({values_sql}) v "
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
    name = engine.register(ranks, "ranks")
    part = f"PARTITION BY {g} " if groups else ""
    join = f"JOIN {name} USING ({g})" if groups else f"CROSS JOIN {name}"
    picked = engine.df(f"""
SELECT {sel}max(CASE WHEN r = l THEN x END)::DOUBLE AS ci_lower, max(CASE WHEN r = u THEN x END)::DOUBLE AS ci_upper
FROM (SELECT *, row_number() OVER ({part}ORDER BY x) AS r FROM ({values_sql}) v WHERE x IS NOT NULL) s {join}
WHERE r = l OR r = u""" + (f" GROUP BY {g}" if groups else ""))
    first = first.drop(columns=["ci_lower", "ci_upper"])
    if groups:
        return first.merge(picked, on=list(groups), how="left")
    return pd.concat([first, picked], axis=1)
