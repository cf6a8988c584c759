"""Loading and validating a folder of CX tables: your own exports or the synthetic world.

``load(folder)`` reads one file per table -- ``<table>.parquet``, a folder ``<table>/`` of Parquet
parts, ``<table>.csv``, or the files and columns the folder's mapping file ``cx.yml`` names
(:mod:`cxlib.data.mapping`) -- parses every column to the kind the contract (:mod:`cxlib.schema`)
gives it (:mod:`cxlib.data.parse`: CSV and Parquet give identical frames), validates every rule
(:mod:`cxlib.data.validate`: pandera plus vocabularies, orderings and foreign keys), and returns a
frozen :class:`Dataset` carrying the data's :class:`DataSettings` (currency, time zone, conversion
touchpoint, funnel steps, segment columns).  Any failure raises one
:class:`~cxlib.errors.DataContractError` naming the table, the column, the rule and the first
offending rows, before any analysis runs.  ``cx init DATA`` proposes a ``cx.yml``
(:func:`cxlib.data.guess.propose_mapping`).

Heavy aggregations run as SQL on :meth:`Dataset.connection`, whose views read Parquet files directly,
so they work on data larger than memory; tables that need parsing (CSV, renamed or text-typed
columns) are registered there as their typed frames, so SQL sees the contract's names and types.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import duckdb
import pandas as pd

from ..display import displayable
from ..errors import DataContractError
from ..hashing import sha256_file
from ..periods import data_span
from ..schema import TABLES
from .files import column_names, file_kind, filter_rows, find_table_file, is_native, read_table, reader_sql, table_file
from .mapping import MAPPING_FILE, DataSettings, FolderMapping, ReadOptions, TableSource, read_mapping
from .parse import SAMPLE_ROWS, TEXT_DTYPE, _coerce  # noqa: F401  (_coerce: the per-column parser, for tests)
from .validate import pandera_schema, validate_tables

__all__ = ["Dataset", "DataSettings", "FolderMapping", "ReadOptions", "TableSource", "MAPPING_FILE", "load",
           "read_table", "read_mapping", "validate_tables", "pandera_schema", "find_table_file", "TEXT_DTYPE",
           "VALIDATED_ENV", "filter_rows", "write_validation_stamp", "contract_digest", "ACTIVITY_TABLES", "table_columns",
           "folder_span",
           "SAMPLE_ROWS"]

#: Tables whose time columns make the data's span (:attr:`Dataset.span`): what customers did.
ACTIVITY_TABLES = ("events", "transactions", "survey_responses", "tickets")


def _display_fields(ds: Dataset) -> dict[str, Any]:
    """What a Dataset shows in a notebook above its table list: never a row of data."""
    try:
        first, last = ds.span
    except DataContractError:
        first = last = None
    return {"path": ds.path, "tables": len(ds.validation), "first": first, "last": last,
            "status": ", ".join(sorted(set(map(str, ds.validation["status"])))) if len(ds.validation) else "",
            "lazy": ds.lazy, "time_zone": ds.settings.time_zone}


@displayable(fields=_display_fields, tables={"tables": lambda ds: ds.validation[
    [c for c in ("table", "format", "rows", "columns", "first", "last", "checks", "status", "repairs")
     if c in ds.validation.columns]]})
@dataclass(frozen=True)
class Dataset:
    """Validated CX tables read from ``path``.

    Attributes
    ----------
    path : Path
        The folder the tables were read from.
    tables : Mapping[str, pandas.DataFrame]
        Table name to validated frame (read-only mapping).
    files : Mapping[str, Path]
        Table name to the file (or folder of parts) it was read from.
    validation : pandas.DataFrame
        One row per table: ``table, file, format, rows, columns, time_column,
        first, last, checks, status, repairs`` (``repairs``: what was converted on
        reading, e.g. time-zone offsets to the data's zone; empty when nothing).
    lazy : frozenset of str
        Tables validated but not held in memory.
    settings : DataSettings
        The data's settings (``cx.yml`` and ``load(settings=...)``), resolved against the data: a
        ``conversion_touchpoint`` left unset is ``"purchase"`` when the events hold it, else None.
    mapping : FolderMapping
        The folder's parsed ``cx.yml`` (empty without one).
    """

    path: Path
    tables: Mapping[str, pd.DataFrame]
    files: Mapping[str, Path]
    validation: pd.DataFrame = field(repr=False)
    lazy: frozenset[str] = frozenset()
    settings: DataSettings = field(default_factory=DataSettings)
    mapping: FolderMapping = field(default_factory=FolderMapping, repr=False)

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name in self.lazy:
            raise KeyError(f"Table {name!r} was loaded lazily from {self.path} (validated, not held in memory): "
                           f"query it through ds.connection(), or load it without lazy=[{name!r}].")
        if name not in self.tables:
            raise KeyError(f"Table {name!r} was not loaded from {self.path}; loaded: {sorted(self.tables)}.")
        return self.tables[name]

    def __contains__(self, name: object) -> bool:
        return name in self.tables

    customers = property(lambda self: self["customers"])
    units = property(lambda self: self["units"])
    program_rollout = property(lambda self: self["program_rollout"])
    events = property(lambda self: self["events"])
    transactions = property(lambda self: self["transactions"])
    subscriptions = property(lambda self: self["subscriptions"])
    survey_responses = property(lambda self: self["survey_responses"])
    tickets = property(lambda self: self["tickets"])

    def frame(self, name: str, *, where: str | None = None, params: Sequence[Any] | None = None) -> pd.DataFrame:
        """The rows of table ``name`` for which the SQL condition ``where`` holds, typed as :func:`load` types them.

        The table is named ``name`` inside the condition (``"journey_id IN (SELECT journey_id FROM
        events WHERE timestamp >= ?)"``), ``params`` fill its ``?``. A table held in memory is filtered
        there; a lazy one is read from its file with the condition pushed into DuckDB, so only the
        matching rows reach pandas (on Parquet). Rows keep the file's order either way.
        """
        if name in self.tables:
            frame = self.tables[name]
            return frame if where is None else filter_rows(frame, name, where, params)
        if name not in self.lazy:
            self[name]  # raises, naming what was loaded
        return read_table(self.files[name], name, where=where, params=params, source=self.mapping.source(name),
                          time_zone=self.settings.time_zone)

    def connection(self, *, threads: int | None = None, tables: Iterable[str] | None = None
                   ) -> duckdb.DuckDBPyConnection:
        """A new in-memory DuckDB connection with one relation per table, under the contract's names and types.

        A native Parquet table (:func:`cxlib.data.files.is_native`) is a view reading its file directly;
        any other (CSV, renamed or text-typed columns) is its typed frame, registered (read again from its
        file when the table is lazy). ``tables`` limits the relations to those tables.
        """
        con = duckdb.connect()
        if threads:
            con.execute(f"SET threads TO {int(threads)}")
        for name, file in self.files.items():
            if tables is not None and name not in tables:
                continue
            if self.reads_in_place(name):
                con.execute(f"CREATE VIEW {name} AS SELECT * FROM {reader_sql(file)}")
            else:
                con.register(name, self.frame(name))
        return con

    def reads_in_place(self, name: str) -> bool:
        """Whether SQL engines can read table ``name``'s file as it is (native Parquet, see
        :func:`cxlib.data.files.is_native`); otherwise they are given its typed frame (:meth:`frame`)."""
        return is_native(self.files[name], self.mapping.source(name))

    @property
    def span(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """First and last instant of the data: the time columns of the activity tables loaded
        (:data:`ACTIVITY_TABLES`), else of every table with a time column.

        Raises
        ------
        DataContractError
            No loaded table has a time column.
        """
        rows = self.validation[self.validation["first"].notna()]
        active = rows[rows["table"].isin(ACTIVITY_TABLES)]
        rows = active if len(active) else rows
        if rows.empty:
            raise DataContractError(f"The data at {self.path} have no table with a time column, so no time span; "
                                    f"loaded: {sorted(self.files)}.", rule="time span")
        return pd.Timestamp(rows["first"].min()), pd.Timestamp(rows["last"].max())

    def segment_columns(self) -> list[str]:
        """The customer columns used as segments: the settings' ``segment_columns`` when set, else the
        contract's segment columns (:attr:`cxlib.schema.Column.segment`) present in ``customers``.

        Empty without a customers table (or without such columns).
        """
        if self.settings.segment_columns is not None:
            return list(self.settings.segment_columns)
        if "customers" not in self.files:
            return []
        names = set(self.frame("customers", where="false").columns) if "customers" in self.lazy \
            else set(self.tables["customers"].columns)
        return [c.name for c in TABLES["customers"].columns if c.segment and c.name in names]

    def file_hashes(self) -> dict[str, str]:
        """sha256 of every input file (for the provenance appendix)."""
        out = {}
        for name, file in sorted(self.files.items()):
            parts = sorted(file.rglob("*.parquet")) if file.is_dir() else [file]
            h = hashlib.sha256()
            for part in parts:
                with open(part, "rb") as fh:
                    for block in iter(lambda: fh.read(1 << 20), b""):
                        h.update(block)
            out[name] = h.hexdigest()
        return out


# --------------------------------------------------------------------------- validate once per report run

VALIDATED_ENV = "CX_VALIDATED_DATA"
"""Environment variable naming a validation stamp (:func:`write_validation_stamp`); the report runner sets it
for its notebook kernels, so that nine notebooks do not re-validate the bytes the runner just validated."""


def contract_digest() -> str:
    """sha256 of the data contract and of this package's code: a stamp written under other rules never applies."""
    h = hashlib.sha256(repr(sorted(TABLES.items())).encode())
    for module in sorted(Path(__file__).parent.glob("*.py")):
        h.update(module.name.encode() + module.read_bytes())
    return h.hexdigest()


def write_validation_stamp(target: str | Path, folder: str | Path, hashes: Mapping[str, str],
                           validation: pd.DataFrame | Iterable[Mapping]) -> Path:
    """Record that the files of ``folder`` with these sha256 ``hashes`` passed :func:`load`'s validation.

    ``hashes`` maps paths relative to ``folder`` to their sha256 (as
    :func:`cxlib.report.provenance.file_hashes` gives them); ``validation`` is the
    :attr:`Dataset.validation` frame (or its records) of the full load. The stamp is
    written atomically as JSON.
    """
    if isinstance(validation, pd.DataFrame):
        validation = json.loads(validation.to_json(orient="records", date_format="iso", date_unit="s"))
    records = [dict(r) for r in validation]
    payload = {"folder": str(Path(folder).resolve()), "contract": contract_digest(), "sha256": dict(hashes),
               "tables": {str(r["table"]): r for r in records}}
    target = Path(target)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=1, sort_keys=True))
    os.replace(tmp, target)
    return target


def _stamped_validation(folder: Path, files: Mapping[str, Path]) -> dict[str, dict] | None:
    """The per-table validation rows of the stamp in ``$CX_VALIDATED_DATA`` when it covers these exact bytes.

    Every file about to be read is hashed again and must equal what the stamp validated (same
    folder, same contract and code); anything else (no stamp, unreadable, other folder, changed,
    new or missing file, table not validated) returns ``None`` and the caller validates in full.
    """
    stamp = os.environ.get(VALIDATED_ENV)
    if not stamp:
        return None
    try:
        payload = json.loads(Path(stamp).read_text())
        if payload["folder"] != str(folder.resolve()) or payload["contract"] != contract_digest():
            return None
        recorded, checks = payload["sha256"], payload["tables"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    mapping = folder / MAPPING_FILE  # the mapping says how the bytes were read: it must be the same too
    if recorded.get(MAPPING_FILE) != (sha256_file(mapping) if mapping.is_file() else None):
        return None
    for table, file in files.items():
        parts = sorted(file.rglob("*.parquet")) if file.is_dir() else [file]
        if table not in checks or not parts:
            return None
        for part in parts:
            if recorded.get(part.relative_to(folder).as_posix()) != sha256_file(part):
                return None
    return {t: checks[t] for t in files}


def load(path: str | Path, *, tables: Iterable[str] | None = None, require_all: bool = False,
         lazy: Iterable[str] = (), settings: DataSettings | Mapping[str, Any] | None = None) -> Dataset:
    """Read and validate a folder of CX tables.

    Parameters
    ----------
    path : str or Path
        Folder holding ``<table>.parquet`` / ``<table>/`` / ``<table>.csv`` files, or the files its
        ``cx.yml`` names (:mod:`cxlib.data.mapping`).
    tables : iterable of str, optional
        Tables to load; default every contract table found in the folder.
    require_all : bool
        If True, every contract table must be present.
    lazy : iterable of str
        Tables (among those loaded) that are validated but not kept in memory: they are
        queried through :meth:`Dataset.connection` (DuckDB views over Parquet files), and
        ``ds[name]`` says so. Under a validation stamp (below) they are not even read.
    settings : DataSettings or mapping, optional
        Settings that override ``cx.yml``'s (e.g. a report plan's ``segment_columns``); keys of
        :class:`DataSettings`, None values ignored.

    Text columns come back as ``TEXT_DTYPE`` (Arrow-backed strings, NaN for missing). When
    ``$CX_VALIDATED_DATA`` names a stamp (:func:`write_validation_stamp`, written by the report
    runner) that validated byte-identical files (and ``cx.yml``) under the same contract, the
    pandera and cross-table checks are not repeated; columns are still read and coerced the same way.

    Returns
    -------
    Dataset

    Raises
    ------
    DataContractError
        Missing folder or table, a bad ``cx.yml``, a CSV and a Parquet file for one table, an
        unreadable file, a value that does not parse, any broken contract rule, or a setting that names
        a touchpoint or column the data do not have.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "sales.csv").write_text("CustomerID;InvoiceDate;Total\\nC1;03/11/2025 14:05;12,50\\n")
    >>> _ = (folder / "cx.yml").write_text(
    ...     "currency: GBP\\ndelimiter: ';'\\ndecimal: ','\\ndate_format: '%d/%m/%Y %H:%M'\\ntables:\\n"
    ...     "  transactions:\\n    file: sales.csv\\n"
    ...     "    columns: {customer_id: CustomerID, timestamp: InvoiceDate, amount: Total}\\n")
    >>> ds = load(folder)
    >>> ds.transactions.to_dict("records"), ds.settings.currency.symbol
    ([{'customer_id': 'C1', 'timestamp': Timestamp('2025-11-03 14:05:00'), 'amount': 12.5}], '£')
    """
    folder = Path(path)
    if not folder.is_dir():
        raise DataContractError(f"Data folder {folder} does not exist (run `make data` to generate the default data).")
    mapping = read_mapping(folder)
    chosen = mapping.settings.updated(settings, where="load(settings=...)")
    wanted = list(tables) if tables is not None else list(TABLES)
    unknown = [t for t in wanted if t not in TABLES]
    if unknown:
        raise DataContractError(f"Unknown table(s) {unknown}; the contract has {sorted(TABLES)}.")
    files = {t: f for t in wanted if (f := table_file(folder, mapping.source(t))) is not None}
    missing = [t for t in wanted if t not in files]
    if (tables is not None or require_all) and missing:
        raise DataContractError(
            f"Data folder {folder} has no file for table(s) {missing} (expected <table>.parquet or <table>.csv, "
            f"or a file named under tables.<table>.file in {MAPPING_FILE}).", table=missing[0], rule="table present")
    if not files:
        raise DataContractError(f"Data folder {folder} holds no contract table; expected files like "
                                f"transactions.parquet or transactions.csv, or a {MAPPING_FILE} naming your files "
                                f"(`cx init {folder}` proposes one; see data/README.md).")
    lazy = set(lazy)
    if lazy - set(files):
        raise DataContractError(f"lazy={sorted(lazy)} names table(s) {sorted(lazy - set(files))} that are not "
                                f"loaded from {folder}; loaded: {sorted(files)}.")
    same_clock = chosen.time_zone == mapping.settings.time_zone
    stamped = _stamped_validation(folder, files) if same_clock else None  # the runner validated these bytes already
    read = [t for t in files if stamped is None or t not in lazy]
    repairs: dict[str, list[str]] = {t: [] for t in files}
    frames = {t: read_table(files[t], t, repairs=repairs[t], source=mapping.source(t), time_zone=chosen.time_zone)
              for t in read}
    now = pd.Timestamp.now(tz="UTC").tz_convert(chosen.time_zone).tz_localize(None)
    checks = validate_tables(frames, now=now).set_index("table")["checks"] if stamped is None else None
    rows = [_validation_row(t, files[t], frames.get(t), checks, stamped, repairs[t]) for t in files]
    frames = {t: f for t, f in frames.items() if t not in lazy}
    ds = Dataset(path=folder, tables=MappingProxyType(frames), files=MappingProxyType(files),
                 validation=pd.DataFrame(rows), lazy=frozenset(lazy), settings=chosen, mapping=mapping)
    return _with_resolved_settings(ds)


def _validation_row(table: str, file: Path, frame: pd.DataFrame | None, checks: pd.Series | None,
                    stamped: Mapping[str, dict] | None, repairs: list[str]) -> dict[str, Any]:
    if frame is None:  # lazy under a stamp: the runner's row for these bytes
        row = dict(stamped[table])
        row.update(first=pd.Timestamp(row["first"]) if row.get("first") else pd.NaT,
                   last=pd.Timestamp(row["last"]) if row.get("last") else pd.NaT)
        return {k: row.get(k) for k in ("table", "file", "format", "rows", "columns", "time_column",
                                        "first", "last", "checks", "status", "repairs")}
    time_col = TABLES[table].time_column
    time_col = time_col if time_col in frame else None
    return {"table": table, "file": file.name, "format": file_kind(file),
            "rows": len(frame), "columns": frame.shape[1], "time_column": time_col or "",
            "first": frame[time_col].min() if time_col else pd.NaT,
            "last": frame[time_col].max() if time_col else pd.NaT,
            "checks": int(checks[table]) if checks is not None else int(stamped[table]["checks"]),
            "status": "valid", "repairs": "; ".join(repairs)}


def table_columns(path: str | Path) -> dict[str, list[str]]:
    """Table name -> column names (contract names after ``cx.yml``'s renames, extra columns included) of each
    table file of a data folder, read from the files' headers only: no rows, no validation.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "transactions.csv").write_text("customer_id,timestamp,amount,Country\\nC1,2025-11-03,12.5,UK\\n")
    >>> table_columns(folder)
    {'transactions': ['customer_id', 'timestamp', 'amount', 'Country']}
    """
    folder = Path(path)
    if not folder.is_dir():
        raise DataContractError(f"Data folder {folder} does not exist.", rule="folder present")
    mapping = read_mapping(folder)
    out = {}
    for table in TABLES:
        source = mapping.source(table)
        file = table_file(folder, source)
        if file is not None:
            out[table] = [source.renames.get(n, n) for n in column_names(file, source)]
    return out


def folder_span(path: str | Path) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """First and last instant of a data folder's activity tables (:data:`ACTIVITY_TABLES`; else of any dated
    table), reading only their time columns: no validation. None when no table has a time column.

    What a report plan's ``period: auto`` is resolved from (:func:`cxlib.periods.default_periods`); it agrees
    with :attr:`Dataset.span` of the loaded folder.
    """
    folder = Path(path)
    mapping = read_mapping(folder)
    spans: dict[str, tuple[pd.Timestamp, pd.Timestamp]] = {}
    for table, spec in TABLES.items():
        source = mapping.source(table)
        file = table_file(folder, source)
        col = spec.time_column
        if file is None or col is None or col not in {source.renames.get(n, n) for n in column_names(file, source)}:
            continue
        if is_native(file, source):
            lo, hi = duckdb.connect().execute(f'SELECT min("{col}"), max("{col}") FROM {reader_sql(file)}').fetchone()
        else:
            values = read_table(file, table, source=source, time_zone=mapping.settings.time_zone, columns=[col])[col]
            lo, hi = values.min(), values.max()
        if not (pd.isna(lo) or pd.isna(hi)):
            spans[table] = (pd.Timestamp(lo), pd.Timestamp(hi))
    active = {t: s for t, s in spans.items() if t in ACTIVITY_TABLES} or spans
    if not active:
        return None
    return min(s[0] for s in active.values()), max(s[1] for s in active.values())


def _touchpoints_present(ds: Dataset, names: Sequence[str]) -> set[str]:
    """Which of ``names`` occur in ``events.touchpoint`` (one query, pushed into DuckDB for lazy Parquet)."""
    marks = ", ".join("?" for _ in names)
    con = ds.connection(tables=["events"])
    return {r[0] for r in con.execute(f"SELECT DISTINCT touchpoint FROM events WHERE touchpoint IN ({marks})",
                                      list(names)).fetchall()}


def _with_resolved_settings(ds: Dataset) -> Dataset:
    """``ds`` with its settings checked against the data and the conversion touchpoint resolved."""
    s = ds.settings
    if "events" in ds.files:
        named = [*([s.conversion_touchpoint] if s.conversion_touchpoint else []), *(s.funnel_steps or ())]
        present = _touchpoints_present(ds, [*named, "purchase"])
        absent = [t for t in dict.fromkeys(named) if t not in present]
        if absent:
            common = ds.connection(tables=["events"]).execute(
                "SELECT touchpoint, count(*) AS n FROM events GROUP BY touchpoint ORDER BY n DESC, touchpoint "
                "LIMIT 12").fetchall()
            raise DataContractError(
                f"The settings name touchpoint(s) {absent} (conversion_touchpoint / funnel_steps), which "
                f"events.touchpoint never holds; its most common values: {[t for t, _ in common]}. Correct them in "
                f"{MAPPING_FILE} (or the plan).", table="events", column="touchpoint", rule="settings")
        if s.conversion_touchpoint is None:
            s = replace(s, conversion_touchpoint="purchase" if "purchase" in present else None)
    elif s.conversion_touchpoint is None:
        s = replace(s, conversion_touchpoint="purchase")
    if s.segment_columns is not None and "customers" in ds.files:
        names = set(ds.frame("customers", where="false").columns) if "customers" in ds.lazy \
            else set(ds.tables["customers"].columns)
        absent = [c for c in s.segment_columns if c not in names]
        if absent:
            raise DataContractError(
                f"The settings name segment column(s) {absent}, which the customers table does not have; its "
                f"columns: {sorted(names)}. Correct segment_columns in {MAPPING_FILE} (or the plan).",
                table="customers", column=absent[0], rule="settings")
    return replace(ds, settings=s)
