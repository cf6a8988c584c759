"""Notebooks reach git without outputs: the committed ones are clean, and the git filter keeps them so.

A notebook run in JupyterLab holds outputs (figures, tables, sometimes personal data) and execution counts;
``make setup`` / ``make lab`` configure nbstripout as a git filter (``.gitattributes`` names it), so ``git add``
stores the notebook without them while the working copy keeps its outputs.
"""
from __future__ import annotations

import importlib.util
import json
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


def git(*args: str, cwd: Path = ROOT, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, **kwargs)


def in_git() -> bool:
    return shutil.which("git") is not None and git("rev-parse", "--is-inside-work-tree").returncode == 0


def committed_notebooks() -> dict[str, str]:
    """Path -> text of every notebook in notebooks/ as git stores it (the index), or the files outside git."""
    if in_git():
        names = git("ls-files", "--", "notebooks/*.ipynb", check=True).stdout.split()
        return {name: git("show", f":{name}", check=True).stdout for name in names}
    return {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8") for p in sorted(NOTEBOOKS.glob("*.ipynb"))}


def dirt(text: str) -> list[str]:
    """What a notebook carries that git must not: outputs, execution counts, run metadata."""
    nb = json.loads(text)
    found = ["notebook has papermill metadata"] if "papermill" in nb.get("metadata", {}) else []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        if cell.get("outputs"):
            found.append(f"cell {i} has {len(cell['outputs'])} output(s)")
        if cell.get("execution_count") is not None:
            found.append(f"cell {i} has execution count {cell['execution_count']}")
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []) or "papermill" in cell.get("metadata", {}):
            found.append(f"cell {i} was injected or run by papermill")
    return found


def test_committed_notebooks_have_no_outputs_nor_execution_counts() -> None:
    notebooks = committed_notebooks()
    assert len(notebooks) >= 9, sorted(notebooks)
    bad = {name: found for name, text in notebooks.items() if (found := dirt(text))}
    assert not bad, ("notebooks stored with outputs (run `make setup` to install the nbstripout git filter, then "
                     f"`git add` them again): {bad}")


def test_dirt_is_detected() -> None:
    nb = {"metadata": {}, "cells": [{"cell_type": "code", "execution_count": 3, "metadata": {},
                                     "outputs": [{"output_type": "stream", "name": "stdout", "text": "x"}],
                                     "source": "print('x')"}]}
    assert dirt(json.dumps(nb)) == ["cell 0 has 1 output(s)", "cell 0 has execution count 3"]


@pytest.mark.skipif(not in_git(), reason="not a git checkout")
def test_a_notebook_with_outputs_in_the_working_copy_is_stripped_on_git_add() -> None:
    """Outputs in the working copy are fine only where the filter will strip them from what is committed."""
    with_outputs = [p.name for p in sorted(NOTEBOOKS.glob("*.ipynb")) if dirt(p.read_text(encoding="utf-8"))]
    if not with_outputs:
        return
    attr = git("check-attr", "filter", "--", f"notebooks/{with_outputs[0]}").stdout
    clean = git("config", "filter.nbstripout.clean").stdout
    assert attr.strip().endswith("nbstripout") and "nbstripout" in clean, (
        f"{with_outputs} hold outputs but the nbstripout git filter is not configured: run `make setup`.")


def filter_command(tmp_path: Path) -> str:
    """The clean filter `make setup` configures (read from `make -n`, the project's own virtualenv)."""
    for name in ("Makefile", "pyproject.toml"):
        (tmp_path / name).write_bytes((ROOT / name).read_bytes())
    out = subprocess.run(["make", "-n", "setup", f"VENV={ROOT / '.venv'}", f"STAMP={tmp_path / 'stamp'}"],
                         cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    return next(line for line in out.splitlines() if line.startswith("if git rev-parse"))


needs_filter = pytest.mark.skipif(shutil.which("git") is None or shutil.which("make") is None
                                  or not (ROOT / ".venv" / "bin" / "python").exists()
                                  or importlib.util.find_spec("nbstripout") is None,
                                  reason="git, make or nbstripout (the lab/dev extra) is not installed")


@needs_filter
def test_the_git_filter_strips_outputs_on_add_and_leaves_clean_notebooks_byte_identical(tmp_path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git("init", "-q", cwd=repo, check=True)
    (repo / ".gitattributes").write_bytes((ROOT / ".gitattributes").read_bytes())
    subprocess.run(["bash", "-c", filter_command(tmp_path)], cwd=repo, check=True)
    executed = json.loads((NOTEBOOKS / "99_executive_summary.ipynb").read_text(encoding="utf-8"))
    executed["metadata"]["papermill"] = {"duration": 1.5}
    for i, cell in enumerate(c for c in executed["cells"] if c["cell_type"] == "code"):
        cell["execution_count"] = i + 1
        cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "Tara Lindqvist, 555-0171\n"}]
    (repo / "run.ipynb").write_text(json.dumps(executed, indent=1), encoding="utf-8")
    git("add", "run.ipynb", cwd=repo, check=True)
    stored = git("show", ":run.ipynb", cwd=repo, check=True).stdout
    assert not dirt(stored) and "Tara Lindqvist" not in stored
    assert "Tara Lindqvist" in (repo / "run.ipynb").read_text(encoding="utf-8")  # the working copy keeps them
    # clean notebooks pass unchanged (cell ids kept, no churn): the same clean command, once over all of them
    committed = {Path(name).name: text for name, text in committed_notebooks().items()}
    for name, text in committed.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    clean = git("config", "filter.nbstripout.clean", cwd=repo, check=True).stdout.strip()
    subprocess.run([*shlex.split(clean), *committed], cwd=tmp_path, check=True)
    changed = [name for name, text in committed.items() if (tmp_path / name).read_text(encoding="utf-8") != text]
    assert not changed
