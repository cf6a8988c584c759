"""Render executed notebooks into one report: a self-contained HTML file and a PDF.

The executed notebooks (Papermill ran them; they are never re-executed here)
are assembled, in report order, into ONE notebook: a front-matter raw cell with
the report's title, then every notebook as a chapter whose own front-matter
title becomes a level-1 heading.  That notebook is then rendered by

* **Quarto** when ``quarto`` is on PATH (or ``$QUARTO`` names it): a ``default``
  project (the only kind that renders one executed ``.ipynb`` to both ``html``
  and ``typst``; a ``book`` project refuses Typst, a ``manuscript`` fetches web
  fonts), with the configuration in ``templates/_quarto.yml`` (the same as
  ``reports/_quarto.yml``), the notebook prepared by
  :func:`cxlib.report.quarto.prepare_for_quarto` (no CDN script, the interactive
  figure in HTML only), built in a folder whose path has no dot-folder (Quarto
  ignores ``_quarto.yml`` there), its warnings passed on;
* **pandoc + Typst** from PyPI otherwise (``pypandoc-binary`` and ``typst``).
  Plain ``pandoc -f ipynb`` ignores raw-cell front matter, shows ``#|`` lines
  and hidden code, prints ``<IPython.core.display.Markdown object>`` instead of
  Markdown outputs and drops HTML tables in Typst; :func:`prepare_for_pandoc`
  and the Lua filter ``filters/cx-notebook.lua`` handle all of that, number
  figures and tables and resolve ``@fig-x`` references.

Both give the same sections, numbers, figures and tables (a test compares their
text).  Beside the HTML and PDF, ``<stem>.ipynb`` is the Quarto-ready notebook
(``cd reports && quarto render`` renders the published one again).

Outputs are deterministic: HTML with every resource embedded (``--mathml``,
never a CDN script), PDF with a pinned creation timestamp (``SOURCE_DATE_EPOCH``
when set; the pandoc route also ignores system fonts), so two renders are
byte-identical.
"""
from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import tempfile
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import nbformat
import yaml

from ..errors import CxError, check_choice

__all__ = ["APPENDIX_TAG", "APPENDIX_TITLE", "RenderError", "RenderResult", "assemble_notebooks", "chapter_anchor",
           "parse_cell_options", "prepare_for_pandoc", "render_report", "renderer_versions", "resolve_engine"]

Engine = Literal["auto", "quarto", "pandoc"]
ENGINES = ("auto", "quarto", "pandoc")
#: Creation date written into the PDF when SOURCE_DATE_EPOCH is not set (2000-01-01T00:00:00Z).
DEFAULT_EPOCH = 946_684_800
#: Tags of cells that never appear in the report (Papermill's parameter cells).
HIDDEN_TAGS = frozenset({"parameters", "injected-parameters", "remove-cell", "remove_cell"})
#: Tag of cells moved out of their chapter into the report's appendix (full tables, method detail).
APPENDIX_TAG = "appendix"
#: Title of the appendix chapter that collects the tagged cells.
APPENDIX_TITLE = "Appendix: detailed results"
#: Output MIME types in order of preference, per target format.
MIME_PREFERENCE = {
    "html": ("text/markdown", "image/svg+xml", "image/png", "image/jpeg", "text/html", "text/latex", "text/plain"),
    "typst": ("text/markdown", "image/png", "image/jpeg", "image/svg+xml", "text/html", "text/plain"),
}
_IMAGES = ("image/svg+xml", "image/png", "image/jpeg")
_OPTION_LINE = re.compile(r"^#\|\s?(.*)$")
_FRONT_MATTER = re.compile(r"^\s*---\s*\n(.*?)\n---\s*$", re.DOTALL)
_NOISE_REPR = re.compile(r"^<(?:IPython\.core\.display\.\w+|Figure size [^>]*|matplotlib\.[^>]*"
                         r"|.* object at 0x[0-9a-f]+)(?: object)?>\s*$", re.DOTALL)
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class RenderError(CxError):
    """A report could not be rendered (missing engine, engine failure, bad input notebook).

    Attributes
    ----------
    engine : str
        ``"quarto"``, ``"pandoc"`` or ``"typst"``.
    stderr : str
        The engine's own error output, also quoted in the message.
    build_dir : pathlib.Path or None
        Intermediate files kept for inspection.
    """

    def __init__(self, message: str, *, engine: str = "", stderr: str = "", build_dir: Path | None = None):
        super().__init__(message)
        self.engine = engine
        self.stderr = stderr
        self.build_dir = build_dir


@dataclass(frozen=True)
class RenderResult:
    """Where :func:`render_report` wrote the report.

    Attributes
    ----------
    html : pathlib.Path
        One self-contained HTML file (images, CSS and math embedded; works offline).
    pdf : pathlib.Path
        The PDF (Typst), byte-identical across renders of the same notebooks.
    engine : str
        ``"quarto"`` or ``"pandoc"``: the engine that actually rendered.
    site_dir : pathlib.Path or None
        Folder of the multi-page HTML site (``index.html`` + one page per chapter), when asked for.
    notebook : pathlib.Path or None
        The assembled notebook prepared for Quarto (``<stem>.ipynb``): ``quarto render`` of it
        beside ``_quarto.yml`` gives this report again.
    warnings : tuple of str
        Every warning of the engines (each also passed to ``progress`` as it came).
    """

    html: Path
    pdf: Path
    engine: str
    site_dir: Path | None = None
    notebook: Path | None = None
    warnings: tuple[str, ...] = ()


def _resource(*parts: str) -> Path:
    return Path(str(resources.files("cxlib.report").joinpath(*parts)))


def parse_cell_options(source: str) -> tuple[dict[str, Any], str]:
    """Split a code cell into its leading ``#|`` options (YAML) and the code.

    Parameters
    ----------
    source : str
        The cell source.

    Returns
    -------
    options : dict
        Parsed options (``{}`` when there are none).
    code : str
        The source without the option lines.

    Raises
    ------
    RenderError
        If the option lines are not valid YAML.

    Examples
    --------
    >>> parse_cell_options('#| label: fig-a\\n#| fig-cap: "Rising"\\nplot()')
    ({'label': 'fig-a', 'fig-cap': 'Rising'}, 'plot()')
    >>> parse_cell_options("x = 1")
    ({}, 'x = 1')
    """
    lines = source.splitlines()
    option_lines: list[str] = []
    for line in lines:
        match = _OPTION_LINE.match(line)
        if not match:
            break
        option_lines.append(match.group(1))
    if not option_lines:
        return {}, source
    try:
        options = yaml.safe_load("\n".join(option_lines)) or {}
    except yaml.YAMLError as exc:
        raise RenderError(f"Cell options are not valid YAML:\n{chr(10).join(option_lines)}\n{exc}") from exc
    if not isinstance(options, dict):
        raise RenderError(f"Cell options must be 'key: value' lines; got {option_lines!r}.")
    return options, "\n".join(lines[len(option_lines):]).lstrip("\n")


def _front_matter(nb: nbformat.NotebookNode) -> tuple[dict[str, Any], int | None]:
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "raw":
            match = _FRONT_MATTER.match(cell.source)
            if match:
                meta = yaml.safe_load(match.group(1)) or {}
                return (meta if isinstance(meta, dict) else {}), i
        if cell.cell_type != "raw":
            break
    return {}, None


def _chapter_cells(nb: nbformat.NotebookNode, index: int, path: Path) -> tuple[str, list]:
    meta, fm_index = _front_matter(nb)
    title = str(meta.get("title") or path.stem.replace("_", " "))
    cells = []
    for i, cell in enumerate(nb.cells):
        if i == fm_index or HIDDEN_TAGS & set(cell.get("metadata", {}).get("tags", [])):
            continue
        cell = copy.deepcopy(cell)
        cell.id = f"c{index:02d}-{cell.get('id', i)}"[:64]
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if not (o.output_type == "stream" and o.get("name") == "stderr")]
            cell.metadata.pop("papermill", None)
            cell.metadata.pop("execution", None)
        cells.append(cell)
    return title, cells


def chapter_anchor(path: str | os.PathLike) -> str:
    """The id of a chapter's heading: ``sec-`` and the notebook's name without its number.

    Links such as ``[Churn](#sec-churn)`` reach the chapter in HTML and PDF alike.

    >>> chapter_anchor("notebooks/00_data_overview.ipynb"), chapter_anchor("30_churn.ipynb")
    ('sec-data-overview', 'sec-churn')
    """
    stem = re.sub(r"^\d+_", "", Path(path).stem)
    return "sec-" + re.sub(r"[^A-Za-z0-9]+", "-", stem).strip("-").lower()


def _is_appendix(cell) -> bool:
    return APPENDIX_TAG in cell.get("metadata", {}).get("tags", [])


def _labels(cells: list) -> list[str]:
    out = []
    for cell in cells:
        if cell.cell_type == "code":
            label = parse_cell_options(cell.source)[0].get("label")
            if label:
                out.append(str(label))
    return out


def assemble_notebooks(notebooks: Sequence[str | os.PathLike], *, title: str,
                       subtitle: str = "") -> nbformat.NotebookNode:
    """Join executed notebooks into one report notebook (never executing anything).

    The result starts with a raw cell holding the report's YAML front matter
    (``title``, ``subtitle``); each notebook follows as a chapter: a Markdown
    cell ``# <its front-matter title> {#sec-<name>}`` (file name when it has none;
    the id from :func:`chapter_anchor`), then its cells without the front matter,
    without ``parameters``/``injected-parameters`` cells and without stderr streams
    (warnings and tracebacks are not for readers).  Cells tagged ``appendix`` leave
    their chapter for one appendix chapter (:data:`APPENDIX_TITLE`, a level-2 heading
    per source chapter), placed before the first chapter whose title starts with
    "Appendix" (the provenance) or at the end: the body keeps the top rows, the
    appendix the full tables.

    Parameters
    ----------
    notebooks : sequence of path
        Executed notebooks, in report order.
    title, subtitle : str
        The report's title and subtitle (from the plan).

    Returns
    -------
    nbformat.NotebookNode
        A valid nbformat 4 notebook with unique cell ids.

    Raises
    ------
    RenderError
        No notebooks, a missing/unreadable notebook, or one cross-reference
        label used in two places (``@fig-x`` would be ambiguous).
    """
    if not notebooks:
        raise RenderError("No notebooks to render: the report needs at least one executed notebook.")
    if not title:
        raise RenderError("The report needs a non-empty title.")
    front = {"title": title, **({"subtitle": subtitle} if subtitle else {})}
    cells = [nbformat.v4.new_raw_cell("---\n" + yaml.safe_dump(front, sort_keys=False, allow_unicode=True) + "---")]
    cells[0].id = "front-matter"
    seen: dict[str, Path] = {}
    metadata: dict[str, Any] = {}
    appendix: list = []
    appendix_at: int | None = None
    for index, path in enumerate(map(Path, notebooks)):
        try:
            nb = nbformat.read(path, as_version=4)
        except (OSError, ValueError) as exc:
            raise RenderError(f"Cannot read executed notebook {path}: {exc}") from exc
        metadata = metadata or {k: v for k, v in nb.metadata.items() if k in ("kernelspec", "language_info")}
        chapter_title, chapter = _chapter_cells(nb, index, path)
        for label in _labels(chapter):
            if label in seen:
                raise RenderError(f"Label {label!r} is used in {seen[label]} and again in {path}; "
                                  "cross-reference labels must be unique across the report: rename one.")
            seen[label] = path
        heading = nbformat.v4.new_markdown_cell(f"# {chapter_title} {{#{chapter_anchor(path)}}}")
        heading.id = f"c{index:02d}-chapter"
        moved = [c for c in chapter if _is_appendix(c)]
        if moved:
            sub = nbformat.v4.new_markdown_cell(f"## {chapter_title}")
            sub.id = f"c{index:02d}-appendix"
            appendix += [sub, *moved]
        if appendix_at is None and chapter_title.lower().startswith("appendix"):
            appendix_at = len(cells)
        cells += [heading, *(c for c in chapter if not _is_appendix(c))]
    if appendix:
        head = nbformat.v4.new_markdown_cell(f"# {APPENDIX_TITLE} {{#sec-appendix}}")
        head.id = "appendix-chapter"
        at = len(cells) if appendix_at is None else appendix_at
        cells[at:at] = [head, *appendix]
    report = nbformat.v4.new_notebook(cells=cells, metadata=metadata)
    nbformat.validate(report)
    return report


def _pick_output(output: nbformat.NotebookNode, target: str) -> nbformat.NotebookNode | None:
    """Keep one MIME type per display output (the best one for ``target``), or drop the output."""
    if output.output_type == "error":  # a cell tagged raises-exception: the error line, never the traceback
        text = _ANSI.sub("", f"{output.get('ename', 'Error')}: {output.get('evalue', '')}")
        return nbformat.v4.new_output("stream", name="stdout", text=text)
    if output.output_type == "stream":
        return output
    data = output.get("data", {})
    preference = MIME_PREFERENCE[target]
    if target == "html" and "text/html" in data and any(m in data for m in _IMAGES):
        # An interactive figure with a static fallback (cxlib.sections.journeys.InteractiveFigure): the HTML
        # shows the interactive part, Typst the image -- Quarto's displayDataMimeType order for such a bundle.
        preference = ("text/html", *preference)
    for mime in preference:
        if mime not in data:
            continue
        value = data[mime]
        text = value if isinstance(value, str) else "".join(value)
        if mime == "text/html" and target == "typst" and "<table" not in text:
            continue  # raw HTML other than tables means nothing to Typst
        if mime == "text/plain" and (_NOISE_REPR.match(text) or not text.strip()):
            return None  # "<IPython.core.display.Markdown object>", "<Figure size ...>", nothing: noise
        out = copy.deepcopy(output)
        out.data = {mime: value}
        out.metadata = {k: v for k, v in output.get("metadata", {}).items() if k == mime}
        return out
    return None


def prepare_for_pandoc(nb: nbformat.NotebookNode, *, target: Literal["html", "typst"]) -> nbformat.NotebookNode:
    """Rewrite an assembled notebook so that ``pandoc -f ipynb`` + ``cx-notebook.lua`` render it right.

    Drops the front matter (the title travels as pandoc metadata) and
    ``include: false`` cells, empties ``output: false`` cells, moves each code
    cell's ``#|`` options into cell metadata (``cx-echo`` = show/hide, ``cx-label``,
    ``cx-fig-cap``, ``cx-tbl-cap``, ``cx-fig-alt``, ``cx-output``: pandoc passes
    them to the filter as Div attributes) and keeps one MIME type per output,
    preferring ``text/markdown`` and images, then tables as HTML, then text; in HTML
    an output carrying both ``text/html`` and an image (an interactive figure with its
    static fallback) shows the ``text/html``, in Typst the image, as Quarto does.
    Code is hidden unless a cell says ``echo: true``.

    Examples
    --------
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("#| label: fig-a\\nplot()")])
    >>> cell = prepare_for_pandoc(nb, target="html").cells[0]
    >>> cell.source, cell.metadata["cx-label"], cell.metadata["cx-echo"]
    ('plot()', 'fig-a', 'hide')
    """
    check_choice("target", target, ("html", "typst"))
    out = copy.deepcopy(nb)
    cells = []
    for cell in out.cells:
        if cell.cell_type == "raw" and _FRONT_MATTER.match(cell.source):
            continue
        if cell.cell_type != "code":
            cells.append(cell)
            continue
        options, cell.source = parse_cell_options(cell.source)
        if options.get("include") is False:
            continue
        outputs = [] if options.get("output") is False else cell.outputs
        cell.outputs = [o for o in (_pick_output(o, target) for o in outputs) if o is not None]
        meta = {"cx-echo": "show" if options.get("echo") is True else "hide"}
        for key in ("label", "fig-cap", "tbl-cap", "fig-alt"):
            if options.get(key) is not None:
                value = options[key]
                meta[f"cx-{key}"] = " ".join(map(str, value)) if isinstance(value, list) else str(value)
        if options.get("output") == "asis":
            meta["cx-output"] = "asis"
        cell.metadata = meta
        cells.append(cell)
    out.cells = cells
    return out


def _run(cmd: list[str], *, cwd: Path, engine: str, what: str, build_dir: Path,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RenderError(f"{engine} could not run while {what}: {exc}", engine=engine, build_dir=build_dir) from exc
    if proc.returncode != 0:
        raise RenderError(f"{engine} failed while {what} (exit {proc.returncode}); intermediate files kept in "
                          f"{build_dir}.\n--- {engine} stderr ---\n{proc.stderr.strip()}",
                          engine=engine, stderr=proc.stderr, build_dir=build_dir)
    return proc


def _pandoc_path() -> str:
    try:
        import pypandoc
        return pypandoc.get_pandoc_path()
    except (ImportError, OSError) as exc:
        raise RenderError("pandoc is not available: install the report extra "
                          "(pip install -e '.[report]', which brings pypandoc-binary).", engine="pandoc") from exc


def _epoch() -> int:
    value = os.environ.get("SOURCE_DATE_EPOCH", "")
    return int(value) if value.strip().isdigit() else DEFAULT_EPOCH


def _pandoc_common(build: Path, meta_file: Path, source: Path) -> list[str]:
    # +smart: typographic quotes and apostrophes in the narrative, as Quarto and the Markdown outputs have
    return [_pandoc_path(), str(source), "--from", "ipynb+citations+header_attributes+smart", "--standalone",
            "--lua-filter", str(_resource("filters", "cx-notebook.lua")), "--metadata-file", str(meta_file),
            "--resource-path", str(build), "--number-sections", "--toc", "--toc-depth=2"]


def _emit(progress: Callable[[str], None] | None, message: str) -> None:
    if progress is not None:
        progress(message)


def _pandoc_warnings(proc: subprocess.CompletedProcess, warn: Callable[[str], None]) -> None:
    for line in proc.stderr.splitlines():
        if line.strip():
            warn(f"pandoc: {line.strip()}")


def _render_pandoc(nb: nbformat.NotebookNode, build: Path, *, title: str, subtitle: str, site: bool,
                   progress: Callable[[str], None] | None,
                   warn: Callable[[str], None]) -> tuple[Path, Path, Path | None]:
    meta = {"title": title, "lang": "en", "pagetitle": title, "toc-title": "Contents",
            **({"subtitle": subtitle} if subtitle else {})}
    meta_file = build / "metadata.yml"
    meta_file.write_text(yaml.safe_dump(meta, sort_keys=True, allow_unicode=True), encoding="utf-8")
    shutil.copy(_resource("templates", "report.css"), build / "report.css")

    html_nb = build / "report-html.ipynb"
    nbformat.write(prepare_for_pandoc(nb, target="html"), html_nb)
    html = build / "report.html"
    _emit(progress, "pandoc: notebook -> self-contained HTML")
    proc = _run([*_pandoc_common(build, meta_file, html_nb), "--to", "html5", "--embed-resources", "--mathml",
                 "--css", "report.css", "--output", str(html)],
                cwd=build, engine="pandoc", what="writing HTML", build_dir=build)
    _pandoc_warnings(proc, warn)

    site_dir = None
    if site:
        _emit(progress, "pandoc: notebook -> multi-page HTML site")
        site_dir = build / "site"
        _run([*_pandoc_common(build, meta_file, html_nb), "--to", "chunkedhtml", "--split-level=1", "--mathml",
              "--css", "report.css", "--output", str(site_dir)],
             cwd=build, engine="pandoc", what="writing the HTML site", build_dir=build)
        shutil.copy(build / "report.css", site_dir / "report.css")

    typst_nb = build / "report-typst.ipynb"
    nbformat.write(prepare_for_pandoc(nb, target="typst"), typst_nb)
    typ = build / "report.typ"
    _emit(progress, "pandoc: notebook -> Typst")
    proc = _run([*_pandoc_common(build, meta_file, typst_nb), "--to", "typst", "--extract-media", "media",
                 "--template", str(_resource("templates", "report.typ")), "--output", typ.name],
                cwd=build, engine="pandoc", what="writing Typst", build_dir=build)
    _pandoc_warnings(proc, warn)
    pdf = build / "report.pdf"
    _emit(progress, "typst: Typst -> PDF")
    _compile_typst(typ, pdf, build, warn)
    return html, pdf, site_dir


def typst_font_paths() -> list[str]:
    """Font folders handed to Typst: matplotlib's own DejaVu fonts (the figures' font).

    Typst's wheel embeds Libertinus Serif, New Computer Modern (+ Math) and
    DejaVu Sans Mono; system fonts are ignored so that every machine produces
    the same PDF.
    """
    import matplotlib
    return [str(Path(matplotlib.get_data_path()) / "fonts" / "ttf")]


def _compile_typst(typ: Path, pdf: Path, build: Path, warn: Callable[[str], None]) -> None:
    try:
        import typst
    except ImportError as exc:
        raise RenderError("typst is not available: install the report extra (pip install -e '.[report]').",
                          engine="typst") from exc
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            typst.compile(str(typ), output=str(pdf), root=str(build), font_paths=typst_font_paths(),
                          ignore_system_fonts=True, timestamp=_epoch())
        except Exception as exc:  # typst.TypstError and friends: all compile failures
            detail = "\n".join(str(x) for x in (getattr(exc, "message", exc), getattr(exc, "diagnostic", ""),
                                               *getattr(exc, "hints", [])) if x)
            raise RenderError(f"typst failed to compile {typ}; intermediate files kept in {build}.\n"
                              f"--- typst stderr ---\n{detail}", engine="typst", stderr=detail,
                              build_dir=build) from exc
    for w in caught:
        warn(f"typst warning: {w.message}")


def quarto_config_text() -> str:
    """The Quarto project file used for rendering (identical to ``reports/_quarto.yml``)."""
    return _resource("templates", "_quarto.yml").read_text(encoding="utf-8")


#: Files beside ``_quarto.yml`` in a Quarto project of the report, and their folder in this package
#: (``reports/`` links to them).
QUARTO_PROJECT_FILES = {"report.css": "templates", "cx-style.typ": "templates", "cx-quarto.lua": "filters"}


def _render_quarto(source: Path, *, quarto: str, progress: Callable[[str], None] | None,
                   warn: Callable[[str], None]) -> tuple[Path, Path]:
    """``quarto render <source>`` (HTML and Typst at once) in its folder; the HTML and PDF it wrote."""
    from .quarto import QUARTO_OUTPUT_DIR, quarto_warnings

    build = source.parent
    (build / "_quarto.yml").write_text(quarto_config_text(), encoding="utf-8")
    for name, folder in QUARTO_PROJECT_FILES.items():
        shutil.copy(_resource(folder, name), build / name)
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(_epoch())}
    _emit(progress, f"quarto: render {source.name} (html, typst)")
    proc = _run([quarto, "render", source.name, "--no-execute"], cwd=build, engine="quarto",
                what="rendering html and typst", build_dir=build, env=env)
    found = quarto_warnings(proc.stderr)
    for message, times in Counter(found).items():  # the same warning from the HTML and the Typst pass: once
        warn(f"quarto warning: {message}" + (f" ({times} times)" if times > 1 else ""))
    html, pdf = (build / QUARTO_OUTPUT_DIR / f"{source.stem}.{ext}" for ext in ("html", "pdf"))
    for path in (html, pdf):
        if not path.exists():
            raise RenderError(f"quarto reported success but {path.name} is missing in {path.parent}.\n"
                              f"--- quarto stderr ---\n{proc.stderr.strip()}", engine="quarto",
                              stderr=proc.stderr, build_dir=build)
    return html, pdf


def _build_folder(out: Path, used: str, progress: Callable[[str], None] | None) -> Path:
    """A fresh folder for intermediate files: inside ``out``, or, for Quarto, never under a dot-folder."""
    from .quarto import hidden_part

    base = out
    if used == "quarto" and hidden_part(out):
        base = Path(tempfile.gettempdir()).resolve()
        if hidden_part(base):
            raise RenderError(f"Quarto ignores its project file in folders whose path has a dot-folder "
                              f"({hidden_part(out)!r} in {out}, {hidden_part(base)!r} in the temporary folder "
                              f"{base}); choose another output folder or set TMPDIR.", engine="quarto")
        _emit(progress, f"quarto: {out} is under the dot-folder {hidden_part(out)!r}, which Quarto skips; "
                        f"building in {base}")
    return Path(tempfile.mkdtemp(prefix="render-", dir=base))


def resolve_engine(engine: Engine = "auto") -> tuple[str, str | None]:
    """The engine that ``render_report(engine=...)`` uses, and the Quarto executable (or None).

    Raises
    ------
    RenderError
        ``engine="quarto"`` while no Quarto is found, or ``$QUARTO`` names no executable.
    ParameterError
        Unknown ``engine``.
    """
    from .quarto import QUARTO_ENV, find_quarto

    check_choice("engine", engine, ENGINES)
    if engine == "pandoc":
        return "pandoc", None
    quarto = find_quarto()
    if engine == "quarto" and quarto is None:
        raise RenderError(f"engine='quarto' but quarto is not on PATH (nor named by ${QUARTO_ENV}); "
                          "use engine='auto' or 'pandoc'.", engine="quarto")
    return ("quarto", quarto) if quarto else ("pandoc", None)


def renderer_versions(engine: Engine = "auto") -> dict[str, str | None]:
    """What ``render_report(engine=...)`` renders with: the renderer, its version and the engines under it.

    Returns ``{"renderer", "quarto", "pandoc", "typst", "engines"}``: with Quarto, its version
    and the pandoc and Typst it bundles (``quarto pandoc --version``, ``quarto typst --version``);
    otherwise ``quarto`` is None, ``pandoc`` the pypandoc-binary executable's version and
    ``typst`` the version of the ``typst`` Python package.  ``engines`` says where they come from.
    """
    used, quarto = resolve_engine(engine)
    if used == "quarto":
        from .quarto import quarto_versions

        found = quarto_versions(quarto)
        return {"renderer": "quarto", **found, "engines": f"pandoc and Typst bundled with Quarto ({quarto})"}
    import importlib.metadata

    out: dict[str, str | None] = {"renderer": "pandoc", "quarto": None, "pandoc": None, "typst": None,
                                  "engines": "pandoc from pypandoc-binary, Typst from the typst package (PyPI)"}
    try:
        import pypandoc

        out["pandoc"] = str(pypandoc.get_pandoc_version())
    except (ImportError, OSError, RuntimeError):
        pass
    try:
        out["typst"] = importlib.metadata.version("typst")
    except importlib.metadata.PackageNotFoundError:
        pass
    return out


def render_report(notebooks: Sequence[str | os.PathLike], out_dir: str | os.PathLike, *, title: str,
                  subtitle: str = "", engine: Engine = "auto", progress: Callable[[str], None] | None = None,
                  stem: str = "report", site: bool = False) -> RenderResult:
    """Render executed notebooks, in report order, into ``<stem>.html`` and ``<stem>.pdf``.

    Parameters
    ----------
    notebooks : sequence of path
        Notebooks already executed by Papermill (never re-executed here).
    out_dir : path
        Folder receiving the outputs (created if needed): ``<stem>.html``, ``<stem>.pdf``
        and ``<stem>.ipynb`` (the notebook prepared for Quarto).  Intermediate files go to
        a folder ``render-*`` inside it (for Quarto under a dot-folder, in the temporary
        folder instead), removed on success and kept (named in the error) on failure.
    title, subtitle : str
        Report title (first line of page 1) and subtitle.
    engine : {"auto", "quarto", "pandoc"}, default "auto"
        "auto" uses Quarto when ``$QUARTO`` names it or ``quarto`` is on PATH, else pandoc + Typst
        (:func:`resolve_engine`).
    progress : callable, optional
        Receives one-line progress messages and every engine warning (also in ``RenderResult.warnings``).
    stem : str, default "report"
        File name of the outputs, without extension.
    site : bool, default False
        Also write a multi-page HTML site (``<stem>_site/``, one page per chapter) with pandoc.

    Returns
    -------
    RenderResult

    Raises
    ------
    RenderError
        Engine missing or failing (its stderr is quoted), or unusable notebooks.
    ParameterError
        Unknown ``engine``.
    """
    from .quarto import prepare_for_quarto

    used, quarto = resolve_engine(engine)
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    _emit(progress, f"assembling {len(notebooks)} notebook(s) into one report")
    nb = assemble_notebooks(notebooks, title=title, subtitle=subtitle)
    found: list[str] = []

    def warn(message: str) -> None:
        found.append(message)
        _emit(progress, message)

    build = _build_folder(out, used, progress)
    source = build / f"{stem}.ipynb"
    nbformat.write(prepare_for_quarto(nb), source)
    site_src = None
    if used == "quarto":
        html, pdf = _render_quarto(source, quarto=quarto, progress=progress, warn=warn)
        if site:
            (build / "pandoc").mkdir()
            site_src = _render_pandoc(nb, build / "pandoc", title=title, subtitle=subtitle, site=True,
                                      progress=progress, warn=warn)[2]
    else:
        html, pdf, site_src = _render_pandoc(nb, build, title=title, subtitle=subtitle, site=site,
                                             progress=progress, warn=warn)
    result_html, result_pdf, result_nb = (out / f"{stem}.{ext}" for ext in ("html", "pdf", "ipynb"))
    for made, target in ((html, result_html), (pdf, result_pdf), (source, result_nb)):
        shutil.move(made, target)
    site_dir = None
    if site_src is not None:
        site_dir = out / f"{stem}_site"
        if site_dir.exists():
            shutil.rmtree(site_dir)
        shutil.move(site_src, site_dir)
    shutil.rmtree(build, ignore_errors=True)
    _emit(progress, f"wrote {result_html.name} and {result_pdf.name} ({used}; {len(found)} warning(s))")
    return RenderResult(html=result_html, pdf=result_pdf, engine=used, site_dir=site_dir, notebook=result_nb,
                        warnings=tuple(found))
