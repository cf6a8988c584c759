"""The data folder's mapping file ``cx.yml`` and the data's settings.

Real exports name their files and columns their own way.  A small YAML file ``cx.yml`` in the data
folder tells :func:`cxlib.data.load` which file holds each table, which source column is each
contract column, how to read the text (date format, decimal separator, delimiter, encoding), and
the data's settings (currency, time zone, conversion touchpoint, funnel steps, segment columns)::

    currency: GBP                    # or {code: GBP, symbol: "£"}; default EUR
    time_zone: Europe/London         # zone of naive timestamps; offsets are converted to it; default UTC
    conversion_touchpoint: payment_done
    funnel_steps: [product_view, add_to_cart, payment_done]
    segment_columns: [platform]
    date_format: "%d/%m/%Y %H:%M"    # defaults for every table (ISO 8601 is always understood)
    decimal: ","
    delimiter: ";"
    encoding: latin-1
    tables:
      transactions:
        file: online_retail.csv      # CSV (.csv, .tsv, .txt, optionally .gz) or Parquet (file or folder)
        decimal: "."                 # per-table read options override the defaults above
        columns:                     # contract column: source column
          customer_id: CustomerID
          timestamp: {source: InvoiceDate, date_format: "%m/%d/%Y %H:%M"}
          amount: Total

Everything is optional: without ``cx.yml`` (or for a table it does not list) a table is read from
``<table>.parquet``, ``<table>/`` or ``<table>.csv`` with the contract's own column names.  Every
mistake is a :class:`~cxlib.errors.DataContractError` naming ``cx.yml``, the key and what to do.
"""
from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from ..errors import DataContractError
from ..format import Currency, as_currency
from ..schema import TABLES

__all__ = ["MAPPING_FILE", "DataSettings", "ReadOptions", "TableSource", "FolderMapping", "read_mapping",
           "mapping_from_dict", "check_date_format", "SETTING_KEYS", "READ_KEYS", "DATA_SUFFIXES"]

#: The mapping file's name inside a data folder.
MAPPING_FILE = "cx.yml"
#: Keys of the data's settings (top level of ``cx.yml``).
SETTING_KEYS = ("currency", "time_zone", "conversion_touchpoint", "funnel_steps", "segment_columns")
#: Read options: top level (defaults) or per table.
READ_KEYS = ("date_format", "decimal", "delimiter", "encoding")
_TABLE_KEYS = ("file", "columns", *READ_KEYS)
#: File endings read as CSV text and as Parquet.
DATA_SUFFIXES = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet"}


@dataclass(frozen=True)
class DataSettings:
    """Settings of a data folder: what the data mean, beyond their columns.

    Defaults work without any setting (the synthetic retailer's conventions).

    Attributes
    ----------
    currency : Currency
        The currency of every amount (``transactions.amount``, ``subscriptions.monthly_fee``), printed by
        :func:`cxlib.format.format_money`. Default EUR.
    time_zone : str
        IANA zone of the data's clock: naive timestamps are taken as local time there, timestamps with a
        UTC offset are converted to it, and periods (quarters, months) are cut in it. Default ``"UTC"``.
    conversion_touchpoint : str or None
        The touchpoint that ends a journey as converted. None: ``"purchase"`` (once loaded, None when the
        events hold no ``purchase``: the journeys have no conversion until it is set).
    funnel_steps : tuple of str or None
        The ordered funnel; None: the journeys section's default.
    segment_columns : tuple of str or None
        Customer columns used as segments; None: the contract's segment columns present (region,
        age_band, loyalty_tier, acquisition_channel), see :meth:`cxlib.data.Dataset.segment_columns`.

    Examples
    --------
    >>> s = DataSettings.from_dict({"currency": "usd", "funnel_steps": ["view", "cart", "buy"]})
    >>> s.currency.symbol, s.funnel_steps, s.time_zone
    ('$', ('view', 'cart', 'buy'), 'UTC')
    """

    currency: Currency = field(default_factory=Currency)
    time_zone: str = "UTC"
    conversion_touchpoint: str | None = None
    funnel_steps: tuple[str, ...] | None = None
    segment_columns: tuple[str, ...] | None = None

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], *, where: str = "settings") -> DataSettings:
        """Settings from their mapping form (``cx.yml``'s top level, or a plan's parameters); unknown keys are errors."""
        unknown = sorted(set(raw) - set(SETTING_KEYS))
        if unknown:
            raise _error(f"{where}: unknown setting(s) {unknown}; the settings are {list(SETTING_KEYS)}.")
        return cls().updated(raw, where=where)

    def updated(self, raw: Mapping[str, Any] | DataSettings | None, *, where: str = "settings") -> DataSettings:
        """A copy with the settings of ``raw`` that are set (not None) replacing these."""
        if raw is None:
            return self
        if isinstance(raw, DataSettings):
            raw = {k: getattr(raw, k) for k in SETTING_KEYS if getattr(raw, k) != getattr(DataSettings(), k)}
        changes: dict[str, Any] = {}
        for key, value in raw.items():
            if value is None:
                continue
            if key not in SETTING_KEYS:
                raise _error(f"{where}: unknown setting {key!r}; the settings are {list(SETTING_KEYS)}.")
            changes[key] = _setting(key, value, where)
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain values (for provenance and printing)."""
        return {"currency": {"code": self.currency.code, "symbol": self.currency.symbol}, "time_zone": self.time_zone,
                "conversion_touchpoint": self.conversion_touchpoint,
                "funnel_steps": None if self.funnel_steps is None else list(self.funnel_steps),
                "segment_columns": None if self.segment_columns is None else list(self.segment_columns)}


def _setting(key: str, value: Any, where: str) -> Any:
    if key == "currency":
        if isinstance(value, Mapping):
            extra = sorted(set(value) - {"code", "symbol"})
            if extra or "code" not in value:
                raise _error(f"{where}: currency must be a code such as 'GBP' or a mapping {{code: GBP, symbol: '£'}}; "
                             f"found {dict(value)!r}.")
            return _currency(value["code"], value.get("symbol"), where)
        return value if isinstance(value, Currency) else _currency(value, None, where)
    if key == "time_zone":
        return check_time_zone(value, where=where)
    if key == "conversion_touchpoint":
        if not isinstance(value, str) or not value.strip():
            raise _error(f"{where}: conversion_touchpoint must be a touchpoint name (text); found {value!r}.")
        return value.strip()
    names = _names(key, value, where)
    if key == "funnel_steps" and len(names) < 2:
        raise _error(f"{where}: funnel_steps must list at least two touchpoints in order; found {list(names)}.")
    return names


def _currency(code: Any, symbol: Any, where: str) -> Currency:
    try:
        return Currency(str(code), "" if symbol is None else str(symbol)) if symbol is not None else as_currency(str(code))
    except ValueError as exc:
        raise _error(f"{where}: {exc}") from None


def _names(key: str, value: Any, where: str) -> tuple[str, ...]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, (list, tuple)) or not all(isinstance(v, str) and v.strip() for v in values):
        raise _error(f"{where}: {key} must be a list of names (text); found {value!r}.")
    names = tuple(v.strip() for v in values)
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise _error(f"{where}: {key} lists {dupes} more than once.")
    return names


def check_time_zone(value: Any, *, where: str = "settings") -> str:
    """``value`` if it names an IANA time zone (``"Europe/Paris"``, ``"UTC"``); otherwise a clear error.

    >>> check_time_zone("America/New_York")
    'America/New_York'
    """
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise _error(f"{where}: time_zone={value!r} is not an IANA time zone; expected a name such as 'UTC', "
                     "'Europe/Paris' or 'America/New_York'.") from None
    return str(value)


@dataclass(frozen=True)
class ReadOptions:
    """How to read a table's text: date format, decimal separator, and for CSV the delimiter and encoding.

    ``date_format`` is a ``strftime`` pattern (``"%d/%m/%Y %H:%M"``); None reads ISO 8601
    (``2025-11-03``, ``2025-11-03T14:05:00+01:00``). ``decimal`` is ``"."`` or ``","``; with ``","`` a
    ``"."`` may only group thousands (``1.234,56``).
    """

    date_format: str | None = None
    decimal: str = "."
    delimiter: str = ","
    encoding: str = "utf-8"

    def updated(self, raw: Mapping[str, Any], *, where: str) -> ReadOptions:
        changes = {}
        for key in READ_KEYS:
            if key in raw and raw[key] is not None:
                changes[key] = _read_option(key, raw[key], where)
        return replace(self, **changes)


def _read_option(key: str, value: Any, where: str) -> str:
    if key == "date_format":
        return check_date_format(value, where=f"{where}.date_format")
    if key == "decimal":
        if value not in (".", ","):
            raise _error(f"{where}.decimal={value!r}: the decimal separator must be '.' or ','.")
        return value
    if key == "delimiter":
        text = {"\\t": "\t", "tab": "\t"}.get(value, value) if isinstance(value, str) else value
        if not isinstance(text, str) or len(text) != 1 or text in "\"\r\n":
            raise _error(f"{where}.delimiter={value!r}: the delimiter must be one character such as ',', ';', "
                         "'|' or '\\t' (tab).")
        return text
    try:
        return codecs.lookup(str(value)).name
    except LookupError:
        raise _error(f"{where}.encoding={value!r} is not a text encoding Python knows; expected e.g. 'utf-8', "
                     "'latin-1', 'cp1252' or 'utf-16'.") from None


_DIRECTIVES = set("aAwdbBmyYHIpMSfzZjUWcxX%GuV")


def check_date_format(value: Any, *, where: str = "date_format") -> str:
    """``value`` if it is a usable ``strftime`` date format (a year, month and day, known directives).

    >>> check_date_format("%d/%m/%Y %H:%M")
    '%d/%m/%Y %H:%M'
    >>> check_date_format("%d/%q/%Y")
    Traceback (most recent call last):
    ...
    cxlib.errors.DataContractError: date_format='%d/%q/%Y' is not a valid date format: unknown directive '%q'. Use strftime codes such as '%Y-%m-%d', '%d/%m/%Y %H:%M' or '%Y%m%d'.
    """
    hint = "Use strftime codes such as '%Y-%m-%d', '%d/%m/%Y %H:%M' or '%Y%m%d'."
    if not isinstance(value, str) or not value.strip():
        raise _error(f"{where}={value!r} is not a valid date format: expected text. {hint}")
    codes = re.findall(r"%(.)", value.replace("%%", ""))
    bad = [c for c in codes if c not in _DIRECTIVES]
    if bad:
        raise _error(f"{where}={value!r} is not a valid date format: unknown directive '%{bad[0]}'. {hint}")
    if not ({"Y", "y", "G"} & set(codes)) or not ({"m", "b", "B", "j", "U", "W", "V"} & set(codes)):
        raise _error(f"{where}={value!r} is not a valid date format: it needs a year (%Y) and a month (%m). {hint}")
    probe = datetime(2024, 11, 23, 13, 7, 9)
    try:
        datetime.strptime(probe.strftime(value), value)
    except ValueError as exc:
        raise _error(f"{where}={value!r} is not a valid date format ({exc}). {hint}") from None
    return value


@dataclass(frozen=True)
class TableSource:
    """Where one table comes from: its file, its columns' source names, and how to read them.

    Attributes
    ----------
    table : str
        The contract table.
    file : str or None
        File (or folder of Parquet parts) relative to the data folder; None: the default names.
    columns : Mapping[str, str]
        Contract (or new) column name -> source column name; unlisted columns keep their names.
    date_formats : Mapping[str, str]
        Per-column date formats (contract name -> format), over ``options.date_format``.
    options : ReadOptions
        The table's read options (the mapping's defaults with its own overrides).
    """

    table: str
    file: str | None = None
    columns: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    date_formats: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    options: ReadOptions = field(default_factory=ReadOptions)

    def date_format(self, column: str) -> str | None:
        """The date format of a contract column (its own, else the table's, else None for ISO 8601)."""
        return self.date_formats.get(column, self.options.date_format)

    @property
    def renames(self) -> dict[str, str]:
        """Source column name -> contract name, for the columns whose names differ."""
        return {src: dst for dst, src in self.columns.items() if src != dst}


@dataclass(frozen=True)
class FolderMapping:
    """A parsed ``cx.yml`` (or the empty mapping of a folder without one)."""

    path: Path | None = None
    tables: Mapping[str, TableSource] = field(default_factory=lambda: MappingProxyType({}))
    settings: DataSettings = field(default_factory=DataSettings)
    options: ReadOptions = field(default_factory=ReadOptions)

    def source(self, table: str) -> TableSource:
        """The source of ``table``: its entry, else the defaults (default file names, the default read options)."""
        return self.tables.get(table) or TableSource(table, options=self.options)


def _error(message: str, **kw: Any) -> DataContractError:
    return DataContractError(message, rule="mapping", **kw)


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses a key written twice in one mapping (PyYAML keeps the last silently)."""


def _unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first on line {seen[key] + 1}, again on line "
                f"{key_node.start_mark.line + 1})", key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def read_mapping(folder: str | Path) -> FolderMapping:
    """The mapping of a data folder: its ``cx.yml`` parsed and checked, or the empty mapping.

    Files named in it must exist; source columns are checked when the files are read.

    Raises
    ------
    DataContractError
        Invalid YAML, unknown keys or tables, a missing file, a bad date format, decimal separator,
        delimiter, encoding, time zone or currency, a contract column mapped twice, one source
        column mapped to two columns (each message names ``cx.yml`` and the key).
    """
    folder = Path(folder)
    path = folder / MAPPING_FILE
    if not path.is_file():
        return FolderMapping()
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except UnicodeDecodeError as exc:
        raise _error(f"{path} is not UTF-8 text ({exc.reason}); save it as UTF-8.") from None
    except yaml.YAMLError as exc:
        raise _error(f"{path} is not valid YAML: {' '.join(str(exc).split())}") from None
    return mapping_from_dict(raw if raw is not None else {}, folder=folder, path=path)


def mapping_from_dict(raw: Any, *, folder: str | Path | None = None, path: Path | None = None) -> FolderMapping:
    """Build a :class:`FolderMapping` from the parsed YAML (see the module docstring for its keys).

    >>> m = mapping_from_dict({"currency": "GBP", "tables": {"transactions": {"columns": {"amount": "Total"}}}})
    >>> m.settings.currency.code, dict(m.source("transactions").columns), m.source("events").file
    ('GBP', {'amount': 'Total'}, None)
    """
    where = MAPPING_FILE
    if not isinstance(raw, Mapping):
        raise _error(f"{where} must be a mapping of settings and 'tables'; found {type(raw).__name__}.")
    known = {*SETTING_KEYS, *READ_KEYS, "tables"}
    unknown = sorted(str(k) for k in set(raw) - known)
    if unknown:
        raise _error(f"{where}: unknown key(s) {unknown}; expected some of {sorted(known)}.")
    settings = DataSettings.from_dict({k: raw[k] for k in SETTING_KEYS if k in raw}, where=where)
    options = ReadOptions().updated(raw, where=where)
    tables_raw = raw.get("tables") or {}
    if not isinstance(tables_raw, Mapping):
        raise _error(f"{where}: 'tables' must map table names to their files and columns; found {tables_raw!r}.")
    unknown = sorted(str(t) for t in tables_raw if t not in TABLES)
    if unknown:
        raise _error(f"{where}: unknown table(s) {unknown} under 'tables'; the contract's tables are {sorted(TABLES)}.",
                     table=unknown[0])
    tables = {name: _table_source(name, entry, options, folder) for name, entry in tables_raw.items()}
    return FolderMapping(path=path, tables=MappingProxyType(tables), settings=settings, options=options)


def _table_source(name: str, entry: Any, defaults: ReadOptions, folder: str | Path | None) -> TableSource:
    where = f"{MAPPING_FILE}: tables.{name}"
    if entry is None:
        entry = {}
    if isinstance(entry, str):
        entry = {"file": entry}
    if not isinstance(entry, Mapping):
        raise _error(f"{where} must be a file name or a mapping with 'file' and 'columns'; found {entry!r}.", table=name)
    unknown = sorted(str(k) for k in set(entry) - set(_TABLE_KEYS))
    if unknown:
        raise _error(f"{where}: unknown key(s) {unknown}; expected some of {list(_TABLE_KEYS)}.", table=name)
    file = entry.get("file")
    if file is not None:
        file = _check_file(name, file, folder, where)
    options = defaults.updated(entry, where=where)
    columns, formats = _columns(name, entry.get("columns") or {}, where)
    return TableSource(name, file=file, columns=MappingProxyType(columns), date_formats=MappingProxyType(formats),
                       options=options)


def _check_file(table: str, file: Any, folder: str | Path | None, where: str) -> str:
    if not isinstance(file, str) or not file.strip():
        raise _error(f"{where}.file must be a file name; found {file!r}.", table=table)
    rel = Path(file.strip())
    if rel.is_absolute() or ".." in rel.parts:
        raise _error(f"{where}.file={file!r} must be a path inside the data folder (no absolute path, no '..').",
                     table=table)
    suffix = "".join(rel.suffixes[-2:]) if rel.suffix == ".gz" else rel.suffix
    if folder is None:
        return rel.as_posix()
    target = Path(folder) / rel
    if not target.exists():
        present = sorted(p.name for p in Path(folder).iterdir() if p.name != MAPPING_FILE
                         and not p.name.startswith("."))
        raise _error(f"{where}.file={file!r} does not exist in {folder}; files there: {present}.", table=table)
    if target.is_file() and suffix.removesuffix(".gz") not in DATA_SUFFIXES:
        raise _error(f"{where}.file={file!r}: cannot read a {suffix or 'suffix-less'} file; expected CSV "
                     f"({', '.join(s for s, k in DATA_SUFFIXES.items() if k == 'csv')}, optionally .gz) or Parquet "
                     "(.parquet, or a folder of .parquet parts).", table=table)
    if target.is_dir() and not any(target.rglob("*.parquet")):
        raise _error(f"{where}.file={file!r} is a folder without .parquet parts.", table=table)
    return rel.as_posix()


def _columns(table: str, raw: Any, where: str) -> tuple[dict[str, str], dict[str, str]]:
    if not isinstance(raw, Mapping):
        raise _error(f"{where}.columns must map contract columns to source columns (customer_id: CustomerID); "
                     f"found {raw!r}.", table=table)
    columns: dict[str, str] = {}
    formats: dict[str, str] = {}
    for target, spec in raw.items():
        col_where = f"{where}.columns.{target}"
        if not isinstance(target, str) or not target.strip():
            raise _error(f"{where}.columns: column names must be text; found {target!r}.", table=table)
        if isinstance(spec, Mapping):
            extra = sorted(str(k) for k in set(spec) - {"source", "date_format"})
            if extra or "source" not in spec:
                raise _error(f"{col_where} must be a source column name or {{source: NAME, date_format: FORMAT}}; "
                             f"found {dict(spec)!r}.", table=table, column=target)
            if spec.get("date_format") is not None:
                kind = TABLES[table].column(target).kind if target in TABLES[table].column_names else None
                if kind not in ("timestamp", "date"):
                    raise _error(f"{col_where}.date_format: {target!r} is not a date or timestamp column of "
                                 f"{table}.", table=table, column=target)
                formats[target] = check_date_format(spec["date_format"], where=f"{col_where}.date_format")
            spec = spec["source"]
        if isinstance(spec, (int, float)) and not isinstance(spec, bool):
            spec = str(spec)
        if not isinstance(spec, str) or not spec.strip():
            raise _error(f"{col_where} must name a source column; found {spec!r}.", table=table, column=target)
        columns[target] = spec
    by_source: dict[str, list[str]] = {}
    for target, source in columns.items():
        by_source.setdefault(source, []).append(target)
    twice = {s: t for s, t in by_source.items() if len(t) > 1}
    if twice:
        source, targets = sorted(twice.items())[0]
        raise _error(f"{where}.columns maps source column {source!r} to several columns {targets}; a source column "
                     "becomes one column.", table=table, column=targets[0])
    return columns, formats

