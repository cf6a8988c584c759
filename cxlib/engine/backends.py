"""Where the workbook's SQL runs: DuckDB in this process (the default) or an Apache Spark session.

A :class:`Backend` holds the contract tables under their names (``events``, ``transactions``...)
and runs SQL written once in DuckDB's dialect.  :class:`DuckDBBackend` runs it as is;
:class:`SparkBackend` translates it with :func:`cxlib.engine.dialect.to_spark` and runs it in a
``SparkSession`` (local, or the cluster session the user already has).  Both return pandas frames
with the column names and dtypes the query's caller declares, so a result does not say which engine
made it.  This is the one SQL runner of the workbook: :mod:`cxlib.journey` runs its DuckDB-only queries
on a :class:`DuckDBBackend` made by :func:`duckdb_backend` over whatever holds the events.

The engine is chosen by configuration, first match wins: the ``engine=`` argument, the
``CX_ENGINE`` environment variable, else ``"duckdb"``.
"""
from __future__ import annotations

import itertools
import os
import shutil
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import duckdb
import pandas as pd

from ..errors import CxError, DataContractError, EngineUnavailableError, ParameterError, check_choice
from ..schema import TABLES
from .dialect import to_spark

__all__ = ["Backend", "DuckDBBackend", "SparkBackend", "EngineUnavailableError", "ENGINES", "ENGINE_ENV",
           "MASTER_ENV", "ANCHOR", "EngineName", "connect", "duckdb_backend", "resolve_engine", "spark_session",
           "conform"]

EngineName = Literal["duckdb", "spark"]
ENGINES = ("duckdb", "spark")
#: Environment variable naming the engine when no ``engine=`` is given.
ENGINE_ENV = "CX_ENGINE"
#: Environment variable naming the Spark master when the session is created here (default ``local[2]``).
MASTER_ENV = "CX_SPARK_MASTER"
DEFAULT_MASTER = "local[2]"
#: Name under which the relation of a relation-anchored :class:`DuckDBBackend` is visible to its queries.
ANCHOR = "cx_src"
_temp_names = itertools.count(1)

#: Spark settings of a session created here: UTC (timestamps carry no offset), no web UI, few
#: shuffle partitions (the aggregated answers are small), Arrow for the transfer to pandas.
SPARK_DEFAULTS = {"spark.sql.session.timeZone": "UTC", "spark.ui.enabled": "false",
                  "spark.sql.shuffle.partitions": "8", "spark.sql.execution.arrow.pyspark.enabled": "true",
                  "spark.sql.ansi.enabled": "false", "spark.ui.showConsoleProgress": "false"}


def resolve_engine(engine: EngineName | str | None = None) -> str:
    """The engine to use: ``engine`` if given, else ``$CX_ENGINE``, else ``"duckdb"``.

    >>> resolve_engine("spark")
    'spark'
    """
    chosen = engine if engine is not None else (os.environ.get(ENGINE_ENV) or "duckdb")
    return check_choice("engine" if engine is not None else ENGINE_ENV, str(chosen).strip().lower(), ENGINES)


def conform(frame: pd.DataFrame, dtypes: Mapping[str, str] | None) -> pd.DataFrame:
    """Cast ``frame`` to the declared ``{column: dtype}`` (order and names checked), index reset.

    Both engines then hand back the same frame: DuckDB and Spark disagree on integer widths
    (``int32`` from Spark's ``size``), timestamp units (``[us]`` vs ``[ns]``) and nullable integers.

    >>> conform(pd.DataFrame({"n": [1, 2]}, dtype="int32"), {"n": "int64"})["n"].dtype
    dtype('int64')
    """
    frame = frame.reset_index(drop=True)
    if dtypes is None:
        return frame
    if list(frame.columns) != list(dtypes):
        raise CxError(f"Query returned columns {list(frame.columns)}; expected {list(dtypes)}.")
    out = {}
    for col, dtype in dtypes.items():
        s = frame[col]
        if dtype.startswith("datetime64"):
            s = pd.to_datetime(s).astype(dtype)
        elif dtype == "object":
            s = s.astype(object).where(s.notna(), None)
        else:
            s = s.astype(dtype)
        out[col] = s
    return pd.DataFrame(out)


class Backend(ABC):
    """Runs DuckDB-dialect SQL over named tables and returns pandas frames."""

    name: str = ""

    def __init__(self) -> None:
        self.tables: dict[str, str] = {}  # registered name -> where it came from

    def __repr__(self) -> str:
        return f"{type(self).__name__}(tables={sorted(self.tables)})"

    @abstractmethod
    def translate(self, sql: str) -> str:
        """The engine's own SQL for a DuckDB-dialect statement."""

    @abstractmethod
    def _df(self, sql: str) -> pd.DataFrame: ...

    @abstractmethod
    def materialize(self, name: str, sql: str) -> None:
        """Evaluate a SELECT once and keep it queryable as ``name`` (temp table or cached view)."""

    @abstractmethod
    def drop(self, name: str) -> None:
        """Forget a table made by :meth:`materialize`."""

    @abstractmethod
    def register_parquet(self, name: str, path: Path) -> None:
        """Make a Parquet file (or folder of parts) queryable as ``name`` without reading it."""

    @abstractmethod
    def register_frame(self, name: str, frame: pd.DataFrame) -> None:
        """Make a pandas frame queryable as ``name``."""

    def sql(self, query: str, dtypes: Mapping[str, str] | None = None) -> pd.DataFrame:
        """Run a SELECT written in DuckDB's dialect; return pandas with the declared dtypes."""
        return conform(self._df(query), dtypes)

    def columns(self, name: str) -> list[str]:
        """Column names of a table, view or parenthesised query (``name`` as it would follow ``FROM``).

        Call :meth:`require` first for an error that names a missing registered table.
        """
        return list(self._df(f"SELECT * FROM {name} LIMIT 0").columns)

    def temp_name(self, prefix: str) -> str:
        """A fresh name for a temporary table of this process (``cx_<prefix>_<n>``)."""
        return f"cx_{prefix}_{next(_temp_names)}"

    def register(self, frame: pd.DataFrame, prefix: str = "frame") -> str:
        """Make a pandas frame queryable under a fresh temporary name; return the name."""
        name = self.temp_name(prefix)
        self.register_frame(name, frame)
        return name

    def require(self, *names: str) -> None:
        """Raise :class:`DataContractError` naming the first table that is not registered."""
        for name in names:
            if name not in self.tables:
                raise DataContractError(f"The {self.name} engine has no table {name!r}; registered: "
                                        f"{sorted(self.tables)}. Pass a data folder holding {name}.parquet.",
                                        table=name, rule="table present")


class DuckDBBackend(Backend):
    """The default engine: an in-process DuckDB connection (one view per table file), or a relation.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection, optional
        The connection to run on, its own tables and views included (``Dataset.connection()``
        gives one view per table file); default a new in-memory connection.
    anchor : duckdb.DuckDBPyRelation, optional
        Run every statement inside this relation's own connection instead, with the relation
        visible as :data:`ANCHOR` (exclusive with ``con``).

    Besides the portable :meth:`~Backend.sql`, DuckDB's own SQL (ordered list aggregates, list
    lambdas, the fused journey queries of :mod:`cxlib.journey`) runs through :meth:`relation`,
    :meth:`df`, :meth:`fetchall` and :meth:`execute`.

    Examples
    --------
    >>> be = DuckDBBackend()
    >>> name = be.register(pd.DataFrame({"a": [1, 2]}))
    >>> be.fetchall(f"SELECT sum(a) FROM {name}")
    [(3,)]
    """

    name = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection | None = None, *,
                 anchor: duckdb.DuckDBPyRelation | None = None) -> None:
        super().__init__()
        if con is not None and anchor is not None:
            raise ParameterError("DuckDBBackend takes a connection or a relation anchor, not both.")
        self.anchor = anchor
        self.con = con if con is not None or anchor is not None else duckdb.connect()
        if anchor is not None:
            self.tables[ANCHOR] = "relation"

    def translate(self, sql: str) -> str:
        return sql

    def relation(self, sql: str) -> duckdb.DuckDBPyRelation:
        """The lazy DuckDB relation of a SELECT query."""
        if self.anchor is None:
            return self.con.sql(sql)
        return self.anchor.query(ANCHOR, sql)

    def df(self, sql: str) -> pd.DataFrame:
        """Run a SELECT query and return its (small, aggregated) answer as pandas, dtypes as DuckDB gives them."""
        return self.relation(sql).df()

    _df = df

    def fetchall(self, sql: str) -> list[tuple]:
        """Run a SELECT query and return its rows as Python tuples."""
        return self.relation(sql).fetchall()

    def execute(self, sql: str) -> None:
        """Run a statement (CREATE, DROP...) for its effect."""
        if self.anchor is None:
            self.con.execute(sql)
        else:
            self.anchor.query(ANCHOR, sql)

    def materialize(self, name: str, sql: str) -> None:
        self.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")
        self.tables[name] = "materialized"

    def drop(self, name: str) -> None:
        self.execute(f"DROP TABLE IF EXISTS {name}")
        self.tables.pop(name, None)

    def register_parquet(self, name: str, path: Path) -> None:
        pattern = f"{path}/**/*.parquet" if Path(path).is_dir() else str(path)
        self.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet("
                     f"'{pattern.replace(chr(39), chr(39) * 2)}')")
        self.tables[name] = str(path)

    def register_frame(self, name: str, frame: pd.DataFrame) -> None:
        if self.anchor is None:
            self.con.register(name, frame)
        else:
            cx_frame = frame  # noqa: F841 - found by DuckDB's replacement scan
            self.anchor.query(ANCHOR, f"CREATE TEMP TABLE {name} AS SELECT * FROM cx_frame")
        self.tables[name] = "pandas"


def duckdb_backend(data: Any = None) -> DuckDBBackend:
    """A :class:`DuckDBBackend` over ``data`` where it already is (nothing is copied).

    Parameters
    ----------
    data : DuckDBBackend, duckdb connection or relation, Dataset, mapping of DataFrames, or None
        A backend (returned as is); a connection (its tables and views as they are); a relation
        (visible as :data:`ANCHOR`); a :class:`cxlib.data.Dataset` (its
        :meth:`~cxlib.data.Dataset.connection`: one view per table file, lazily held tables
        included); a mapping of table name to DataFrame (each registered under its name); None
        (a new in-memory connection).

    Examples
    --------
    >>> be = duckdb_backend({"units": pd.DataFrame({"unit_id": ["S1", "S2"]})})
    >>> be.fetchall("SELECT count(*) FROM units")
    [(2,)]
    """
    if data is None or isinstance(data, DuckDBBackend):
        return data if data is not None else DuckDBBackend()
    if isinstance(data, duckdb.DuckDBPyConnection):
        return DuckDBBackend(data)
    if isinstance(data, duckdb.DuckDBPyRelation):
        return DuckDBBackend(anchor=data)
    if hasattr(data, "connection") and hasattr(data, "files"):  # cxlib.data.Dataset
        backend = DuckDBBackend(data.connection())
        backend.tables.update({table: str(path) for table, path in data.files.items()})
        return backend
    if isinstance(data, Mapping):
        backend = DuckDBBackend()
        for table, frame in data.items():
            backend.register_frame(table, frame)
        return backend
    raise ParameterError(f"Cannot run DuckDB over a {type(data).__name__}; pass a DuckDB connection or relation, "
                         "a cxlib.data.Dataset or a mapping of table name to DataFrame.")


class SparkBackend(Backend):
    """Apache Spark through PySpark: tables are temporary views, SQL is translated from DuckDB's dialect.

    Parameters
    ----------
    session : pyspark.sql.SparkSession
        A local session (:func:`spark_session`) or the cluster session you already have
        (``SparkSession.getActiveSession()``, Databricks' ``spark``, Databricks Connect).
    """

    name = "spark"

    def __init__(self, session: Any) -> None:
        super().__init__()
        self.session = session
        self._cached: dict[str, Any] = {}

    def translate(self, sql: str) -> str:
        return to_spark(sql)

    def _df(self, sql: str) -> pd.DataFrame:
        return self.session.sql(self.translate(sql)).toPandas()

    def materialize(self, name: str, sql: str) -> None:
        frame = self.session.sql(self.translate(sql)).cache()
        frame.count()  # evaluate once, here, so every later query reads the cached rows
        frame.createOrReplaceTempView(name)
        self._cached[name] = frame
        self.tables[name] = "materialized"

    def drop(self, name: str) -> None:
        frame = self._cached.pop(name, None)
        if frame is not None:
            frame.unpersist()
        self.session.catalog.dropTempView(name)
        self.tables.pop(name, None)

    def register_parquet(self, name: str, path: Path | str) -> None:
        self.session.read.parquet(str(path)).createOrReplaceTempView(name)
        self.tables[name] = str(path)

    def register_frame(self, name: str, frame: pd.DataFrame) -> None:
        self.session.createDataFrame(frame).createOrReplaceTempView(name)
        self.tables[name] = "pandas"


def _java_available() -> bool:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return True
    return shutil.which("java") is not None


def spark_session(*, master: str | None = None, app_name: str = "cxlib",
                  config: Mapping[str, str] | None = None) -> Any:
    """The active SparkSession, or a new one (``local[2]`` unless ``master`` / ``$CX_SPARK_MASTER``).

    An active session (a cluster's, Databricks', one you built) is reused as is, except that its
    SQL time zone is set to UTC.  A new session gets :data:`SPARK_DEFAULTS` plus ``config``.

    Raises
    ------
    EngineUnavailableError
        PySpark is not installed, no Java runtime is found, or the JVM did not start.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise EngineUnavailableError("engine='spark' needs PySpark: pip install 'cxlib[spark]' (PySpark >= 3.5 "
                                     "and sqlglot), or choose engine='duckdb'.") from None
    active = SparkSession.getActiveSession()
    if active is not None and master is None:
        active.conf.set("spark.sql.session.timeZone", "UTC")
        return active
    if not _java_available():
        raise EngineUnavailableError("engine='spark' needs a Java runtime (17 or newer) for a local Spark session, "
                                     "and none was found (no JAVA_HOME, no 'java' on PATH). Install one "
                                     "(apt-get install openjdk-17-jre-headless), or pass an existing session "
                                     "with spark=..., or choose engine='duckdb'.")
    builder = SparkSession.builder.master(master or os.environ.get(MASTER_ENV) or DEFAULT_MASTER).appName(app_name)
    for key, value in {**SPARK_DEFAULTS, **dict(config or {})}.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # py4j raises plain RuntimeError/Exception when the JVM does not come up
        raise EngineUnavailableError(f"The Spark session did not start ({type(exc).__name__}: "
                                     f"{str(exc).splitlines()[0] if str(exc) else ''}). Check JAVA_HOME and "
                                     f"the master URL {master or os.environ.get(MASTER_ENV) or DEFAULT_MASTER!r}."
                                     ) from exc
    session.sparkContext.setLogLevel("ERROR")
    return session


def _table_files(folder: Path, tables: list[str] | None) -> dict[str, Path]:
    names = list(tables) if tables is not None else list(TABLES)
    found = {}
    for name in names:
        single, parts, csv = folder / f"{name}.parquet", folder / name, folder / f"{name}.csv"
        if single.is_file():
            found[name] = single
        elif parts.is_dir() and any(parts.rglob("*.parquet")):
            found[name] = parts
        elif csv.is_file():
            raise DataContractError(f"{csv} is CSV; the engines read Parquet only. Convert it (for example "
                                    f"duckdb -c \"COPY (FROM '{csv}') TO '{single}'\").", table=name,
                                    rule="parquet file")
        elif tables is not None:
            raise DataContractError(f"No {name}.parquet (or folder {name}/ of parts) in {folder}.", table=name,
                                    rule="table present")
    return found


def connect(data: Any = None, *, engine: EngineName | None = None, spark: Any = None, master: str | None = None,
            tables: list[str] | None = None) -> Backend:
    """A backend holding the contract tables of ``data`` on the chosen engine.

    Parameters
    ----------
    data : path, Dataset, mapping of DataFrames or None
        A data folder (``<table>.parquet`` or ``<table>/`` of parts; a local path, or for Spark any
        URI its Hadoop file system reads, such as ``s3a://bucket/cx/2025q4``), a
        :class:`cxlib.data.Dataset` (its files), a mapping of table name to DataFrame (small data,
        tests), or None (register tables later).
    engine : {"duckdb", "spark"}, optional
        Default ``$CX_ENGINE``, else ``"duckdb"``.
    spark : SparkSession, optional
        The session to run on (a cluster's); default the active session, else a local one.
    master : str, optional
        Master URL of a new session (``local[4]``, ``spark://host:7077``); default ``$CX_SPARK_MASTER``
        or ``local[2]``.
    tables : list of str, optional
        Tables to register (default every contract table found; listed ones must exist).

    Returns
    -------
    Backend

    Examples
    --------
    >>> be = connect({"units": pd.DataFrame({"unit_id": ["S1", "S2"]})}, engine="duckdb")
    >>> be.sql("SELECT count(*) AS n FROM units", {"n": "int64"})["n"].tolist()
    [2]
    """
    name = resolve_engine(engine)
    if name == "duckdb":
        if spark is not None:
            raise ParameterError("spark=... was given but the engine is 'duckdb'; pass engine='spark'.")
        backend: Backend = DuckDBBackend()
    else:
        backend = SparkBackend(spark if spark is not None else spark_session(master=master))
    if data is None:
        return backend
    if isinstance(data, Mapping):
        for table, frame in data.items():
            if tables is None or table in tables:
                backend.register_frame(table, frame)
        return backend
    files = getattr(data, "files", None)
    if files is not None:  # cxlib.data.Dataset
        in_place = getattr(data, "reads_in_place", lambda table: True)
        for table, path in files.items():
            if tables is None or table in tables:
                if not in_place(table):
                    backend.register_frame(table, data.frame(table))  # CSV or mapped columns: the typed frame
                    continue
                backend.register_parquet(table, Path(path))
        return backend
    text = str(data)
    if "://" in text and name == "spark":  # object storage: Spark lists it, we cannot
        for table in (tables or list(TABLES)):
            try:
                backend.register_parquet(table, f"{text.rstrip('/')}/{table}.parquet")
            except Exception:  # noqa: BLE001 - Spark's AnalysisException for a missing path
                if tables is not None:
                    raise
        return backend
    folder = Path(data)
    if not folder.is_dir():
        raise DataContractError(f"Data folder {folder} does not exist.", rule="folder present")
    for table, path in _table_files(folder, tables).items():
        backend.register_parquet(table, path)
    return backend
