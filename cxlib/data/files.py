"""Finding and reading one table's file: CSV or Parquet, mapped through ``cx.yml``, typed by the contract.

:func:`read_table` is the one reader: Parquet through DuckDB (a file or a folder of parts), CSV through
pyarrow with every column read as text (the mapping's delimiter and encoding), source columns renamed
to the contract's names (:class:`~cxlib.data.mapping.TableSource`), and every column parsed by
:mod:`cxlib.data.parse` -- so a CSV and a Parquet file of the same data give identical frames.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from ..errors import DataContractError, ParameterError
from ..schema import TABLES
from .mapping import DATA_SUFFIXES, MAPPING_FILE, TableSource
from .parse import Source, coerce_column, extra_column

__all__ = ["find_table_file", "table_file", "file_kind", "csv_header", "column_names", "read_table", "filter_rows",
           "is_native", "reader_sql"]


def find_table_file(folder: Path, table: str) -> Path | None:
    """The file holding ``table`` in ``folder`` by its default name: ``.parquet``, a folder of parts, or ``.csv``.

    Raises
    ------
    DataContractError
        More than one of them exists (a CSV and a Parquet file for one table is ambiguous).
    """
    folder = Path(folder)
    found = [c for c in (folder / f"{table}.parquet", folder / table, folder / f"{table}.csv")
             if c.is_file() or (c.is_dir() and any(c.rglob("*.parquet")))]
    if len(found) > 1:
        names = [f.name + ("/" if f.is_dir() else "") for f in found]
        raise DataContractError(
            f"Data folder {folder} holds {' and '.join(names)} for table '{table}': keep one of them, or name the "
            f"file to read under tables.{table}.file in {MAPPING_FILE}.", table=table, rule="one file per table")
    return found[0] if found else None


def table_file(folder: Path, source: TableSource) -> Path | None:
    """The file of ``source.table``: the mapping's ``file``, else the default names (:func:`find_table_file`)."""
    if source.file is not None:
        return Path(folder) / source.file
    return find_table_file(folder, source.table)


def file_kind(file: Path) -> str:
    """``"csv"`` or ``"parquet"`` (a folder is a folder of Parquet parts; ``.gz`` is looked through)."""
    file = Path(file)
    if file.is_dir():
        return "parquet"
    suffix = Path(file.stem).suffix if file.suffix == ".gz" else file.suffix
    return DATA_SUFFIXES.get(suffix.lower(), "parquet")


def reader_sql(file: Path, *, row_order: bool = False) -> str:
    """DuckDB's reader of a Parquet file or folder of parts (``read_parquet(...)``)."""
    path = str(file).replace("'", "''")
    order = ", filename=true, file_row_number=true" if row_order else ""
    if Path(file).is_dir():
        return f"read_parquet('{path}/**/*.parquet'{order})"
    return f"read_parquet('{path}'{order})"


def _cannot_read(file: Path, table: str, exc: BaseException, source: TableSource) -> DataContractError:
    first = str(exc).splitlines()[0] if str(exc) else ""
    if file_kind(file) == "csv":
        o = source.options
        hint = (f"Check that the file is complete, encoded as {o.encoding} and a CSV file with a header row and "
                f"{o.delimiter!r} between values; set encoding and delimiter in {MAPPING_FILE} if not "
                "(UTF-8 and ',' by default).")
    else:
        hint = "Check that the file is complete and a valid Parquet file (or folder of Parquet parts)."
    return DataContractError(f"Table '{table}': cannot read {file.name} ({type(exc).__name__}: {first}). {hint}",
                             table=table, rule="readable file")


def csv_header(file: Path, source: TableSource) -> list[str]:
    """The column names of a CSV file's header row (read with the mapping's delimiter and encoding)."""
    import pyarrow as pa

    encoding = "utf-8-sig" if source.options.encoding == "utf-8" else source.options.encoding
    try:
        with pa.input_stream(str(file), compression="detect") as raw:
            text = io.TextIOWrapper(raw, encoding=encoding, newline="")
            row = next(csv.reader(text, delimiter=source.options.delimiter), None)
    except (OSError, UnicodeError, csv.Error, pa.ArrowException) as exc:
        raise _cannot_read(file, source.table, exc, source) from exc
    if not row:
        raise DataContractError(f"Table '{source.table}': {file.name} is empty; expected a header row naming the "
                                "columns, then one row per record.", table=source.table, rule="readable file")
    names = [n.strip() for n in row]
    blank = [i + 1 for i, n in enumerate(names) if not n]
    dupes = sorted({n for n in names if n and names.count(n) > 1})
    if blank or dupes:
        what = (f"an empty name at position(s) {blank}" if blank else "") + (" and " if blank and dupes else "") + (
            f"the name(s) {dupes} more than once" if dupes else "")
        raise DataContractError(f"Table '{source.table}': the header of {file.name} has {what}; every column needs "
                                "its own name.", table=source.table, rule="readable file")
    return names


def _read_csv(file: Path, source: TableSource, names: list[str], keep: list[str] | None):
    import pyarrow as pa
    import pyarrow.csv as pacsv

    o = source.options
    try:
        return pacsv.read_csv(
            str(file), read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, encoding=o.encoding),
            parse_options=pacsv.ParseOptions(delimiter=o.delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, null_values=[""],
                                                 strings_can_be_null=True, include_columns=keep))
    except (pa.ArrowException, OSError, UnicodeError) as exc:
        raise _cannot_read(file, source.table, exc, source) from exc


def _read_parquet(file: Path, table: str, source: TableSource, keep: list[str] | None, where: str | None,
                  params: Sequence[Any] | None):
    cols = "*" if keep is None else ", ".join('"' + c.replace('"', '""') + '"' for c in keep)
    sql = f"SELECT {cols} FROM {reader_sql(file)}"
    if where is not None:
        ordered = reader_sql(file, row_order=True)
        sql = (f"WITH {table} AS (SELECT * FROM {ordered}) SELECT * EXCLUDE (filename, file_row_number) "
               f"FROM {table} WHERE {where} ORDER BY filename, file_row_number")
    try:
        rel = duckdb.connect().sql(sql, params=list(params or []) if where is not None else None)
        arrow = rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.arrow()
        return arrow.read_all() if hasattr(arrow, "read_all") else arrow  # some DuckDB versions: a batch reader
    except duckdb.Error as exc:
        if where is not None and not isinstance(exc, duckdb.IOException):
            raise ParameterError(f"Table '{table}': the row condition {where!r} does not run in DuckDB "
                                 f"({type(exc).__name__}: {str(exc).splitlines()[0]}).") from exc
        raise _cannot_read(file, table, exc, source) from exc


def _parquet_names(file: Path, table: str, source: TableSource) -> list[str]:
    try:
        return [r[0] for r in duckdb.connect().sql(f"DESCRIBE SELECT * FROM {reader_sql(file)}").fetchall()]
    except duckdb.Error as exc:
        raise _cannot_read(file, table, exc, source) from exc


def column_names(file: Path, source: TableSource) -> list[str]:
    """The source column names of a table file (CSV header or Parquet schema), without reading rows."""
    file = Path(file)
    return csv_header(file, source) if file_kind(file) == "csv" else _parquet_names(file, source.table, source)


def _similar(name: str, names: Sequence[str]) -> list[str]:
    flat = name.replace("_", "").lower()
    return [c for c in names if c.lower().replace(" ", "_") == name or name in c.lower()
            or c.lower().replace("_", "").replace(" ", "") == flat]


def _check_columns(file: Path, source: TableSource, names: list[str], wanted: Sequence[str] | None) -> None:
    """Mapped source columns exist, no mapped name collides with another column, required columns are there."""
    table, spec = source.table, TABLES[source.table]
    where = f"{MAPPING_FILE}: tables.{table}.columns"
    for target, src in source.columns.items():
        if src not in names:
            close = _similar(src, names) or _similar(target, names)
            raise DataContractError(
                f"{where}.{target} names source column {src!r}, which {file.name} does not have; its columns: "
                f"{names}." + (f" Did you mean {close}?" if close else ""), table=table, column=target,
                rule="mapping")
        if target in names and target != src and target not in source.columns.values():
            raise DataContractError(
                f"{where}.{target}: {file.name} has a column {target!r} besides the mapped source column {src!r}, so "
                f"two columns would be named {target!r}; drop one of them from the file or map the other one to "
                "another name.", table=table, column=target, rule="mapping")
    present = {source.renames.get(n, n) for n in names}
    required = [c.name for c in spec.columns if c.required and (wanted is None or c.name in wanted)]
    missing = [c for c in required if c not in present]
    mapped = f" (after {MAPPING_FILE}'s renames)" if source.columns else ""
    if missing:
        close = {m: _similar(m, names) for m in missing}
        hint = "; ".join(f"'{m}' (similar: {close[m]})" for m in missing if close[m])
        raise DataContractError(
            f"Table '{table}' ({file.name}): missing required column(s) {missing}{mapped}. "
            f"Found columns: {names}." + (f" Did you mean {hint}?" if hint else "")
            + f" Map source columns to them in {MAPPING_FILE} (`cx init` proposes a mapping); see data/README.md "
            "for the contract.", table=table, column=missing[0], rule="required column")
    _check_look_alikes(file, source, names, present)
    some = [c for c in spec.at_least_one if c in present]
    if spec.at_least_one and not some and wanted is None:
        raise DataContractError(
            f"Table '{table}' ({file.name}): missing required column(s): at least one of {list(spec.at_least_one)}"
            f"{mapped}. Found columns: {names}.", table=table, column=spec.at_least_one[0], rule="required column")


def _flat(name: str) -> str:
    """A column name compared loosely: lower case, letters and digits only (``Customer ID`` -> ``customerid``)."""
    return "".join(ch for ch in str(name).lower() if ch.isalnum())


def _check_look_alikes(file: Path, source: TableSource, names: list[str], present: set[str]) -> None:
    """An extra column spelled like an absent contract column (``LoyaltyTier``, ``signupdate``) is a mistake, not
    an extra column: the optional column it was meant to be would be silently missing."""
    spec = TABLES[source.table]
    absent = {_flat(c.name): c.name for c in spec.columns if c.name not in present}
    for name in names:
        dst = source.renames.get(name, name)
        if dst not in spec.column_names and _flat(dst) in absent:
            meant = absent[_flat(dst)]
            raise DataContractError(
                f"Table '{source.table}' ({file.name}): column {dst!r} looks like the contract's column {meant!r}, "
                f"which is absent. Rename it to {meant!r} in the file, or map it in {MAPPING_FILE} "
                f"(tables.{source.table}.columns.{meant}: {name}).", table=source.table, column=meant,
                rule="column name")


def is_native(file: Path, source: TableSource) -> bool:
    """Whether DuckDB can query the file as it is: Parquet, no renames or date formats, columns typed as the contract.

    Tables that are not native (CSV, renamed or text-typed columns) are queried through their typed frame.
    """
    if file_kind(file) != "parquet" or source.renames or source.date_formats or source.options.date_format \
            or source.options.decimal != ".":
        return False
    import pyarrow as pa
    import pyarrow.parquet as pq

    part = next(iter(sorted(Path(file).rglob("*.parquet"))), None) if Path(file).is_dir() else Path(file)
    try:
        schema = pq.read_schema(part)
    except (OSError, pa.ArrowException):
        return False
    ok = {"string": lambda t: pa.types.is_string(t) or pa.types.is_large_string(t), "int": pa.types.is_integer,
          "float": lambda t: pa.types.is_floating(t) or pa.types.is_integer(t), "bool": pa.types.is_boolean,
          "timestamp": lambda t: pa.types.is_timestamp(t) and t.tz is None,
          "date": lambda t: pa.types.is_date(t) or (pa.types.is_timestamp(t) and t.tz is None)}
    for col in TABLES[source.table].columns:
        if col.name in schema.names and not (pa.types.is_null(t := schema.field(col.name).type) or ok[col.kind](t)):
            return False
    return True


def read_table(file: str | Path, table: str, *, repairs: list[str] | None = None, where: str | None = None,
               params: Sequence[Any] | None = None, source: TableSource | None = None, time_zone: str = "UTC",
               columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Read one table's file and coerce its columns to the contract's kinds.

    Parameters
    ----------
    file : path
        A Parquet file, a folder of Parquet parts, or a CSV file (``.csv``, ``.tsv``, ``.txt``, or ``.gz`` of one).
    table : str
        The contract table.
    repairs : list of str, optional
        Receives a sentence per repair made on the way (time-zone conversion).
    where, params : str and sequence, optional
        A SQL condition on the table (named ``table`` inside it; ``?`` placeholders filled by ``params``)
        keeping only matching rows, in the file's order. On a native Parquet file (:func:`is_native`) it
        runs in DuckDB before anything reaches pandas; otherwise on the typed rows.
    source : TableSource, optional
        The table's entry of ``cx.yml`` (source column names, date formats, decimal separator, CSV
        delimiter and encoding); default: the contract's names, ISO dates, ``.``, ``,`` and UTF-8.
    time_zone : str
        The data's time zone (:class:`~cxlib.data.mapping.DataSettings`).
    columns : sequence of str, optional
        Read only these contract columns (their requirement checked only).

    Raises
    ------
    DataContractError
        An unreadable file; a mapped source column the file lacks, or a mapped name that collides with
        another column; a missing required column; a value that cannot be read as its column's kind
        (naming file, column, line or row, and value).
    """
    file = Path(file)
    source = source if source is not None else TableSource(table)
    spec = TABLES[table]
    csv_file = file_kind(file) == "csv"
    names = column_names(file, source)
    _check_columns(file, source, names, columns)
    back = {dst: src for src, dst in source.renames.items()}
    keep = None if columns is None else [back.get(c, c) for c in columns if back.get(c, c) in names]
    pushed = where is not None and not csv_file and not source.renames
    arrow = (_read_csv(file, source, names, keep) if csv_file
             else _read_parquet(file, table, source, keep, where if pushed else None, params))
    if source.renames:
        arrow = arrow.rename_columns([source.renames.get(n, n) for n in arrow.column_names])
    parse = Source(table, file=file.name, csv=csv_file, columns=tuple(sorted(back.items())),
                   date_format=tuple((c.name, f) for c in spec.columns if (f := source.date_format(c.name))),
                   decimal=source.options.decimal, time_zone=time_zone)
    present = list(arrow.column_names)
    out = {}
    for col in spec.columns:
        if col.name in present:
            out[col.name] = coerce_column(arrow.column(col.name), col, parse, repairs if repairs is not None else [])
            arrow = arrow.drop_columns([col.name])  # free each raw column once it is converted
    frame = pd.DataFrame(out, index=pd.RangeIndex(arrow.num_rows))
    for c in arrow.column_names:  # extra columns are kept (user attributes, e.g. segments)
        frame[c] = extra_column(arrow.column(c), c, parse)
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
