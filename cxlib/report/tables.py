"""Report tables: :func:`show_table` for notebooks.

Cells are formatted by :mod:`cxlib.format` (the one formatter: thousands separators, fixed
decimals, percentages, ``p < 0.001``, intervals written ``1.2 to 7.0``); its functions are
re-exported here under their old names.

:func:`show_table` returns a display object whose bundle carries

* ``text/markdown``: a pipe table with an optional caption and ``{#tbl-...}``
  label, which pandoc (and Quarto) turn into a real table in HTML and Typst;
* ``text/html``: a styled table for JupyterLab;
* ``text/plain``: the same pipe table, so no ``<... object>`` repr leaks out.

Every cell and column name is text from data (a store id, a segment label, a verbatim), so it is
escaped for where it lands by :mod:`cxlib.escape`: Markdown in the pipe table, HTML in the styled
table; a label such as ``<img src=x onerror=...>`` or ``$$ big spenders`` is shown as written.
The caption is the notebook author's Markdown and is not escaped.
"""
from __future__ import annotations

import numbers
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from ..errors import ParameterError
from ..escape import escape_html, escape_markdown
from ..format import (
    MISSING,
    format_ci,
    format_number,
    format_p,
    format_percent,
    is_missing,
)

__all__ = ["DownloadLink", "TableDisplay", "csv_download", "format_ci", "format_number", "format_p", "format_percent",
           "show_table"]



@dataclass(frozen=True)
class TableDisplay:
    """A formatted table that IPython displays as Markdown, HTML or text.

    Attributes
    ----------
    markdown : str
        Pipe table (with ``: caption {#label}`` when given) for pandoc/Quarto.
    html : str
        Styled HTML table for JupyterLab.
    frame : pandas.DataFrame
        The formatted cells (all strings), in display order.
    caption, label : str or None
    """

    markdown: str
    html: str
    frame: pd.DataFrame
    caption: str | None = None
    label: str | None = None

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, str]:
        return {"text/markdown": self.markdown, "text/html": self.html, "text/plain": self.markdown}

    def _repr_markdown_(self) -> str:
        return self.markdown

    def _repr_html_(self) -> str:
        return self.html

    def __str__(self) -> str:
        return self.markdown


def _column_formatter(name: str, series: pd.Series, *, digits: int, percent: bool, p_value: bool):
    if p_value:
        return lambda v: format_p(v, prefix=False)
    if percent:
        return lambda v: format_percent(v, digits)
    if pd.api.types.is_integer_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
        return lambda v: format_number(v, 0)
    if pd.api.types.is_float_dtype(series.dtype):
        return lambda v: format_number(v, digits)
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return lambda v: MISSING if is_missing(v) else pd.Timestamp(v).strftime("%Y-%m-%d")
    return lambda v: MISSING if is_missing(v) else (format_number(v, digits) if isinstance(v, numbers.Real)
                                                      else str(v))


def _check_columns(df: pd.DataFrame, names: Sequence[str], what: str) -> None:
    missing = [c for c in names if c not in df.columns]
    if missing:
        raise ParameterError(f"{what}: column(s) {missing} not in the table; it has {list(df.columns)}.")


def format_frame(df: pd.DataFrame, *, digits: int | Mapping[str, int] = 1,
                 percent_cols: Sequence[str] = (), p_value_cols: Sequence[str] = (),
                 ci_cols: Mapping[str, tuple[str, str]] | None = None, index: bool = False) -> pd.DataFrame:
    """Return a copy of ``df`` with every cell formatted as report text.

    ``ci_cols`` maps a new column name to a ``(lower, upper)`` pair: the pair is
    replaced, at the position of ``lower``, by one column ``"a to b"``.

    Examples
    --------
    >>> df = pd.DataFrame({"segment": ["Gold"], "nps": [41.234], "lo": [38.0], "hi": [44.5],
    ...                    "p": [0.0001], "n": [12345]})
    >>> format_frame(df, ci_cols={"95% CI": ("lo", "hi")}, p_value_cols=["p"]).iloc[0].tolist()
    ['Gold', '41.2', '38.0 to 44.5', '< 0.001', '12,345']
    """
    if not isinstance(df, pd.DataFrame):
        raise ParameterError(f"show_table expects a pandas DataFrame; got {type(df).__name__}.")
    data = df.reset_index() if index else df.copy()
    data.columns = [str(c) for c in data.columns]
    _check_columns(data, percent_cols, "percent_cols")
    _check_columns(data, p_value_cols, "p_value_cols")
    ci_cols = dict(ci_cols or {})
    _check_columns(data, [c for pair in ci_cols.values() for c in pair], "ci_cols")
    digits_of = (lambda c: int(digits.get(c, 1))) if isinstance(digits, Mapping) else (lambda c: int(digits))
    out: dict[str, list[str]] = {}
    consumed = {hi for _, hi in ci_cols.values()}
    ci_at = {lo: (name, hi) for name, (lo, hi) in ci_cols.items()}
    for col in data.columns:
        if col in consumed:
            continue
        if col in ci_at:
            name, hi = ci_at[col]
            pct = col in percent_cols
            out[name] = [format_ci(a, b, digits_of(col), percent=pct) for a, b in zip(data[col], data[hi])]
            continue
        fmt = _column_formatter(col, data[col], digits=digits_of(col), percent=col in percent_cols,
                                p_value=col in p_value_cols)
        out[col] = [fmt(v) for v in data[col]]
    return pd.DataFrame(out, index=range(len(data)), dtype=object)


def _numeric_like(values: Sequence[str]) -> bool:
    pattern = re.compile(r"^[<>≤≥]?\s*[\u2212+-]?[\d,.]+%?$|^–$|^.+ to .+$")
    present = [v for v in values if v != MISSING]
    return bool(present) and all(pattern.match(v) for v in present)


def _pipe_table(table: pd.DataFrame, right: list[bool], caption: str | None, label: str | None) -> str:
    header = "| " + " | ".join(escape_markdown(c) for c in table.columns) + " |"
    rule = "|" + "|".join("---:" if r else ":---" for r in right) + "|"
    rows = ["| " + " | ".join(escape_markdown(v) for v in row) + " |" for row in table.itertuples(index=False)]
    lines = [header, rule, *rows]
    if caption:
        lines += ["", f": {caption}" + (f" {{#{label}}}" if label else "")]
    return "\n".join(lines) + "\n"


def _html_table(table: pd.DataFrame, right: list[bool], caption: str | None, label: str | None) -> str:
    cell = "padding:0.25em 0.7em;border-bottom:1px solid #e3e6ea;"
    def align(r: bool) -> str:
        return "text-align:right;font-variant-numeric:tabular-nums;" if r else "text-align:left;"
    ident = f' id="{escape_html(label)}"' if label else ""
    parts = [f'<table class="cx-table"{ident} style="border-collapse:collapse;margin:0.5em 0;">']
    if caption:
        parts.append(f'<caption style="caption-side:top;text-align:left;font-weight:600;padding:0.3em 0;">'
                     f"{escape_html(caption)}</caption>")
    parts.append("<thead><tr>" + "".join(
        f'<th style="{cell}{align(r)}border-bottom:2px solid #333;">{escape_html(c)}</th>'
        for c, r in zip(table.columns, right)) + "</tr></thead><tbody>")
    for row in table.itertuples(index=False):
        parts.append("<tr>" + "".join(f'<td style="{cell}{align(r)}">{escape_html(v)}</td>'
                                      for v, r in zip(row, right)) + "</tr>")
    parts.append("</tbody></table>")
    return "".join(parts)


def show_table(df: pd.DataFrame, *, caption: str | None = None, label: str | None = None,
               digits: int | Mapping[str, int] = 1, percent_cols: Sequence[str] = (),
               p_value_cols: Sequence[str] = (), ci_cols: Mapping[str, tuple[str, str]] | None = None,
               index: bool = False, max_rows: int = 200) -> TableDisplay:
    """Format ``df`` for the report and return a display object.

    Put it last in a cell (or pass it to ``IPython.display.display``).  For a
    numbered, cross-referenced table either pass ``label="tbl-..."`` and a
    ``caption`` here, or tag the cell with ``#| label: tbl-...`` and
    ``#| tbl-cap: ...`` (the Quarto way; then leave ``caption`` empty).

    Parameters
    ----------
    df : pandas.DataFrame
        Values at full precision (results' ``to_frame()`` output, for example).
    caption : str, optional
        Caption, Markdown allowed.  Required when ``label`` is given.
    label : str, optional
        Cross-reference label; must start with ``tbl-`` (``@tbl-x`` in text).
    digits : int or mapping column -> int, default 1
        Decimals for float columns; integer columns never get decimals.
    percent_cols : sequence of str
        Columns holding proportions (0.123) shown as percentages (12.3%).
    p_value_cols : sequence of str
        Columns holding p-values, shown as ``0.034`` / ``< 0.001``.
    ci_cols : mapping new name -> (lower, upper), optional
        Interval bounds merged into one column ``"a to b"``.
    index : bool, default False
        Include the index as leading column(s).
    max_rows : int, default 200
        A report table longer than this is a data dump: raise instead.

    Returns
    -------
    TableDisplay
        Bundle with ``text/markdown``, ``text/html`` and ``text/plain``.

    Raises
    ------
    ParameterError
        On unknown columns, a label without ``tbl-`` prefix or caption, or too many rows.

    Examples
    --------
    >>> df = pd.DataFrame({"segment": ["Gold", "Silver"], "share": [0.4123, 0.1],
    ...                    "p": [0.0004, 0.2], "n": [12000, 800]})
    >>> t = show_table(df, caption="NPS by tier", label="tbl-nps", percent_cols=["share"], p_value_cols=["p"])
    >>> print(t.markdown)
    | segment | share | p | n |
    |:---|---:|---:|---:|
    | Gold | 41.2% | \\< 0.001 | 12,000 |
    | Silver | 10.0% | 0.200 | 800 |
    <BLANKLINE>
    : NPS by tier {#tbl-nps}
    <BLANKLINE>
    >>> sorted(t._repr_mimebundle_())
    ['text/html', 'text/markdown', 'text/plain']
    """
    if label is not None:
        if not re.fullmatch(r"tbl-[A-Za-z0-9_-]+", label):
            raise ParameterError(f"label={label!r} must look like 'tbl-name' (letters, digits, '-', '_').")
        if not caption:
            raise ParameterError(f"label={label!r} needs a caption: a numbered table without caption "
                                 "cannot be cross-referenced.")
    if len(df) > max_rows:
        raise ParameterError(f"The table has {len(df)} rows; a report table shows at most max_rows={max_rows}. "
                             "Aggregate it, or raise max_rows on purpose.")
    table = format_frame(df, digits=digits, percent_cols=percent_cols, p_value_cols=p_value_cols,
                         ci_cols=ci_cols, index=index)
    right = [_numeric_like(table[c].tolist()) for c in table.columns]
    return TableDisplay(markdown=_pipe_table(table, right, caption, label),
                        html=_html_table(table, right, caption, label),
                        frame=table, caption=caption, label=label)


@dataclass(frozen=True)
class DownloadLink:
    """A CSV file embedded in the HTML report as a download link (nothing in the PDF).

    The display bundle has only ``text/html``: the HTML report shows the link (a ``data:`` URL, so
    the report stays one self-contained file that works offline); the PDF, which cannot carry a
    file, drops it (the full table is in the appendix there).
    """

    html: str
    filename: str
    rows: int

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, str]:
        return {"text/html": self.html, "text/plain": ""}  # empty text: nothing where HTML cannot go


def csv_download(df: pd.DataFrame, filename: str, *, text: str | None = None) -> DownloadLink:
    """A download link for ``df`` as CSV (:func:`cxlib.escape.csv_text`: UTF-8, full precision) for the HTML report.

    Parameters
    ----------
    df : pandas.DataFrame
        The full table (the report body shows its top rows).
    filename : str
        File name offered to the reader; must end in ``.csv``.
    text : str, optional
        Link text; default "Download the full table (<rows> rows, CSV)".

    Examples
    --------
    >>> link = csv_download(pd.DataFrame({"a": [1, 2]}), "alerts.csv")
    >>> link.rows, link.html[:60]
    (2, '<p class="cx-download"><a download="alerts.csv" href="data:t')
    >>> sorted(link._repr_mimebundle_())
    ['text/html', 'text/plain']
    """
    import base64

    if not isinstance(df, pd.DataFrame):
        raise ParameterError(f"csv_download expects a pandas DataFrame; got {type(df).__name__}.")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+\.csv", filename):
        raise ParameterError(f"filename={filename!r} must be letters, digits, '_', '-', '.' and end in '.csv'.")
    from ..escape import csv_text  # the one way cxlib writes CSV: formula triggers neutralised

    data = base64.b64encode(csv_text(df).encode("utf-8")).decode("ascii")
    label = text or f"Download the full table ({len(df):,} rows, CSV)"
    link = (f'<p class="cx-download"><a download="{filename}" href="data:text/csv;charset=utf-8;base64,{data}">'
            f"{escape_html(label)}</a></p>")
    return DownloadLink(html=link, filename=filename, rows=len(df))
