"""Text from data, escaped for where it lands: HTML, Markdown, Typst, matplotlib text, CSV.

The one home of every escape.  A store id, a segment label, a touchpoint, a comment or a plan title
is *data*: it must reach the reader as the very characters it holds, never as markup that runs.
Each function below takes any string and returns a form that the target reads back as that text:

========================  ====================================================================
:func:`escape_html`       HTML text and attribute values (``&``, ``<``, ``>``, quotes)
:func:`escape_markdown`   pandoc / Quarto Markdown (inline text: tables, bullets, sentences)
:func:`escape_typst`      Typst markup (the PDF engine)
:func:`escape_mathtext`   matplotlib text, where an even number of ``$`` starts math mode
:func:`neutralise_csv`    CSV cells opened by a spreadsheet (OWASP formula injection)
========================  ====================================================================

Markdown and Typst are escaped for *inline* use: line breaks and runs of white space become one
space (a line break in a table cell or a bullet would start a new block), and control characters
are dropped.  The text is otherwise unchanged: ``escape_markdown("NPS of touchpoint support")`` is the
same string, so escaped sentences stay readable in the notebooks.

The tests (``tests/test_escape.py``) check with Hypothesis that for any string the escaped form
renders back to the same visible text: pandoc's own Markdown reader, Typst's own parser, matplotlib's
math detection, Python's HTML parser and CSV reader.
"""
from __future__ import annotations

import html as _html
import math
import re
from collections.abc import Iterable

import pandas as pd

__all__ = ["one_line", "escape_html", "escape_markdown", "escape_typst", "escape_mathtext", "CSV_TRIGGERS",
           "neutralise_csv_cell", "neutralise_csv", "csv_cell_is_neutral", "csv_text"]

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SPACE = re.compile(r"\s+")
_PUNCT = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
# Markdown: always escaped (emphasis, code, links, raw HTML/TeX, math, citations, attributes, smart quotes, tables)
_MD_ALWAYS = frozenset("\\`*_{}[]<>#|~^$@&\"':")
# Markdown: escaped as the first character ("% title", "(a)" list markers, "- " and "+ " bullets, "===" setext
# underlines), as the last
# character of the first word (the "1." and "1)" list markers) and in runs ("--", "..." smart punctuation)
_MD_FIRST = frozenset("%(-+=")
_MD_FIRST_WORD_END = frozenset(".)")
_MD_RUNS = frozenset(".-")


def _text(value: object) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def one_line(text: object) -> str:
    """``text`` as one line: control characters dropped, every run of white space one space, no ends.

    >>> one_line("  two\\nlines\\t and\\x00 a NUL ")
    'two lines and a NUL'
    """
    return _SPACE.sub(" ", _CONTROL.sub("", _text(text))).strip()


def escape_html(text: object, *, quote: bool = True) -> str:
    """Escape ``text`` for HTML text or a quoted attribute value (``&`` ``<`` ``>`` and, with ``quote``, quotes).

    >>> escape_html('<img src=x onerror="alert(1)">')
    '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;'
    """
    return _html.escape(_text(text), quote=quote)


def escape_markdown(text: object) -> str:
    """Escape ``text`` for inline pandoc Markdown (Quarto's too): it renders as exactly these characters.

    Every ASCII punctuation character that pandoc's Markdown can read as syntax is backslash-escaped
    (the ``all_symbols_escapable`` rule: a backslash before any punctuation makes it literal):
    emphasis, code, links and images, raw HTML and TeX, ``$`` math, ``@`` citations, ``{=html}``
    attributes, pipe tables, entities and smart quotes.  ``.``, ``(``, ``)``, ``-``, ``+``, ``=`` and
    ``%`` are escaped only where they could mean something: first (a ``%`` title block, ``(a)``, ``-``
    and ``+`` list markers, a ``===`` underline), closing the first word (the ``1.`` and ``1)`` list markers) and ``.``/``-``
    in runs (``...``, ``--``), so numbers, percentages and dates read as written.  White space is
    folded to single spaces (see :func:`one_line`).

    Examples
    --------
    >>> escape_markdown("<img src=x onerror=alert(1)> `#set page` $x$ @fig-a")
    '\\\\<img src=x onerror=alert(1)\\\\> \\\\`\\\\#set page\\\\` \\\\$x\\\\$ \\\\@fig-a'
    >>> escape_markdown("NPS of touchpoint support, 2025-11-03: 41.2%")
    'NPS of touchpoint support, 2025-11-03\\\\: 41.2%'
    >>> escape_markdown("1. not a list")
    '1\\\\. not a list'
    """
    s = one_line(text)
    first = s.find(" ")
    first = len(s) if first < 0 else first
    out = []
    for i, c in enumerate(s):
        if c in _MD_ALWAYS or (i == 0 and c in _MD_FIRST) or (i == first - 1 and c in _MD_FIRST_WORD_END) or (
                c in _MD_RUNS and ((i > 0 and s[i - 1] == c) or (i + 1 < len(s) and s[i + 1] == c))):
            out.append("\\" + c)
        else:
            out.append(c)
    return "".join(out)


def escape_typst(text: object) -> str:
    """Escape ``text`` for Typst markup: a backslash before every ASCII punctuation character.

    Typst reads ``#`` as code, ``$`` as math, ``*``/``_`` as emphasis, `````, ``<label>``, ``@ref``,
    ``//`` as a comment, ``=``/``-``/``+``/``/`` at a line start as headings and lists, ``~`` and
    quotes as special characters; Typst accepts a backslash escape for every one of them, so every
    punctuation character is escaped.  White space is folded to single spaces (see :func:`one_line`).

    >>> escape_typst('#set text(red) // $x$ *bold*')
    '\\\\#set text\\\\(red\\\\) \\\\/\\\\/ \\\\$x\\\\$ \\\\*bold\\\\*'
    """
    return "".join("\\" + c if c in _PUNCT else c for c in one_line(text))


def escape_mathtext(text: object) -> str:
    """Escape ``text`` for a matplotlib text: every ``$`` becomes ``\\$``, so it never starts math mode.

    matplotlib parses a text with an even number of unescaped ``$`` as mathtext (``"$$ big spenders"``
    fails to parse and stops the figure); with every ``$`` escaped the text is drawn as written.

    >>> escape_mathtext("$$ big spenders")
    '\\\\$\\\\$ big spenders'
    """
    return _text(text).replace("$", "\\$")


#: First characters a spreadsheet reads as the start of a formula (OWASP, "CSV Injection").
CSV_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def neutralise_csv_cell(value: object) -> object:
    """One CSV cell made safe to open in a spreadsheet (OWASP's advice on formula injection).

    A text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading single
    quote, so the spreadsheet shows it as text instead of running it as a formula; a text that is a
    plain number (``-3.5``) is left alone, as are numbers, dates and missing values.

    >>> [neutralise_csv_cell(v) for v in ["=HYPERLINK(\\"http://x\\")", "@SUM(A1)", "-3.5", "ok", 7]]
    ['\\'=HYPERLINK("http://x")', "'@SUM(A1)", '-3.5', 'ok', 7]
    """
    if isinstance(value, str) and value.startswith(CSV_TRIGGERS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_cell_is_neutral(cell: str) -> bool:
    """Whether a cell read back from a CSV file is safe: no formula trigger first, unless a plain number.

    >>> csv_cell_is_neutral("'=1+1"), csv_cell_is_neutral("=1+1"), csv_cell_is_neutral("-2.5")
    (True, False, True)
    """
    return not cell.startswith(CSV_TRIGGERS) or bool(_PLAIN_NUMBER.fullmatch(cell))


def neutralise_csv(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names are neutralised (:func:`neutralise_csv_cell`).

    >>> neutralise_csv(pd.DataFrame({"=x": ["+1+1", "a"], "n": [1, 2]})).to_dict("list")
    {"'=x": ["'+1+1", 'a'], 'n': [1, 2]}
    """
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col].dtype):
            out[col] = out[col].astype(object).map(neutralise_csv_cell)
    out.columns = [neutralise_csv_cell(c) if isinstance(c, str) else c for c in out.columns]
    return out


def csv_text(frame: pd.DataFrame, *, columns: Iterable[str] | None = None, **to_csv) -> str:
    """The CSV text of ``frame``, neutralised and with every text cell quoted (the one way cxlib writes CSV).

    Text cells are quoted (``csv.QUOTE_NONNUMERIC``) so that a separator inside a cell never starts a
    new cell in a spreadsheet that splits on another separator; numbers stay unquoted and numeric.
    Extra keyword arguments go to :meth:`pandas.DataFrame.to_csv` (``index=False`` by default).

    >>> print(csv_text(pd.DataFrame({"label": ["=1+1", "a,b"], "n": [1, 2]})), end="")
    "label","n"
    "'=1+1",1
    "a,b",2
    """
    import csv

    data = frame if columns is None else frame[list(columns)]
    to_csv.setdefault("index", False)
    to_csv.setdefault("quoting", csv.QUOTE_NONNUMERIC)
    return neutralise_csv(data).to_csv(**to_csv)
