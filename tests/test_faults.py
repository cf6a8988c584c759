"""Faults never cost the last good report or the data: tests of the runner's and the generator's promises.

For each fault (a notebook that raises, a kernel that dies, a full disk while
rendering or publishing, Ctrl-C while executing or publishing, Ctrl-C or a full
disk during ``cx synth``) the tests check that

* the last good report (``reports/_output`` and the stable links) stays byte-identical,
* the data folder is never modified (sha256 of every file before and after),
* the next run succeeds without manual clean-up (stale build folders removed by itself).

Notebooks are tiny fixtures written into tmp_path, as in ``tests/test_runner.py``
(whose helpers are reused); the renderer is a fake.  Where the fault lies after
execution (disk full while rendering or publishing), execution itself is
replaced by a copy of the notebook, so those tests start no kernel.
"""
from __future__ import annotations

import errno
import hashlib
import importlib.util
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from cxlib import _fs
from cxlib.cli import main
from cxlib.report import provenance as prov
from cxlib.report import runner
from cxlib.report.render import RenderError
from cxlib.synth import writer
from cxlib.synth.world import generate


def _sibling(name: str):
    """Load a helper module from this folder (tests/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f"_cx_faults_{name}", Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


_rt = _sibling("test_runner")
FakeRenderer, write_notebook, make_plan, tree_digest = (_rt.FakeRenderer, _rt.write_notebook, _rt.make_plan,
                                                        _rt.tree_digest)
PARAMS = _rt.PARAMS + 'comparison_period = "2025Q3"\n'
ENOSPC = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.fixture
def project(tmp_path):
    """Notebooks, a data folder with two files, and a reports folder holding a last good report."""
    nbs, data = tmp_path / "notebooks", tmp_path / "data"
    nbs.mkdir()
    data.mkdir()
    (data / "customers.csv").write_text("customer_id\nC0000001\n", encoding="utf-8")
    (data / "archive.parquet").write_bytes(b"PAR1 not really parquet PAR1")  # not a table: never read
    out = tmp_path / "reports" / "_output"
    (out / "notebooks").mkdir(parents=True)
    (out / "test-report.html").write_text("<p>last good</p>", encoding="utf-8")
    (out / "test-report.pdf").write_bytes(b"%PDF last good")
    (out / "provenance.json").write_text("{}", encoding="utf-8")
    for ext in ("html", "pdf"):
        os.symlink(f"_output/test-report.{ext}", tmp_path / "reports" / f"test-report.{ext}")
    return tmp_path


def snapshot(root: Path) -> dict:
    """What must survive a fault: the published report, its links and the data folder, byte for byte."""
    reports = root / "reports"
    return {"report": tree_digest(reports / "_output"), "data": tree_digest(root / "data"),
            "links": {p.name: os.readlink(p) for p in sorted(reports.iterdir()) if p.is_symlink()},
            "link_bytes": {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                           for p in sorted(reports.iterdir()) if p.is_symlink()}}


def plan_of(root: Path, *sources: str):
    for i, source in enumerate(sources):
        write_notebook(root / "notebooks" / f"n{i}.ipynb", source, params=PARAMS)
    return make_plan(root, [{"notebook": f"n{i}.ipynb"} for i in range(len(sources))])


def run(root: Path, plan, **kw):
    kw.setdefault("renderer", FakeRenderer())
    return runner.run_plan(plan, out_dir=root / "reports", jobs=2, progress=kw.pop("progress", None),
                           data_loader=None, **kw)


def assert_recovers(root: Path, plan, before: dict) -> None:
    """The next run, with no clean-up in between, publishes a new report; the data are still untouched."""
    lines: list[str] = []
    result = run(root, plan, progress=lines.append)
    assert result.ok, result.to_frame()
    reports = root / "reports"
    assert (reports / "test-report.html").read_text(encoding="utf-8") != "<p>last good</p>"
    assert os.readlink(reports / "test-report.html") == "_output/test-report.html"
    assert not (reports / "_build").exists() and not (reports / "_failed").exists()  # no empty folder left
    assert tree_digest(root / "data") == before["data"]
    assert prov.read(result.provenance)["data"]["sha256"] == before["data"]
    if any(line.startswith("removed stale build folder") for line in lines):
        assert not (reports / "_build" / "run").exists()


def fake_execute(spec, parameters, *, output, **_):
    """Execution replaced by a copy of the notebook (for faults that happen after execution)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.read(spec.path, as_version=4), output)
    return runner.NotebookRun(spec.name, "ok", 0.0, output)


# ---------------------------------------------------------------- notebooks that fail

def test_a_notebook_that_raises_publishes_nothing_and_the_next_run_recovers(project):
    before = snapshot(project)
    plan = plan_of(project, "print('fine')", "x = 1\nraise RuntimeError('planted 7')")
    fake = FakeRenderer()
    result = run(project, plan, renderer=fake)
    assert [r.status for r in result.runs] == ["ok", "failed"] and fake.calls == []
    assert (result.runs[1].ename, result.runs[1].evalue) == ("RuntimeError", "planted 7")
    assert (project / "reports" / "_failed" / "n1.ipynb").is_file()
    assert snapshot(project) == before
    plan = plan_of(project, "print('fine')", "x = 1\nprint('fixed')")
    assert_recovers(project, plan, before)


def test_a_kernel_that_dies_publishes_nothing_and_the_next_run_recovers(project):
    before = snapshot(project)
    plan = plan_of(project, "print('fine')", "import os\nos._exit(1)")
    t0 = time.perf_counter()
    result = run(project, plan)
    assert time.perf_counter() - t0 < 60
    died = result.runs[1]
    assert (result.status, died.status) == ("failed", "failed")
    assert died.ename == "DeadKernelError" and "'n1' could not be executed: DeadKernelError" in died.message
    assert snapshot(project) == before
    assert not (project / "reports" / "_build").exists()  # no empty folder left
    assert_recovers(project, plan_of(project, "print('fine')", "print('alive')"), before)


# ---------------------------------------------------------------- a full disk

class HalfWrittenRenderer(FakeRenderer):
    """Writes half an HTML file, then runs out of disk space."""

    def __call__(self, notebooks, out_dir, **kw):
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        (Path(out_dir) / "report.html").write_text("<html><body><h1>Half", encoding="utf-8")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(Path(out_dir) / "report.pdf"))


def _disk_full_in_provenance(monkeypatch, root):
    def write(path, record):
        Path(path).write_text('{"run": {"sta', encoding="utf-8")  # half a file, then the disk is full
        raise ENOSPC
    monkeypatch.setattr(runner.prov, "write", write)


def _disk_full_in_swap(monkeypatch, root):
    """No renameat2: publish falls back to two renames, and the second one finds the disk full."""
    monkeypatch.setattr(_fs, "exchange_paths", lambda a, b: False)
    real_publish, real_replace = runner.publish, os.replace

    def publish(staged, out_dir, *, output):
        def replace(src, dst):
            if Path(dst).name == "_output" and Path(src).name == "report":
                raise ENOSPC
            return real_replace(src, dst)
        monkeypatch.setattr(os, "replace", replace)
        try:
            return real_publish(staged, out_dir, output=output)
        finally:
            monkeypatch.setattr(os, "replace", real_replace)
    monkeypatch.setattr(runner, "publish", publish)


def _disk_full_moving_outputs(monkeypatch, root):
    class Renderer(FakeRenderer):
        def __call__(self, *a, **kw):
            rendered = super().__call__(*a, **kw)
            real_replace = os.replace

            def replace(src, dst):
                if Path(src) == rendered.pdf:  # the HTML moved into the staged report, the PDF does not
                    raise ENOSPC
                return real_replace(src, dst)
            monkeypatch.setattr(os, "replace", replace)
            return rendered
    return Renderer()


@pytest.mark.parametrize("where", ["rendering", "moving outputs", "provenance", "publishing"])
def test_a_full_disk_keeps_the_last_good_report(project, monkeypatch, where):
    before = snapshot(project)
    plan = plan_of(project, "print('a')", "print('b')")
    monkeypatch.setattr(runner, "execute_notebook", fake_execute)
    renderer = FakeRenderer()
    if where == "rendering":
        renderer = HalfWrittenRenderer()
    elif where == "moving outputs":
        renderer = _disk_full_moving_outputs(monkeypatch, project)
    elif where == "provenance":
        _disk_full_in_provenance(monkeypatch, project)
    else:
        _disk_full_in_swap(monkeypatch, project)
    with pytest.raises(RenderError, match=r"the disk is full .*No space left on device.*Nothing was published: "
                                          r"the last good report .* is untouched") as info:
        run(project, plan, renderer=renderer)
    assert isinstance(info.value.__cause__, OSError) and info.value.__cause__.errno == errno.ENOSPC
    monkeypatch.undo()
    monkeypatch.setenv("CX_DEMO_DATA", "1")  # undo() also removed conftest's demo-data mark
    monkeypatch.setattr(runner, "execute_notebook", fake_execute)
    assert snapshot(project) == before
    assert not (project / "reports" / "_build" / ".lock").exists()
    assert_recovers(project, plan, before)


def test_a_full_disk_reaches_cx_report_as_a_clear_error(project, monkeypatch):
    plan_file = project / "plan.yml"
    plan_of(project, "print('a')")
    plan_file.write_text(json.dumps({
        "title": "T", "output": "test-report", "notebooks_dir": str(project / "notebooks"),
        "parameters": {"period": "2025Q4", "comparison_period": "2025Q3", "alpha": 0.05, "seed": 7},
        "notebooks": [{"notebook": "n0.ipynb"}]}), encoding="utf-8")
    before = snapshot(project)
    monkeypatch.setattr(runner, "execute_notebook", fake_execute)
    real = runner.run_plan
    monkeypatch.setattr(runner, "run_plan", lambda plan, **kw: real(
        plan, **{**kw, "renderer": HalfWrittenRenderer(), "data_loader": None, "progress": None}))
    res = CliRunner().invoke(main, ["report", "--params", str(plan_file), "--data", str(project / "data"),
                                    "--out", str(project / "reports")])
    assert res.exit_code == 1 and isinstance(res.exception, SystemExit)
    assert "ERROR: Writing the report failed: the disk is full" in res.output and "Traceback" not in res.output
    assert snapshot(project) == before


def test_a_full_disk_while_linking_says_the_report_was_published(tmp_path, monkeypatch):
    """First run ever (no links yet): the report is in _output, the error says so instead of 'nothing published'."""
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "data").mkdir()
    plan = plan_of(tmp_path, "print('a')")
    monkeypatch.setattr(runner, "execute_notebook", fake_execute)

    def symlink(*a, **kw):
        raise ENOSPC
    monkeypatch.setattr(runner.os, "symlink", symlink)
    with pytest.raises(RenderError, match=r"The report was published in .*_output, but updating the links"):
        run(tmp_path, plan)
    assert (tmp_path / "reports" / "_output" / "test-report.html").is_file()


# ---------------------------------------------------------------- Ctrl-C

def _interrupt_main_when(marker: str, delay: float = 1.5):
    """A progress sink that sends SIGINT to the main thread ``delay`` s after a line containing ``marker``."""
    fired = threading.Event()

    def progress(line: str) -> None:
        if marker in line and not fired.is_set():
            fired.set()
            threading.Timer(delay, signal.pthread_kill, (threading.main_thread().ident, signal.SIGINT)).start()
    return progress, fired


def test_ctrl_c_while_notebooks_run_keeps_the_last_good_report(project):
    before = snapshot(project)
    flag = project / "slow.flag"
    flag.write_text("1", encoding="utf-8")
    slow = f"import time\nfrom pathlib import Path\nif Path(r'{flag}').exists():\n    time.sleep(60)"
    plan = plan_of(project, slow, "print('b')")
    progress, fired = _interrupt_main_when("[n0] cell 4/4 import time")  # raw, parameters, injected, this
    t0 = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        run(project, plan, progress=progress)
    assert fired.is_set() and time.perf_counter() - t0 < 60  # the sleeping kernel was stopped, not waited for
    assert snapshot(project) == before
    assert (project / "reports" / "_build" / "run").is_dir()  # left for the next run to remove
    assert not (project / "reports" / "_build" / ".lock").exists()
    flag.unlink()
    assert_recovers(project, plan, before)


@pytest.mark.parametrize("moment", ["during the second rename", "between the two renames"])
def test_ctrl_c_while_publishing_never_loses_the_last_good_report(project, monkeypatch, moment):
    """Without renameat2 publishing takes two renames; Ctrl-C at either point is repaired (now or next run)."""
    before = snapshot(project)
    plan = plan_of(project, "print('a')")
    monkeypatch.setattr(runner, "execute_notebook", fake_execute)
    monkeypatch.setattr(_fs, "exchange_paths", lambda a, b: False)
    real_publish, real_replace = runner.publish, os.replace

    def publish(staged, out_dir, *, output):
        def replace(src, dst):
            if moment == "during the second rename" and Path(src).name == "report":
                raise KeyboardInterrupt
            real_replace(src, dst)
            if moment == "between the two renames" and Path(dst).name == "previous":
                raise KeyboardInterrupt  # the old report is parked in _build/run/previous
        monkeypatch.setattr(os, "replace", replace)
        try:
            return real_publish(staged, out_dir, output=output)
        finally:
            monkeypatch.setattr(os, "replace", real_replace)
    monkeypatch.setattr(runner, "publish", publish)
    with pytest.raises(KeyboardInterrupt):
        run(project, plan)
    monkeypatch.setattr(runner, "publish", real_publish)
    reports = project / "reports"
    if moment == "during the second rename":
        assert snapshot(project) == before  # publish put the old report back itself
    else:  # interrupted between two statements: the next run puts it back before anything else
        assert not (reports / "_output").exists() and (reports / "_build" / "run" / "previous").is_dir()
        removed = runner.clean_stale_builds(reports)
        assert removed == [reports / "_build" / "run"] and snapshot(project) == before
    assert_recovers(project, plan, before)


# ---------------------------------------------------------------- cx synth

@pytest.fixture(scope="module")
def synth_once(tmp_path_factory):
    """A previous `cx synth` output (100 customers) and its digest."""
    out = tmp_path_factory.mktemp("synth") / "world"
    generate(out, n_customers=100, seed=3)
    return out, tree_digest(out)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}."))


@pytest.mark.parametrize("fault", [KeyboardInterrupt(), OSError(errno.ENOSPC, "No space left on device")],
                         ids=["ctrl-c", "disk-full"])
def test_cx_synth_interrupted_while_writing_keeps_the_old_data(synth_once, monkeypatch, fault):
    out, digest = synth_once
    real_write, calls = writer.ParquetSink.write, []

    def write(self, columns):
        calls.append(self.table)
        if len(calls) == 5:
            raise fault
        return real_write(self, columns)
    monkeypatch.setattr(writer.ParquetSink, "write", write)
    res = CliRunner().invoke(main, ["synth", "--out", str(out), "--customers", "100", "--seed", "4"])
    assert res.exit_code != 0 and len(calls) == 5
    if isinstance(fault, KeyboardInterrupt):
        assert "Aborted!" in res.output  # click's answer to Ctrl-C
    else:
        assert res.exit_code == 1 and "could not write the synthetic data" in res.output
        assert "No space left on device" in res.output and "unchanged" in res.output
    assert tree_digest(out) == digest and _leftovers(out) == []
    monkeypatch.undo()
    generate(out, n_customers=100, seed=3)  # the next run needs no clean-up, and gives the same bytes
    assert tree_digest(out) == digest


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-renames"])
def test_cx_synth_interrupted_while_committing_keeps_a_complete_dataset(synth_once, monkeypatch, exchange):
    out, digest = synth_once
    if not exchange:
        monkeypatch.setattr(_fs, "exchange_paths", lambda a, b: False)
    real_replace, renames = os.replace, []

    def replace(src, dst):
        renames.append((Path(src).name, Path(dst).name))
        if Path(dst) == out and Path(src).name.startswith(f".{out.name}.building-"):
            raise KeyboardInterrupt  # Ctrl-C as the new dataset moves into place
        return real_replace(src, dst)
    monkeypatch.setattr(os, "replace", replace)
    if exchange:  # the swap is one system call: nothing to interrupt; check it replaced the data atomically
        generate(out, n_customers=100, seed=5)
        monkeypatch.undo()
        assert renames == [] and tree_digest(out) != digest and _leftovers(out) == []
        assert json.loads((out / "truth.json").read_text())["seed"] == 5
        generate(out, n_customers=100, seed=3)
    else:
        with pytest.raises(KeyboardInterrupt):
            generate(out, n_customers=100, seed=5)
        monkeypatch.undo()
        parked = renames[0][1]  # out -> .world.old-*, new data -> out (interrupted), parked -> out again
        assert renames[0][0] == out.name and renames[1][1] == out.name and renames[2] == (parked, out.name)
        assert tree_digest(out) == digest and _leftovers(out) == []
    assert tree_digest(out) == digest
