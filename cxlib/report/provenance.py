"""Provenance of a report run: code, environment, parameters, inputs and timings.

:func:`collect` gathers what is needed to reproduce a report: the git commit
and whether the tree was dirty (or why git could not tell), the versions of
cxlib and of the key packages, every parameter of the plan, the sha256 of
every input data file, the data-validation summary, the seeds, and the wall
time of each notebook.  It is saved as ``provenance.json`` beside the
published report and rendered as the report's appendix by
:func:`appendix_notebook`.

Only the JSON file carries times (``run`` section: start, end, wall times);
the appendix deliberately shows none, so the same inputs give byte-identical
reports.  ``cx report --reproduce provenance.json`` re-runs a report from its
recorded plan and data folder and warns when the input hashes differ
(:func:`compare_hashes`).
"""
from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd

from ..errors import ParameterError
from ..hashing import sha256_file
from .render import renderer_versions

__all__ = ["KEY_PACKAGES", "collect", "git_state", "package_versions", "file_hashes", "compare_hashes",
           "set_renderer", "tool_versions", "write", "read", "appendix_notebook", "appendix_markdown",
           "validation_records"]

#: Packages whose versions are recorded (a missing one is recorded as ``None``).
KEY_PACKAGES = ("cxlib", "pandas", "numpy", "scipy", "statsmodels", "lifelines", "duckdb", "pandera",
                "matplotlib", "seaborn", "papermill", "nbclient", "ipykernel", "pypandoc-binary", "typst")
SCHEMA_VERSION = 1


def git_state(root: str | Path) -> dict[str, Any]:
    """Commit, branch and dirtiness of the git work tree at ``root``, or the reason they are unknown.

    Returns ``{"available": bool, "commit": str|None, "dirty": bool|None, "reason": str}``.
    Build outputs ignored by git (``reports/_build``) do not make the tree dirty.
    """
    root = Path(root)
    git = shutil.which("git")
    if git is None:
        return {"available": False, "commit": None, "dirty": None, "reason": "git is not installed"}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([git, "-C", str(root), *args], capture_output=True, text=True, timeout=30,
                              check=False)

    inside = run("rev-parse", "--is-inside-work-tree")
    if inside.returncode != 0 or inside.stdout.strip() != "true":
        return {"available": False, "commit": None, "dirty": None,
                "reason": f"{root} is not inside a git repository"}
    head = run("rev-parse", "HEAD")
    if head.returncode != 0:
        return {"available": False, "commit": None, "dirty": None, "reason": "the repository has no commit yet"}
    try:
        status = run("status", "--porcelain", "--untracked-files=normal")
    except subprocess.TimeoutExpired:  # e.g. a slow clean filter over many files: the commit is still known
        return {"available": True, "commit": head.stdout.strip(), "dirty": None, "changed_files": [],
                "reason": "`git status` took longer than 30 s; whether the work tree has changes is unknown"}
    changed = [line[3:] for line in status.stdout.splitlines() if line.strip()]
    return {"available": True, "commit": head.stdout.strip(), "dirty": bool(changed),
            "changed_files": sorted(changed)[:50], "reason": ""}


def package_versions(names: tuple[str, ...] = KEY_PACKAGES) -> dict[str, str | None]:
    """Installed version of each distribution in ``names`` (``None`` when not installed).

    >>> package_versions(("pandas", "no-such-package-xyz"))["no-such-package-xyz"] is None
    True
    """
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def tool_versions(engine: str = "auto") -> dict[str, str | None]:
    """The renderer that ``engine`` selects, its version and the versions of the engines under it.

    ``{"renderer": "quarto" or "pandoc", "quarto", "pandoc", "typst", "engines"}``: with Quarto,
    the pandoc and Typst that Quarto bundles and runs; otherwise pandoc from pypandoc-binary and
    the ``typst`` Python package (``quarto`` is then None).  See
    :func:`cxlib.report.render.renderer_versions`.
    """
    return renderer_versions(engine)


def set_renderer(record: dict[str, Any], engine: str) -> dict[str, Any]:
    """Record in ``record`` the renderer that ``render_report(engine=engine)`` is about to use; return it.

    Sets ``tools`` (:func:`tool_versions`) and ``run.engine``, so the appendix, written before
    the report is rendered, names the renderer with its versions (the runner then checks that
    the render used it).
    """
    record["tools"] = tool_versions(engine)
    record.setdefault("run", {})["engine"] = record["tools"]["renderer"]
    return record


def file_hashes(folder: str | Path) -> dict[str, str]:
    """sha256 of every file under ``folder``, keyed by POSIX path relative to it (sorted; hidden files skipped).

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()); _ = (d / "a.csv").write_text("x\\n1\\n")
    >>> file_hashes(d)["a.csv"][:12]
    'daff832f8020'
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ParameterError(f"Data folder {str(folder)!r} does not exist; cannot hash the inputs.")
    files = sorted(p for p in folder.rglob("*") if p.is_file()
                   and not any(part.startswith(".") for part in p.relative_to(folder).parts))
    return {p.relative_to(folder).as_posix(): sha256_file(p) for p in files}


def compare_hashes(recorded: Mapping[str, str], current: Mapping[str, str]) -> list[str]:
    """Human-readable differences between two hash maps (empty when identical).

    >>> compare_hashes({"a.csv": "1", "b.csv": "2"}, {"a.csv": "1", "b.csv": "3", "c.csv": "4"})
    ['b.csv: content changed', 'c.csv: new file']
    """
    out = []
    for name in sorted(set(recorded) | set(current)):
        if name not in current:
            out.append(f"{name}: missing now")
        elif name not in recorded:
            out.append(f"{name}: new file")
        elif recorded[name] != current[name]:
            out.append(f"{name}: content changed")
    return out


def validation_records(validation: pd.DataFrame | list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The data-validation frame as JSON-able records (times as text); records pass through unchanged."""
    if validation is None:
        return []
    if isinstance(validation, list):
        return [dict(r) for r in validation]
    frame = validation.copy()
    for col in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[col]):
            frame[col] = frame[col].dt.strftime("%Y-%m-%d %H:%M:%S")
    return json.loads(frame.to_json(orient="records"))


def collect(*, root: str | Path, plan: Mapping[str, Any], parameters: Mapping[str, Mapping[str, Any]],
            data_dir: str | Path, validation: pd.DataFrame | list[dict[str, Any]] | None = None,
            timings: Mapping[str, float] | None = None, started_at: str = "", finished_at: str = "",
            status: str = "success", engine: str = "", hashes: Mapping[str, str] | None = None,
            cache: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """Gather the provenance record of one run (a JSON-able dict).

    Parameters
    ----------
    root : path
        Project root (for git).
    plan : mapping
        The plan as :meth:`cxlib.report.plan.Plan.to_dict` gives it (what ``--reproduce`` re-runs).
    parameters : mapping
        Parameters passed to each notebook (``findings_*`` paths excluded: they change per run).
    data_dir : path
        Input folder; every file in it is hashed.
    validation : DataFrame or list of dict, optional
        ``cxlib.data.load(data_dir).validation``, or its :func:`validation_records` (from the run cache).
    timings : mapping, optional
        Wall seconds per step (notebooks, ``render``, ``total``).
    started_at, finished_at : str
        ISO times of the run: recorded here only, never rendered.
    hashes : mapping, optional
        :func:`file_hashes` of ``data_dir`` when the caller already computed them (the run cache does).
    cache : mapping, optional
        Per notebook, whether its result came from the run cache (``cached``, ``key``,
        ``saved_seconds``); recorded in the ``run`` section, never rendered.
    """
    seeds = {nb: p["seed"] for nb, p in parameters.items() if "seed" in p}
    return {
        "schema_version": SCHEMA_VERSION,
        "git": git_state(root),
        "packages": package_versions(),
        "tools": tool_versions(),
        "python": {"version": ".".join(map(str, __import__("sys").version_info[:3]))},
        "plan": dict(plan),
        "parameters": json.loads(json.dumps({k: dict(v) for k, v in parameters.items()}, default=str)),
        "seeds": seeds,
        "data": {"folder": str(Path(data_dir).resolve()),
                 "sha256": dict(hashes) if hashes is not None else file_hashes(data_dir),
                 "validation": validation_records(validation)},
        "run": {"started_at": started_at, "finished_at": finished_at, "status": status, "engine": engine,
                "wall_seconds": {k: round(float(v), 3) for k, v in (timings or {}).items()},
                "cache": {k: dict(v) for k, v in (cache or {}).items()}},
    }


def write(path: str | Path, record: Mapping[str, Any]) -> Path:
    """Write ``record`` as sorted, indented JSON (atomically); return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def read(path: str | Path) -> dict[str, Any]:
    """Read a ``provenance.json``; raise ``ParameterError`` if it is missing or not one."""
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"Provenance file {str(path)!r} not found; pass the provenance.json of a report.")
    record = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(record, dict) or "plan" not in record or "data" not in record:
        raise ParameterError(f"{str(path)!r} is not a provenance record (no 'plan' and 'data' sections).")
    return record


def _md_table(header: list[str], rows: list[list[Any]]) -> str:
    def cell(v: Any) -> str:
        return "" if v is None else str(v).replace("|", "\\|").replace("\n", " ")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _renderer(record: Mapping[str, Any]) -> tuple[str, list[list[str]]]:
    """The "Rendered with ..." phrase and the tool rows of the versions table (older records included)."""
    tools, engine = record.get("tools", {}), record.get("run", {}).get("engine", "")
    engine = tools.get("renderer") or engine
    version = {k: tools.get(k) or "?" for k in ("quarto", "pandoc", "typst")}
    if engine == "quarto":
        rows = [["Quarto (renderer)", version["quarto"]], ["pandoc (bundled with Quarto)", version["pandoc"]]]
        if "typst" in tools:
            rows.append(["Typst (bundled with Quarto)", version["typst"]])
        return f"Quarto {version['quarto']}" + (f" (its own pandoc {version['pandoc']} and Typst {version['typst']})"
                                               if "typst" in tools else ""), rows
    if engine == "pandoc":
        typst = tools.get("typst") or record.get("packages", {}).get("typst") or "?"
        return (f"pandoc {version['pandoc']} (pypandoc-binary) and Typst (typst package {typst}), from PyPI; "
                "no Quarto", [["pandoc (renderer, pypandoc-binary)", version["pandoc"]],
                              ["Typst (typst package)", typst]])
    return "", [[f"{k} (tool)", v] for k, v in sorted(tools.items()) if v is not None]


def _code(value: Any) -> str:
    """``value`` as JSON in a Markdown code span (quotes stay straight in every renderer)."""
    text = json.dumps(value, ensure_ascii=False)
    fence = "``" if "`" in text else "`"
    return f"{fence}{text}{fence}" if fence == "`" else f"{fence} {text} {fence}"


def appendix_markdown(record: Mapping[str, Any]) -> list[str]:
    """The provenance appendix as Markdown blocks, without any time or duration (deterministic)."""
    git = record["git"]
    if git.get("available"):
        code = f"Code: git commit `{git['commit']}`" + (
            ", with uncommitted changes (the tree was dirty)." if git.get("dirty") else
            ", clean work tree." if git.get("dirty") is False else f"; {git.get('reason') or 'work tree state unknown'}.")
    else:
        code = f"Code: git state unknown ({git.get('reason', 'no reason recorded')})."
    blocks = ["How this report was produced; `provenance.json` beside the report holds the same record "
              "plus the run times, and `cx report --reproduce provenance.json` re-runs it.",
              code + f" Python {record.get('python', {}).get('version', '?')}."]
    pk = record["packages"]
    renderer, tools = _renderer(record)
    if renderer:
        blocks[-1] += f" Rendered with {renderer}."
    blocks.append("**Package versions**\n\n" + _md_table(
        ["package", "version"],
        [[k, v if v is not None else "not installed"] for k, v in sorted(pk.items())] + tools))
    plan = record["plan"]
    blocks.append("**Global parameters**\n\n" + _md_table(
        ["parameter", "value"], [[k, _code(v)] for k, v in sorted(plan.get("parameters", {}).items())
                                 if k != "data_dir"]))
    rows = []
    for nb, params in record["parameters"].items():
        glob = plan.get("parameters", {})
        own = {k: v for k, v in params.items() if k not in glob}
        rows.append([nb, ", ".join(f"{k}={_code(v)}" for k, v in sorted(own.items())) or "(global only)"])
    blocks.append("**Notebooks and their own parameters**\n\n" + _md_table(["notebook", "parameters"], rows))
    data = record["data"]
    blocks.append(f"**Input data** (folder `{Path(data['folder']).name}`), sha256 of every file\n\n" + _md_table(
        ["file", "sha256"], [[k, f"`{v}`"] for k, v in data["sha256"].items()]))
    if data.get("validation"):
        val = data["validation"]
        cols = [c for c in ("table", "rows", "columns", "first", "last", "checks", "status") if c in val[0]]
        rows = [[str(r[c])[:10] if c in ("first", "last") and r.get(c) else r.get(c) for c in cols] for r in val]
        blocks.append("**Data validation** (contract checks passed per table; time span by date)\n\n"
                      + _md_table(cols, rows))
    return blocks


def appendix_notebook(record: Mapping[str, Any], *, kernel: str = "cxlib") -> nbformat.NotebookNode:
    """A Markdown-only notebook holding the provenance appendix (rendered after the analyses)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": "Python (cxlib workbook)", "language": "python"}
    nb.cells = [nbformat.v4.new_raw_cell('---\ntitle: "Appendix: provenance"\n---')]
    nb.cells += [nbformat.v4.new_markdown_cell(b) for b in appendix_markdown(record)]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"provenance-{i}"
    return nb
