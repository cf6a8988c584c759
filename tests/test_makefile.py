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


# -- make lab: installs once, then offline; default data; options; root; the URL --------------------------------

def make_n(tmp_path: Path, *args: str, stamps: bool = True, data: bool = True) -> str:
    """``make -n`` in a copy of the project's Makefile, with a fake virtualenv whose stamps may be up to date."""
    for name in ("Makefile", "pyproject.toml"):
        (tmp_path / name).write_bytes((ROOT / name).read_bytes())
    venv = tmp_path / ".venv"
    (venv / "bin").mkdir(parents=True, exist_ok=True)
    if stamps:  # written after pyproject.toml, so up to date
        for stamp in (".installed", ".lab-installed"):
            (venv / stamp).touch()
    if data:
        (tmp_path / "data" / "default").mkdir(parents=True, exist_ok=True)
        (tmp_path / "data" / "default" / "truth.json").write_text("{}")
    done = subprocess.run(["make", "-n", "--no-print-directory", *args], cwd=tmp_path, capture_output=True,
                          text=True, check=True)
    return done.stdout


needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed on this machine")


@needs_make
def test_make_lab_installs_the_lab_extra_once_and_then_runs_offline(tmp_path):
    first = make_n(tmp_path, "lab", stamps=False)
    assert "pip install --quiet -e '.[lab]'" in first and "touch .venv/.lab-installed" in first
    assert 'python -c "import jupyterlab, nbstripout"' in first  # skipped when `make setup` installed them
    again = make_n(tmp_path, "lab")
    assert "pip" not in again and "jupyter lab --notebook-dir=notebooks" in again


@needs_make
def test_make_lab_makes_the_default_data_only_when_missing(tmp_path):
    assert "cx synth --out data/default" in make_n(tmp_path, "lab", data=False)
    assert "cx synth" not in make_n(tmp_path, "lab")


@needs_make
@pytest.mark.parametrize(("user_id", "root"), [("0", True), ("1000", False)])
def test_make_lab_allows_root_only_when_run_as_root(tmp_path, user_id, root):
    out = make_n(tmp_path, "lab", f"USER_ID={user_id}")
    assert ("--allow-root" in out) is root


@needs_make
def test_make_lab_passes_lab_args_and_prints_the_url_it_serves(tmp_path):
    out = make_n(tmp_path, "lab", "LAB_ARGS=--no-browser --port=8899")
    assert "--ServerApp.port_retries=0" in out and out.rstrip().endswith("--no-browser --port=8899")
    assert 'echo "    http://127.0.0.1:8899/lab?token=$token"' in out
    default = make_n(tmp_path, "lab", "LAB_PORT=8890")
    assert "http://127.0.0.1:8890/lab?token=" in default and "--port=8890" in default


@needs_make
def test_setup_configures_the_notebook_git_filter(tmp_path):
    out = make_n(tmp_path, "setup", stamps=False)
    assert "git config filter.nbstripout.clean '.venv/bin/python -m nbstripout --keep-id" in out
    assert "git config filter.nbstripout.required true" in out
    assert "*.ipynb filter=nbstripout" in (ROOT / ".gitattributes").read_text(encoding="utf-8")
