"""Where the workbook's SQL runs: one backend abstraction over DuckDB (default) or Apache Spark.

Choose the engine by configuration -- ``engine=`` argument, else ``$CX_ENGINE``, else ``"duckdb"``
-- and get the same pandas frames back from either:

* :mod:`~cxlib.engine.backends` -- :func:`connect` gives a :class:`Backend` holding the contract
  tables of a data folder (local or, on Spark, object storage), a :class:`cxlib.data.Dataset` or a
  dict of frames; :func:`duckdb_backend` a :class:`DuckDBBackend` over a DuckDB connection,
  relation or Dataset where it already is;
* :mod:`~cxlib.engine.sql` -- the SQL text helpers every query uses (:func:`~cxlib.engine.sql.ident`,
  :func:`~cxlib.engine.sql.literal`, ...);
* :mod:`~cxlib.engine.dialect` -- the DuckDB-to-Spark translation (sqlglot plus a shim).

The engine is the layer below the analyses: it knows SQL, not journeys or panels.  The analyses'
SQL runs through it -- :mod:`cxlib.journey` on a :class:`DuckDBBackend`, and the scale path on
either engine: :mod:`cxlib.journey.scale` (journeys, directly-follows graph, path variants, funnel
and transition counts), :mod:`cxlib.clv.scale` (RFM summaries) and :mod:`cxlib.evaluation.scale`
(store x period metric panels).  Only compressed answers leave the engine; model fitting and
intervals run locally on them.  See ``docs/spark.md``.  Importing the package starts no engine and
imports no PySpark.
"""
from __future__ import annotations

from typing import Any

from .._deprecation import moved_names
from .backends import (
    ANCHOR,
    ENGINE_ENV,
    ENGINES,
    MASTER_ENV,
    Backend,
    DuckDBBackend,
    EngineUnavailableError,
    SparkBackend,
    connect,
    duckdb_backend,
    resolve_engine,
    spark_session,
)
from .dialect import to_spark

__all__ = ["Backend", "DuckDBBackend", "SparkBackend", "EngineUnavailableError", "ENGINES", "ENGINE_ENV",
           "MASTER_ENV", "ANCHOR", "connect", "duckdb_backend", "resolve_engine", "spark_session", "to_spark"]

#: Aggregations that moved to the analyses they belong to (deprecated here for one release):
#: new module -> {old name: new name}.
_MOVED = {
    "cxlib.journey.scale": {"EngineJourneys": "EngineJourneys", "journeyize": "journey_tables",
                            "directly_follows": "directly_follows_table", "path_variants": "path_variants",
                            "funnel_counts": "funnel_counts", "transition_counts": "transition_counts"},
    "cxlib.clv.scale": {"rfm_summary": "rfm_summary_table"},
    "cxlib.evaluation.scale": {"metric_panel": "metric_panel", "unit_period_summary": "unit_period_summary"},
}
_FORWARD = {old: moved_names(__name__, module, {old: new}) for module, names in _MOVED.items()
            for old, new in names.items()}


def __getattr__(name: str) -> Any:
    if name in _FORWARD:
        return _FORWARD[name](name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
