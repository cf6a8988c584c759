"""Which sections of a report plan the data support, and how the report shows the ones it leaves out.

:func:`plan_coverage` applies :func:`cxlib.requirements.plan_sections` (the one decision) to a report
plan: the data folder's tables and columns, and each notebook's own parameter values (its declared
defaults overridden by the plan).  ``cx validate`` prints its result and :func:`cxlib.report.runner.run_plan`
uses it to skip the notebooks of skipped sections, so the two cannot disagree.

In the report, a skipped section keeps its place in the table of contents with a one-box stand-in
chapter (:func:`skipped_notebook`), and when any section is skipped or runs in part a chapter at the
top (:func:`coverage_notebook`) lists them with their reasons and what more data would unlock.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import nbformat
import yaml

from ..escape import escape_markdown
from ..requirements import SECTIONS, SectionCoverage, SectionPlan, available_columns, plan_sections
from .plan import Plan, declared_parameters, validate_plan

__all__ = ["plan_coverage", "coverage_markdown", "coverage_notebook", "skipped_notebook", "notebook_title",
           "COVERAGE_STEM"]

#: File stem of the coverage chapter in the executed notebooks of a report.
COVERAGE_STEM = "00_coverage"
_KERNELSPEC = {"name": "cxlib", "display_name": "Python (cxlib workbook)", "language": "python"}


def plan_coverage(plan: Plan, resolved: Mapping[str, Mapping[str, Any]] | None = None) -> SectionPlan:
    """The section plan of ``plan`` on its data folder (``plan.parameters['data_dir']``).

    Each notebook of the plan is decided with the parameter values it will run with: the defaults
    of its ``parameters`` cell, overridden by ``resolved`` (:func:`cxlib.report.plan.validate_plan`,
    computed here when not given).  Sections whose notebook is not in the plan are decided with
    the global parameters.  Only the sections whose notebook is in the plan are listed.
    """
    resolved = validate_plan(plan) if resolved is None else resolved
    per = {spec.name: {**declared_parameters(spec.path), **dict(resolved.get(spec.name, {}))}
           for spec in plan.notebooks}
    every = plan_sections(available_columns(plan.parameters["data_dir"]), dict(plan.parameters),
                          section_parameters=per)
    return SectionPlan(tuple(s for s in every if s.notebook in per))


def _unlock(cov: SectionCoverage) -> str:
    return "; ".join(cov.reasons)


def coverage_markdown(plan: SectionPlan) -> str:
    """The box listing the skipped and partial sections with their reasons ('' when every section runs).

    >>> from cxlib.requirements import plan_sections
    >>> print(coverage_markdown(plan_sections({"transactions": ["customer_id", "timestamp", "amount"]}))
    ...       .splitlines()[2])
    > - **Experience metrics: skipped** — no survey\\_responses table.
    """
    left = [s for s in plan if s.status != "runs"]
    if not left:
        return ""
    lines = ["**What these data cover.** Sections are skipped or shortened where a table or column they need "
             "is missing; adding it unlocks them.", ""]
    for status in ("skipped", "partial"):
        for s in (s for s in left if s.status == status):
            word = "skipped" if status == "skipped" else "in part"
            lines.append(f"- **{s.title}: {word}** — {escape_markdown(_unlock(s))}.")
    ran = [s.title for s in plan if s.status == "runs"]
    if ran:
        lines += ["", f"In full: {', '.join(ran)}."]
    return _box(lines)


def _box(lines: list[str]) -> str:
    """Lines as one Markdown block quote: the report's templates draw it as a box (HTML and PDF)."""
    return "\n".join(f"> {ln}" if ln else ">" for ln in lines)


def _notebook(title: str, body: str, stem: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = dict(_KERNELSPEC)
    front = "---\n" + yaml.safe_dump({"title": title}, allow_unicode=True, sort_keys=False) + "---"
    nb.cells = [nbformat.v4.new_raw_cell(front), nbformat.v4.new_markdown_cell(body)]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{stem}-{i}"
    return nb


def coverage_notebook(plan: SectionPlan) -> nbformat.NotebookNode | None:
    """The chapter placed at the top of the report when a section is skipped or partial (else ``None``)."""
    body = coverage_markdown(plan)
    return _notebook("What these data cover", body, COVERAGE_STEM) if body else None


def notebook_title(path: str | Path) -> str:
    """The ``title`` of a notebook's front matter (its file stem when it has none)."""
    nb = nbformat.read(Path(path), as_version=4)
    for cell in nb.cells[:1]:
        if cell.cell_type == "raw" and cell.source.strip().startswith("---"):
            meta = yaml.safe_load(cell.source.strip().strip("-")) or {}
            if isinstance(meta, dict) and meta.get("title"):
                return str(meta["title"])
    return Path(path).stem.replace("_", " ")


def skipped_notebook(path: str | Path, reason: str, *, label: str | None = None,
                     section: str | None = None) -> nbformat.NotebookNode:
    """The stand-in chapter of a skipped section: its title marked *skipped* and a box with the reason.

    ``label`` names the section in the box (default: the chapter title); with ``section`` (a name of
    :data:`cxlib.requirements.SECTIONS`) the box also says which data the section needs.
    """
    title = notebook_title(path)
    needs = next((s for s in SECTIONS if s.name == section), None)
    what = "; ".join(n.describe() for n in needs.needs) if needs else ""
    body = _box([f"**{escape_markdown(label or title)}: skipped** — {escape_markdown(reason)}.", *(
        ["", f"This section needs {escape_markdown(what)}."] if what else [])])
    return _notebook(f"{title} (skipped)", body, Path(path).stem)
