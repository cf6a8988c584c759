"""Tests of cxlib.report.provenance: git state, versions, hashes, the deterministic appendix."""
from __future__ import annotations

import hashlib
import shutil
import subprocess

import pandas as pd
import pytest

from cxlib.errors import ParameterError
from cxlib.report import provenance as prov

PLAN = {"title": "T", "subtitle": "", "output": "r", "notebooks_dir": "/x/notebooks",
        "parameters": {"period": "2025Q4", "alpha": 0.05, "seed": 3, "data_dir": "/x/data"},
        "notebooks": [{"notebook": "a.ipynb", "parameters": {}, "depends_on": []},
                      {"notebook": "b.ipynb", "parameters": {"n_boot": 99}, "depends_on": []}]}
PARAMS = {"a": {"period": "2025Q4", "alpha": 0.05, "seed": 3, "data_dir": "/x/data"},
          "b": {"period": "2025Q4", "alpha": 0.05, "seed": 3, "data_dir": "/x/data", "n_boot": 99}}


@pytest.fixture
def data(tmp_path):
    d = tmp_path / "data"
    (d / "parts").mkdir(parents=True)
    (d / "customers.csv").write_bytes(b"customer_id\nc1\n")
    (d / "parts" / "p0.parquet").write_bytes(b"PAR1")
    (d / ".hidden").write_bytes(b"x")
    return d


def test_file_hashes(data):
    assert prov.file_hashes(data) == {"customers.csv": hashlib.sha256(b"customer_id\nc1\n").hexdigest(),
                                      "parts/p0.parquet": hashlib.sha256(b"PAR1").hexdigest()}
    with pytest.raises(ParameterError, match="does not exist"):
        prov.file_hashes(data / "nope")


def test_git_state_outside_a_repo_and_without_git(tmp_path, monkeypatch):
    state = prov.git_state(tmp_path)
    assert state["available"] is False and "not inside a git repository" in state["reason"]
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert prov.git_state(tmp_path) == {"available": False, "commit": None, "dirty": None,
                                        "reason": "git is not installed"}


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed on this machine")
def test_git_state_clean_and_dirty(tmp_path):
    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    assert prov.git_state(tmp_path)["reason"] == "the repository has no commit yet"
    (tmp_path / "f.txt").write_text("1")
    git("add", "f.txt")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "one")
    head = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    state = prov.git_state(tmp_path)
    assert (state["available"], state["commit"], state["dirty"]) == (True, head.strip(), False)
    (tmp_path / "f.txt").write_text("2")
    state = prov.git_state(tmp_path)
    assert state["dirty"] is True and state["changed_files"] == ["f.txt"]


def test_collect_write_read_and_appendix(tmp_path, data):
    validation = pd.DataFrame({"table": ["customers"], "rows": [1], "first": [pd.Timestamp("2025-01-02")],
                               "status": ["valid"]})
    record = prov.collect(root=tmp_path, plan=PLAN, parameters=PARAMS, data_dir=data, validation=validation,
                          timings={"a": 1.23456, "total": 2.0}, started_at="2026-01-01T00:00:00+00:00")
    assert record["seeds"] == {"a": 3, "b": 3}
    assert record["data"]["validation"] == [{"table": "customers", "rows": 1, "first": "2025-01-02 00:00:00",
                                             "status": "valid"}]
    assert record["run"]["wall_seconds"] == {"a": 1.235, "total": 2.0}
    assert record["git"]["available"] is False
    assert set(prov.KEY_PACKAGES) <= set(record["packages"]) and record["packages"]["numpy"]
    assert set(record["tools"]) == {"renderer", "quarto", "pandoc", "typst", "engines"}
    path = prov.write(tmp_path / "out" / "provenance.json", record)
    assert prov.read(path) == record
    md = "\n\n".join(prov.appendix_markdown(record))
    assert "git state unknown" in md and "| b | n_boot=`99` |" in md and "| a | (global only) |" in md
    assert hashlib.sha256(b"PAR1").hexdigest() in md and "| seed | `3` |" in md
    assert '| period | `"2025Q4"` |' in md  # JSON in code: quotes stay straight whatever the renderer
    assert "| customers | 1 | 2025-01-02 | valid |" in md
    assert "2026-01-01" not in md and "1.235" not in md  # no run time in the rendered appendix
    # same inputs, another run time: byte-identical appendix
    again = prov.collect(root=tmp_path, plan=PLAN, parameters=PARAMS, data_dir=data, validation=validation,
                         timings={"a": 9.0}, started_at="2027-05-05T00:00:00+00:00")
    assert prov.appendix_markdown(again) == prov.appendix_markdown(record)
    nb = prov.appendix_notebook(record)
    assert nb.cells[0].source == '---\ntitle: "Appendix: provenance"\n---' and len(nb.cells) == 1 + len(
        prov.appendix_markdown(record))


def test_read_rejects_other_files(tmp_path):
    with pytest.raises(ParameterError, match="not found"):
        prov.read(tmp_path / "none.json")
    (tmp_path / "x.json").write_text("[1, 2]")
    with pytest.raises(ParameterError, match="is not a provenance record"):
        prov.read(tmp_path / "x.json")


def test_tool_versions_name_the_renderer_and_its_engines(renderer):
    import importlib.metadata

    import pypandoc

    tools = prov.tool_versions(renderer)
    assert tools["renderer"] == renderer
    if renderer == "pandoc":  # pandoc from pypandoc-binary, Typst from the typst package, no Quarto
        assert tools["quarto"] is None and tools["pandoc"] == str(pypandoc.get_pandoc_version())
        assert tools["typst"] == importlib.metadata.version("typst") and "PyPI" in tools["engines"]
    else:  # Quarto's version and the pandoc and Typst it bundles, not the venv's
        from cxlib.report.quarto import find_quarto, quarto_versions

        assert {k: tools[k] for k in ("quarto", "pandoc", "typst")} == quarto_versions(find_quarto())
        assert all(tools[k] for k in ("quarto", "pandoc", "typst")) and find_quarto() in tools["engines"]


@pytest.mark.parametrize("tools, said, rows", [
    ({"renderer": "quarto", "quarto": "1.7.34", "pandoc": "3.6.1", "typst": "0.13.1", "engines": "x"},
     "Rendered with Quarto 1.7.34 (its own pandoc 3.6.1 and Typst 0.13.1).",
     ["| Quarto (renderer) | 1.7.34 |", "| pandoc (bundled with Quarto) | 3.6.1 |",
      "| Typst (bundled with Quarto) | 0.13.1 |"]),
    ({"renderer": "pandoc", "quarto": None, "pandoc": "3.9", "typst": "0.15.2", "engines": "x"},
     "Rendered with pandoc 3.9 (pypandoc-binary) and Typst (typst package 0.15.2), from PyPI; no Quarto.",
     ["| pandoc (renderer, pypandoc-binary) | 3.9 |", "| Typst (typst package) | 0.15.2 |"]),
    ({"pandoc": "3.1", "quarto": None}, None, ["| pandoc (tool) | 3.1 |"]),  # a record of an older cxlib
])
def test_appendix_names_the_renderer(tmp_path, data, tools, said, rows):
    record = prov.collect(root=tmp_path, plan=PLAN, parameters=PARAMS, data_dir=data)
    record["tools"] = tools
    md = "\n\n".join(prov.appendix_markdown(record))
    assert (said in md) if said else ("Rendered with" not in md)
    assert all(row in md for row in rows), md


def test_set_renderer_records_the_choice_before_rendering(tmp_path, data, monkeypatch):
    monkeypatch.delenv("QUARTO", raising=False)
    monkeypatch.setattr(shutil, "which", lambda name: None)  # no Quarto: "auto" is the fallback
    record = prov.collect(root=tmp_path, plan=PLAN, parameters=PARAMS, data_dir=data)
    assert prov.set_renderer(record, "auto") is record
    assert record["run"]["engine"] == "pandoc" and record["tools"]["renderer"] == "pandoc"
    assert "Rendered with pandoc " in prov.appendix_markdown(record)[1]


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed on this machine")
def test_a_slow_git_status_leaves_the_tree_state_unknown_not_the_run_failed(tmp_path, monkeypatch, data):
    """A clean filter (nbstripout) can make `git status` slow on a fresh clone: the report still runs."""
    subprocess.run(["git", "-C", str(tmp_path), "init", "-q"], check=True)
    (tmp_path / "f.txt").write_text("1")
    subprocess.run(["git", "-C", str(tmp_path), "add", "f.txt"], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m",
                    "one"], check=True)
    real = subprocess.run

    def slow_status(cmd, *args, **kwargs):
        if "status" in cmd:
            raise subprocess.TimeoutExpired(cmd, kwargs.get("timeout", 30))
        return real(cmd, *args, **kwargs)

    monkeypatch.setattr(prov.subprocess, "run", slow_status)
    state = prov.git_state(tmp_path)
    assert state["available"] is True and state["dirty"] is None and "longer than 30 s" in state["reason"]
    validation = pd.DataFrame({"table": ["customers"], "rows": [1], "first": [pd.Timestamp("2025-01-02")],
                               "status": ["valid"]})
    record = prov.collect(root=tmp_path, plan=PLAN, parameters=PARAMS, data_dir=data, validation=validation,
                          timings={"a": 1.0, "total": 2.0}, started_at="2026-01-01T00:00:00+00:00")
    text = "\n".join(prov.appendix_markdown({**record, "git": state}))
    assert "clean work tree" not in text and "longer than 30 s" in text
