"""Tests of cxlib.escape: for any string, the escaped form renders back to the same visible text.

Each target is asked with its own reader: pandoc's Markdown reader (the one the report's Lua filter
and Quarto use), Typst's parser (``typst.query`` on ``#metadata[...]`` content), matplotlib's math
detection, Python's HTML parser and CSV reader.  Hypothesis draws the strings; batches of strings go
through one pandoc or Typst call to keep the suite fast.
"""
from __future__ import annotations

import csv
import io
import json
import subprocess
from html.parser import HTMLParser

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cxlib.escape import (CSV_TRIGGERS, csv_cell_is_neutral, csv_text, escape_html, escape_markdown, escape_mathtext,
                          escape_typst, neutralise_csv, neutralise_csv_cell, one_line)

PAYLOADS = [
    '<img src=x onerror="document.body.dataset.cxFired=1">', "<script>alert(1)</script>", "`#set page(fill: red)`",
    "#set text(red)", "$x^2$", "$$ big spenders", "@fig-nps", "[click](javascript:alert(1))", "`x`{=html}",
    "**bold** _em_ ~~strike~~", "| a | b |", "1. one", "(a) item", "- dash", "+ plus", "# heading", "> quote",
    "% title", "--- rule", "a -- b ... c", "&lt;b&gt;", "\\textbf{x}", "{{< pagebreak >}}", "::: {.callout}",
    "line one\nline two\r\n\tthree", "O'Brien \"quoted\"", "http://example.com//not-a-comment", "=1+1",
    "Ærøskøbing Ñandú 王伟 Дмитрий", "1) one", "iv. roman", "A) letter", "#. hash", "* star", "1.", "(@) example",
    "5.5. x", "a. b", "12.5% of 2025-11-03", "-3.5 points", "- ", "Term\n: definition", "[^1] note", "<!-- c -->",
    "",
]
# printable text plus the characters that matter: ASCII punctuation, white space, a few scripts
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Co", "Cn")), max_size=40)
ASCII = st.text(alphabet=st.characters(min_codepoint=9, max_codepoint=126), max_size=40)
STRINGS = st.one_of(TEXT, ASCII, st.sampled_from(PAYLOADS))


# --------------------------------------------------------------------------------------------- Markdown

def _pandoc() -> str:
    pypandoc = pytest.importorskip("pypandoc")
    return pypandoc.get_pandoc_path()


def _inline_text(inlines: list[dict]) -> str | None:
    out = []
    for node in inlines:
        if node["t"] == "Str":
            out.append(node["c"])
        elif node["t"] in ("Space", "SoftBreak"):
            out.append(" ")
        else:
            return None  # emphasis, code, link, raw HTML, math, citation...: markup, not text
    return "".join(out)


def markdown_texts(texts: list[str]) -> list[str | None]:
    """Each escaped text as one pandoc Markdown paragraph, read back as plain text (None: not plain text)."""
    doc = "\n\n".join(f"x {escape_markdown(t)}" for t in texts)  # after "x " and, below, at a line start
    doc += "\n\n" + "\n\n".join(escape_markdown(t) for t in texts)
    proc = subprocess.run([_pandoc(), "-f", "markdown", "-t", "json"], input=doc, capture_output=True, text=True,
                          check=True)
    blocks = json.loads(proc.stdout)["blocks"]
    out = [_inline_text(b["c"]) if b["t"] in ("Para", "Plain") else None for b in blocks]
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(STRINGS.filter(lambda s: one_line(s) != ""), min_size=1, max_size=25))
def test_markdown_escape_renders_the_same_text(texts):
    shown = markdown_texts(texts)
    assert len(shown) == 2 * len(texts)
    expected = [f"x {one_line(t)}" for t in texts] + [one_line(t) for t in texts]
    assert shown == expected


def test_markdown_escape_keeps_ordinary_text_readable():
    assert escape_markdown("NPS of touchpoint support fell 4.1 points, 2025-11-03") == \
        "NPS of touchpoint support fell 4.1 points, 2025-11-03"
    assert escape_markdown("a\nb") == "a b" and escape_markdown(None) == ""


def test_every_payload_is_plain_text_in_markdown():
    texts = [p for p in PAYLOADS if one_line(p)]
    assert markdown_texts(texts) == [f"x {one_line(t)}" for t in texts] + [one_line(t) for t in texts]


# --------------------------------------------------------------------------------------------- Typst

def _content_text(node) -> str | None:
    if isinstance(node, str):
        return node
    func = node.get("func")
    if func in ("text", "symbol"):
        return node["text"]
    if func == "space":
        return " "
    if func == "sequence":
        parts = [_content_text(c) for c in node["children"]]
        return None if any(p is None for p in parts) else "".join(parts)
    return None  # strong, emph, raw, equation, ref, heading, list...: markup


def typst_texts(texts: list[str], tmp_path) -> list[str | None]:
    typst = pytest.importorskip("typst")
    source = tmp_path / "escape.typ"
    source.write_text("\n".join(f"#metadata[{escape_typst(t)}]" for t in texts) + "\n", encoding="utf-8")
    values = json.loads(typst.query(str(source), "metadata", field="value"))
    return [_content_text(v) for v in values]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(STRINGS, min_size=1, max_size=25))
def test_typst_escape_renders_the_same_text(texts, tmp_path):
    shown = typst_texts(texts, tmp_path)
    assert [s if s is None else s.strip() for s in shown] == [one_line(t) for t in texts]


def test_every_payload_is_plain_text_in_typst(tmp_path):
    assert typst_texts(PAYLOADS, tmp_path) == [one_line(t) for t in PAYLOADS]


# --------------------------------------------------------------------------------------------- matplotlib

@settings(deadline=None)
@given(TEXT | st.sampled_from(PAYLOADS))
def test_mathtext_escape_never_starts_math_and_shows_the_text(text):
    from matplotlib import cbook
    from matplotlib.text import Text

    escaped = escape_mathtext(text)
    assert not cbook.is_math_text(escaped)
    # what matplotlib draws for a non-math text: the escaped dollars shown as dollars
    assert Text(0, 0, escaped)._preprocess_math(escaped) == (text if text != " " else "\\ ", False)


def test_a_dollar_label_draws():
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.subplots()
    ax.barh([escape_mathtext("$$ big spenders"), escape_mathtext("$5 $10 deal")], [1, 2])
    fig.canvas.draw()  # unescaped, "$$ big spenders" raises ValueError in the mathtext parser
    assert [t.get_text() for t in ax.get_yticklabels()] == ["\\$\\$ big spenders", "\\$5 \\$10 deal"]


# --------------------------------------------------------------------------------------------- HTML

class _Collect(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.data, self.tags = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_data(self, data):
        self.data.append(data)


@settings(deadline=None)
@given(STRINGS)
def test_html_escape_is_text_in_an_element_and_an_attribute(text):
    parser = _Collect()
    parser.feed(f'<p title="{escape_html(text)}">{escape_html(text)}</p>')
    parser.close()
    assert parser.tags == [("p", [("title", text)])]
    assert "".join(parser.data) == text


# --------------------------------------------------------------------------------------------- CSV

@settings(deadline=None)
@given(st.lists(STRINGS | st.sampled_from(["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(1)", "\t=1", "\r=1"]),
                min_size=1, max_size=20))
def test_csv_cells_are_neutral_and_keep_their_text(cells):
    text = csv_text(pd.DataFrame({"cell": cells, "n": range(len(cells))}))
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == ["cell", "n"]
    for original, (shown, _) in zip(cells, rows[1:]):
        assert csv_cell_is_neutral(shown)
        assert shown in (original, "'" + original)


@pytest.mark.parametrize("cell, neutral", [("=1+1", "'=1+1"), ("+1", "+1"), ("+1+1", "'+1+1"), ("-", "'-"),
                                           ("@x", "'@x"), ("\tx", "'\tx"), ("\rx", "'\rx"), ("-12.5", "-12.5"),
                                           ("1e5", "1e5"), ("ok=1", "ok=1")])
def test_owasp_triggers(cell, neutral):
    assert neutralise_csv_cell(cell) == neutral
    assert csv_cell_is_neutral(neutral)
    assert set(CSV_TRIGGERS) == {"=", "+", "-", "@", "\t", "\r"}


def test_neutralise_csv_leaves_numbers_dates_and_missing_values():
    frame = pd.DataFrame({"x": [-1.5, 2.0], "d": pd.to_datetime(["2025-01-01", None]), "s": ["=a", None]})
    out = neutralise_csv(frame)
    assert out["x"].tolist() == [-1.5, 2.0] and out["d"].isna().tolist() == [False, True]
    assert out["s"].tolist()[0] == "'=a" and out["s"].isna().tolist() == [False, True]
