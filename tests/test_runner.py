"""Tests of cxlib.report.runner: execution, failures, parallelism, atomic publishing, the CLI.

The notebooks are tiny fixtures written into tmp_path and executed for real
with papermill on the project's ``cxlib`` kernel; the renderer is a fake
passed in (dependency injection), so these tests check the runner alone.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from cxlib import _fs, findings
from cxlib.cli import main
from cxlib.errors import NotebookExecutionError
from cxlib.report import provenance as prov
from cxlib.report import runner
from cxlib.report.plan import plan_from_dict

PARAMS = 'data_dir = "../data"\nfindings_path = ""\nperiod = "2025Q4"\nalpha = 0.05\nseed = 1\n'


def write_notebook(path: Path, *cells: str, params: str = PARAMS) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "cxlib", "display_name": "Python (cxlib workbook)", "language": "python"}
    pcell = nbformat.v4.new_code_cell(params)
    pcell.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_raw_cell('---\ntitle: "t"\n---'), pcell, *map(nbformat.v4.new_code_cell, cells)]
    nbformat.write(nb, path)
    return path


RECORD = ('from cxlib.findings import Finding, record\n'
          'record(findings_path, Finding(key="{key}", section="{key}", label="{key}", estimate={value}, '
          'method="count", n={value}, period=period))')
MARK = 'import os\nfrom pathlib import Path\nPath(r"{dir}").joinpath("{name}.ran").write_text(os.getcwd())'


@dataclass(frozen=True)
class FakeRender:
    html: Path
    pdf: Path
    engine: str = "fake"
    site_dir: Path | None = None


class FakeRenderer:
    """Writes the notebooks' names and stream outputs as 'HTML' and a constant 'PDF'; remembers the call."""

    def __init__(self, fail: BaseException | None = None):
        self.calls: list[dict] = []
        self.fail = fail

    def __call__(self, notebooks, out_dir, *, title, subtitle="", engine="auto", progress=None):
        self.calls.append({"notebooks": [Path(n) for n in notebooks], "title": title, "engine": engine})
        if self.fail is not None:
            raise self.fail
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        parts = [f"<h1>{title}</h1>"]
        for n in notebooks:
            nb = nbformat.read(n, as_version=4)
            parts.append(f"<section id='{Path(n).stem}'>")
            for cell in nb.cells:
                parts += [o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream"]
                if cell.cell_type == "markdown":
                    parts.append(cell.source)
            parts.append("</section>")
        (out_dir / "report.html").write_text("\n".join(parts), encoding="utf-8")
        (out_dir / "report.pdf").write_bytes(b"%PDF-1.7 fake\n")
        return FakeRender(out_dir / "report.html", out_dir / "report.pdf")


@pytest.fixture
def project(tmp_path):
    """A notebooks folder, a data folder with one file, a reports folder and a marks folder."""
    nbs, data, marks = tmp_path / "notebooks", tmp_path / "data", tmp_path / "marks"
    for d in (nbs, data, marks):
        d.mkdir()
    (data / "customers.csv").write_text("customer_id\nc1\n", encoding="utf-8")
    return tmp_path


def make_plan(root: Path, entries: list[dict], **params):
    raw = {"title": "Test report", "output": "test-report", "notebooks_dir": str(root / "notebooks"),
           "parameters": {"period": "2025Q4", "comparison_period": "2025Q3", "alpha": 0.05, "seed": 7,
                          **params},
           "notebooks": entries}
    return plan_from_dict(raw, base=root, data_dir=root / "data")


def good_project(root: Path, *, fail: bool = False):
    nbs, marks = root / "notebooks", root / "marks"
    params = PARAMS + 'comparison_period = "2025Q3"\n'
    write_notebook(nbs / "a.ipynb", RECORD.format(key="a", value=3), MARK.format(dir=marks, name="a"),
                   params=params)
    write_notebook(nbs / "b.ipynb", RECORD.format(key="b", value=5), MARK.format(dir=marks, name="b"),
                   params=params)
    if fail:
        write_notebook(nbs / "bad.ipynb", "x = 1",
                       "#| label: tbl-broken\n#| tbl-cap: broken\nraise ValueError('planted failure 42')",
                       MARK.format(dir=marks, name="bad"), params=params)
    write_notebook(nbs / "summary.ipynb",
                   "from cxlib import findings, summary\n"
                   "fs = findings.read(findings_dir)\n"
                   "print('\\n'.join(summary.sentence(f) for f in fs))",
                   MARK.format(dir=marks, name="summary"), params=params + 'findings_dir = ""\n')
    entries = [{"notebook": "summary.ipynb", "depends_on": "all"}, {"notebook": "a.ipynb"}, {"notebook": "b.ipynb"}]
    if fail:
        entries.append({"notebook": "bad.ipynb"})
    return make_plan(root, entries)


def tree_digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_successful_run_publishes_everything(project):
    plan = good_project(project)
    fake, lines = FakeRenderer(), []
    cwd = os.getcwd()
    result = runner.run_plan(plan, out_dir=project / "reports", jobs=2, renderer=fake, progress=lines.append,
                             data_loader=None)
    assert result.ok and [r.status for r in result.runs] == ["ok", "ok", "ok"]
    # kernels ran in the notebooks folder; this process's cwd never changed
    assert {(project / "marks" / f"{n}.ran").read_text() for n in ("a", "b", "summary")} == {
        str(project / "notebooks")}
    assert os.getcwd() == cwd
    out = project / "reports" / "_output"
    assert result.output_dir == out and result.engine == "fake"
    assert sorted(p.name for p in out.iterdir()) == ["findings", "notebooks", "provenance.json",
                                                    "test-report.html", "test-report.pdf"]
    # stable links point into the published folder
    link = project / "reports" / "test-report.html"
    assert link.is_symlink() and os.readlink(link) == "_output/test-report.html"
    assert link.read_text(encoding="utf-8") == (out / "test-report.html").read_text(encoding="utf-8")
    # renderer got the notebooks in report order, then the provenance appendix
    assert [p.stem for p in fake.calls[0]["notebooks"]] == ["summary", "a", "b", "zz_provenance"]
    assert fake.calls[0]["title"] == "Test report"
    # the summary read both sidecars and wrote sentences from their numbers
    html = (out / "test-report.html").read_text(encoding="utf-8")
    assert "a was 3 in 2025Q4 (count, n = 3)." in html and "b was 5 in 2025Q4 (count, n = 5)." in html
    assert [f.estimate for f in findings.read(out / "findings")] == [3.0, 5.0]
    # no build folder left, lock released
    assert not (project / "reports" / "_build").exists()  # lock released, no empty folder left
    # executed notebooks keep no run times or build paths
    executed = nbformat.read(out / "notebooks" / "a.ipynb", as_version=4)
    assert "start_time" not in executed.metadata.papermill and "duration" not in executed.metadata.papermill
    assert all("execution" not in c.metadata for c in executed.cells)
    assert executed.metadata.papermill["output_path"] == "a.ipynb"
    # progress: per-cell lines, per-notebook and total times
    assert any(re.fullmatch(r"\[a\] cell \d+/\d+ .*", ln) for ln in lines)
    assert any(re.fullmatch(r"\[summary\] done in \d+\.\d s", ln) for ln in lines)
    assert re.search(r"published .*test-report\.html and \.pdf in \d+\.\d s", lines[-1])


def test_failure_keeps_last_good_report_and_names_cell(project):
    # a previous good report
    out = project / "reports" / "_output"
    (out / "notebooks").mkdir(parents=True)
    (out / "test-report.html").write_text("<p>last good</p>", encoding="utf-8")
    (out / "test-report.pdf").write_bytes(b"%PDF last good")
    (out / "notebooks" / "a.ipynb").write_text("{}", encoding="utf-8")
    os.symlink("_output/test-report.html", project / "reports" / "test-report.html")
    before = tree_digest(out)

    plan = good_project(project, fail=True)
    fake = FakeRenderer()
    result = runner.run_plan(plan, out_dir=project / "reports", jobs=2, renderer=fake, progress=None,
                             data_loader=None)
    assert not result.ok
    status = {r.notebook: r.status for r in result.runs}
    assert status == {"summary": "skipped", "a": "ok", "b": "ok", "bad": "failed"}
    bad = next(r for r in result.runs if r.notebook == "bad")
    # cell 3 of the source notebook (raw, parameters, x = 1, the failing cell), its label, the exception
    assert (bad.cell_index, bad.cell_label, bad.ename, bad.evalue) == (3, "tbl-broken", "ValueError",
                                                                     "planted failure 42")
    assert "'bad'" in bad.message and "cell 3" in bad.message and "ValueError: planted failure 42" in bad.message
    # the failed executed notebook is kept, with the traceback
    kept = project / "reports" / "_failed" / "bad.ipynb"
    assert result.failed_dir == kept.parent and kept.is_file()
    assert "planted failure 42" in kept.read_text(encoding="utf-8")
    # the other independent notebooks ran, the failing one stopped at its failing cell, the summary never ran
    assert sorted(p.name for p in (project / "marks").iterdir()) == ["a.ran", "b.ran"]
    # nothing rendered or published: last good report byte-identical
    assert fake.calls == []
    assert tree_digest(out) == before
    assert os.readlink(project / "reports" / "test-report.html") == "_output/test-report.html"
    with pytest.raises(NotebookExecutionError, match=r"'bad' failed in cell 3 \('tbl-broken'\)"):
        result.raise_for_failures()


def test_independent_notebooks_run_in_parallel_and_summary_last(project):
    nbs, marks = project / "notebooks", project / "marks"
    stamp = ('import time, json\nfrom pathlib import Path\nt0 = time.time()\ntime.sleep({sleep})\n'
             'Path(r"{dir}").joinpath("{name}.json").write_text(json.dumps([t0, time.time()]))')
    params = PARAMS + 'comparison_period = "2025Q3"\n'
    for name in ("p1", "p2"):
        write_notebook(nbs / f"{name}.ipynb", stamp.format(sleep=3, dir=marks, name=name), params=params)
    write_notebook(nbs / "last.ipynb", stamp.format(sleep=0, dir=marks, name="last"), params=params)
    plan = make_plan(project, [{"notebook": "p1.ipynb"}, {"notebook": "p2.ipynb"},
                               {"notebook": "last.ipynb", "depends_on": ["p1", "p2"]}])
    result = runner.run_plan(plan, out_dir=project / "reports", jobs=2, renderer=FakeRenderer(), progress=None,
                             data_loader=None)
    assert result.ok
    t = {n: json.loads((marks / f"{n}.json").read_text()) for n in ("p1", "p2", "last")}
    # p1 and p2 overlapped in time (each slept 3 s inside its own kernel)
    assert max(t["p1"][0], t["p2"][0]) < min(t["p1"][1], t["p2"][1])
    # the dependant started after both finished
    assert t["last"][0] >= max(t["p1"][1], t["p2"][1])
    assert result.seconds < sum(r.seconds for r in result.runs)


def test_interrupted_run_keeps_last_good_and_next_run_cleans(project):
    out = project / "reports" / "_output"
    out.mkdir(parents=True)
    (out / "test-report.html").write_text("<p>last good</p>", encoding="utf-8")
    before = tree_digest(out)
    plan = good_project(project)
    with pytest.raises(KeyboardInterrupt):
        runner.run_plan(plan, out_dir=project / "reports", renderer=FakeRenderer(fail=KeyboardInterrupt()),
                        progress=None, data_loader=None)
    assert tree_digest(out) == before
    stale = project / "reports" / "_build" / "run"
    assert stale.is_dir() and not (project / "reports" / "_build" / ".lock").exists()
    lines: list[str] = []
    result = runner.run_plan(plan, out_dir=project / "reports", renderer=FakeRenderer(), progress=lines.append,
                             data_loader=None)
    assert result.ok
    assert f"removed stale build folder {stale}" in lines
    assert "last good" not in (out / "test-report.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-renames"])
def test_publish_swaps_folders(tmp_path, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr(_fs, "exchange_paths", lambda a, b: False)
    reports = tmp_path / "reports"
    old = reports / "_output"
    old.mkdir(parents=True)
    (old / "r.html").write_text("old", encoding="utf-8")
    staged = reports / "_build" / "run" / "report"
    staged.mkdir(parents=True)
    (staged / "r.html").write_text("new", encoding="utf-8")
    (staged / "r.pdf").write_bytes(b"%PDF new")
    assert runner.publish(staged, reports, output="r") == old
    assert (old / "r.html").read_text(encoding="utf-8") == "new"
    assert not staged.exists() and not (reports / "_build" / "run" / "previous").exists()
    assert (reports / "r.pdf").read_bytes() == b"%PDF new"


def test_clean_stale_builds_restores_an_interrupted_publish(tmp_path):
    reports = tmp_path / "reports"
    previous = reports / "_build" / "run" / "previous"
    previous.mkdir(parents=True)
    (previous / "r.html").write_text("good", encoding="utf-8")
    removed = runner.clean_stale_builds(reports)
    assert removed == [reports / "_build" / "run"]
    assert (reports / "_output" / "r.html").read_text(encoding="utf-8") == "good"


def test_concurrent_run_is_refused(project):
    build = project / "reports" / "_build"
    build.mkdir(parents=True)
    (build / ".lock").write_text(str(os.getppid()))  # a live process that is not us
    with pytest.raises(NotebookExecutionError, match=f"pid {os.getppid()}"):
        runner.run_plan(good_project(project), out_dir=project / "reports", renderer=FakeRenderer(),
                        progress=None, data_loader=None)


def test_ensure_kernel_accepts_the_project_kernel_and_rejects_others(tmp_path):
    from jupyter_client.kernelspec import KernelSpecManager

    assert (runner.ensure_kernel("cxlib", install=False) / "kernel.json").is_file()
    empty = KernelSpecManager(kernel_dirs=[str(tmp_path)])
    empty.ensure_native_kernel = False
    with pytest.raises(NotebookExecutionError, match="ipykernel install --sys-prefix --name cx-missing"):
        runner.ensure_kernel("cx-missing", install=False, manager=empty)
    other = tmp_path / "cx-other"
    other.mkdir()
    (other / "kernel.json").write_text(json.dumps({"argv": ["/usr/bin/python3", "-m", "ipykernel_launcher", "-f",
                                                            "{connection_file}"], "display_name": "x",
                                                   "language": "python"}))
    with pytest.raises(NotebookExecutionError, match="runs '/usr/bin/python3', not the project's Python"):
        runner.ensure_kernel("cx-other", install=False, manager=KernelSpecManager(kernel_dirs=[str(tmp_path)]))


def test_provenance_record_of_a_run(project):
    plan = good_project(project)
    result = runner.run_plan(plan, out_dir=project / "reports", renderer=FakeRenderer(), progress=None,
                             data_loader=None)
    record = prov.read(result.provenance)
    assert record["plan"]["notebooks"][0] == {"notebook": "summary.ipynb", "parameters": {},
                                              "depends_on": ["a", "b"]}
    assert record["parameters"]["a"] == {"data_dir": str(project / "data"), "period": "2025Q4",
                                         "comparison_period": "2025Q3", "alpha": 0.05, "seed": 7}
    assert record["seeds"] == {"summary": 7, "a": 7, "b": 7}
    assert record["data"]["sha256"] == {
        "customers.csv": hashlib.sha256(b"customer_id\nc1\n").hexdigest()}
    assert set(record["run"]["wall_seconds"]) == {"summary", "a", "b", "render", "total"}
    assert record["run"]["status"] == "success" and record["run"]["engine"] == "fake"
    assert record["packages"]["papermill"] and record["packages"]["cxlib"] == "0.1.0"
    # the rendered appendix carries no run time
    appendix = nbformat.read(result.output_dir / "notebooks" / "zz_provenance.ipynb", as_version=4)
    text = "\n".join(c.source for c in appendix.cells)
    assert record["run"]["started_at"] not in text and "wall" not in text
    assert hashlib.sha256(b"customer_id\nc1\n").hexdigest() in text
    # --reproduce: same plan, no differences; a changed input is reported
    again, changed = runner.reproduce_plan(record)
    assert again.names == plan.names and dict(again.parameters) == dict(plan.parameters) and changed == []
    (project / "data" / "customers.csv").write_text("customer_id\nc2\n", encoding="utf-8")
    assert runner.reproduce_plan(record)[1] == ["customers.csv: content changed"]


def test_cli_report_help():
    res = CliRunner().invoke(main, ["report", "--help"])
    assert res.exit_code == 0
    for opt in ("--params", "--data", "--out", "--jobs", "--engine", "--reproduce", "auto|quarto|pandoc"):
        assert opt in res.output


def test_cli_report_exits_nonzero_on_failure(project, monkeypatch):
    good_project(project, fail=True)
    plan_file = project / "plan.yml"
    plan_file.write_text(json.dumps({
        "title": "T", "output": "test-report", "notebooks_dir": str(project / "notebooks"),
        "parameters": {"period": "2025Q4", "comparison_period": "2025Q3", "alpha": 0.05, "seed": 7},
        "notebooks": [{"notebook": "a.ipynb"}, {"notebook": "bad.ipynb"}]}), encoding="utf-8")
    real = runner.run_plan
    monkeypatch.setattr(runner, "run_plan", lambda plan, **kw: real(
        plan, **{**kw, "renderer": FakeRenderer(), "data_loader": None, "progress": None}))
    res = CliRunner().invoke(main, ["report", "--params", str(plan_file), "--data", str(project / "data"),
                                    "--out", str(project / "reports"), "--jobs", "2"])
    assert res.exit_code == 1
    assert "ERROR: Notebook 'bad' failed in cell 3 ('tbl-broken') with ValueError: planted failure 42" in res.output
    assert (project / "reports" / "_failed" / "bad.ipynb").is_file()
    # a bad parameter exits 2 before anything runs
    res = CliRunner().invoke(main, ["report", "--params", str(plan_file), "--data", str(project / "nope")])
    assert res.exit_code == 2 and "parameter 'data_dir'" in res.output


def test_cli_reproduce_warns_on_changed_inputs(project, monkeypatch):
    plan = good_project(project)
    result = runner.run_plan(plan, out_dir=project / "reports", renderer=FakeRenderer(), progress=None,
                             data_loader=None)
    (project / "data" / "extra.csv").write_text("x\n", encoding="utf-8")
    seen = {}

    def fake_run(plan, **kw):
        seen["plan"] = plan
        return runner.RunResult("ok", (), 0.0, html=Path("r.html"), pdf=Path("r.pdf"))

    monkeypatch.setattr(runner, "run_plan", fake_run)
    res = CliRunner().invoke(main, ["report", "--reproduce", str(result.provenance)])
    assert res.exit_code == 0, res.output
    assert "WARNING: input data differ from the recorded run: extra.csv: new file" in res.output
    assert seen["plan"].names == ["summary", "a", "b"]
    assert seen["plan"].parameters["seed"] == 7


def test_interrupt_all_stops_a_running_kernel_at_once(project):
    """Ctrl-C reaches the kernels through the registry (they run in their own session)."""
    import threading
    import time

    from cxlib.report.plan import NotebookSpec

    path = write_notebook(project / "notebooks" / "sleepy.ipynb", "import time\ntime.sleep(60)", "x = 2")
    kernels, lines, out = runner.KernelRegistry(), [], {}
    started = threading.Event()

    def progress(line):
        lines.append(line)
        if "time.sleep(60)" in line or "import time" in line:
            started.set()

    def target():
        out["run"] = runner.execute_notebook(NotebookSpec("sleepy", path), {}, output=project / "out.ipynb",
                                             cwd=project / "notebooks", progress=progress, kernels=kernels)

    worker = threading.Thread(target=target)
    t0 = time.perf_counter()
    worker.start()
    assert started.wait(60)
    time.sleep(0.5)
    assert kernels.interrupt_all() == 1
    worker.join(30)
    assert not worker.is_alive() and time.perf_counter() - t0 < 30
    run = out["run"]
    assert (run.status, run.cell_index, run.ename) == ("failed", 2, "KeyboardInterrupt")
    assert kernels.interrupt_all() == 0  # the kernel was shut down


def test_cli_run_executes_one_notebook(project):
    good_project(project, fail=True)
    plan_file = project / "plan.yml"
    plan_file.write_text(json.dumps({
        "notebooks_dir": str(project / "notebooks"),
        "parameters": {"period": "2025Q4", "comparison_period": "2025Q3", "alpha": 0.05, "seed": 7},
        "notebooks": [{"notebook": "a.ipynb"}, {"notebook": "bad.ipynb"}]}), encoding="utf-8")
    args = ["--params", str(plan_file), "--data", str(project / "data"), "--out", str(project / "single")]
    res = CliRunner().invoke(main, ["run", str(project / "notebooks" / "a.ipynb"), *args])
    assert res.exit_code == 0, res.output
    assert res.output.strip().splitlines()[-1] == str(project / "single" / "a.ipynb")
    assert findings.read(project / "single" / "findings" / "a.json")[0].estimate == 3.0
    res = CliRunner().invoke(main, ["run", str(project / "notebooks" / "bad.ipynb"), *args])
    assert res.exit_code == 1 and "failed in cell 3 ('tbl-broken') with ValueError" in res.output


def test_scrub_removes_the_kernel_pid_from_warnings():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("warn()")])
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", name="stderr", text=(
        "/tmp/ipykernel_14648/2868953930.py:6: SmallSampleWarning: 99 rows\n"))]
    out = runner._scrub(nb, "n")
    assert out.cells[0].outputs[0].text == "/tmp/ipykernel/2868953930.py:6: SmallSampleWarning: 99 rows\n"


def test_kernels_reuse_the_runners_validation_of_the_same_bytes(project):
    """The runner validates the data once and hands kernels a stamp; data.load there skips pandera."""
    from cxlib import synth
    from cxlib.data import VALIDATED_ENV

    data_dir = project / "data"
    (data_dir / "customers.csv").unlink()
    synth.generate(data_dir, n_customers=300, seed=3)
    probe = ('import os, json\nfrom cxlib import data\n'
             'calls = []\nreal = data.validate_tables\n'
             'data.validate_tables = lambda frames: calls.append(1) or real(frames)\n'
             'ds = data.load(data_dir)\n'
             f'stamp = os.environ.get("{VALIDATED_ENV}")\n'
             'print("STAMP", bool(stamp) and json.load(open(stamp))["folder"] == str(ds.path.resolve()))\n'
             'print("REVALIDATED", len(calls))\n'
             'print("ROWS", int(ds.validation["rows"].sum()))')
    write_notebook(project / "notebooks" / "a.ipynb", probe, params=PARAMS + 'comparison_period = "2025Q3"\n')
    plan = make_plan(project, [{"notebook": "a.ipynb"}])
    result = runner.run_plan(plan, out_dir=project / "reports", jobs=1, renderer=FakeRenderer(), progress=None)
    assert result.ok
    html = (project / "reports" / "_output" / "test-report.html").read_text(encoding="utf-8")
    assert "STAMP True" in html and "REVALIDATED 0" in html
    from cxlib import data
    assert f"ROWS {int(data.load(data_dir).validation['rows'].sum())}" in html
    assert VALIDATED_ENV not in os.environ  # the runner's own environment is left alone


def test_release_memory_gives_freed_tables_back_to_the_system(tmp_path):
    """In a fresh process: build ~400 MB of Arrow-string frames, drop them, release: RSS falls back."""
    import subprocess
    import sys
    code = (
        "import os, numpy as np, pandas as pd\n"
        "from cxlib.data import TEXT_DTYPE\n"
        "from cxlib.report.runner import release_memory\n"
        "rss = lambda: int(open('/proc/self/statm').read().split()[1]) * os.sysconf('SC_PAGE_SIZE')\n"
        "base = rss()\n"
        "frames = [pd.DataFrame({'id': pd.Series(np.char.add('C', np.arange(4_000_000).astype(str)).astype(object))"
        ".astype(TEXT_DTYPE), 'x': np.arange(4_000_000) * 1.0}) for _ in range(3)]\n"
        "peak = rss()\n"
        "del frames\n"
        "release_memory(); after = rss()\n"
        "print(round((peak - base) / 2**20), round((after - base) / 2**20))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    grown, kept = map(int, out)
    assert grown > 150
    assert kept < 0.3 * grown


# ---------------------------------------------------------------- the lock, leftovers, secrets and redaction

def _dead_pid() -> int:
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_the_lock_is_atomic_and_held_by_one_run(tmp_path):
    from cxlib.report.publishing import acquire_lock, release_lock

    build = tmp_path / "_build"
    lock = acquire_lock(build)
    assert lock.read_text().strip() == str(os.getpid())
    # a second taker (another open file description, as another process would have) is refused at once
    with pytest.raises(NotebookExecutionError, match=rf"pid {os.getpid()}\) is building into .*wait for it"):
        acquire_lock(build)
    release_lock(lock)
    assert not build.exists()  # lock file and empty _build removed
    release_lock(lock)  # releasing twice is harmless


def test_two_processes_racing_for_the_lock_get_it_once(tmp_path):
    import subprocess
    import sys

    code = ("import sys, time\nfrom pathlib import Path\nfrom cxlib.report.publishing import acquire_lock\n"
            "try:\n    acquire_lock(Path(sys.argv[1]))\nexcept Exception:\n    print('refused'); sys.exit(0)\n"
            "print('took'); sys.stdout.flush(); time.sleep(3)\n")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "_build")], stdout=subprocess.PIPE,
                              text=True) for _ in range(4)]
    outs = sorted(p.communicate(timeout=60)[0].strip() for p in procs)
    assert outs == ["refused", "refused", "refused", "took"]


def test_a_stale_lock_of_a_dead_process_is_reported_and_taken_over(project):
    build = project / "reports" / "_build"
    build.mkdir(parents=True)
    pid = _dead_pid()
    (build / ".lock").write_text(f"{pid}\n")
    lines: list[str] = []
    result = runner.run_plan(good_project(project), out_dir=project / "reports", renderer=FakeRenderer(),
                             progress=lines.append, data_loader=None)
    assert result.ok
    assert any(f"stale report lock {build / '.lock'} of process {pid}, which is gone" in line for line in lines)
    assert not build.exists()


def test_a_failure_without_a_notebook_leaves_no_empty_failed_folder(tmp_path):
    from cxlib.report.execution import NotebookRun
    from cxlib.report.publishing import keep_failed

    died = NotebookRun("a", "failed", 1.0, output=None, message="kernel died before the notebook was written")
    assert not keep_failed([died], tmp_path / "_failed").exists()
    kept = tmp_path / "a.ipynb"
    kept.write_text("{}", encoding="utf-8")
    assert (keep_failed([died, NotebookRun("b", "failed", 1.0, output=kept)], tmp_path / "_failed") / "a.ipynb"
            ).is_file()


def test_real_data_without_the_pseudonym_secret_stop_before_anything_runs(project, monkeypatch):
    from cxlib.privacy import PseudonymKeyError

    monkeypatch.delenv("CX_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("CX_DEMO_DATA", raising=False)
    with pytest.raises(PseudonymKeyError, match=r"CX_PSEUDONYM_KEY is not set.*export CX_PSEUDONYM_KEY"):
        runner.run_plan(good_project(project), out_dir=project / "reports", renderer=FakeRenderer(),
                        progress=None, data_loader=None)
    assert not (project / "marks" / "a.ran").exists() and not (project / "reports").exists()
    monkeypatch.setenv("CX_PSEUDONYM_KEY", "a-real-secret")
    assert runner.run_plan(good_project(project), out_dir=project / "reports", renderer=FakeRenderer(),
                           progress=None, data_loader=None).ok


def test_outputs_errors_and_the_log_are_redacted_before_anything_is_written(project):
    """A notebook printing a customer's name, id and phone, then failing on a comment: nothing of it is written."""
    (project / "data" / "customers.csv").write_text("customer_id,first_name,last_name\nC004711,Zoë,Ødegård\n",
                                                    encoding="utf-8")
    nbs = project / "notebooks"
    write_notebook(nbs / "leak.ipynb", "print('Zoë Ødegård, C004711, +44 20 7946 0958, IBAN DE89370400440532013000')",
                   "raise ValueError('comment of C004711: call 020 7946 0111 or zoe.odegard@example.com')",
                   params=PARAMS + 'comparison_period = "2025Q3"\n')
    plan = make_plan(project, [{"notebook": "leak.ipynb"}])
    lines: list[str] = []
    result = runner.run_plan(plan, out_dir=project / "reports", renderer=FakeRenderer(), progress=lines.append,
                             data_loader=None)
    assert result.status == "failed"
    nb = nbformat.read(project / "reports" / "_failed" / "leak.ipynb", as_version=4)
    kept = json.dumps([c.get("outputs", []) for c in nb.cells], ensure_ascii=False)  # the code is the author's
    written = kept + "\n".join(lines) + result.runs[0].message + result.runs[0].evalue
    for item in ("Zoë", "Ødegård", "C004711", "7946 0958", "DE89", "7946 0111", "zoe.odegard@example.com"):
        assert item not in written
    assert "[NAME] [NAME], [ID], [PHONE], IBAN [IBAN]" in kept and "[EMAIL]" in result.runs[0].evalue
