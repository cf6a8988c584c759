"""The Makefile's menu lists every documented target, paired with its own description."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def documented_targets() -> dict[str, str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return dict(re.findall(r"^([A-Za-z0-9_./-]+):[^#=\n]*## (.+)$", text, flags=re.M))


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed on this machine")
def test_make_help_lists_each_target_with_its_description():
    out = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    targets = documented_targets()
    assert {"help", "data", "report", "test", "lab", "clean", "setup"} <= set(targets)
    menu = dict(re.findall(r"^  (\S+)\s+(.+)$", out, flags=re.M))
    assert menu == targets


def test_ci_runs_make_test_and_readme_shows_both_commands():
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make report" in readme and "make test" in readme
