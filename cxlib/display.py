"""Compact, safe display of results in a notebook: a short plain ``repr`` and a small HTML table.

Every public result class of cxlib (metric results, tests, models, journey and evaluation results,
segments, action lists, the :class:`~cxlib.data.Dataset`) is decorated with :func:`displayable`,
which gives it

* ``__repr__``: the class name and its scalar fields on a few lines, then the head of each table
  it shows, never longer than :data:`MAX_REPR_CHARS` characters;
* ``_repr_html_``: the same as a small HTML table (what JupyterLab shows), intervals written
  ``a to b`` under one ``95% CI`` row, each shown table cut to :data:`MAX_ROWS` rows and
  :data:`MAX_COLUMNS` columns, never longer than :data:`MAX_HTML_CHARS` characters.

What is shown is safe by construction: a frame held by a result is only summarised (rows x
columns) unless the class names it among its ``tables``; the columns of
:data:`PERSONAL_COLUMNS` (customer ids, names, free-text comments) and an index named like them
are never shown. Text is put on one short line and escaped for HTML by :func:`cxlib.escape.escape_html`
(the project's one escape). Numbers are rounded for reading only (four significant digits, thousands
separators from :mod:`cxlib.format`); the result keeps full precision.

Examples
--------
>>> from dataclasses import dataclass
>>> @displayable(tables=("table",))
... @dataclass(frozen=True)
... class Result:
...     metric: str
...     estimate: float
...     ci_lower: float
...     ci_upper: float
...     ci_level: float
...     table: pd.DataFrame
>>> r = Result("nps", 41.23456, 38.1, 44.3, 0.95,
...            pd.DataFrame({"customer_id": ["C1", "C2"], "segment": ["gold", "silver"], "n": [3, 4]}))
>>> print(repr(r))
Result(metric='nps', estimate=41.23, ci_lower=38.1, ci_upper=44.3, ci_level=0.95)
table (2 rows x 3 columns; customer_id hidden: personal data):
  segment n
     gold 3
   silver 4
>>> page = r._repr_html_()
>>> "C1" in page, "95% CI</th>" in page, ">38.1 to 44.3</td>" in page
(False, True, True)
"""
from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable, Mapping, Sequence, Set
from pathlib import PurePath
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from .escape import escape_html, one_line
from .format import MISSING, format_number, is_missing

__all__ = ["MAX_COLUMNS", "MAX_HTML_CHARS", "MAX_REPR_CHARS", "MAX_ROWS", "PERSONAL_COLUMNS", "displayable",
           "html_repr", "text_repr"]

#: Longest plain ``repr`` of a result (characters); longer ones are cut with a note.
MAX_REPR_CHARS = 2_000
#: Longest ``_repr_html_`` of a result (characters): tables lose rows, then become summaries, to fit.
MAX_HTML_CHARS = 50_000
#: Rows and columns of a shown table (HTML); the plain repr shows :data:`MAX_TEXT_ROWS` rows.
MAX_ROWS = 10
MAX_COLUMNS = 12
MAX_TEXT_ROWS = 8
#: Longest text of one field or cell before it is cut with an ellipsis.
MAX_CELL_CHARS = 80
#: Columns never shown in a result's display: the contract's personal data (customer ids, names, comments)
#: and the usual names of contact details. A table keeps its other columns and says which were hidden.
PERSONAL_COLUMNS = frozenset({"customer_id", "first_name", "last_name", "comment", "email", "phone", "name",
                              "full_name", "address"})

T = TypeVar("T")
TableSpec = Sequence[str] | Mapping[str, Callable[[Any], Any]]


def displayable(*, tables: TableSpec = (), hide: Sequence[str] = (),
                fields: Callable[[Any], Mapping[str, Any]] | None = None) -> Callable[[type[T]], type[T]]:
    """Class decorator: give a result class the compact ``__repr__`` and ``_repr_html_`` of this module.

    Parameters
    ----------
    tables : sequence of str, or mapping of str to callable
        Attributes (or zero-argument methods) holding frames whose rows are shown, in this order; a
        mapping names each table and gives a function of the object returning it. An object with
        ``to_frame()`` is shown as its frame. Any other frame of the object is only summarised.
    hide : sequence of str
        Fields not shown at all.
    fields : callable, optional
        ``fields(obj)`` returns the scalar fields to show, for classes that are not dataclasses
        (models); by default a dataclass's fields in order, private ones (``_x``) and those declared
        ``field(repr=False)`` left out.

    Put it above ``@dataclass``: the dataclass decorator would otherwise write its own ``__repr__``.
    """
    spec = _Spec(tables=dict(tables) if isinstance(tables, Mapping) else {t: _attribute(t) for t in tables},
                 hide=frozenset(hide), fields=fields)

    def decorate(cls: type[T]) -> type[T]:
        cls.__cx_display__ = spec  # type: ignore[attr-defined]
        cls.__repr__ = text_repr  # type: ignore[assignment]
        cls._repr_html_ = html_repr  # type: ignore[attr-defined]
        return cls

    return decorate


@dataclasses.dataclass(frozen=True)
class _Spec:
    tables: dict[str, Callable[[Any], Any]]
    hide: frozenset[str]
    fields: Callable[[Any], Mapping[str, Any]] | None


def _attribute(name: str) -> Callable[[Any], Any]:
    def get(obj: Any) -> Any:
        value = getattr(obj, name)
        return value() if callable(value) and not isinstance(value, (pd.DataFrame, pd.Series)) else value
    return get


# ---------------------------------------------------------------------------------------------- parts
def _parts(obj: Any) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    """(scalar fields, [(table name, frame or the reason it is unavailable)]) of a decorated object."""
    spec: _Spec = getattr(type(obj), "__cx_display__", _Spec({}, frozenset(), None))
    if spec.fields is not None:
        values = dict(spec.fields(obj))
    elif dataclasses.is_dataclass(obj):
        values = {f.name: getattr(obj, f.name, None) for f in dataclasses.fields(obj) if f.repr}
    else:
        values = {k: v for k, v in vars(obj).items()}
    values = {k: v for k, v in values.items() if not k.startswith("_") and k not in spec.hide}
    shown = []
    for name, get in spec.tables.items():
        try:
            table = get(obj)
        except Exception as exc:  # a display must not raise (e.g. a model not fitted yet)
            table = f"unavailable: {type(exc).__name__}"
        if hasattr(table, "to_frame") and not isinstance(table, pd.DataFrame):
            table = table.to_frame()
        if table is not None:
            shown.append((name, table))
    fields = {k: v for k, v in values.items() if k not in spec.tables}
    return fields, shown


def _safe_frame(frame: pd.DataFrame | pd.Series) -> tuple[pd.DataFrame, list[str], bool]:
    """The frame without personal columns (nor a personal or unnamed non-default index), what was hidden."""
    frame = frame.to_frame() if isinstance(frame, pd.Series) else frame
    hidden = [str(c) for c in frame.columns if str(c).lower() in PERSONAL_COLUMNS]
    frame = frame.drop(columns=[c for c in frame.columns if str(c).lower() in PERSONAL_COLUMNS])
    names = [n for n in frame.index.names if n is not None]
    keep_index = (not isinstance(frame.index, pd.RangeIndex) and len(names) == frame.index.nlevels
                  and not any(str(n).lower() in PERSONAL_COLUMNS for n in names))
    if not keep_index and not isinstance(frame.index, pd.RangeIndex):
        hidden += [str(n) for n in names if str(n).lower() in PERSONAL_COLUMNS]
    return frame, hidden, keep_index


def _number(value: numbers.Real) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, numbers.Integral):
        return format_number(int(value), 0, minus="-")
    value = float(value)
    if math.isnan(value):
        return "nan"
    if math.isinf(value) or abs(value) < 1_000:
        return f"{value:.4g}"
    return format_number(value, 0, minus="-")


def _cut(text: str, limit: int = MAX_CELL_CHARS) -> str:
    text = one_line(text)
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


def _shape(value: Any) -> str:
    if isinstance(value, pd.DataFrame):
        return f"{len(value):,} rows x {value.shape[1]:,} columns"
    if isinstance(value, pd.Series):
        return f"{len(value):,} values"
    return f"array {tuple(value.shape)}"


def _value(value: Any, *, quote: bool) -> str:
    """One field's value as short text (never a frame's contents)."""
    if isinstance(value, (pd.DataFrame, pd.Series, np.ndarray)):
        return f"<{_shape(value)}>"
    if value is None or value is pd.NaT or value is pd.NA:
        return "None" if value is None else "NaT" if value is pd.NaT else "NA"
    if isinstance(value, (numbers.Real, np.bool_)) and not isinstance(value, pd.Timestamp):
        return _number(value)
    if isinstance(value, str):
        return repr(_cut(value)) if quote else _cut(value)
    if isinstance(value, pd.Timestamp):
        return str(value.date()) if value == value.normalize() else value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, (pd.Timedelta, PurePath)):
        return str(value)
    if isinstance(value, Mapping):
        if value and all(isinstance(v, pd.DataFrame) for v in value.values()):
            return _cut(", ".join(f"{k} ({_shape(v)})" for k, v in value.items()), 4 * MAX_CELL_CHARS)
        if all(isinstance(v, (str, numbers.Real)) for v in value.values()):
            return _cut("{" + ", ".join(f"{k}: {_value(v, quote=quote)}" for k, v in value.items()) + "}")
        return f"<{len(value):,} items>"
    if isinstance(value, (Set, list, tuple)):
        items = sorted(value, key=str) if isinstance(value, Set) else list(value)
        if all(isinstance(v, (str, numbers.Real)) for v in items):
            return _cut("(" + ", ".join(_value(v, quote=quote) for v in items) + ")")
        kinds = sorted({type(v).__name__ for v in items})
        return f"<{len(items):,} x {'/'.join(kinds)}>" if items else "()"
    if hasattr(type(value), "__cx_display__") or dataclasses.is_dataclass(value):
        return f"<{type(value).__name__}>"
    text = str(value)
    return _cut(text) if "\n" not in text and len(text) <= MAX_CELL_CHARS else f"<{type(value).__name__}>"


def _interval_rows(fields: dict[str, Any]) -> dict[str, str]:
    """Field name -> text for the HTML table, each ``*ci_lower``/``*ci_upper`` pair shown as one ``a to b`` row."""
    level = fields.get("ci_level")
    level_text = f"{100 * level:g}% " if isinstance(level, numbers.Real) and not is_missing(level) else ""
    rows: dict[str, str] = {}
    for name, value in fields.items():
        if name.endswith("ci_upper") and name[:-5] + "lower" in fields:
            continue
        if name.endswith("ci_lower") and name[:-5] + "upper" in fields:
            lower, upper = value, fields[name[:-5] + "upper"]
            both = MISSING if is_missing(lower) or is_missing(upper) else \
                f"{_value(lower, quote=False)} to {_value(upper, quote=False)}"
            rows[f"{name[:-8]}{level_text}CI"] = both
            continue
        if name == "ci_level" and level_text:
            continue
        rows[name] = _value(value, quote=False)
    return rows


# ---------------------------------------------------------------------------------------------- text
def _table_text(name: str, table: Any, rows: int) -> str:
    if isinstance(table, str):
        return f"{name}: {table}"
    frame, hidden, keep_index = _safe_frame(table)
    note = f"{_shape(table)}" + (f"; {', '.join(hidden)} hidden: personal data" if hidden else "")
    if rows <= 0 or frame.empty:
        return f"{name} ({note})"
    shown = frame.iloc[:rows, :MAX_COLUMNS].map(lambda v: _cut(_value(v, quote=False), 24))
    body = shown.to_string(index=keep_index, max_colwidth=24)
    more = f"\n  ... {len(frame) - rows:,} more rows" if len(frame) > rows else ""
    return f"{name} ({note}):\n" + "\n".join("  " + line for line in body.splitlines()) + more


def text_repr(obj: Any) -> str:
    """The plain ``repr`` of a :func:`displayable` object (at most :data:`MAX_REPR_CHARS` characters)."""
    fields, tables = _parts(obj)
    head = f"{type(obj).__name__}(" + ", ".join(f"{k}={_value(v, quote=True)}" for k, v in fields.items()) + ")"
    for rows in (MAX_TEXT_ROWS, 3, 0):
        text = "\n".join([head, *(_table_text(n, t, rows) for n, t in tables)])
        if len(text) <= MAX_REPR_CHARS:
            return text
    return text[:MAX_REPR_CHARS - 40] + "... (cut: see the result's fields)"


# ---------------------------------------------------------------------------------------------- HTML
def _table_html(name: str, table: Any, rows: int) -> str:
    if isinstance(table, str):
        return f"<p><b>{escape_html(name)}</b>: {escape_html(table)}</p>"
    frame, hidden, keep_index = _safe_frame(table)
    note = _shape(table) + (f"; {', '.join(hidden)} hidden (personal data)" if hidden else "")
    caption = f"<p style='margin:6px 0 2px'><b>{escape_html(name)}</b> <small>({escape_html(note)})</small></p>"
    if rows <= 0 or frame.empty:
        return caption
    part = frame.iloc[:rows, :MAX_COLUMNS]
    index_names = [str(n) for n in part.index.names] if keep_index else []
    header = "".join(f"<th>{escape_html(c)}</th>" for c in [*index_names, *map(str, part.columns)])
    lines = []
    for key, row in zip(part.index, part.itertuples(index=False)):
        keys = (key if isinstance(key, tuple) else (key,)) if keep_index else ()
        cells = [*keys, *row]
        lines.append("<tr>" + "".join(f"<td>{escape_html(_value(v, quote=False))}</td>" for v in cells)
                     + "</tr>")
    more = []
    if len(frame) > rows:
        more.append(f"{len(frame) - rows:,} more rows")
    if frame.shape[1] > MAX_COLUMNS:
        more.append(f"{frame.shape[1] - MAX_COLUMNS:,} more columns")
    tail = f"<small>... {escape_html('; '.join(more))}</small>" if more else ""
    return (f"{caption}<table style='border-collapse:collapse;font-size:90%'><thead><tr>{header}</tr></thead>"
            f"<tbody>{''.join(lines)}</tbody></table>{tail}")


def html_repr(obj: Any) -> str:
    """The ``_repr_html_`` of a :func:`displayable` object (at most :data:`MAX_HTML_CHARS` characters)."""
    fields, tables = _parts(obj)
    rows = "".join(f"<tr><th>{escape_html(k)}</th><td>{escape_html(v)}</td></tr>"
                   for k, v in _interval_rows(fields).items())
    head = (f"<div class='cxlib-result'><p style='margin:0 0 4px'><b>{escape_html(type(obj).__name__)}</b></p>"
            f"<table style='border-collapse:collapse;font-size:90%'><tbody>{rows}</tbody></table>")
    for n_rows in (MAX_ROWS, 3, 0):
        text = head + "".join(_table_html(n, t, n_rows) for n, t in tables) + "</div>"
        if len(text) <= MAX_HTML_CHARS:
            return text
    return head + "<p>(tables left out to keep the display small: see the result's fields)</p></div>"
