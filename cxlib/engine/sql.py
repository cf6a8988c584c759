"""SQL text helpers shared by every query of the workbook: quoting, common table expressions, durations.

The analyses build their SQL as text (the journey SQL in :mod:`cxlib.journey.sql`, the RFM summary
in :mod:`cxlib.clv.scale`, the metric panels in :mod:`cxlib.evaluation.scale`) and run it through a
:class:`cxlib.engine.Backend`.  Identifiers and literals that reach SQL are quoted with
:func:`ident` and :func:`literal`; nothing a user passes is pasted raw into a query.  The text is
DuckDB's dialect in constructs :func:`cxlib.engine.dialect.to_spark` carries to Spark unchanged in
meaning.
"""
from __future__ import annotations

from typing import Any

from ..errors import ParameterError

__all__ = ["ident", "literal", "with_ctes", "seconds_sql"]


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


def with_ctes(ctes: list[tuple[str, str]], query: str) -> str:
    """Prefix ``query`` with common table expressions ``(name, sql)``, merging with its own ``WITH``.

    >>> with_ctes([("a", "SELECT 1 AS x")], "WITH b AS (SELECT 2) SELECT * FROM a")
    'WITH a AS (SELECT 1 AS x), b AS (SELECT 2) SELECT * FROM a'
    """
    if not ctes:
        return query
    head = ", ".join(f"{name} AS ({sql})" for name, sql in ctes)
    q = query.lstrip()
    if q[:5].upper() == "WITH ":
        return f"WITH {head}, {q[5:]}"
    return f"WITH {head} {q}"


def seconds_sql(start: str, end: str) -> str:
    """SQL of the seconds from ``start`` to ``end`` (timestamps, ``end >= start``), as a DOUBLE.

    Whole days times 86400 plus the rest in microseconds over 1e6: the same double, bit for bit,
    as DuckDB's ``epoch(end - start)`` (a plain microseconds / 1e6 differs in the last bit for
    about 2% of sub-second differences), written with the portable ``date_diff``.

    >>> import duckdb
    >>> a, b = "TIMESTAMP '2025-01-01 00:00:00.123457'", "TIMESTAMP '2025-03-05 10:00:07.3'"
    >>> duckdb.sql(f"SELECT {seconds_sql(a, b)} = epoch({b} - {a})").fetchall()
    [(True,)]
    """
    us = f"date_diff('microsecond', {start}, {end})"
    return f"(({us} // 86400000000) * 86400 + ({us} % 86400000000) / 1e6)"
