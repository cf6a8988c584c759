"""Rendering through Quarto: find it, prepare the report notebook for it, read its warnings and versions.

:func:`cxlib.report.render.render_report` uses this module when ``quarto`` is on PATH
(or the environment variable ``QUARTO`` names it).  Three facts about Quarto (1.7)
shape it; each one broke the report before:

* **No folder of the path may start with a dot.**  Quarto skips hidden paths when it
  lists a project's files, so a notebook under ``.render-x/`` is rendered as a lone
  file and ``_quarto.yml`` is silently ignored: no table of contents, no numbering,
  US Letter pages, figures linked into a folder that is then deleted.
  :func:`hidden_part` finds such a folder; the renderer builds elsewhere.
* **No ``text/html`` display output may reach Quarto.**  Quarto adds require.js and
  jQuery from a CDN to the HTML of any notebook that has one (tables included),
  which makes the page fetch the network and, offline, breaks its scripts
  ("define is not defined").  :func:`prepare_for_quarto` keeps the Markdown of
  tables, turns other HTML into a raw ``{=html}`` Markdown block (pandoc keeps it
  in HTML and drops it elsewhere; Quarto still reads HTML tables in it) and splits
  an interactive figure into an HTML-only cell (the plotly part) and a cell for
  the other formats (its image).
* **Warnings arrive on stderr among progress lines** (Quarto's own, pandoc's,
  the Lua filters', Sass's, Typst's); :func:`quarto_warnings` picks them out so
  that the caller shows every one of them.

The prepared notebook renders the same with ``quarto render`` in ``reports/``
(``reports/_quarto.yml``, the same file as ``templates/_quarto.yml``).
"""
from __future__ import annotations

import copy
import functools
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import nbformat

from .render import RenderError, _pick_output, parse_cell_options

__all__ = ["QUARTO_ENV", "QUARTO_OUTPUT_DIR", "find_quarto", "hidden_part", "html_table_markdown",
           "prepare_for_quarto",
           "quarto_versions", "quarto_warnings", "raw_html_markdown"]

#: Environment variable naming the Quarto executable; it wins over ``quarto`` on PATH.
QUARTO_ENV = "QUARTO"
#: Folder (inside the project) where Quarto writes its renders: ``project: output-dir`` of ``_quarto.yml``.
QUARTO_OUTPUT_DIR = "_quarto_render"
#: Depth of the table of contents (``toc-depth`` of ``_quarto.yml``; the pandoc route uses the same).
TOC_DEPTH = 2
_IMAGES = ("image/svg+xml", "image/png", "image/jpeg")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# A warning's first line: Quarto's "WARNING:", "WARN:" and "WARNING (filter.lua:12)", pandoc's "[WARNING]",
# Sass's "Warning:", Typst's "warning:", and errors that did not stop the render.
_WARNING = re.compile(r"^\s*(?:\[?(?:WARN(?:ING)?|ERROR)\]?\b|warning:|Warning:|error:)", re.IGNORECASE)
# Progress lines that end a warning's detail lines (Quarto prints them in bold between its steps).
_PROGRESS = re.compile(r"^(?:(?:pandoc|metadata)\s*$|Output created:|\[typst\]|processing file:|\[\s*\d+/\d+\]|"
                       r"Rendering |Preparing to preview|Watching files)")
_NOT_HTML = ':::: {.content-hidden when-format="html"}'


def find_quarto() -> str | None:
    """The Quarto executable to use: ``$QUARTO`` when set, else ``quarto`` on PATH, else None.

    Raises
    ------
    RenderError
        ``QUARTO`` is set but names no executable file.

    Examples
    --------
    >>> find_quarto() is None or os.access(find_quarto(), os.X_OK)
    True
    """
    named = os.environ.get(QUARTO_ENV, "").strip()
    if not named:
        return shutil.which("quarto")
    found = shutil.which(named)
    if found is None:
        raise RenderError(f"{QUARTO_ENV}={named!r} is not an executable file; point it at Quarto's bin/quarto "
                          f"or unset it to use `quarto` on PATH.", engine="quarto")
    return found


def hidden_part(path: str | os.PathLike) -> str | None:
    """The first folder of the absolute ``path`` whose name starts with a dot (Quarto skips those), or None.

    >>> hidden_part("/home/ann/.cache/reports/out"), hidden_part("/tmp/reports/_build/run")
    ('.cache', None)
    """
    return next((part for part in Path(path).resolve().parts if part.startswith(".")), None)


def raw_html_markdown(html: str) -> str:
    """``html`` as a raw ``{=html}`` Markdown block whose fence is longer than any run of backticks in it.

    >>> raw_html_markdown("<b>x</b>")
    '```{=html}\\n<b>x</b>\\n```'
    >>> raw_html_markdown("<pre>````</pre>").split("\\n")[0]
    '`````{=html}'
    """
    longest = max((len(run) for run in re.findall(r"`+", html)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{{=html}}\n{html.rstrip(chr(10))}\n{fence}"


def html_table_markdown(html: str) -> str:
    """An HTML table (a pandas DataFrame's ``text/html``) as a Markdown table, read by pandoc.

    The pandoc route reads such tables the same way (``cx-notebook.lua``); left as HTML,
    Quarto would fetch a script from the network to inline their CSS for Typst.  Style
    sheets and other raw HTML around the table are dropped.  When pandoc is missing the
    HTML stays, as a raw block.
    """
    from .render import _pandoc_path

    clean = re.sub(r"<style\b.*?</style>", "", html, flags=re.DOTALL | re.IGNORECASE)
    try:
        done = subprocess.run([_pandoc_path(), "--from", "html", "--to",
                               "markdown-raw_html-native_divs-native_spans-fenced_divs-bracketed_spans"
                               "-header_attributes-link_attributes-simple_tables-multiline_tables", "--wrap=none"],
                              input=clean, capture_output=True, text=True, timeout=120, check=False)
    except (RenderError, OSError, subprocess.TimeoutExpired):
        return raw_html_markdown(html)
    table = done.stdout.strip("\n")
    return table if done.returncode == 0 and table.strip() else raw_html_markdown(html)


def _text(value) -> str:
    return value if isinstance(value, str) else "".join(value)


def _is_interactive(output: nbformat.NotebookNode) -> bool:
    data = output.get("data", {})
    return "text/html" in data and any(m in data for m in _IMAGES)


def _quarto_output(output: nbformat.NotebookNode, *, part: str = "") -> nbformat.NotebookNode | None:
    """One output as Quarto should get it; ``part`` ("html" or "image") picks a side of an interactive figure."""
    if output.output_type not in ("display_data", "execute_result"):
        return _pick_output(output, "html")  # streams as they are; an error as its one line
    data = output.get("data", {})
    keep: dict = {}
    if "text/markdown" in data:
        keep = {"text/markdown": data["text/markdown"]}
    elif part == "html" or ("text/html" in data and not any(m in data for m in _IMAGES)):
        html = _text(data["text/html"])
        keep = {"text/markdown": html_table_markdown(html) if part != "html" and "<table" in html
                else raw_html_markdown(html)}
    elif any(m in data for m in _IMAGES):
        keep = {m: data[m] for m in _IMAGES if m in data}
    elif "text/plain" in data:
        return _pick_output(output, "html")  # the text, or nothing for "<Figure size ...>" noise
    if not keep:
        return None
    out = copy.deepcopy(output)
    out.data = keep
    # No pixel size: Quarto would print a 1,500-pixel figure 15.6 in wide on an A4 page; without one
    # Typst scales the image to the text column and the HTML's CSS to the page, as on the pandoc route.
    out.metadata = {k: {f: x for f, x in v.items() if f not in ("width", "height")} if isinstance(v, dict) else v
                    for k, v in output.get("metadata", {}).items() if k in keep}
    return out


def _outputs(cell: nbformat.NotebookNode, part: str = "") -> list:
    outputs = [_quarto_output(o, part=part if _is_interactive(o) else "") for o in cell.get("outputs", [])]
    return [o for o in outputs if o is not None]


def _fence(text: str, cell_id: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_markdown_cell(text)
    cell.id = cell_id[:64]
    return cell


def _split_interactive(cell: nbformat.NotebookNode) -> list:
    """An interactive figure's cell as an HTML-only part and a part for the other formats.

    Quarto refuses one cell label in two cells, so the image part keeps the cell (label,
    caption and all) and the HTML part becomes a figure Div of the same id: the one of the
    two left after Quarto drops the other format's part is the numbered figure.
    """
    options, code = parse_cell_options(cell.source)
    label, caption = options.pop("label", None), options.pop("fig-cap", None)
    options.pop("fig-alt", None)
    html_cell, image_cell = copy.deepcopy(cell), copy.deepcopy(cell)
    html_cell.outputs, image_cell.outputs = _outputs(cell, "html"), _outputs(cell, "image")
    html_cell.source = "\n".join([*(f"#| {k}: {json.dumps(v, ensure_ascii=False)}" for k, v in options.items()),
                                  code])  # JSON is YAML: the other options as they were
    base = str(cell.get("id", "cell"))[:50]
    html_cell.id, image_cell.id = f"{base}-html", f"{base}-image"
    caption = " ".join(map(str, caption)) if isinstance(caption, list) else caption
    head = f"::: {{#{label}}}" if label else "::: {.cx-interactive}"
    return [_fence(f":::: {{.content-visible when-format=\"html\"}}\n{head}", f"{base}-h0"), html_cell,
            _fence(f"{caption or ''}\n:::\n::::", f"{base}-h1"),
            _fence(_NOT_HTML, f"{base}-i0"), image_cell, _fence("::::", f"{base}-i1")]


def prepare_for_quarto(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Rewrite an assembled notebook so that Quarto renders it offline, the same in HTML and Typst.

    Code cells keep their ``#|`` options (Quarto reads them).  Each display output
    keeps what the pandoc route shows: ``text/markdown`` when present (tables of
    :func:`cxlib.report.tables.show_table`), else the images, else its HTML: a table
    as a Markdown table (:func:`html_table_markdown`), anything else as a raw
    ``{=html}`` Markdown block; else its text (``<Figure size ...>`` noise dropped);
    images lose their pixel size (Quarto would print them at that size, wider than the page).
    A cell with an interactive figure (``text/html`` with an image, as
    :class:`cxlib.sections.journeys.InteractiveFigure` displays) becomes two copies
    of itself with the same label: one shown only in HTML (the plotly HTML), one
    shown in the other formats (the image), as Quarto and the pandoc route choose.
    No ``text/html`` output is left, so Quarto adds no CDN script.  A raw Typst block
    places the PDF's table of contents after the first chapter (``toc: false`` for
    Typst in ``_quarto.yml``), where the pandoc route puts it.

    Examples
    --------
    >>> cell = nbformat.v4.new_code_cell("#| label: tbl-a\\nshow_table(df)")
    >>> cell.outputs = [nbformat.v4.new_output("display_data", data={
    ...     "text/markdown": "|a|\\n|-|\\n|1|", "text/html": "<table></table>", "text/plain": "a"})]
    >>> out = prepare_for_quarto(nbformat.v4.new_notebook(cells=[cell]))
    >>> [sorted(o.data) for c in out.cells if c.cell_type == "code" for o in c.outputs]
    [['text/markdown']]
    """
    out = copy.deepcopy(nb)
    cells = []
    for cell in out.cells:
        if cell.cell_type != "code" or not cell.get("outputs"):
            cells.append(cell)
            continue
        if not any(_is_interactive(o) for o in cell.outputs):
            cell.outputs = _outputs(cell)
            cells.append(cell)
            continue
        cells += _split_interactive(cell)
    out.cells = _place_typst_toc(cells)
    return out


def _place_typst_toc(cells: list) -> list:
    """Put the Typst table of contents before the second chapter, as the pandoc route's filter does."""
    chapters = [i for i, c in enumerate(cells) if c.cell_type == "markdown" and c.source.startswith("# ")]
    if len(chapters) >= 2:
        at, call = chapters[1], f"#cx-toc(depth: {TOC_DEPTH})"
    else:
        at = 1 if cells and cells[0].cell_type == "raw" else 0
        call = f"#cx-toc(depth: {TOC_DEPTH}, newpage: false)"
    return [*cells[:at], _fence(f"```{{=typst}}\n{call}\n```", "cx-typst-toc"), *cells[at:]]


def quarto_warnings(stderr: str) -> list[str]:
    """The warnings in Quarto's stderr, each with its detail lines, in order (progress lines left out).

    >>> err = ("pandoc\\n  to: html\\n\\n[WARNING] Could not fetch resource x.png\\n  reason: gone\\n"
    ...        "Output created: report.html\\n")
    >>> quarto_warnings(err)
    ['[WARNING] Could not fetch resource x.png\\n  reason: gone']
    >>> quarto_warnings("Output created: report.html\\n")
    []
    """
    found: list[list[str]] = []
    current: list[str] | None = None
    for raw in stderr.splitlines():
        line = _ANSI.sub("", raw).rstrip()
        if _WARNING.match(line):
            current = [line.strip()]
            found.append(current)
        elif not line.strip() or _PROGRESS.match(line):
            current = None
        elif current is not None:
            current.append(line)
    return ["\n".join(w) for w in found]


def _first_version(cmd: list[str]) -> str | None:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (done.stdout.strip() or done.stderr.strip()).splitlines()  # `quarto typst --version` answers on stderr
    match = re.search(r"\d+\.\d+(?:\.\d+)*", text[0] if text else "")
    return match.group(0) if done.returncode == 0 and match else None


@functools.lru_cache(maxsize=8)
def quarto_versions(quarto: str) -> dict[str, str | None]:
    """Versions of Quarto and of the pandoc and Typst it runs (``quarto pandoc``/``quarto typst``).

    Returns ``{"quarto": ..., "pandoc": ..., "typst": ...}``; a version Quarto does not
    report is None.  Cached per executable.
    """
    return {"quarto": _first_version([quarto, "--version"]),
            "pandoc": _first_version([quarto, "pandoc", "--version"]),
            "typst": _first_version([quarto, "typst", "--version"])}
