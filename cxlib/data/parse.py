"""Values to the contract's types: the one parser of every table's columns, CSV text and Parquet alike.

:func:`coerce_column` turns one column as read (an Arrow array: typed Parquet values or CSV text) into
the kind the contract gives it: text as :data:`TEXT_DTYPE` (blank strings missing), numbers (with the
mapping's decimal separator), whole numbers, booleans, timestamps and dates (ISO 8601 or the mapping's
date format; offsets converted to the data's time zone).  A value that does not parse is a
:class:`~cxlib.errors.DataContractError` naming the file, the column (and its source name), the line
or row, and the value.  Columns the contract does not know are kept (:func:`extra_column`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import DataContractError
from ..schema import Column

__all__ = ["TEXT_DTYPE", "SAMPLE_ROWS", "Source", "coerce_column", "extra_column", "parse_numbers", "parse_times",
           "raise_rows"]

#: How many offending rows an error message shows (the first ones, in row order).
SAMPLE_ROWS = 5

# Text columns are held as pandas' Arrow-backed string dtype with NaN as the missing value (the
# ``str`` dtype of pandas 3): about a quarter of the memory of Python ``str`` objects (1M customers:
# 18 M events in ~1.8 GB instead of ~6.6 GB), read from DuckDB without creating a Python object per value.
TEXT_DTYPE = pd.StringDtype("pyarrow", na_value=np.nan)

_OFFSET = r"(?:[+-]\d{2}:?\d{2}|Z)$"


@dataclass(frozen=True)
class Source:
    """Where a column comes from and how to read its text (for parsing and for error messages).

    Attributes
    ----------
    table : str
        The contract table.
    file : str
        The file's name ("" when the frame did not come from a file).
    csv : bool
        Rows are lines of a CSV file with a header (line = data row + 2).
    columns : dict
        Contract column -> source column, where the names differ.
    date_format : dict
        Contract column -> date format (``strftime``); absent: ISO 8601.
    decimal : str
        ``"."`` or ``","``.
    time_zone : str
        The data's time zone: offsets are converted to it, naive values are taken as its local time.
    """

    table: str
    file: str = ""
    csv: bool = False
    columns: tuple[tuple[str, str], ...] = ()
    date_format: tuple[tuple[str, str], ...] = ()
    decimal: str = "."
    time_zone: str = "UTC"

    def source_of(self, column: str) -> str | None:
        return dict(self.columns).get(column)

    def format_of(self, column: str) -> str | None:
        return dict(self.date_format).get(column)

    def where(self, column: str) -> str:
        """``Table 'x' (file.csv), column 'c' (source column 'C')`` for messages."""
        file = f" ({self.file})" if self.file else ""
        source = self.source_of(column)
        return f"Table '{self.table}'{file}, column '{column}'" + (f" (source column '{source}')" if source else "")

    def row_label(self, i: int) -> str:
        return f"line {i + 2} (data row {i})" if self.csv else f"row {i}"


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


def coerce_column(values, col: Column, source: Source, repairs: list[str]) -> pd.Series:
    """Coerce one Arrow column to its contract kind: text stays Arrow (``TEXT_DTYPE``), the rest via :func:`_coerce`."""
    if col.kind == "string" and _is_arrow_text(values.type):
        return _arrow_text(values).rename(col.name)
    coerced = _coerce(values.to_pandas().rename(col.name), col, source, repairs)
    return coerced.astype(TEXT_DTYPE) if col.kind == "string" else coerced


def extra_column(values, name: str, source: Source) -> pd.Series:
    """A column the contract does not know, kept: typed values as they are; text as ``TEXT_DTYPE``.

    CSV text whose every non-blank value is a number (with the source's decimal separator, and no
    code with a leading zero such as ``"007"`` or a postcode) is read as numbers: ``int64`` when all
    are whole and present, else ``float64`` (as pandas writes such columns to Parquet).
    """
    if not _is_arrow_text(values.type):
        return values.to_pandas().rename(name)
    text = _arrow_text(values).rename(name)
    if not source.csv:
        return text
    present = text.dropna()
    if present.empty or present.str.strip().str.contains(r"^[+-]?0\d", regex=True).any():
        return text
    numbers = parse_numbers(present, source.decimal).astype("float64")
    if numbers.isna().any():
        return text
    whole = bool((numbers == np.floor(numbers)).all()) and len(present) == len(text)
    out = pd.Series(np.nan, index=text.index, name=name, dtype="float64")
    out[present.index] = numbers
    return out.astype("int64") if whole and (numbers.abs() < 2 ** 53).all() else out


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


def parse_numbers(raw: pd.Series, decimal: str = ".") -> pd.Series:
    """Numbers from text (typed numbers pass through); values that are not numbers become missing.

    With ``decimal=","`` a ``"."`` may only group thousands (``"1.234,5"``): ``"1.5"`` is not a number then.

    >>> parse_numbers(pd.Series(["1.234,5", "12", " -0,25 ", "1.5", "x"]), ",").tolist()
    [1234.5, 12.0, -0.25, nan, nan]
    """
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        return raw
    text = raw.astype("string").str.strip()
    if decimal == ",":
        ok = text.str.fullmatch(r"[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?|[+-]?,\d+", na=False)
        text = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False).where(ok)
    return pd.to_numeric(text, errors="coerce").astype("float64")


def parse_times(raw: pd.Series, *, date_format: str | None = None, time_zone: str = "UTC",
                repairs: list[str] | None = None, name: str = "") -> pd.Series:
    """Naive timestamps in ``time_zone`` from text (ISO 8601 or ``date_format``) or typed timestamps.

    Values with a UTC offset (text such as ``2025-11-03T14:05:00+01:00``, or time-zone-aware timestamps)
    are converted to ``time_zone`` and noted in ``repairs``; naive values are local times there already.
    Values that do not parse become ``NaT``.

    >>> parse_times(pd.Series(["2025-11-03T14:05:00+01:00", "2025-11-03 09:00"]), time_zone="Europe/Paris").tolist()
    [Timestamp('2025-11-03 14:05:00'), Timestamp('2025-11-03 09:00:00')]
    >>> parse_times(pd.Series(["03/11/2025 14:05", "31/12/2025 00:00"]), date_format="%d/%m/%Y %H:%M").tolist()
    [Timestamp('2025-11-03 14:05:00'), Timestamp('2025-12-31 00:00:00')]
    """
    repairs = [] if repairs is None else repairs
    if pd.api.types.is_datetime64_any_dtype(raw):
        if getattr(raw.dt, "tz", None) is None:
            return raw
        repairs.append(f"{name}: time-zone-aware values ({raw.dt.tz}) converted to {time_zone}")
        return raw.dt.tz_convert(time_zone).dt.tz_localize(None)
    if pd.api.types.is_numeric_dtype(raw) and date_format is not None:  # e.g. 19970101 read as a number
        whole = raw.notna() & (raw == np.floor(raw.astype("float64")))
        raw = raw.astype("float64").where(whole).astype("Int64").astype("string")
    text = raw.astype("string").str.strip()
    if date_format is not None:
        parsed = pd.to_datetime(text, errors="coerce", format=date_format)
        if getattr(parsed.dt, "tz", None) is not None:
            repairs.append(f"{name}: values with a UTC offset converted to {time_zone}")
            parsed = parsed.dt.tz_convert(time_zone).dt.tz_localize(None)
        return parsed
    offsets = text.str.contains(_OFFSET, regex=True, na=False)
    if not offsets.any():
        return pd.to_datetime(text, errors="coerce", format="ISO8601")
    repairs.append(f"{name}: {int(offsets.sum()):,} value(s) with a UTC offset converted to "
                   f"{'UTC' if time_zone == 'UTC' else time_zone}")
    if offsets.all() or time_zone == "UTC":
        parsed = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
        return parsed.dt.tz_convert(time_zone).dt.tz_localize(None)
    aware = pd.to_datetime(text[offsets], errors="coerce", utc=True, format="ISO8601")
    naive = pd.to_datetime(text[~offsets], errors="coerce", format="ISO8601")
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    out[offsets] = aware.dt.tz_convert(time_zone).dt.tz_localize(None).astype("datetime64[ns]")
    out[~offsets] = naive.astype("datetime64[ns]")
    return out


def _coerce(raw: pd.Series, col: Column, source: Source | str, repairs: list[str]) -> pd.Series:
    source = Source(source) if isinstance(source, str) else source
    kind = col.kind
    if kind == "string":
        values = raw.astype(object).where(raw.notna(), None)
        if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
            values = values.map(lambda v: None if v is None else str(v))  # rare: non-text values
        arr = values.to_numpy(dtype=object, copy=True)
        arr[_blank_strings(arr)] = None
        return pd.Series(arr, index=values.index, name=values.name, dtype=object)
    if kind in ("int", "float"):
        parsed = parse_numbers(raw, source.decimal)
        what = "a number" + (" (decimal separator ',')" if source.decimal == "," else "")
        _raise_unparsed(raw, parsed.astype("float64"), col, source, what)
        parsed = parsed.astype("float64")
        if kind == "float":
            return parsed
        fractional = parsed.notna() & (parsed != np.floor(parsed))
        if fractional.any():
            raise_rows(source, col.name, "type: whole number", raw[fractional],
                       "expected whole numbers, found fractional values")
        return parsed.astype("Int64") if col.nullable or parsed.isna().any() else parsed.astype("int64")
    if kind == "bool":
        mapping = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}
        parsed = raw.astype("string").str.strip().str.lower().map(mapping).astype("boolean")
        _raise_unparsed(raw, parsed, col, source, "true/false")
        return parsed
    fmt = source.format_of(col.name)
    parsed = parse_times(raw, date_format=fmt, time_zone=source.time_zone, repairs=repairs, name=col.name)
    if not pd.api.types.is_datetime64_any_dtype(raw):
        _raise_unparsed(raw, parsed, col, source, f"a date/time in the format {fmt!r}" if fmt
                        else "an ISO 8601 date/time (set date_format in cx.yml for other formats)")
    if pd.api.types.is_datetime64_any_dtype(parsed):
        lo, hi = pd.Timestamp.min, pd.Timestamp.max  # the range of nanosecond timestamps, 1677..2262
        outside = parsed.notna() & ((parsed < lo) | (parsed > hi))
        if outside.any():
            raise_rows(source, col.name, "timestamp range 1677..2262", raw[outside],
                       "dates outside the representable range (a placeholder like 9999-12-31 should be empty)")
    parsed = parsed.astype("datetime64[ns]")
    if kind == "date":
        timed = parsed.notna() & (parsed != parsed.dt.normalize())
        if timed.any():
            raise_rows(source, col.name, "type: date", raw[timed], "expected calendar dates, found times of day")
    return parsed


def _raise_unparsed(raw: pd.Series, parsed: pd.Series, col: Column, source: Source, what: str) -> None:
    bad = _bad_rows(raw, parsed)
    if bad.any():
        raise_rows(source, col.name, f"type: {col.kind}", raw[bad], f"expected {what}, found values that are not")


def raise_rows(source: Source | str, column: str, rule: str, offending: pd.Series | pd.DataFrame, what: str) -> None:
    """Raise the ``DataContractError`` of a failed rule with the first offending rows, in row order."""
    source = Source(source) if isinstance(source, str) else source
    n = len(offending)
    sample = offending.sort_index().head(SAMPLE_ROWS)
    if isinstance(sample, pd.Series):
        shown = ", ".join(f"{source.row_label(int(i))}: {v!r}" for i, v in sample.items())
        rows = ("line numbers count the header as line 1; data rows are 0-based" if source.csv
                else "rows are 0-based data rows")
    else:
        shown, rows = "\n" + sample.to_string(), "rows are 0-based data rows"
    raise DataContractError(
        f"{source.where(column)} fails rule '{rule}': {what} in {n:,} row(s) ({rows}). Examples: {shown}. "
        "See data/README.md for the contract.",
        table=source.table, column=column, rule=rule, rows=offending.head(SAMPLE_ROWS))


def _text_values(s: pd.Series) -> pd.Series:
    """Element-wise ``isinstance(v, str)``; one vectorized type inference when every non-missing value is text."""
    if pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty"):  # then missing values are the non-text ones
        return pd.Series(s.notna().to_numpy(), index=s.index, name=s.name)
    return s.map(lambda v: isinstance(v, str))
