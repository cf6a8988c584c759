"""environment.yml (conda users) installs the same dependencies as pyproject.toml (the .venv path)."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# PyPI name -> conda-forge name where they differ
CONDA_NAMES = {"duckdb": "python-duckdb", "pypandoc-binary": "pypandoc", "great-tables": "great_tables"}


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~ ;\[]", r.strip(), maxsplit=1)[0].lower() for r in requirements}


def test_environment_yml_lists_every_runtime_and_extra_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = _names(project["dependencies"])
    for extra in ("report", "dev", "lab"):
        wanted |= _names(project["optional-dependencies"][extra])
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    conda = _names([d for d in env["dependencies"] if isinstance(d, str)])
    pip = _names(next(d["pip"] for d in env["dependencies"] if isinstance(d, dict)))
    missing = [n for n in sorted(wanted) if CONDA_NAMES.get(n, n) not in conda and n not in pip]
    assert missing == []
    assert "quarto" in conda and "-e ." in next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    pins = [d for d in env["dependencies"] if isinstance(d, str) and d.startswith("pandas")]
    assert pins and "<3" in pins[0]
