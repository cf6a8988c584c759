"""Tests of cxlib.report.render: assembling executed notebooks and rendering HTML + PDF.

The notebooks are built here with nbformat, with outputs as Papermill would
leave them (a matplotlib PNG, a show_table bundle, an IPython Markdown display,
stdout and stderr streams), so no kernel is started.

Every test of a rendered report takes the ``renderer`` fixture (``tests/conftest.py``):
it runs on the pandoc + Typst route and, where Quarto is installed, on the Quarto
route too; without Quarto the Quarto half is skipped and says why.
"""
from __future__ import annotations

import base64
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml
from matplotlib.figure import Figure

from cxlib.errors import CxError, ParameterError
from cxlib.report import render as R
from cxlib.report.tables import show_table

ROOT = Path(__file__).resolve().parents[1]
EXTERNAL = re.compile(r"""(?:\b(?:src|href|poster|action|data)\s*=\s*["']?\s*(?:https?:)?//)"""
                      r"""|(?:url\(\s*["']?\s*(?:https?:)?//)|(?:@import\s+["']?(?:https?:)?//)""",
                      re.IGNORECASE)


def _png() -> str:
    fig = Figure(figsize=(3, 2), dpi=80)
    ax = fig.subplots()
    ax.plot([1, 2, 3], [1, 4, 9])
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return base64.b64encode(buf.getvalue()).decode()


def make_notebook(path: Path, *, title: str = "Customer metrics", fig_label: str = "fig-a",
                  tbl_label: str = "tbl-scores", extra_markdown: str = "") -> Path:
    """Write an executed-looking notebook exercising every rendering pitfall."""
    table = show_table(pd.DataFrame({"segment": ["Gold", "Silver"], "nps": [41.23, 12.5], "n": [12345, 678]}))
    md = {"text/markdown": "**Headline**: NPS rose by 3.2 points.",
          "text/plain": "<IPython.core.display.Markdown object>"}
    cells = [
        nbformat.v4.new_raw_cell(f'---\ntitle: "{title}"\n---'),
        nbformat.v4.new_code_cell('data_dir = "../data/default"\nseed = 20261123', metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell('data_dir = "/abs/injected"', metadata={"tags": ["injected-parameters"]}),
        nbformat.v4.new_markdown_cell("## Overview\n\nThe mean is $\\bar x = \\frac{1}{n}\\sum_i x_i$; "
                                      f"see @{fig_label} and @{tbl_label}.{extra_markdown}"),
        nbformat.v4.new_code_cell("#| echo: false\nsecret_code_line = 1\nprint('visible stdout')"),
        nbformat.v4.new_code_cell(f'#| label: {fig_label}\n#| fig-cap: "A rising curve"\nfig'),
        nbformat.v4.new_code_cell(f'#| label: {tbl_label}\n#| tbl-cap: "Scores by tier"\nshow_table(df)'),
        nbformat.v4.new_code_cell("#| output: asis\nMarkdown(headline)"),
        nbformat.v4.new_code_cell("#| include: false\nhidden_entirely = 1"),
        nbformat.v4.new_code_cell("#| echo: true\nshown_code = 2"),
    ]
    cells[4].outputs = [nbformat.v4.new_output("stream", name="stdout", text="visible stdout\n"),
                        nbformat.v4.new_output("stream", name="stderr", text="UserWarning: secret stderr text\n")]
    cells[5].outputs = [nbformat.v4.new_output("display_data", data={"image/png": _png(),
                                                                     "text/plain": "<Figure size 240x160 with 1 Axes>"})]
    cells[6].outputs = [nbformat.v4.new_output("execute_result", data=table._repr_mimebundle_(), execution_count=5)]
    cells[7].outputs = [nbformat.v4.new_output("display_data", data=md)]
    cells[8].outputs = [nbformat.v4.new_output("stream", name="stdout", text="include-false output\n")]
    nb = nbformat.v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "cxlib", "display_name": "Python (cxlib workbook)", "language": "python"}})
    nbformat.write(nb, path)
    return path


class _Outline(HTMLParser):
    """What a reader of a rendered HTML report sees of its structure (see :func:`outline`)."""

    KINDS = {"h1": "headings", "h2": "headings", "h3": "headings", "figcaption": "captions", "caption": "captions",
             "td": "cells", "th": "cells"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found = {"headings": [], "captions": [], "cells": [], "toc": [], "images": 0}
        self.open: list[tuple[str, str, list[str]]] = []
        self.hidden = self.in_toc = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.hidden += tag in ("script", "style")
        self.in_toc += tag == "nav" and a.get("id") == "TOC"
        if tag == "img" or (tag == "div" and "plotly-graph-div" in (a.get("class") or "")):
            self.found["images"] += 1
        kind = "toc" if self.in_toc and tag == "a" else self.KINDS.get(tag)
        if kind and not (kind == "headings" and ("title" in (a.get("class") or "") or a.get("id") == "toc-title")):
            if not (self.in_toc and kind == "headings"):
                self.open.append((tag, kind, []))

    def handle_endtag(self, tag):
        self.hidden -= tag in ("script", "style")
        self.in_toc -= tag == "nav" and self.in_toc > 0
        if self.open and self.open[-1][0] == tag:
            _, kind, parts = self.open.pop()
            self.found[kind].append(" ".join("".join(parts).replace("\u00a0", " ").split()))

    def handle_data(self, data):
        if self.open and not self.hidden:
            self.open[-1][2].append(data)


def outline(html: str) -> dict:
    """Numbered headings, TOC entries, figure and table captions, table cells and figures of an HTML report.

    Text is whitespace-normalised (no-break spaces too), so both renderers' HTML compare equal when a
    reader would see the same report.
    """
    parser = _Outline()
    parser.feed(html)
    return parser.found


def pdf_words(pdf: Path | bytes) -> str:
    """The text of a PDF (a path, or its bytes), whitespace-normalised (no-break spaces too)."""
    pypdf = pytest.importorskip("pypdf", reason="pypdf (dev extra) is needed to read the PDF")
    reader = pypdf.PdfReader(io.BytesIO(pdf) if isinstance(pdf, bytes) else pdf)
    return " ".join(" ".join(p.extract_text() for p in reader.pages).replace("\u00a0", " ").split())


@pytest.fixture(scope="module")
def fixture_reports(tmp_path_factory):
    """The module's two-chapter report, rendered once per renderer when first asked for."""
    base = tmp_path_factory.mktemp("render")
    nb1 = make_notebook(base / "10_metrics.ipynb")
    nb2 = make_notebook(base / "20_journeys.ipynb", title="Journeys", fig_label="fig-b",
                        tbl_label="tbl-journeys", extra_markdown=" Compare with @fig-a.")
    done: dict[str, dict] = {}

    def get(engine: str) -> dict:
        if engine not in done:
            messages: list[str] = []
            result = R.render_report([nb1, nb2], base / engine, title="Quarterly CX report",
                                     subtitle="2025Q4 vs 2025Q3", engine=engine, progress=messages.append, site=True)
            html = result.html.read_text(encoding="utf-8")
            done[engine] = {"result": result, "notebooks": [nb1, nb2], "base": base, "messages": messages,
                            "html": html, "outline": outline(html), "engine": engine}
        return done[engine]

    return get


@pytest.fixture(scope="module")
def rendered(fixture_reports, renderer):
    return fixture_reports(renderer)


@pytest.fixture(scope="module")
def pdf_text(rendered):  # one string per page
    pypdf = pytest.importorskip("pypdf", reason="pypdf (dev extra) is needed to read the PDF")
    reader = pypdf.PdfReader(rendered["result"].pdf)
    return [page.extract_text() for page in reader.pages]


# --- cell options ---------------------------------------------------------------------------------

@pytest.mark.parametrize("source, options, code", [
    ("#| echo: false\nx = 1", {"echo": False}, "x = 1"),
    ('#| label: fig-a\n#| fig-cap: "Cap: with colon"\n\nplot()', {"label": "fig-a", "fig-cap": "Cap: with colon"},
     "plot()"),
    ("x = 1\n#| echo: false", {}, "x = 1\n#| echo: false"),
    ("", {}, ""),
])
def test_parse_cell_options(source, options, code):
    assert R.parse_cell_options(source) == (options, code)


def test_parse_cell_options_rejects_bad_yaml():
    with pytest.raises(R.RenderError, match="not valid YAML"):
        R.parse_cell_options("#| fig-cap: [unclosed\nx = 1")


# --- assembly -------------------------------------------------------------------------------------

def test_cells_tagged_appendix_move_to_one_appendix_chapter_before_the_provenance(tmp_path):
    body = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_raw_cell('---\ntitle: "Churn"\n---'),
        nbformat.v4.new_markdown_cell("Top rows."),
        nbformat.v4.new_markdown_cell("Full table.", metadata={"tags": ["appendix"]})])
    prov = nbformat.v4.new_notebook(cells=[nbformat.v4.new_raw_cell('---\ntitle: "Appendix: provenance"\n---'),
                                           nbformat.v4.new_markdown_cell("Versions.")])
    paths = [tmp_path / "30_churn.ipynb", tmp_path / "zz_provenance.ipynb"]
    for nb, path in zip((body, prov), paths):
        nbformat.write(nb, path)
    sources = [c.source for c in R.assemble_notebooks(paths, title="R").cells[1:]]
    assert sources == ["# Churn {#sec-churn}", "Top rows.", f"# {R.APPENDIX_TITLE} {{#sec-appendix}}", "## Churn",
                       "Full table.", "# Appendix: provenance {#sec-zz-provenance}", "Versions."]

def test_assemble_makes_chapters_and_drops_parameters_and_stderr(tmp_path):
    nb1 = make_notebook(tmp_path / "a.ipynb", title="First")
    nb2 = make_notebook(tmp_path / "b.ipynb", title="Second", fig_label="fig-b", tbl_label="tbl-b")
    nb = R.assemble_notebooks([nb1, nb2], title="Report", subtitle="Sub")
    assert nb.cells[0].cell_type == "raw"
    assert yaml.safe_load(nb.cells[0].source.strip("-\n")) == {"title": "Report", "subtitle": "Sub"}
    headings = [c.source for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("# ")]
    assert headings == ["# First {#sec-a}", "# Second {#sec-b}"]  # ids for links from the executive summary
    # 10 cells each, minus front matter and two parameter cells, plus a heading: 8 per chapter
    assert len(nb.cells) == 1 + 2 * 8
    sources = "\n".join(c.source for c in nb.cells)
    assert "injected" not in sources and "seed = 20261123" not in sources
    streams = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "stream"]
    assert {o.name for o in streams} == {"stdout"}
    ids = [c.id for c in nb.cells]
    assert len(set(ids)) == len(ids)


def test_assemble_rejects_duplicate_labels(tmp_path):
    nb1 = make_notebook(tmp_path / "a.ipynb")
    nb2 = make_notebook(tmp_path / "b.ipynb", fig_label="fig-b")  # tbl-scores is in both
    with pytest.raises(R.RenderError, match="'tbl-scores' is used in .*a.ipynb and again in .*b.ipynb"):
        R.assemble_notebooks([nb1, nb2], title="Report")


def test_assemble_errors(tmp_path):
    with pytest.raises(R.RenderError, match="at least one"):
        R.assemble_notebooks([], title="Report")
    with pytest.raises(R.RenderError, match="Cannot read executed notebook"):
        R.assemble_notebooks([tmp_path / "missing.ipynb"], title="Report")
    assert issubclass(R.RenderError, CxError)


def test_chapter_title_falls_back_to_file_name(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("text")])
    nbformat.write(nb, tmp_path / "35_clv_model.ipynb")
    out = R.assemble_notebooks([tmp_path / "35_clv_model.ipynb"], title="Report")
    assert out.cells[1].source == "# 35 clv model {#sec-clv-model}"


# --- pandoc preparation ---------------------------------------------------------------------------

def test_prepare_for_pandoc_picks_one_mime_per_output(tmp_path):
    nb = R.assemble_notebooks([make_notebook(tmp_path / "a.ipynb")], title="Report")
    for target in ("html", "typst"):
        prepared = R.prepare_for_pandoc(nb, target=target)
        assert prepared.cells[0].cell_type == "markdown"  # front matter gone
        code = [c for c in prepared.cells if c.cell_type == "code"]
        assert not any(c.source.startswith("#|") for c in code)
        assert "hidden_entirely" not in "".join(c.source for c in code)
        mimes = [sorted(o.data) for c in code for o in c.outputs if "data" in o]
        assert mimes == [["image/png"], ["text/markdown"], ["text/markdown"]]
        echo = {c.source.splitlines()[0]: c.metadata["cx-echo"] for c in code}
        assert echo == {"secret_code_line = 1": "hide", "fig": "hide", "show_table(df)": "hide",
                        "Markdown(headline)": "hide", "shown_code = 2": "show"}


def test_pick_output_error_shows_no_traceback():
    error = nbformat.v4.new_output("error", ename="ValueError", evalue="bad input",
                                   traceback=["\x1b[31mTraceback (most recent call last)\x1b[0m", "  File x.py"])
    out = R._pick_output(error, "html")
    assert (out.output_type, out.name, out.text) == ("stream", "stdout", "ValueError: bad input")


@pytest.mark.parametrize("target, data, expected", [
    ("typst", {"text/html": "<table><tr><td>1</td></tr></table>", "text/plain": "a"}, ["text/html"]),
    ("typst", {"text/html": "<div>widget</div>", "text/plain": "a"}, ["text/plain"]),
    ("html", {"text/html": "<div>widget</div>", "text/plain": "a"}, ["text/html"]),
    ("html", {"text/plain": "<IPython.core.display.Markdown object>"}, None),
    ("html", {"text/plain": "<Figure size 640x480 with 1 Axes>"}, None),
    ("typst", {"image/svg+xml": "<svg/>", "image/png": "iVBO"}, ["image/png"]),
    ("html", {"image/svg+xml": "<svg/>", "image/png": "iVBO"}, ["image/svg+xml"]),
])
def test_pick_output(target, data, expected):
    out = R._pick_output(nbformat.v4.new_output("display_data", data=data), target)
    assert (None if out is None else sorted(out.data)) == expected


# --- the rendered report: HTML --------------------------------------------------------------------

XREF = r'<a href="#{}"[^>]*>{}(?:\u00a0|&nbsp;| ){}</a>'  # Quarto adds a class; pandoc writes a bare link


def test_render_result(rendered):
    result, engine = rendered["result"], rendered["engine"]
    assert result.engine == engine and result.warnings == ()  # Quarto accepts every option of _quarto.yml
    assert result.html.name == "report.html" and result.pdf.name == "report.pdf"
    assert sorted(p.name for p in result.html.parent.iterdir()) == ["report.html", "report.ipynb", "report.pdf",
                                                                   "report_site"]
    step = "typst: Typst -> PDF" if engine == "pandoc" else "quarto: render report.ipynb (html, typst)"
    assert step in rendered["messages"]
    assert rendered["messages"][-1] == f"wrote report.html and report.pdf ({engine}; 0 warning(s))"


def test_html_has_title_headings_and_toc(rendered):
    html, found = rendered["html"], rendered["outline"]
    assert '<h1 class="title">Quarterly CX report</h1>' in html
    assert "2025Q4 vs 2025Q3" in html
    assert re.search(r'<h1[^>]*id="sec-metrics"[^>]*><span class="header-section-number">1</span> '
                     r"Customer metrics</h1>", html)
    assert re.search(r'<h1[^>]*><span class="header-section-number">2</span> Journeys</h1>', html)
    assert found["headings"] == ["1 Customer metrics", "1.1 Overview", "2 Journeys", "2.1 Overview"]
    assert '<nav id="TOC"' in html and '<h2 id="toc-title">Contents</h2>' in html
    assert found["toc"] == found["headings"]


def test_html_figures_numbered_and_embedded(rendered):
    html, found = rendered["html"], rendered["outline"]
    assert len(re.findall(r'<img[^>]+src="data:image/png;base64,', html)) == 2 and found["images"] == 2
    assert [c for c in found["captions"] if c.startswith("Figure")] == ["Figure 1: A rising curve",
                                                                        "Figure 2: A rising curve"]
    assert re.search(XREF.format("fig-a", "Figure", 1), html)
    assert re.search(XREF.format("fig-b", "Figure", 2), html)


def test_html_tables_are_tables(rendered):
    html, found = rendered["html"], rendered["outline"]
    assert html.count("<table") == 2
    assert [c for c in found["captions"] if c.startswith("Table")] == ["Table 1: Scores by tier",
                                                                       "Table 2: Scores by tier"]
    assert re.search(XREF.format("tbl-journeys", "Table", 2), html)
    assert found["cells"] == ["segment", "nps", "n", "Gold", "41.2", "12,345", "Silver", "12.5", "678"] * 2


def test_html_hides_what_readers_should_not_see(rendered):
    html = re.sub(r"<script\b.*?</script>", "", rendered["html"], flags=re.DOTALL)  # Quarto embeds anchor.js
    for forbidden in ("#|", "<IPython.core.display.Markdown object>", "secret stderr", "UserWarning",
                      "secret_code_line", "hidden_entirely", "include-false output", "seed = 20261123",
                      "<Figure size", "?@"):
        assert forbidden not in html, forbidden
    assert "<strong>Headline</strong>: NPS rose by 3.2 points." in html
    assert "visible stdout" in html
    assert re.search(r'<pre\s+class="sourceCode python[^"]*">.*shown_code', html, re.DOTALL)  # echo: true shows it


def test_html_math_is_mathml_and_nothing_is_external(rendered):
    html = rendered["html"]
    assert '<math display="inline"' in html
    assert "mathjax" not in html.lower() and "katex" not in html.lower()
    assert EXTERNAL.findall(html) == []
    assert "<style" in html and "--cx-accent" in html  # report.css embedded, not linked


def test_site_has_one_page_per_chapter(rendered):
    site = rendered["result"].site_dir
    pages = sorted(p.name for p in site.glob("*.html"))
    assert pages == ["1-sec-metrics.html", "2-sec-journeys.html", "index.html"]
    for page in site.glob("*.html"):
        assert EXTERNAL.findall(page.read_text(encoding="utf-8")) == []


# --- the rendered report: PDF ---------------------------------------------------------------------

def test_pdf_text(pdf_text, rendered):
    text = " ".join("\n".join(pdf_text).replace("\u00a0", " ").split())
    assert text == pdf_words(rendered["result"].pdf)
    assert len(pdf_text) >= 3
    assert "Quarterly CX report" in pdf_text[0]
    assert "1 Customer metrics" in pdf_text[0] and "1.1 Overview" in pdf_text[0]
    assert "Contents" not in pdf_text[0]  # table of contents comes after the first chapter
    assert "2 Journeys" in text and "Contents" in text
    for needle in ("Figure 1: A rising curve", "Figure 2: A rising curve", "Table 1: Scores by tier",
                   "Gold", "41.2", "12,345", "Headline", "see Figure 1", "Compare with Figure 1"):
        assert needle in text, needle
    for forbidden in ("#|", "IPython.core.display", "secret stderr", "secret_code_line"):
        assert forbidden not in text, forbidden


def test_pdf_is_byte_identical_across_renders(rendered, tmp_path):
    again = R.render_report(rendered["notebooks"], tmp_path / "again", title="Quarterly CX report",
                            subtitle="2025Q4 vs 2025Q3", engine=rendered["engine"])
    assert again.pdf.read_bytes() == rendered["result"].pdf.read_bytes()
    assert again.html.read_bytes() == rendered["result"].html.read_bytes()
    assert again.notebook.read_bytes() == rendered["result"].notebook.read_bytes()
    assert sorted(p.name for p in again.html.parent.iterdir()) == ["report.html", "report.ipynb", "report.pdf"]


def test_quarto_and_pandoc_give_the_same_report(fixture_reports, quarto):
    """Same sections, numbers, figures and tables from both renderers: the two outputs' text compared."""
    pandoc, quarto_ = fixture_reports("pandoc"), fixture_reports("quarto")
    for part in ("headings", "toc", "captions", "cells", "images"):
        assert pandoc["outline"][part] == quarto_["outline"][part], part
    pdfs = [pdf_words(r["result"].pdf) for r in (pandoc, quarto_)]
    for needle in ("Quarterly CX report 2025Q4 vs 2025Q3 1 Customer metrics 1.1 Overview",
                   "Contents 1 Customer metrics", "2 Journeys 2.1 Overview", "Figure 1: A rising curve", "Table 2: Scores by tier",
                   "Gold 41.2 12,345", "see Figure 2 and Table 2. Compare with Figure 1."):
        assert [needle in text for text in pdfs] == [True, True], needle
    floats = [re.findall(r"(?:Figure|Table) \d+: [A-Z][a-z ]+", text) for text in pdfs]
    assert floats[0] == floats[1] and len(floats[0]) == 4


def test_pdf_fonts_are_pinned():
    assert R.DEFAULT_EPOCH == 946_684_800
    fonts = R.typst_font_paths()
    assert len(fonts) == 1 and (Path(fonts[0]) / "DejaVuSans.ttf").exists()


# --- errors and engines ---------------------------------------------------------------------------

def test_typst_failure_quotes_the_diagnostic(tmp_path, renderer):
    nb = nbformat.v4.new_notebook(cells=[  # broken Typst: a raw cell for pandoc, a raw Markdown block for Quarto
        nbformat.v4.new_raw_cell("#let broken = (", metadata={"format": "text/x-typst", "raw_mimetype": "typst"}),
        nbformat.v4.new_markdown_cell("```{=typst}\n#let broken = (\n```")])
    nbformat.write(nb, tmp_path / "bad.ipynb")
    with pytest.raises(R.RenderError) as info:
        R.render_report([tmp_path / "bad.ipynb"], tmp_path / "out", title="Broken", engine=renderer)
    err = info.value
    engine = {"pandoc": "typst", "quarto": "quarto"}[renderer]
    assert err.engine == engine and f"{engine} stderr" in str(err) and "error" in err.stderr.lower()
    kept = "report.typ" if renderer == "pandoc" else "report.ipynb"
    assert err.build_dir is not None and (err.build_dir / kept).exists()


def test_unresolved_reference_is_flagged(tmp_path, renderer):
    """An engine's warning reaches ``progress`` and ``RenderResult.warnings``: never swallowed."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("As @fig-nowhere shows, mail me@x.org.")])
    nbformat.write(nb, tmp_path / "a.ipynb")
    messages: list[str] = []
    result = R.render_report([tmp_path / "a.ipynb"], tmp_path / "out", title="T", engine=renderer,
                             progress=messages.append)
    html = result.html.read_text(encoding="utf-8")
    assert "<strong>?@fig-nowhere</strong>" in html and "me@x.org" in html
    said = {"pandoc": "unresolved cross-reference @fig-nowhere", "quarto": "Unable to resolve crossref @fig-nowhere"}
    assert result.warnings and all(said[renderer] in w for w in result.warnings)
    assert [m for m in messages if m in result.warnings] == list(result.warnings)
    assert messages[-1].endswith(f"({renderer}; {len(result.warnings)} warning(s))")


def test_numeric_caption_and_imageless_figure(tmp_path, renderer):
    figure = nbformat.v4.new_code_cell('#| label: fig-num\n#| fig-cap: "2025"\nfig')
    figure.outputs = [nbformat.v4.new_output("display_data", data={"image/png": _png(), "text/plain": "x"})]
    repr_only = nbformat.v4.new_code_cell("#| label: fig-repr\nfig")
    repr_only.outputs = [nbformat.v4.new_output("execute_result", execution_count=1,
                                                data={"text/plain": "<Figure size 300x200 with 1 Axes>"})]
    nbformat.write(nbformat.v4.new_notebook(cells=[figure, repr_only]), tmp_path / "a.ipynb")
    messages: list[str] = []
    result = R.render_report([tmp_path / "a.ipynb"], tmp_path / "out", title="T", engine=renderer,
                             progress=messages.append)
    html = result.html.read_text(encoding="utf-8")
    assert outline(html)["captions"] == ["Figure 1: 2025"]  # pandoc's JSON-quoted '"2025"' is decoded
    assert "Figure 2" not in html and "<Figure size" not in html
    if renderer == "pandoc":  # the cx-notebook filter says why; Quarto drops the empty figure silently
        assert any("'fig-repr' has no displayable output" in m and "show_figure" in m for m in messages)


def test_engine_choice_is_checked(tmp_path):
    with pytest.raises(ParameterError, match="engine='latex' is not allowed"):
        R.render_report([tmp_path / "a.ipynb"], tmp_path, title="T", engine="latex")


def test_engine_quarto_without_quarto(tmp_path, monkeypatch):
    monkeypatch.delenv("QUARTO", raising=False)
    monkeypatch.setattr(R.shutil, "which", lambda name: None)
    with pytest.raises(R.RenderError, match=r"quarto is not on PATH \(nor named by \$QUARTO\)"):
        R.render_report([tmp_path / "a.ipynb"], tmp_path, title="T", engine="quarto")
    assert R.resolve_engine("auto") == ("pandoc", None) and R.resolve_engine("pandoc") == ("pandoc", None)


def test_auto_engine_falls_back_to_pandoc(tmp_path, monkeypatch):
    monkeypatch.delenv("QUARTO", raising=False)
    monkeypatch.setattr(R.shutil, "which", lambda name: None)
    result = R.render_report([make_notebook(tmp_path / "a.ipynb")], tmp_path / "out", title="T")
    assert result.engine == "pandoc" and result.site_dir is None


def test_quarto_env_names_the_executable(tmp_path, monkeypatch):
    fake = tmp_path / "bin" / "my-quarto"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 1.7.34\n")
    monkeypatch.setenv("QUARTO", str(tmp_path / "nowhere" / "quarto"))
    with pytest.raises(R.RenderError, match=r"QUARTO=.*nowhere/quarto' is not an executable file"):
        R.resolve_engine("auto")
    fake.chmod(0o755)
    monkeypatch.setenv("QUARTO", str(fake))
    assert R.resolve_engine("auto") == ("quarto", str(fake))
    assert R.resolve_engine("pandoc") == ("pandoc", None)  # an explicit choice wins


def test_quarto_renders_under_a_dot_folder(tmp_path, quarto):
    """Quarto skips project files under dot-folders (its table of contents and A4 would be lost): built elsewhere."""
    messages: list[str] = []
    out = tmp_path / ".hidden" / "out"
    result = R.render_report([make_notebook(tmp_path / "a.ipynb")], out, title="T", engine="quarto",
                             progress=messages.append)
    assert result.html.parent == out.resolve() and result.warnings == ()
    assert any("under the dot-folder '.hidden'" in m for m in messages)
    assert '<nav id="TOC"' in result.html.read_text(encoding="utf-8")
    pypdf = pytest.importorskip("pypdf", reason="pypdf (dev extra) is needed to read the PDF")
    assert [round(float(v)) for v in pypdf.PdfReader(result.pdf).pages[0].mediabox[2:]] == [595, 842]  # A4
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.ipynb", "report.pdf"]


# --- Quarto project file --------------------------------------------------------------------------

def test_quarto_config_is_valid_and_in_sync():
    packaged = yaml.safe_load(R.quarto_config_text())
    assert (ROOT / "reports" / "_quarto.yml").read_text(encoding="utf-8") == R.quarto_config_text()
    for name, folder in R.QUARTO_PROJECT_FILES.items():  # reports/ links to the packaged files: `quarto render`
        assert (ROOT / "reports" / name).read_bytes() == R._resource(folder, name).read_bytes(), name
    assert packaged["project"] == {"type": "default", "output-dir": "_quarto_render"}
    assert packaged["execute"]["enabled"] is False and packaged["execute"]["warning"] is False
    html, typst = packaged["format"]["html"], packaged["format"]["typst"]
    assert html["embed-resources"] is True and html["html-math-method"] == "mathml" and html["theme"] == "none"
    assert packaged["toc"] is True and packaged["number-sections"] is True and packaged["toc-title"] == "Contents"
    assert typst["papersize"] == "a4" and typst["section-numbering"] == "1.1"
    assert typst["toc"] is False and typst["include-before-body"] == "cx-style.typ"  # contents after chapter 1
    assert packaged["filters"] == ["cx-quarto.lua"]


# --- end to end with a real kernel ----------------------------------------------------------------

@pytest.mark.pipeline
def test_papermill_executed_notebook_renders(tmp_path, renderer):
    """Real outputs (inline PNG, IPython Markdown, show_table bundle, a warning on stderr) from a kernel."""
    papermill = pytest.importorskip("papermill", reason="papermill is needed to execute the notebook")
    cells = [
        nbformat.v4.new_raw_cell('---\ntitle: "Executed chapter"\n---'),
        nbformat.v4.new_code_cell('n_points = 3', metadata={"tags": ["parameters"]}),
        nbformat.v4.new_markdown_cell("Text before @fig-real and @tbl-real."),
        nbformat.v4.new_code_cell("#| echo: false\nimport warnings\nimport pandas as pd\n"
                                  "from IPython.display import Markdown, display\n"
                                  "from matplotlib.figure import Figure\n"
                                  "from cxlib.report.tables import show_table\n"
                                  "from cxlib.report.figures import show_figure\n"
                                  "warnings.warn('kernel stderr warning')"),
        nbformat.v4.new_code_cell('#| label: fig-real\n#| fig-cap: "Executed figure"\n'
                                  "fig = Figure(figsize=(3, 2))\nfig.subplots().plot(range(n_points))\nshow_figure(fig, dpi=80)"),
        nbformat.v4.new_code_cell('#| label: tbl-real\n#| tbl-cap: "Executed table"\n'
                                  "show_table(pd.DataFrame({'tier': ['Gold'], 'n': [4321]}))"),
        nbformat.v4.new_code_cell("display(Markdown('**Executed markdown**'))"),
    ]
    source = tmp_path / "src.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {
        "name": "cxlib", "display_name": "Python (cxlib workbook)", "language": "python"}}), source)
    executed = tmp_path / "executed.ipynb"
    from jupyter_client.kernelspec import find_kernel_specs
    kernel = "cxlib" if "cxlib" in find_kernel_specs() else "python3"
    papermill.execute_notebook(str(source), str(executed), parameters={"n_points": 4}, kernel_name=kernel,
                               progress_bar=False, cwd=str(tmp_path))
    outputs = [o for c in nbformat.read(executed, 4).cells if c.cell_type == "code" for o in c.outputs]
    assert any(o.get("name") == "stderr" for o in outputs)  # the pitfall is really there
    result = R.render_report([executed], tmp_path / "out", title="Pipeline", engine=renderer)
    html = result.html.read_text(encoding="utf-8")
    found = outline(html)
    assert found["captions"] == ["Figure 1: Executed figure", "Table 1: Executed table"]
    assert "data:image/png;base64," in html and found["cells"] == ["tier", "n", "Gold", "4,321"]
    assert "<strong>Executed markdown</strong>" in html
    for forbidden in ("kernel stderr warning", "object>", "#|", "<Figure size", "injected"):
        assert forbidden not in html, forbidden


# --- the `cx render` command ----------------------------------------------------------------------

def test_cli_render(tmp_path, renderer):
    from click.testing import CliRunner

    from cxlib.cli import main

    nb = make_notebook(tmp_path / "a.ipynb")
    ok = CliRunner().invoke(main, ["render", str(nb), "--out", str(tmp_path / "out"), "--title", "CLI report",
                                   "--stem", "q4", "--engine", renderer])
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.splitlines() == [str((tmp_path / "out" / "q4.html").resolve()),
                                      str((tmp_path / "out" / "q4.pdf").resolve())]
    assert "CLI report" in (tmp_path / "out" / "q4.html").read_text(encoding="utf-8")
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{not json", encoding="utf-8")
    failed = CliRunner().invoke(main, ["render", str(bad), "--out", str(tmp_path / "out2"), "--title", "T"])
    assert failed.exit_code == 1 and "Cannot read executed notebook" in failed.stderr


def test_pandas_html_table_becomes_a_table_in_both_formats(tmp_path, renderer):
    df = pd.DataFrame({"region": ["North", "South"], "tickets": [1520, 987]})
    cell = nbformat.v4.new_code_cell('#| label: tbl-raw\n#| tbl-cap: "Raw pandas"\ndf')
    cell.outputs = [nbformat.v4.new_output("execute_result", execution_count=1,
                                           data={"text/html": df._repr_html_(), "text/plain": repr(df)})]
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), tmp_path / "a.ipynb")
    result = R.render_report([tmp_path / "a.ipynb"], tmp_path / "out", title="T", engine=renderer)
    assert result.warnings == ()  # Quarto would fetch a CSS inliner from the network for an HTML table in Typst
    html = result.html.read_text(encoding="utf-8")
    assert html.count("<table") == 1 and outline(html)["captions"] == ["Table 1: Raw pandas"]
    assert "scoped" not in html and "dataframe tbody" not in html  # pandas' <style> is not leaked as text
    text = pdf_words(result.pdf)
    assert "Table 1: Raw pandas" in text and "North 1520" in text and "South 987" in text


def test_an_unlabelled_table_keeps_its_caption_in_both_formats(tmp_path, renderer):
    """A Markdown table printed with a ``: caption`` but no label: unnumbered, its caption shown everywhere.

    Quarto 1.7 drops such a caption in Typst; ``cx-quarto.lua`` puts it back above the table.
    """
    cell = nbformat.v4.new_code_cell("#| output: asis\nprint(table)")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=(
        "| customer | value |\n|:---|---:|\n| P1 | 212.55 |\n\n: The 10 members [EUR] with the most value at stake\n"))]
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), tmp_path / "a.ipynb")
    result = R.render_report([tmp_path / "a.ipynb"], tmp_path / "out", title="T", engine=renderer)
    assert result.warnings == ()
    assert outline(result.html.read_text(encoding="utf-8"))["captions"] == [
        "The 10 members [EUR] with the most value at stake"]
    text = pdf_words(result.pdf)
    assert "The 10 members [EUR] with the most value at stake customer value P1 212.55" in text
    assert "Table 1" not in text


def test_pdf_scales_a_figure_wider_than_the_page_to_the_text_width(tmp_path, renderer):
    """A 20-inch matplotlib figure would be drawn 1,440 pt wide at its natural size; A4 is 595 pt."""
    fig = Figure(figsize=(20, 3), dpi=100)
    fig.subplots().plot([1, 2, 3])
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    cell = nbformat.v4.new_code_cell('#| label: fig-wide\n#| fig-cap: "Wide"\nfig')
    # as cxlib.report.figures.show_figure records it: the pixel size in the output's metadata
    cell.outputs = [nbformat.v4.new_output("display_data", data={
        "image/png": base64.b64encode(buf.getvalue()).decode(), "text/plain": "x"},
        metadata={"image/png": {"width": 2000, "height": 300}})]
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), tmp_path / "a.ipynb")
    result = R.render_report([tmp_path / "a.ipynb"], tmp_path / "out", title="T", engine=renderer)
    from pypdf import PdfReader

    page = PdfReader(result.pdf).pages[-1]
    content = page.get_contents().get_data().decode("latin-1")
    draws = re.findall(r"([-\d.]+) 0 0 ([-\d.]+) ([-\d.]+) ([-\d.]+) cm\s*/\w+ Do", content)
    assert len(draws) == 1
    width, height, x, _ = (abs(float(v)) for v in draws[0])  # Quarto's Typst draws it flipped: negative height
    assert x >= 0 and x + width <= float(page.mediabox.width)
    assert width / height == pytest.approx(20 / 3, rel=0.01)  # aspect ratio kept
