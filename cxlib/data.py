"""Loading and validating a folder of CX tables through DuckDB.

``load(folder)`` reads one file per canonical table (``<table>.parquet``, a
folder ``<table>/`` of Parquet parts, or ``<table>.csv``) with DuckDB, coerces
each column to the kind the contract (:mod:`cxlib.schema`) gives it, validates
every rule with pandera plus the cross-table rules (foreign keys, orderings),
and returns a frozen :class:`Dataset`.  Any failure raises one
:class:`~cxlib.errors.DataContractError` naming the table, the column, the
rule and a sample of the offending rows, before any analysis runs.

Heavy aggregations run as SQL on :meth:`Dataset.connection`, whose views read
the files directly, so they work on data larger than memory.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pandera.pandas as pa

from .errors import DataContractError, ParameterError
from .hashing import sha256_file
from .schema import TABLES, Column, Table

__all__ = ["Dataset", "load", "read_table", "validate_tables", "pandera_schema", "find_table_file",
           "TEXT_DTYPE", "VALIDATED_ENV", "filter_rows", "write_validation_stamp", "contract_digest"]

SAMPLE_ROWS = 5
_TIME_COLUMN = {"customers": "signup_date", "events": "timestamp", "transactions": "timestamp",
                "subscriptions": "start_date", "survey_responses": "responded_at", "tickets": "opened_at",
                "program_rollout": "rollout_date"}


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
        reading, e.g. time-zone offsets to UTC; empty when nothing).
    """

    path: Path
    tables: Mapping[str, pd.DataFrame]
    files: Mapping[str, Path]
    validation: pd.DataFrame = field(repr=False)
    lazy: frozenset[str] = frozenset()

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
        return read_table(self.files[name], name, where=where, params=params)

    def connection(self, *, threads: int | None = None) -> duckdb.DuckDBPyConnection:
        """A new in-memory DuckDB connection with one view per table, reading the files directly."""
        con = duckdb.connect()
        if threads:
            con.execute(f"SET threads TO {int(threads)}")
        for name, file in self.files.items():
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM {_reader_sql(file)}")
        return con

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


def find_table_file(folder: Path, table: str) -> Path | None:
    """The file holding ``table`` in ``folder``: ``.parquet``, a folder of parts, or ``.csv``."""
    for candidate in (folder / f"{table}.parquet", folder / table, folder / f"{table}.csv"):
        if candidate.is_file() or (candidate.is_dir() and any(candidate.rglob("*.parquet"))):
            return candidate
    return None


def _reader_sql(file: Path, *, row_order: bool = False) -> str:
    path = str(file).replace("'", "''")
    order = ", filename=true, file_row_number=true" if row_order else ""
    if file.is_dir():
        return f"read_parquet('{path}/**/*.parquet'{order})"
    if file.suffix == ".csv":
        return f"read_csv('{path}', delim=',', quote='\"', header=true, all_varchar=true, strict_mode=true)"
    return f"read_parquet('{path}'{order})"


def read_table(file: str | Path, table: str, *, repairs: list[str] | None = None, where: str | None = None,
               params: Sequence[Any] | None = None) -> pd.DataFrame:
    """Read one table's file through DuckDB and coerce its columns to the contract's kinds.

    ``where`` (with ``params`` for its ``?`` placeholders) keeps only the rows matching a SQL
    condition on the table, which is named ``table`` inside it (subqueries may use it); on Parquet
    the condition runs in DuckDB before anything reaches pandas, in the file's row order; on CSV
    (whose raw text cannot be compared) it runs on the typed rows after coercion.

    Raises ``DataContractError`` for an unreadable file, a missing required
    column, or values that cannot be read as the column's kind.  Repairs made on
    the way (time-zone conversion) are appended as sentences to ``repairs``.
    """
    file = Path(file)
    spec = TABLES[table]
    pushed = where is not None and file.suffix != ".csv"
    sql = f"SELECT * FROM {_reader_sql(file)}"
    if pushed:
        ordered = _reader_sql(file, row_order=True)
        sql = (f"WITH {table} AS (SELECT * FROM {ordered}) SELECT * EXCLUDE (filename, file_row_number) "
               f"FROM {table} WHERE {where} ORDER BY filename, file_row_number")
    try:
        rel = duckdb.connect().sql(sql, params=list(params or []) if pushed else None)
        arrow = rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.arrow()
        if hasattr(arrow, "read_all"):  # DuckDB versions whose .arrow() returns a RecordBatchReader
            arrow = arrow.read_all()
    except duckdb.Error as exc:
        if pushed and not isinstance(exc, duckdb.IOException):
            raise ParameterError(f"Table '{table}': the row condition {where!r} does not run in DuckDB "
                                 f"({type(exc).__name__}: {str(exc).splitlines()[0]}).") from exc
        raise DataContractError(
            f"Table '{table}': cannot read {file.name} ({type(exc).__name__}: {str(exc).splitlines()[0]}). "
            "Check that the file is complete, UTF-8 encoded, and a valid Parquet or comma-separated CSV file "
            "with a header row.", table=table, rule="readable file") from exc
    names = list(arrow.column_names)
    missing = [c.name for c in spec.columns if c.required and c.name not in names]
    if missing:
        close = {m: [c for c in names if c.lower().replace(" ", "_") == m or m in c.lower()] for m in missing}
        hint = "; ".join(f"'{m}' (similar: {close[m]})" for m in missing if close[m])
        raise DataContractError(
            f"Table '{table}' ({file.name}): missing required column(s) {missing}. "
            f"Found columns: {names}." + (f" Did you mean {hint}?" if hint else "")
            + " See data/README.md for the contract.", table=table, column=missing[0], rule="required column")
    index = pd.RangeIndex(arrow.num_rows)
    out = {}
    for col in spec.columns:
        if col.name in names:
            out[col.name] = _coerce_arrow(arrow.column(col.name), col, table, repairs if repairs is not None else [])
            arrow = arrow.drop_columns([col.name])  # free each raw column once it is converted
    frame = pd.DataFrame(out, index=index)
    for c in arrow.column_names:  # extra columns are kept (user attributes, e.g. segments), text as TEXT_DTYPE
        values = arrow.column(c)
        frame[c] = _arrow_text(values) if _is_arrow_text(values.type) else values.to_pandas()
    if where is not None and not pushed:
        frame = filter_rows(frame, table, where, params)
    return frame


def filter_rows(frame: pd.DataFrame, name: str, where: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
    """The rows of ``frame`` (named ``name`` in the condition) for which the SQL condition ``where`` holds.

    Evaluated by DuckDB over the frame's columns (not copied) plus a row number, so the result keeps
    the frame's dtypes, index and row order whatever plan DuckDB picks (a subquery makes a join).

    >>> f = pd.DataFrame({"x": [1, 5, 3]})
    >>> filter_rows(f, "t", "x > ? AND x IN (SELECT max(x) FROM t)", [2])["x"].tolist()
    [5]
    """
    row = "__cx_row__"
    view = pd.DataFrame({**{c: frame[c] for c in frame.columns}, row: np.arange(len(frame))}, copy=False)
    con = duckdb.connect()
    con.register(name, view)
    try:
        rows = con.execute(f"SELECT {row} FROM {name} WHERE {where} ORDER BY {row}", list(params or [])).fetchnumpy()
    except duckdb.Error as exc:
        raise ParameterError(f"Table '{name}': the row condition {where!r} does not run in DuckDB "
                             f"({type(exc).__name__}: {str(exc).splitlines()[0]}).") from exc
    return frame.iloc[np.asarray(rows[row], dtype=np.int64)]


# Text columns are held as pandas' Arrow-backed string dtype with NaN as the missing value (the
# ``str`` dtype of pandas 3): about a quarter of the memory of Python ``str`` objects (1M customers:
# 18 M events in ~1.8 GB instead of ~6.6 GB), read from DuckDB without creating a Python object per value.
TEXT_DTYPE = pd.StringDtype("pyarrow", na_value=np.nan)


def _is_arrow_text(arrow_type) -> bool:
    import pyarrow as pa
    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)


def _arrow_text(values) -> pd.Series:
    """An Arrow string column as a ``TEXT_DTYPE`` Series, blank strings (only whitespace) made missing."""
    import pyarrow as pa
    import pyarrow.compute as pc
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    maybe = pc.fill_null(pc.match_substring_regex(values, _NO_ASCII_WORD), False)
    idx = np.flatnonzero(maybe.to_numpy(zero_copy_only=False))
    if len(idx):
        candidates = values.take(pa.array(idx)).to_pylist()
        blank = idx[[v.strip() == "" for v in candidates]]
        if len(blank):
            mask = np.zeros(len(values), dtype=bool)
            mask[blank] = True
            values = pc.if_else(pa.array(mask), pa.scalar(None, values.type), values)
    return values.to_pandas(types_mapper=lambda t: TEXT_DTYPE if _is_arrow_text(t) else None)


def _coerce_arrow(values, col: Column, table: str, repairs: list[str]) -> pd.Series:
    """Coerce one Arrow column to its contract kind: text stays Arrow (``TEXT_DTYPE``), the rest via ``_coerce``."""
    if col.kind == "string" and _is_arrow_text(values.type):
        return _arrow_text(values).rename(col.name)
    coerced = _coerce(values.to_pandas().rename(col.name), col, table, repairs)
    return coerced.astype(TEXT_DTYPE) if col.kind == "string" else coerced


def _bad_rows(raw: pd.Series, parsed: pd.Series) -> pd.Series:
    """Rows with a non-blank raw value that did not parse.

    Only the candidates (raw present, parsed missing) are rendered as text to test for blanks, so a
    column that parsed completely costs two ``isna`` passes instead of a string conversion of every value.
    """
    candidates = raw.notna().to_numpy() & parsed.isna().to_numpy()
    if not candidates.any():
        return pd.Series(candidates, index=raw.index)
    blank = (raw[candidates].astype("string").str.strip() == "").to_numpy(dtype=bool, na_value=True)
    candidates[np.flatnonzero(candidates)[blank]] = False
    return pd.Series(candidates, index=raw.index)


# A string is blank (only whitespace, in the sense of ``str.strip``) only if it has no ASCII word character;
# RE2's ``\w`` is ASCII-only, so this pyarrow test is a cheap superset filter, refined exactly in Python.
_NO_ASCII_WORD = r"^[^0-9A-Za-z_]*$"


def _blank_strings(values: np.ndarray) -> np.ndarray:
    """Boolean mask of the ``str`` values of ``values`` (object array, ``None`` for missing) with ``v.strip() == ""``."""
    import pyarrow as pa
    import pyarrow.compute as pc
    try:
        arr = pa.array(values, type=pa.large_string(), from_pandas=True)
    except (pa.ArrowException, UnicodeError):  # e.g. lone surrogates, not UTF-8 encodable: test every value
        return np.array([v is not None and v.strip() == "" for v in values], dtype=bool)
    maybe = pc.fill_null(pc.match_substring_regex(arr, _NO_ASCII_WORD), False)
    idx = np.flatnonzero(maybe.to_numpy(zero_copy_only=False))
    out = np.zeros(len(values), dtype=bool)
    if len(idx):
        out[idx] = [values[i].strip() == "" for i in idx]
    return out


def _coerce(raw: pd.Series, col: Column, table: str, repairs: list[str]) -> pd.Series:
    kind = col.kind
    if kind == "string":
        values = raw.astype(object).where(raw.notna(), None)
        if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
            values = values.map(lambda v: None if v is None else str(v))  # rare: non-text values
        arr = values.to_numpy(dtype=object, copy=True)
        arr[_blank_strings(arr)] = None
        return pd.Series(arr, index=values.index, name=values.name, dtype=object)
    if kind in ("int", "float"):
        parsed = raw if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw) \
            else pd.to_numeric(raw.astype("string").str.strip(), errors="coerce")
        _raise_unparsed(raw, parsed.astype("float64"), col, table, "a number")
        parsed = parsed.astype("float64")
        if kind == "float":
            return parsed
        fractional = parsed.notna() & (parsed != np.floor(parsed))
        if fractional.any():
            _raise_rows(table, col.name, "type: whole number", raw[fractional],
                        f"expected whole numbers, found fractional values")
        return parsed.astype("Int64") if col.nullable or parsed.isna().any() else parsed.astype("int64")
    if kind == "bool":
        mapping = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}
        parsed = raw.astype("string").str.strip().str.lower().map(mapping).astype("boolean")
        _raise_unparsed(raw, parsed, col, table, "true/false")
        return parsed
    # timestamps and dates
    if pd.api.types.is_datetime64_any_dtype(raw):
        parsed = raw
        if getattr(parsed.dt, "tz", None) is not None:
            repairs.append(f"{col.name}: time-zone-aware values ({parsed.dt.tz}) converted to naive UTC")
            parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    else:
        text = raw.astype("string").str.strip()
        offsets = text.str.contains(r"(?:[+-]\d{2}:?\d{2}|Z)$", regex=True, na=False)
        if offsets.any():
            repairs.append(f"{col.name}: {int(offsets.sum()):,} value(s) with a UTC offset converted to UTC")
        parsed = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
        parsed = parsed.dt.tz_localize(None)
        _raise_unparsed(raw, parsed, col, table, "an ISO 8601 date/time")
    if pd.api.types.is_datetime64_any_dtype(parsed):
        lo, hi = pd.Timestamp.min, pd.Timestamp.max  # the range of nanosecond timestamps, 1677..2262
        outside = parsed.notna() & ((parsed < lo) | (parsed > hi))
        if outside.any():
            _raise_rows(table, col.name, "timestamp range 1677..2262", raw[outside],
                        "dates outside the representable range (a placeholder like 9999-12-31 should be empty)")
    parsed = parsed.astype("datetime64[ns]")
    if kind == "date":
        timed = parsed.notna() & (parsed != parsed.dt.normalize())
        if timed.any():
            _raise_rows(table, col.name, "type: date", raw[timed], "expected calendar dates, found times of day")
    return parsed


def _raise_unparsed(raw: pd.Series, parsed: pd.Series, col: Column, table: str, what: str) -> None:
    bad = _bad_rows(raw, parsed)
    if bad.any():
        _raise_rows(table, col.name, f"type: {col.kind}", raw[bad], f"expected {what}, found values that are not")


def _raise_rows(table: str, column: str, rule: str, offending: pd.Series | pd.DataFrame, what: str) -> None:
    n = len(offending)
    sample = offending.head(SAMPLE_ROWS)
    shown = ", ".join(f"row {i}: {v!r}" for i, v in sample.items()) if isinstance(sample, pd.Series) \
        else "\n" + sample.to_string()
    raise DataContractError(
        f"Table '{table}', column '{column}' fails rule '{rule}': {what} in {n:,} row(s) "
        f"(rows are 0-based data rows). Examples: {shown}. See data/README.md for the contract.",
        table=table, column=column, rule=rule, rows=offending.head(SAMPLE_ROWS))


def _text_values(s: pd.Series) -> pd.Series:
    """Element-wise ``isinstance(v, str)``; one vectorized type inference when every non-missing value is text."""
    if pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty"):  # then missing values are the non-text ones
        return pd.Series(s.notna().to_numpy(), index=s.index, name=s.name)
    return s.map(lambda v: isinstance(v, str))


def pandera_schema(table: str | Table) -> pa.DataFrameSchema:
    """The pandera schema of one contract table (column kinds, bounds, vocabularies, nulls, key).

    >>> pandera_schema("units").columns["region"].nullable
    False
    """
    spec = TABLES[table] if isinstance(table, str) else table
    dtypes = {"string": None, "float": "float64", "bool": "boolean", "timestamp": "datetime64[ns]",
              "date": "datetime64[ns]"}
    columns = {}
    for c in spec.columns:
        checks = []
        if c.allowed:
            checks.append(pa.Check.isin(list(c.allowed), name=f"allowed values {list(c.allowed)}"))
        if c.min is not None:
            checks.append(pa.Check.ge(c.min, name=f">= {c.min:g}"))
        if c.max is not None:
            checks.append(pa.Check.le(c.max, name=f"<= {c.max:g}"))
        if c.kind == "string":
            checks.append(pa.Check(_text_values, element_wise=False, name="text values", ignore_na=True))
        dtype = dtypes.get(c.kind)
        if c.kind == "int":
            dtype = None  # int64 or nullable Int64, both fine
            checks.append(pa.Check(lambda s: pd.api.types.is_integer_dtype(s), name="integer dtype"))
        columns[c.name] = pa.Column(dtype, checks=checks, nullable=c.nullable, required=c.required)
    return pa.DataFrameSchema(columns, unique=list(spec.key), strict=False, name=spec.name)


def _validate_one(table: str, frame: pd.DataFrame) -> int:
    """Per-table rules through pandera; returns the number of checks run."""
    if frame.empty:
        raise DataContractError(f"Table '{table}' is empty: the contract needs at least one row.",
                                table=table, rule="non-empty table")
    schema = pandera_schema(table)
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        raise _contract_error_from_pandera(table, frame, exc) from None
    spec = TABLES[table]
    n_checks = sum(len(c.checks) + 1 for c in schema.columns.values()) + 1
    now = pd.Timestamp.now(tz="UTC").tz_localize(None)
    for c in spec.columns:
        if c.kind in ("timestamp", "date") and c.name in frame:
            future = frame[c.name] > now
            _maybe_raise_frame(table, c.name, "not in the future", frame.loc[future, [*spec.key, c.name]],
                               f"'{c.name}' after the moment of loading ({now:%Y-%m-%d %H:%M} UTC)")
            n_checks += 1
    for first, second in spec.ordered:
        if first in frame and second in frame:
            bad = frame[second].notna() & frame[first].notna() & (frame[second] < frame[first])
            _maybe_raise_frame(table, second, f"{second} >= {first}", frame.loc[bad, [first, second]],
                               f"'{second}' is before '{first}'")
            n_checks += 1
    if table == "transactions":
        bad = frame["returned_items"] > frame["items"]
        _maybe_raise_frame(table, "returned_items", "returned_items <= items",
                           frame.loc[bad, ["transaction_id", "items", "returned_items"]], "more items returned than bought")
        n_checks += 1
    if table == "survey_responses":
        bad = frame[["nps", "csat", "ces"]].isna().all(axis=1)
        _maybe_raise_frame(table, "nps", "at least one score", frame.loc[bad, ["response_id", "nps", "csat", "ces"]],
                           "responses without any of nps, csat, ces")
        n_checks += 1
    return n_checks


def _maybe_raise_frame(table: str, column: str, rule: str, offending: pd.DataFrame, what: str) -> None:
    if len(offending):
        _raise_rows(table, column, rule, offending, what)


def _contract_error_from_pandera(table: str, frame: pd.DataFrame, exc: pa.errors.SchemaErrors) -> DataContractError:
    cases = exc.failure_cases.copy()
    cases["column"] = cases["column"].fillna("(table)")
    lines, first = [], None
    for (column, check), group in cases.groupby(["column", "check"], sort=False, dropna=False):
        idx = [i for i in group["index"].dropna().tolist()][:SAMPLE_ROWS]
        examples = ", ".join(f"row {int(i)}: {_plain(v)!r}" for i, v in zip(group["index"], group["failure_case"])
                             if pd.notna(i))[:400] or ", ".join(repr(_plain(v)) for v in group["failure_case"].head(SAMPLE_ROWS))
        if str(check).startswith("field_uniqueness") or str(check).startswith("multiple_fields_uniqueness"):
            rule = f"unique key {list(TABLES[table].key)}"
        elif check == "not_nullable":
            rule = "not null"
        elif str(check).startswith("dtype"):
            rule = f"type ({check})"
        else:
            rule = _friendly_check(str(check))
        n = len(group)
        lines.append(f"column '{column}' fails rule '{rule}' in {n:,} row(s); examples: {examples}")
        if first is None:
            first = (column, rule, frame.loc[[i for i in idx if i in frame.index]] if idx else None)
    message = (f"Table '{table}' breaks the data contract ({len(lines)} rule(s) failed):\n  - "
               + "\n  - ".join(lines) + "\nRows are 0-based data rows. See data/README.md for the contract.")
    column, rule, rows = first
    return DataContractError(message, table=table, column=column, rule=rule, rows=rows, failures=lines)


def _plain(value):
    return value.item() if hasattr(value, "item") else value


_CHECK_NAMES = {"greater_than_or_equal_to": ">=", "less_than_or_equal_to": "<=", "isin": "allowed values"}


def _friendly_check(check: str) -> str:
    """'less_than_or_equal_to(10)' -> '<= 10'; 'isin([...])' -> 'allowed values [...]'."""
    m = re.fullmatch(r"(\w+)\((.*)\)", check, flags=re.S)
    if m and m.group(1) in _CHECK_NAMES:
        return f"{_CHECK_NAMES[m.group(1)]} {m.group(2)}"
    return check


def _check_references(tables: Mapping[str, pd.DataFrame]) -> int:
    n = 0
    for name, frame in tables.items():
        for col in TABLES[name].columns:
            if not col.references or col.name not in frame:
                continue
            ref_table, ref_col = col.references.split(".")
            if ref_table not in tables:
                continue
            values = frame[col.name]
            orphan = values.notna() & ~values.isin(tables[ref_table][ref_col])
            n += 1
            if orphan.any():
                key = list(TABLES[name].key)
                _raise_rows(name, col.name, f"references {col.references}",
                            frame.loc[orphan, [*key, col.name]] if col.name not in key else frame.loc[orphan, key],
                            f"values not found in {ref_table}.{ref_col} (orphan foreign keys)")
    return n


def validate_tables(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Validate already-loaded frames against the contract; return the per-table check counts.

    Raises ``DataContractError`` on the first failing table (all failures of that table listed).
    """
    counts = {}
    for name, frame in tables.items():
        if name not in TABLES:
            raise DataContractError(f"Unknown table {name!r}; the contract has {sorted(TABLES)}.", table=name)
        counts[name] = _validate_one(name, frame)
    n_ref = _check_references(tables)
    return pd.DataFrame({"table": list(counts), "checks": list(counts.values())}).assign(reference_checks=n_ref)


# --------------------------------------------------------------------------- validate once per report run

VALIDATED_ENV = "CX_VALIDATED_DATA"
"""Environment variable naming a validation stamp (:func:`write_validation_stamp`); the report runner sets it
for its notebook kernels, so that nine notebooks do not re-validate the bytes the runner just validated."""


def contract_digest() -> str:
    """sha256 of the data contract and of this module's code: a stamp written under other rules never applies."""
    return hashlib.sha256(repr(sorted(TABLES.items())).encode() + Path(__file__).read_bytes()).hexdigest()


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
    for table, file in files.items():
        parts = sorted(file.rglob("*.parquet")) if file.is_dir() else [file]
        if table not in checks or not parts:
            return None
        for part in parts:
            if recorded.get(part.relative_to(folder).as_posix()) != sha256_file(part):
                return None
    return {t: checks[t] for t in files}


def load(path: str | Path, *, tables: Iterable[str] | None = None, require_all: bool = False,
         lazy: Iterable[str] = ()) -> Dataset:
    """Read and validate a folder of CX tables.

    Parameters
    ----------
    path : str or Path
        Folder holding ``<table>.parquet`` / ``<table>/`` / ``<table>.csv`` files.
    tables : iterable of str, optional
        Tables to load; default every contract table found in the folder.
    require_all : bool
        If True, every contract table must be present.
    lazy : iterable of str
        Tables (among those loaded) that are validated but not kept in memory: they are
        queried through :meth:`Dataset.connection` (DuckDB views over the files), and
        ``ds[name]`` says so. Under a validation stamp (below) they are not even read.

    Text columns come back as ``TEXT_DTYPE`` (Arrow-backed strings, NaN for missing). When
    ``$CX_VALIDATED_DATA`` names a stamp (:func:`write_validation_stamp`, written by the report
    runner) that validated byte-identical files under the same contract, the pandera and
    cross-table checks are not repeated; columns are still read and coerced the same way.

    Returns
    -------
    Dataset

    Raises
    ------
    DataContractError
        Missing folder or table, unreadable file, or any broken contract rule.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise DataContractError(f"Data folder {folder} does not exist (run `make data` to generate the default data).")
    wanted = list(tables) if tables is not None else list(TABLES)
    unknown = [t for t in wanted if t not in TABLES]
    if unknown:
        raise DataContractError(f"Unknown table(s) {unknown}; the contract has {sorted(TABLES)}.")
    files = {t: f for t in wanted if (f := find_table_file(folder, t)) is not None}
    missing = [t for t in wanted if t not in files]
    if (tables is not None or require_all) and missing:
        raise DataContractError(
            f"Data folder {folder} has no file for table(s) {missing} (expected <table>.parquet or <table>.csv).",
            table=missing[0], rule="table present")
    if not files:
        raise DataContractError(f"Data folder {folder} holds no contract table; expected files like "
                                f"customers.parquet or customers.csv (see data/README.md).")
    lazy = set(lazy)
    if lazy - set(files):
        raise DataContractError(f"lazy={sorted(lazy)} names table(s) {sorted(lazy - set(files))} that are not "
                                f"loaded from {folder}; loaded: {sorted(files)}.")
    stamped = _stamped_validation(folder, files)  # the report runner validated these very bytes already
    read = [t for t in files if stamped is None or t not in lazy]
    repairs: dict[str, list[str]] = {t: [] for t in files}
    frames = {t: read_table(files[t], t, repairs=repairs[t]) for t in read}
    checks = validate_tables(frames).set_index("table")["checks"] if stamped is None else None
    rows = []
    for t in files:
        if t not in frames:  # lazy under a stamp: the runner's row for these bytes
            row = dict(stamped[t])
            row.update(first=pd.Timestamp(row["first"]) if row.get("first") else pd.NaT,
                       last=pd.Timestamp(row["last"]) if row.get("last") else pd.NaT)
            rows.append({k: row.get(k) for k in ("table", "file", "format", "rows", "columns", "time_column",
                                                "first", "last", "checks", "status", "repairs")})
            continue
        frame = frames[t]
        time_col = _TIME_COLUMN.get(t)
        rows.append({"table": t, "file": files[t].name, "format": "csv" if files[t].suffix == ".csv" else "parquet",
                     "rows": len(frame), "columns": frame.shape[1], "time_column": time_col or "",
                     "first": frame[time_col].min() if time_col else pd.NaT,
                     "last": frame[time_col].max() if time_col else pd.NaT,
                     "checks": int(checks[t]) if checks is not None else int(stamped[t]["checks"]),
                     "status": "valid", "repairs": "; ".join(repairs[t])})
    frames = {t: f for t, f in frames.items() if t not in lazy}
    return Dataset(path=folder, tables=MappingProxyType(frames), files=MappingProxyType(files),
                   validation=pd.DataFrame(rows), lazy=frozenset(lazy))
