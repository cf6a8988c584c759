"""The contract's rules on typed frames: column kinds, bounds, nulls, keys, open vocabularies, row rules, references.

Per-table rules run through pandera (:func:`pandera_schema`) plus the rules pandera does not express
(vocabulary emptiness and cardinality, timestamps in the future, orderings, row rules); the
cross-table rule (foreign keys) runs over every loaded table.  The first failing table raises one
:class:`~cxlib.errors.DataContractError` listing all its failures, each with its first offending rows
in row order.
"""
from __future__ import annotations

import re
from collections.abc import Mapping

import pandas as pd
import pandera.pandas as pa

from ..errors import DataContractError
from ..schema import DATE_RANGE_ENV, TABLES, Table, plausible_date_range
from .parse import SAMPLE_ROWS, _text_values, raise_rows

__all__ = ["pandera_schema", "validate_tables", "validate_table"]


def pandera_schema(table: str | Table, *, columns: list[str] | None = None) -> pa.DataFrameSchema:
    """The pandera schema of one contract table (column kinds, bounds, nulls, key).

    ``columns`` (the frame's columns) restricts the key to its present columns.

    >>> pandera_schema("units").columns["region"].nullable
    False
    """
    spec = TABLES[table] if isinstance(table, str) else table
    dtypes = {"string": None, "float": "float64", "bool": "boolean", "timestamp": "datetime64[ns]",
              "date": "datetime64[ns]"}
    out = {}
    for c in spec.columns:
        checks = []
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
        out[c.name] = pa.Column(dtype, checks=checks, nullable=c.nullable, required=c.required)
    key = [k for k in spec.key if columns is None or k in columns]
    return pa.DataFrameSchema(out, unique=key or None, strict=False, name=spec.name)


def validate_table(table: str, frame: pd.DataFrame, *, now: pd.Timestamp | None = None) -> int:
    """Every per-table rule of ``table`` on ``frame``; returns the number of checks run.

    ``now`` (naive, in the data's time zone; default the current UTC time) bounds every timestamp.
    """
    if frame.empty:
        raise DataContractError(f"Table '{table}' is empty: the contract needs at least one row.",
                                table=table, rule="non-empty table")
    spec = TABLES[table]
    schema = pandera_schema(table, columns=list(frame.columns))
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        raise _contract_error_from_pandera(table, frame, exc) from None
    n_checks = sum(len(c.checks) + 1 for c in schema.columns.values()) + 1
    n_checks += _vocabularies(table, frame)
    now = pd.Timestamp.now(tz="UTC").tz_localize(None) if now is None else pd.Timestamp(now)
    key = [k for k in spec.key if k in frame]
    earliest = plausible_date_range()[0]  # a date before 1990 (by default) is a typo or a placeholder
    for c in spec.columns:
        if c.kind in ("timestamp", "date") and c.name in frame:
            future = frame[c.name] > now
            _maybe_raise_frame(table, c.name, "not in the future", frame.loc[future, [*key, c.name]],
                               f"'{c.name}' after the moment of loading ({now:%Y-%m-%d %H:%M})")
            early = frame[c.name] < earliest
            _maybe_raise_frame(table, c.name, f"not before {earliest:%Y-%m-%d}", frame.loc[early, [*key, c.name]],
                               f"'{c.name}' before {earliest:%Y-%m-%d}, the earliest plausible date "
                               f"(set {DATE_RANGE_ENV} to change the range)")
            n_checks += 1  # one rule: the date lies in the plausible range, up to now
    for first, second in spec.ordered:
        if first in frame and second in frame:
            bad = frame[second].notna() & frame[first].notna() & (frame[second] < frame[first])
            _maybe_raise_frame(table, second, f"{second} >= {first}", frame.loc[bad, [*key, first, second]],
                               f"'{second}' is before '{first}'")
            n_checks += 1
    if table == "transactions" and {"items", "returned_items"} <= set(frame):
        bad = frame["returned_items"] > frame["items"]
        _maybe_raise_frame(table, "returned_items", "returned_items <= items",
                           frame.loc[bad, [*key, "items", "returned_items"]], "more items returned than bought")
        n_checks += 1
    scores = [c for c in spec.at_least_one if c in frame]
    if scores:
        bad = frame[scores].isna().all(axis=1)
        _maybe_raise_frame(table, scores[0], "at least one score", frame.loc[bad, [*key, *scores]],
                           f"responses without any of {', '.join(scores)}")
        n_checks += 1
    return n_checks


def _vocabularies(table: str, frame: pd.DataFrame) -> int:
    """Open vocabularies: a present vocabulary column is not empty in every row and has at most ``max_levels`` values."""
    n = 0
    for c in TABLES[table].columns:
        if c.max_levels is None or c.name not in frame:
            continue
        values = frame[c.name]
        if values.isna().all():
            raise DataContractError(
                f"Table '{table}', column '{c.name}' fails rule 'not empty': the column is present but empty in all "
                f"{len(values):,} row(s). Fill it, or leave it out of the file (or of cx.yml): it is optional.",
                table=table, column=c.name, rule="not empty")
        levels = values.nunique(dropna=True)
        if levels > c.max_levels:
            common = values.value_counts().head(SAMPLE_ROWS)
            shown = ", ".join(f"{v!r} ({k:,})" for v, k in sorted(common.items(), key=lambda x: (-x[1], str(x[0]))))
            raise DataContractError(
                f"Table '{table}', column '{c.name}' fails rule 'at most {c.max_levels:,} distinct values': it has "
                f"{levels:,} distinct values (most common: {shown}). A vocabulary column (touchpoints, channels, "
                "categories...) holds a few names; is an identifier or free text mapped to it in cx.yml?",
                table=table, column=c.name, rule=f"at most {c.max_levels:,} distinct values")
        n += 1  # one vocabulary check (emptiness and cardinality), in place of the closed list it replaces
    return n


def _maybe_raise_frame(table: str, column: str, rule: str, offending: pd.DataFrame, what: str) -> None:
    if len(offending):
        raise_rows(table, column, rule, offending, what)


def _contract_error_from_pandera(table: str, frame: pd.DataFrame, exc: pa.errors.SchemaErrors) -> DataContractError:
    cases = exc.failure_cases.copy()
    cases["column"] = cases["column"].fillna("(table)")
    lines, first = [], None
    for (column, check), group in cases.groupby(["column", "check"], sort=False, dropna=False):
        group = group.assign(_row=pd.to_numeric(group["index"], errors="coerce")).sort_values(
            ["_row"], kind="stable", na_position="last")
        with_rows = group[group["_row"].notna()].drop_duplicates("_row")
        idx = [int(i) for i in with_rows["_row"].head(SAMPLE_ROWS)]
        if idx:
            examples = ", ".join(f"row {int(i)}: {_plain(v)!r}"
                                 for i, v in zip(with_rows["_row"].head(SAMPLE_ROWS),
                                                 with_rows["failure_case"].head(SAMPLE_ROWS)))
        else:
            examples = ", ".join(sorted(repr(_plain(v)) for v in group["failure_case"])[:SAMPLE_ROWS])
        if str(check).startswith("field_uniqueness") or str(check).startswith("multiple_fields_uniqueness"):
            rule = f"unique key {[k for k in TABLES[table].key if k in frame]}"
        elif check == "not_nullable":
            rule = "not null"
        elif str(check).startswith("dtype"):
            rule = f"type ({check})"
        else:
            rule = _friendly_check(str(check))
        n = len(group)
        more = f" (first {len(idx)} shown)" if 0 < len(idx) < n else ""
        lines.append(f"column '{column}' fails rule '{rule}' in {n:,} row(s); examples{more}: {examples}")
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
            if ref_table not in tables or ref_col not in tables[ref_table]:
                continue
            values = frame[col.name]
            orphan = values.notna() & ~values.isin(tables[ref_table][ref_col])
            n += 1
            if orphan.any():
                key = [k for k in TABLES[name].key if k in frame]
                _maybe_raise_frame(name, col.name, f"references {col.references}",
                                   frame.loc[orphan, [*key, col.name]] if col.name not in key else frame.loc[orphan, key],
                                   f"values not found in {ref_table}.{ref_col} (orphan foreign keys)")
    return n


def validate_tables(tables: Mapping[str, pd.DataFrame], *, now: pd.Timestamp | None = None) -> pd.DataFrame:
    """Validate already-loaded frames against the contract; return the per-table check counts.

    Raises ``DataContractError`` on the first failing table (all failures of that table listed).
    ``now`` (naive, in the data's time zone; default the current UTC time) bounds every timestamp.
    """
    counts = {}
    for name, frame in tables.items():
        if name not in TABLES:
            raise DataContractError(f"Unknown table {name!r}; the contract has {sorted(TABLES)}.", table=name)
        counts[name] = validate_table(name, frame, now=now)
    n_ref = _check_references(tables)
    return pd.DataFrame({"table": list(counts), "checks": list(counts.values())}).assign(reference_checks=n_ref)
