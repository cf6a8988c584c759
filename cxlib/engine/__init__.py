"""The heavy aggregations, written once as SQL, run on DuckDB (default) or Apache Spark.

Choose the engine by configuration -- ``engine=`` argument, else ``$CX_ENGINE``, else ``"duckdb"``
-- and get the same pandas frames back from either:

* :func:`connect` -- a :class:`Backend` holding the contract tables of a data folder (local or, on
  Spark, object storage), a :class:`cxlib.data.Dataset` or a dict of frames;
* :mod:`~cxlib.engine.journeys` -- journeys, directly-follows graph, path variants, ordered funnel
  counts, first-order transition counts (the definitions of :mod:`cxlib.journey`);
* :mod:`~cxlib.engine.rfm` -- RFM summaries (:func:`cxlib.clv.rfm.rfm_summary`);
* :mod:`~cxlib.engine.panel` -- store x period metric panels (:func:`cxlib.evaluation.build_panel`)
  and the sufficient statistics of NPS, CSAT, tickets and purchases by store and period;
* :mod:`~cxlib.engine.dialect` -- the DuckDB-to-Spark translation (sqlglot plus a shim).

Only compressed answers leave the engine; model fitting and intervals run locally on them.
See ``docs/spark.md``.  Importing the package starts no engine and imports no PySpark.
"""
from __future__ import annotations

from .backends import (
    ENGINE_ENV,
    ENGINES,
    MASTER_ENV,
    Backend,
    DuckDBBackend,
    EngineUnavailableError,
    SparkBackend,
    connect,
    resolve_engine,
    spark_session,
)
from .dialect import to_spark
from .journeys import (
    EngineJourneys,
    directly_follows,
    funnel_counts,
    journeyize,
    path_variants,
    transition_counts,
)
from .panel import metric_panel, unit_period_summary
from .rfm import rfm_summary

__all__ = ["Backend", "DuckDBBackend", "SparkBackend", "EngineUnavailableError", "ENGINES", "ENGINE_ENV",
           "MASTER_ENV", "connect", "resolve_engine", "spark_session", "to_spark", "EngineJourneys", "journeyize",
           "directly_follows", "path_variants", "funnel_counts", "transition_counts", "rfm_summary",
           "metric_panel", "unit_period_summary"]
