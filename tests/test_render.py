"""Tests of cxlib.report.render: assembling executed notebooks and rendering HTML + PDF.

The notebooks are built here with nbformat, with outputs as Papermill would
leave them (a matplotlib PNG, a show_table bundle, an IPython Markdown display,
stdout and stderr streams), so no kernel is started.
"""
from __future__ import annotations

import base64
import io
import re
import shutil
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


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    base = tmp_path_factory.mktemp("render")
    nb1 = make_notebook(base / "10_metrics.ipynb")
    nb2 = make_notebook(base / "20_journeys.ipynb", title="Journeys", fig_label="fig-b",
                        tbl_label="tbl-journeys", extra_markdown=" Compare with @fig-a.")
    messages: list[str] = []
    result = R.render_report([nb1, nb2], base / "out", title="Quarterly CX report", subtitle="2025Q4 vs 2025Q3",
                             engine="pandoc", progress=messages.append, site=True)
    return {"result": result, "notebooks": [nb1, nb2], "base": base, "messages": messages,
            "html": result.html.read_text(encoding="utf-8")}


@pytest.fixture(scope="module")
def pdf_text(rendered):
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

def test_assemble_makes_chapters_and_drops_parameters_and_stderr(tmp_path):
    nb1 = make_notebook(tmp_path / "a.ipynb", title="First")
    nb2 = make_notebook(tmp_path / "b.ipynb", title="Second", fig_label="fig-b", tbl_label="tbl-b")
    nb = R.assemble_notebooks([nb1, nb2], title="Report", subtitle="Sub")
    assert nb.cells[0].cell_type == "raw"
    assert yaml.safe_load(nb.cells[0].source.strip("-\n")) == {"title": "Report", "subtitle": "Sub"}
    headings = [c.source for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("# ")]
    assert headings == ["# First", "# Second"]
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
    assert out.cells[1].source == "# 35 clv model"


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

def test_render_result(rendered):
    result = rendered["result"]
    assert result.engine == "pandoc"
    assert result.html.name == "report.html" and result.pdf.name == "report.pdf"
    assert sorted(p.name for p in result.html.parent.iterdir()) == ["report.html", "report.pdf", "report_site"]
    assert any("typst: Typst -> PDF" in m for m in rendered["messages"])


def test_html_has_title_headings_and_toc(rendered):
    html = rendered["html"]
    assert '<h1 class="title">Quarterly CX report</h1>' in html
    assert "2025Q4 vs 2025Q3" in html
    assert re.search(r'<h1[^>]*id="customer-metrics"[^>]*><span class="header-section-number">1</span> '
                     r"Customer metrics</h1>", html)
    assert re.search(r'<h1[^>]*><span class="header-section-number">2</span> Journeys</h1>', html)
    assert '<nav id="TOC"' in html and html.count('class="toc-section-number"') == 4


def test_html_figures_numbered_and_embedded(rendered):
    html = rendered["html"]
    assert len(re.findall(r'<img[^>]+src="data:image/png;base64,', html)) == 2
    assert "<figcaption>Figure 1: A rising curve</figcaption>" in html
    assert "<figcaption>Figure 2: A rising curve</figcaption>" in html
    assert '<a href="#fig-a">Figure\u00a01</a>' in html
    assert '<a href="#fig-b">Figure\u00a02</a>' in html


def test_html_tables_are_tables(rendered):
    html = rendered["html"]
    assert html.count("<table") == 2
    assert "<caption>Table 1: Scores by tier</caption>" in html
    assert "<caption>Table 2: Scores by tier</caption>" in html
    assert '<a href="#tbl-journeys">Table\u00a02</a>' in html
    assert re.search(r"<td[^>]*>12,345</td>", html) and re.search(r"<td[^>]*>41.2</td>", html)


def test_html_hides_what_readers_should_not_see(rendered):
    html = rendered["html"]
    for forbidden in ("#|", "<IPython.core.display.Markdown object>", "secret stderr", "UserWarning",
                      "secret_code_line", "hidden_entirely", "include-false output", "seed = 20261123",
                      "<Figure size", "?@"):
        assert forbidden not in html, forbidden
    assert "<strong>Headline</strong>: NPS rose by 3.2 points." in html
    assert "visible stdout" in html
    assert re.search(r'<pre\s+class="sourceCode python">.*shown_code', html, re.DOTALL)  # echo: true shows code


def test_html_math_is_mathml_and_nothing_is_external(rendered):
    html = rendered["html"]
    assert '<math display="inline"' in html
    assert "mathjax" not in html.lower() and "katex" not in html.lower()
    assert EXTERNAL.findall(html) == []
    assert "<style" in html and "--cx-accent" in html  # report.css embedded, not linked


def test_site_has_one_page_per_chapter(rendered):
    site = rendered["result"].site_dir
    pages = sorted(p.name for p in site.glob("*.html"))
    assert pages == ["1-customer-metrics.html", "2-journeys.html", "index.html"]
    for page in site.glob("*.html"):
        assert EXTERNAL.findall(page.read_text(encoding="utf-8")) == []


# --- the rendered report: PDF ---------------------------------------------------------------------

def test_pdf_text(pdf_text):
    text = "\n".join(pdf_text).replace("\u00a0", " ")
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
                            subtitle="2025Q4 vs 2025Q3", engine="pandoc")
    assert again.pdf.read_bytes() == rendered["result"].pdf.read_bytes()
    assert again.html.read_bytes() == rendered["result"].html.read_bytes()
    assert not any(p.name.startswith(".render-") for p in again.html.parent.iterdir())


def test_pdf_fonts_are_pinned():
    assert R.DEFAULT_EPOCH == 946_684_800
    fonts = R.typst_font_paths()
    assert len(fonts) == 1 and (Path(fonts[0]) / "DejaVuSans.ttf").exists()


# --- errors and engines ---------------------------------------------------------------------------

def test_typst_failure_quotes_the_diagnostic(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_raw_cell("#let broken = (", metadata={"format": "text/x-typst", "raw_mimetype": "typst"})])
    nbformat.write(nb, tmp_path / "bad.ipynb")
    with pytest.raises(R.RenderError) as info:
        R.render_report([tmp_path / "bad.ipynb"], tmp_path / "out", title="Broken", engine="pandoc")
    err = info.value
    assert err.engine == "typst" and "typst stderr" in str(err) and err.stderr
    assert err.build_dir is not None and (err.build_dir / "report.typ").exists()


def test_unresolved_reference_is_flagged(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("As @fig-nowhere shows, mail me@x.org.")])
    nbformat.write(nb, tmp_path / "a.ipynb")
    messages: list[str] = []
    result = R.render_report([tmp_path / "a.ipynb"], tmp_path / "out", title="T", engine="pandoc",
                             progress=messages.append)
    html = result.html.read_text(encoding="utf-8")
    assert "<strong>?@fig-nowhere</strong>" in html and "me@x.org" in html
    assert any("unresolved cross-reference @fig-nowhere" in m for m in messages)


def test_numeric_caption_and_imageless_figure(tmp_path):
    figure = nbformat.v4.new_code_cell('#| label: fig-num\n#| fig-cap: "2025"\nfig')
    figure.outputs = [nbformat.v4.new_output("display_data", data={"image/png": _png(), "text/plain": "x"})]
    repr_only = nbformat.v4.new_code_cell("#| label: fig-repr\nfig")
    repr_only.outputs = [nbformat.v4.new_output("execute_result", execution_count=1,
                                                data={"text/plain": "<Figure size 300x200 with 1 Axes>"})]
    nbformat.write(nbformat.v4.new_notebook(cells=[figure, repr_only]), tmp_path / "a.ipynb")
    messages: list[str] = []
    result = R.render_report([tmp_path / "a.ipynb"], tmp_path / "out", title="T", engine="pandoc",
                             progress=messages.append)
    html = result.html.read_text(encoding="utf-8")
    assert "<figcaption>Figure 1: 2025</figcaption>" in html  # pandoc's JSON-quoted '"2025"' is decoded
    assert "Figure 2" not in html and "<Figure size" not in html
    assert any("'fig-repr' has no displayable output" in m and "show_figure" in m for m in messages)


def test_engine_choice_is_checked(tmp_path):
    with pytest.raises(ParameterError, match="engine='latex' is not allowed"):
        R.render_report([tmp_path / "a.ipynb"], tmp_path, title="T", engine="latex")


def test_engine_quarto_without_quarto(tmp_path, monkeypatch):
    monkeypatch.setattr(R.shutil, "which", lambda name: None)
    with pytest.raises(R.RenderError, match="quarto is not on PATH"):
        R.render_report([tmp_path / "a.ipynb"], tmp_path, title="T", engine="quarto")


def test_auto_engine_falls_back_to_pandoc(tmp_path, monkeypatch):
    monkeypatch.setattr(R.shutil, "which", lambda name: None)
    result = R.render_report([make_notebook(tmp_path / "a.ipynb")], tmp_path / "out", title="T")
    assert result.engine == "pandoc" and result.site_dir is None


def test_render_with_quarto(tmp_path):
    quarto = shutil.which("quarto")
    if quarto is None:
        pytest.skip("quarto not on PATH: Quarto CLI is not installable here; the pandoc + Typst fallback is tested")
    result = R.render_report([make_notebook(tmp_path / "a.ipynb")], tmp_path / "out", title="Quarterly CX report",
                             engine="quarto")
    html = result.html.read_text(encoding="utf-8")
    assert result.engine == "quarto" and "Quarterly CX report" in html
    assert "data:image/png;base64," in html and "<table" in html
    assert "secret stderr" not in html and EXTERNAL.findall(html) == []
    assert result.pdf.read_bytes()[:5] == b"%PDF-"


# --- Quarto project file --------------------------------------------------------------------------

def test_quarto_config_is_valid_and_in_sync():
    packaged = yaml.safe_load(R.quarto_config_text())
    assert yaml.safe_load((ROOT / "reports" / "_quarto.yml").read_text(encoding="utf-8")) == packaged
    assert packaged["project"] == {"type": "default"}
    assert packaged["execute"]["enabled"] is False and packaged["execute"]["warning"] is False
    html, typst = packaged["format"]["html"], packaged["format"]["typst"]
    assert html["embed-resources"] is True and html["html-math-method"] == "mathml"
    assert typst["toc"] is True and packaged["toc"] is True and packaged["number-sections"] is True


# --- end to end with a real kernel ----------------------------------------------------------------

@pytest.mark.pipeline
def test_papermill_executed_notebook_renders(tmp_path):
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
    result = R.render_report([executed], tmp_path / "out", title="Pipeline", engine="pandoc")
    html = result.html.read_text(encoding="utf-8")
    assert "<figcaption>Figure 1: Executed figure</figcaption>" in html and "data:image/png;base64," in html
    assert "<caption>Table 1: Executed table</caption>" in html and re.search(r"<td[^>]*>4,321</td>", html)
    assert "<strong>Executed markdown</strong>" in html
    for forbidden in ("kernel stderr warning", "object>", "#|", "<Figure size", "injected"):
        assert forbidden not in html, forbidden


# --- the `cx render` command ----------------------------------------------------------------------

def test_cli_render(tmp_path):
    from click.testing import CliRunner

    from cxlib.cli import main

    nb = make_notebook(tmp_path / "a.ipynb")
    ok = CliRunner().invoke(main, ["render", str(nb), "--out", str(tmp_path / "out"), "--title", "CLI report",
                                   "--stem", "q4", "--engine", "pandoc"])
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.splitlines() == [str((tmp_path / "out" / "q4.html").resolve()),
                                      str((tmp_path / "out" / "q4.pdf").resolve())]
    assert "CLI report" in (tmp_path / "out" / "q4.html").read_text(encoding="utf-8")
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{not json", encoding="utf-8")
    failed = CliRunner().invoke(main, ["render", str(bad), "--out", str(tmp_path / "out2"), "--title", "T"])
    assert failed.exit_code == 1 and "Cannot read executed notebook" in failed.stderr


def test_pandas_html_table_becomes_a_table_in_both_formats(tmp_path):
    pypdf = pytest.importorskip("pypdf", reason="pypdf (dev extra) is needed to read the PDF")
    df = pd.DataFrame({"region": ["North", "South"], "tickets": [1520, 987]})
    cell = nbformat.v4.new_code_cell('#| label: tbl-raw\n#| tbl-cap: "Raw pandas"\ndf')
    cell.outputs = [nbformat.v4.new_output("execute_result", execution_count=1,
                                           data={"text/html": df._repr_html_(), "text/plain": repr(df)})]
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), tmp_path / "a.ipynb")
    result = R.render_report([tmp_path / "a.ipynb"], tmp_path / "out", title="T", engine="pandoc")
    html = result.html.read_text(encoding="utf-8")
    assert html.count("<table") == 1 and "<caption>Table 1: Raw pandas</caption>" in html
    assert "scoped" not in html and "dataframe tbody" not in html  # pandas' <style> is not leaked as text
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(result.pdf).pages)
    assert "Table 1: Raw pandas" in text and "North 1520" in text and "South 987" in text


def test_pdf_scales_a_figure_wider_than_the_page_to_the_text_width(tmp_path):
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
    result = R.render_report([tmp_path / "a.ipynb"], tmp_path / "out", title="T", engine="pandoc")
    from pypdf import PdfReader

    page = PdfReader(result.pdf).pages[-1]
    content = page.get_contents().get_data().decode("latin-1")
    draws = re.findall(r"([-\d.]+) 0 0 ([-\d.]+) ([-\d.]+) ([-\d.]+) cm\s*/\w+ Do", content)
    assert len(draws) == 1
    width, height, x, _ = (float(v) for v in draws[0])
    assert x >= 0 and x + width <= float(page.mediabox.width)
    assert width / height == pytest.approx(20 / 3, rel=0.01)  # aspect ratio kept
