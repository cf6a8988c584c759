"""DuckDB SQL to Spark SQL: sqlglot's transpiler plus a small shim for what it leaves behind.

The workbook's aggregations are written once, in DuckDB's dialect, restricted to constructs both
engines evaluate identically (window functions, ``FILTER`` clauses, ``arg_min``/``arg_max``,
struct lists sorted and transformed with lambdas).  sqlglot (Mao 2021-, MIT) parses that text and
writes Spark SQL; :func:`to_spark` then rewrites the few functions it passes through unchanged or
maps to a Spark function with other semantics:

===========================  ==========================================  ===========================
DuckDB                       sqlglot alone                               after the shim
===========================  ==========================================  ===========================
``epoch_us(ts)``             ``EPOCH_US(ts)`` (no such Spark function)   ``UNIX_MICROS(CAST(ts AS
                                                                         TIMESTAMP_LTZ))``
``quantile_cont(x, q)``      ``PERCENTILE_CONT(x, q)`` (Spark wants       ``PERCENTILE(x, q)`` (exact,
                             ``WITHIN GROUP``)                           linear interpolation)
``epoch(ts)``                ``UNIX_TIMESTAMP(ts)`` (whole seconds)      refused: use ``epoch_us``
``len(list)``                ``LENGTH(list)`` (strings only in Spark)    not caught: write
                                                                         ``array_length(list)``
===========================  ==========================================  ===========================

Spark's session time zone must be UTC (the workbook's timestamps are UTC without offset);
:func:`cxlib.engine.spark_session` sets it.
"""
from __future__ import annotations

from functools import lru_cache

from ..errors import EngineUnavailableError, ParameterError

__all__ = ["to_spark"]


def _sqlglot():
    try:
        import sqlglot
        from sqlglot import exp
    except ImportError:  # pragma: no cover - sqlglot ships with the spark extra
        raise EngineUnavailableError("Running the workbook's SQL on Spark needs sqlglot (the SQL transpiler); "
                                     "install the spark extra: pip install 'cxlib[spark]'.") from None
    return sqlglot, exp


def _shim(node, exp):
    """Rewrite one AST node (see the module table); return the node itself when nothing applies."""
    if isinstance(node, exp.Anonymous) and node.name.upper() == "EPOCH_US":
        arg = node.expressions[0]
        return exp.Anonymous(this="UNIX_MICROS",
                             expressions=[exp.Cast(this=arg, to=exp.DataType.build("TIMESTAMPLTZ"))])
    if isinstance(node, exp.PercentileCont) and node.expression is not None:
        return exp.Anonymous(this="PERCENTILE", expressions=[node.this, node.expression])
    if isinstance(node, exp.TimeToUnix):
        raise ParameterError("epoch(ts) becomes whole seconds on Spark; write epoch_us(ts) (microseconds) in "
                             "portable SQL.")
    return node


@lru_cache(maxsize=256)
def to_spark(sql: str) -> str:
    """Translate one DuckDB-dialect statement into Spark SQL.

    Parameters
    ----------
    sql : str
        A single statement in DuckDB's dialect, written with the portable constructs listed in
        this module's docstring.

    Returns
    -------
    str
        Spark SQL text.

    Raises
    ------
    ParameterError
        The text uses a construct whose Spark translation would change its result.

    Examples
    --------
    >>> to_spark("SELECT quantile_cont(dt, 0.25) AS q, arg_min(tp, r) AS f FROM ev")
    'SELECT PERCENTILE(dt, 0.25) AS q, MIN_BY(tp, r) AS f FROM ev'
    >>> to_spark("SELECT epoch_us(ts) AS us FROM ev")
    'SELECT UNIX_MICROS(CAST(ts AS TIMESTAMP_LTZ)) AS us FROM ev'
    """
    sqlglot, exp = _sqlglot()
    tree = sqlglot.parse_one(sql, read="duckdb")
    tree = tree.transform(lambda node: _shim(node, exp))
    return tree.sql(dialect="spark")
