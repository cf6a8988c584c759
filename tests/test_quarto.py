"""Tests of cxlib.report.quarto: the notebook Quarto gets, its warnings, and `quarto render` in reports/.

The preparation is checked on notebooks built here; the Quarto runs need Quarto (the ``quarto``
fixture of ``tests/conftest.py`` skips them, saying why, where it is not installed).
"""
from __future__ import annotations

import base64
import os
import shutil
import subprocess
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from cxlib.report import quarto as Q
from cxlib.report import render as R
from cxlib.report.publishing import QUARTO_INDEX
from cxlib.report.tables import show_table

ROOT = Path(__file__).resolve().parents[1]
PNG = base64.b64encode(b"\x89PNG fake").decode()


def _display(data: dict, metadata: dict | None = None) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("display_data", data=data, metadata=metadata or {})


def _code(source: str, *outputs) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.outputs = list(outputs)
    return cell


def _chapters(*cells) -> nbformat.NotebookNode:
    front = nbformat.v4.new_raw_cell("---\ntitle: R\n---")
    return nbformat.v4.new_notebook(cells=[front, nbformat.v4.new_markdown_cell("# One {#sec-one}"), *cells,
                                           nbformat.v4.new_markdown_cell("# Two {#sec-two}"),
                                           nbformat.v4.new_markdown_cell("Text.")])


def test_prepare_keeps_one_mime_per_output_and_no_html():
    table = show_table(pd.DataFrame({"tier": ["Gold"], "n": [4321]}))
    frame = pd.DataFrame({"region": ["North"], "tickets": [1520]})
    nb = _chapters(
        _code("#| label: tbl-a\nshow_table(t)", _display(table._repr_mimebundle_())),
        _code("#| label: fig-a\nfig", _display({"image/png": PNG, "text/plain": "<Figure size 4x3 with 1 Axes>"},
                                             {"image/png": {"width": 1500, "height": 900}})),
        _code("df", _display({"text/html": frame._repr_html_(), "text/plain": repr(frame)})),
        _code("widget", _display({"text/html": "<div id='w'>hi</div>", "text/plain": "w"})),
        _code("fig", _display({"text/plain": "<Figure size 640x480 with 1 Axes>"})),
        _code("1/0", nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="division by zero",
                                            traceback=["\x1b[31mTraceback\x1b[0m"])))
    out = Q.prepare_for_quarto(nb)
    code = [c for c in out.cells if c.cell_type == "code"]
    assert [c.source for c in code] == [c.source for c in nb.cells if c.cell_type == "code"]  # #| options kept
    kinds = [[sorted(o.get("data", {"stream": o.get("text")})) for o in c.outputs] for c in code]
    assert kinds == [[["text/markdown"]], [["image/png"]], [["text/markdown"]], [["text/markdown"]], [],
                     [["stream"]]]
    assert code[0].outputs[0].data["text/markdown"] == table.markdown
    assert code[1].outputs[0].metadata == {"image/png": {}}  # no pixel size: Typst scales to the column
    assert code[2].outputs[0].data["text/markdown"].splitlines()[:3] == [
        "|     | region | tickets |", "|-----|--------|---------|", "| 0   | North  | 1520    |"]
    assert code[3].outputs[0].data["text/markdown"] == "```{=html}\n<div id='w'>hi</div>\n```"
    assert code[5].outputs[0].text == "ZeroDivisionError: division by zero"
    assert not any("text/html" in o.get("data", {}) for c in code for o in c.outputs)  # no CDN require.js
    assert nb.cells[2].outputs[0].data.keys() == table._repr_mimebundle_().keys()  # the input is left alone


def test_prepare_places_the_typst_contents_after_the_first_chapter():
    out = Q.prepare_for_quarto(_chapters(nbformat.v4.new_markdown_cell("Body.")))
    sources = [c.source for c in out.cells[1:]]
    assert sources == ["# One {#sec-one}", "Body.", "```{=typst}\n#cx-toc(depth: 2)\n```", "# Two {#sec-two}",
                       "Text."]
    one = nbformat.v4.new_notebook(cells=[nbformat.v4.new_raw_cell("---\ntitle: R\n---"),
                                          nbformat.v4.new_markdown_cell("# Only")])
    assert Q.prepare_for_quarto(one).cells[1].source == "```{=typst}\n#cx-toc(depth: 2, newpage: false)\n```"


def test_prepare_splits_an_interactive_figure_by_format():
    """HTML gets the plotly part in a figure Div, other formats the image in the labelled cell."""
    cell = _code('#| echo: false\n#| label: fig-flow\n#| fig-cap: "Top paths."\nflow',
                 _display({"text/html": "<div>plotly</div>", "image/png": PNG, "text/plain": "Flow"},
                          {"image/png": {"width": 900, "height": 600}}))
    cells = Q.prepare_for_quarto(_chapters(cell)).cells[2:8]
    assert [c.cell_type for c in cells] == ["markdown", "code", "markdown", "markdown", "code", "markdown"]
    assert cells[0].source == ':::: {.content-visible when-format="html"}\n::: {#fig-flow}'
    assert cells[1].source == "#| echo: false\nflow"  # no label: Quarto refuses one label in two cells
    assert cells[1].outputs[0].data == {"text/markdown": "```{=html}\n<div>plotly</div>\n```"}
    assert cells[2].source == "Top paths.\n:::\n::::"
    assert cells[3].source == ':::: {.content-hidden when-format="html"}' and cells[5].source == "::::"
    assert cells[4].source == cell.source and cells[4].outputs[0].data == {"image/png": PNG}
    ids = [c.id for c in Q.prepare_for_quarto(_chapters(cell)).cells]
    assert len(set(ids)) == len(ids)
    nbformat.validate(Q.prepare_for_quarto(_chapters(cell)))


def test_raw_html_fence_outlasts_backticks_in_the_html():
    assert Q.raw_html_markdown("<pre>``` and ````</pre>").startswith("`````{=html}\n")


def test_quarto_warnings_are_picked_out_of_progress():
    stderr = "\n".join([
        "\x1b[1mpandoc \x1b[22m", "  to: html", "  output-file: report.html", "",
        "[WARNING] Could not fetch resource https://example.org/x.js: HttpExceptionRequest Request {",
        '    host                 = "example.org"', "  }", "",
        "WARNING (/opt/quarto/share/filters/main.lua:14000) Unable to resolve crossref @fig-x",
        "Warning: variable used before declaration", "variable:  link-color 91",
        "\x1b[1mmetadata\x1b[22m", "  lang: en",
        "[typst]: Compiling report.typ to report.pdf...warning: unknown font family: dejavu sans",
        "warning: unknown font family: dejavu sans", "Output created: _quarto_render/report.html", ""])
    assert Q.quarto_warnings(stderr) == [
        "[WARNING] Could not fetch resource https://example.org/x.js: HttpExceptionRequest Request {\n"
        '    host                 = "example.org"\n  }',
        "WARNING (/opt/quarto/share/filters/main.lua:14000) Unable to resolve crossref @fig-x",
        "Warning: variable used before declaration\nvariable:  link-color 91",
        "warning: unknown font family: dejavu sans"]


def test_find_quarto_and_hidden_parts(tmp_path, monkeypatch):
    monkeypatch.delenv(Q.QUARTO_ENV, raising=False)
    monkeypatch.setattr(Q.shutil, "which", lambda name: None)
    assert Q.find_quarto() is None
    assert Q.hidden_part(tmp_path / ".cache" / ".x" / "out") == ".cache"
    assert Q.hidden_part(tmp_path / "_build" / "run") is None


def test_quarto_versions_name_the_bundled_engines(quarto):
    found = Q.quarto_versions(quarto)
    assert set(found) == {"quarto", "pandoc", "typst"} and all(found.values()), found
    assert R.renderer_versions("auto") == {"renderer": "quarto", **found,
                                           "engines": f"pandoc and Typst bundled with Quarto ({quarto})"}


def _reports_copy(tmp_path: Path, published: R.RenderResult, stem: str) -> Path:
    """A reports folder as `cx report` leaves it: _quarto.yml, its files, _output/ and the notebook link."""
    reports = tmp_path / "reports"
    (reports / "_output").mkdir(parents=True)
    for name in ("_quarto.yml", *R.QUARTO_PROJECT_FILES):
        shutil.copy(ROOT / "reports" / name, reports / name)  # the links in reports/ followed
    for ext in ("html", "ipynb"):
        shutil.copy(getattr(published, {"ipynb": "notebook"}.get(ext, ext)), reports / "_output" / f"{stem}.{ext}")
    os.symlink(f"_output/{stem}.html", reports / f"{stem}.html")
    os.symlink(f"_output/{stem}.ipynb", reports / QUARTO_INDEX)
    return reports


def test_quarto_render_in_the_reports_folder_renders_the_last_report(tmp_path, quarto, render_helpers):
    """`cd reports && quarto render`: the published notebook (index.ipynb) with reports/_quarto.yml.

    The published links are left alone: Quarto writes ``<input>.html`` beside its input before moving it
    into ``_quarto_render/``, which through a link named like the published HTML would overwrite it.
    """
    make_notebook, outline = render_helpers.make_notebook, render_helpers.outline
    notebooks = [make_notebook(tmp_path / "10_metrics.ipynb"),
                 make_notebook(tmp_path / "20_journeys.ipynb", title="Journeys", fig_label="fig-b",
                               tbl_label="tbl-journeys")]
    published = R.render_report(notebooks, tmp_path / "published", title="Quarterly CX report", engine="pandoc",
                                stem="cx-quarterly-review")
    reports = _reports_copy(tmp_path, published, "cx-quarterly-review")
    done = subprocess.run([quarto, "render"], cwd=reports, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    assert Q.quarto_warnings(done.stderr) == []
    made = reports / Q.QUARTO_OUTPUT_DIR
    assert sorted(p.name for p in made.iterdir()) == ["index.html", "index.pdf"]
    assert not any(p.is_symlink() for p in made.iterdir())
    mine = outline((made / "index.html").read_text(encoding="utf-8"))
    assert mine == outline(published.html.read_text(encoding="utf-8"))  # the same report as `cx report` made
    assert mine["headings"] == ["1 Customer metrics", "1.1 Overview", "2 Journeys", "2.1 Overview"]
    assert os.readlink(reports / "cx-quarterly-review.html") == "_output/cx-quarterly-review.html"
    assert (reports / "_output" / "cx-quarterly-review.html").read_bytes() == published.html.read_bytes()


@pytest.mark.parametrize("output, linked", [("cx-quarterly-review", True), ("index", False)])
def test_publish_links_the_quarto_notebook_as_index(tmp_path, output, linked):
    from cxlib.report.publishing import publish

    staged = tmp_path / "reports" / "_build" / "run" / "report"
    staged.mkdir(parents=True)
    for ext in ("html", "pdf", "ipynb"):
        (staged / f"{output}.{ext}").write_text(ext)
    publish(staged, tmp_path / "reports", output=output)
    index = tmp_path / "reports" / QUARTO_INDEX
    assert index.is_symlink() is linked  # an output named "index" would clash with Quarto's index.html
    if linked:
        assert os.readlink(index) == f"_output/{output}.ipynb" and index.read_text() == "ipynb"
    assert os.readlink(tmp_path / "reports" / f"{output}.html") == f"_output/{output}.html"
