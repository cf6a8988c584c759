"""Tests of cxlib.report.cache: keys, read detection, splicing, the store, and the runner's use of them.

The runner tests execute tiny notebooks for real (papermill, the project's ``cxlib`` kernel) with the
fake renderer of ``tests/test_runner.py``; each invalidation rule of the cache has its own test.
"""
from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from cxlib import findings
from cxlib.cli import main
from cxlib.report import cache as nbcache
from cxlib.report import provenance as prov
from cxlib.report import runner
from cxlib.report.plan import plan_from_dict


def _sibling(name: str):
    """Load a helper module from this folder (tests/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f"_cx_cache_{name}", Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


_rt = _sibling("test_runner")
FakeRenderer, write_notebook = _rt.FakeRenderer, _rt.write_notebook
PARAMS = _rt.PARAMS + 'comparison_period = "2025Q3"\n'
TABLES = ["customers", "events", "survey_responses"]


# --------------------------------------------------------------------------- reads

@pytest.mark.parametrize("code, expected", [
    (['ds = data.load(data_dir, tables=["events"])'], {"events"}),
    (['ds = cxlib.data.load(data_dir, tables=("events", "customers"))'], {"events", "customers"}),
    (['ds = load(data_dir)'], set(TABLES)),
    (['t = pd.read_parquet(Path(data_dir) / "truth_segments.parquet")'], {"truth_segments.parquet"}),
    (['t = os.path.join(data_dir, "truth.json")'], {"truth.json"}),
    (['%matplotlib inline\nx = 1'], set()),
    (['print(findings_dir)'], set()),
])
def test_tables_read_understands_the_loading_idioms(code, expected):
    assert nbcache.tables_read(code, all_tables=TABLES) == frozenset(expected)


@pytest.mark.parametrize("code", [
    ['ds = data.load(data_dir, tables=wanted)'],           # names not literal
    ['ds = data.load(data_dir, ["events"])'],              # positional tables
    ['ds = my_loader(data_dir)'],                          # an unknown function
    ['x = f"{data_dir}/events.parquet"'],                  # an f-string
    ['d = data_dir\nds = data.load(d, tables=["events"])'],  # aliased
    ['data_dir = "/elsewhere"'],                           # rebound outside the parameters cell
    ['def f(data_dir):\n    return 1'],                    # shadowed by a function argument
    ['ds = data.load(data_dir, tables=["events"]'],        # not Python
])
def test_tables_read_is_conservative_when_it_cannot_tell(code):
    assert nbcache.tables_read(code, all_tables=TABLES) is None


def test_table_digests_follow_only_the_files_of_each_table():
    hashes = {"events.parquet": "e1", "customers.csv": "c1", "survey_responses/p0.parquet": "s1",
              "survey_responses/p1.parquet": "s2", "truth.json": "t1"}
    base = nbcache.table_digests(hashes, ["events", "survey_responses", "units"])
    assert sorted(base) == ["events", "survey_responses", "units"] and base["units"] == "absent"
    changed = nbcache.table_digests({**hashes, "survey_responses/p1.parquet": "s3", "customers.csv": "c2"},
                                    ["events", "survey_responses", "units"])
    assert changed["events"] == base["events"] and changed["survey_responses"] != base["survey_responses"]
    every = nbcache.table_digests(hashes, None)
    assert list(every) == ["*"] and nbcache.table_digests({**hashes, "truth.json": "t2"}, None) != every


def test_source_hash_skips_caches_and_render_only_files(tmp_path):
    (tmp_path / "report" / "templates").mkdir(parents=True)
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "m.py").write_text("x = 1\n")
    h = nbcache.source_hash(tmp_path)
    (tmp_path / "__pycache__" / "m.cpython-311.pyc").write_bytes(b"\0")
    (tmp_path / "report" / "templates" / "report.css").write_text("p {}\n")
    assert nbcache.source_hash(tmp_path) == h
    (tmp_path / "lexicon.json").write_text("{}")
    assert nbcache.source_hash(tmp_path) != h


def test_environment_fingerprint_follows_the_pseudonym_secret_without_keeping_it(monkeypatch):
    monkeypatch.delenv("CX_PSEUDONYM_KEY", raising=False)
    unset = nbcache.environment_fingerprint()
    monkeypatch.setenv("CX_PSEUDONYM_KEY", "s3cret-value")
    keyed = nbcache.environment_fingerprint()
    assert keyed != unset and "s3cret" not in keyed and len(keyed) == 64
    assert nbcache.environment_fingerprint() == keyed


def test_explain_names_what_changed():
    old = {"code": "1", "parameters": {"alpha": 0.05}, "data": {"events": "a", "customers": "b"},
           "upstream": {"a": "x"}, "cxlib": "c"}
    new = {"code": "2", "parameters": {"alpha": 0.1}, "data": {"events": "a", "customers": "z"},
           "upstream": {"a": "y"}, "cxlib": "d"}
    assert nbcache.explain(old, new) == ("code cells changed, parameter 'alpha' changed, data table 'customers' "
                                         "changed, findings of 'a' changed, cxlib source changed")


# --------------------------------------------------------------------------- splicing

def _executed(source: nbformat.NotebookNode, outputs: list[str]) -> nbformat.NotebookNode:
    """A hand-made 'executed' notebook: an injected cell after the parameters cell, one output per code cell."""
    nb = nbformat.reads(nbformat.writes(source), as_version=4)
    injected = nbformat.v4.new_code_cell("# Parameters\nseed = 3\n")
    injected.id, injected.metadata["tags"] = "injected-parameters", ["injected-parameters"]
    at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])) + 1
    nb.cells.insert(at, injected)
    texts = iter(outputs)
    for n, cell in enumerate(nb.cells, start=1):
        cell.metadata["papermill"] = {"exception": False, "status": "completed"}
        if cell.cell_type == "code":
            cell.execution_count = n
            if cell.id != "injected-parameters":
                cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=next(texts))]
    nb.metadata["papermill"] = {"parameters": {"seed": 3}}
    return nb


def _source(*cells: tuple[str, str]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    made = []
    for i, (kind, text) in enumerate(cells):
        cell = nbformat.v4.new_code_cell(text) if kind == "code" else nbformat.v4.new_markdown_cell(text)
        cell.id = f"c{i}"
        if text.startswith("seed ="):
            cell.metadata["tags"] = ["parameters"]
        made.append(cell)
    nb.cells = made
    return nb


def test_splice_keeps_outputs_and_takes_the_current_narrative():
    old = _source(("md", "# Old title"), ("code", "seed = 1"), ("code", "print(1)"), ("md", "Old words."),
                  ("code", "print(2)"))
    executed = _executed(old, ["", "1\n", "2\n"])
    new = _source(("md", "# New title"), ("code", "seed = 1"), ("code", "print(1)"), ("md", "New words."),
                  ("md", "An added paragraph."), ("code", "print(2)"))
    out = nbcache.splice(executed, new)
    assert [c.cell_type for c in out.cells] == ["markdown", "code", "code", "code", "markdown", "markdown", "code"]
    assert [c.source for c in out.cells if c.cell_type == "markdown"] == ["# New title", "New words.",
                                                                          "An added paragraph."]
    assert out.cells[2].id == "injected-parameters"  # right after the parameters cell
    assert [c.outputs[0].text for c in out.cells if c.cell_type == "code" and c.outputs] == ["", "1\n", "2\n"]
    assert [c.execution_count for c in out.cells if c.cell_type == "code"] == [2, 3, 4, 6]
    assert out.metadata.papermill.parameters == {"seed": 3}
    assert all(c.metadata.papermill.status == "completed" for c in out.cells)


def test_splice_refuses_a_notebook_whose_code_changed():
    old = _source(("code", "seed = 1"), ("code", "print(1)"))
    with pytest.raises(nbcache.CacheError, match="code cells differ"):
        nbcache.splice(_executed(old, ["", "1\n"]), _source(("code", "seed = 1"), ("code", "print(10)")))


# --------------------------------------------------------------------------- the store

def _parts(**over) -> dict:
    base = {"code": ["x = 1"], "parameters": {"seed": 1}, "data": {}, "cxlib": "c", "environment": "e",
            "upstream": {}, "kernel": "cxlib"}
    return nbcache.components(**{**base, **over})


def test_store_and_lookup_round_trip_and_prune(tmp_path):
    nb = tmp_path / "n.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), nb)
    side = tmp_path / "n.json"
    side.write_text("[]")
    store = nbcache.NotebookCache(tmp_path / "cache", keep=2)
    entry = store.store("n", _parts(), nb, [side], 12.5)
    hit = store.lookup("n", _parts())
    assert hit == entry and hit.seconds == 12.5 and [p.name for p in hit.sidecars] == ["n.json"]
    assert store.lookup("n", _parts(parameters={"seed": 2})) is None
    assert nbcache.NotebookCache(tmp_path / "cache", reuse=False).lookup("n", _parts()) is None
    for seed in (2, 3):
        store.store("n", _parts(parameters={"seed": seed}), nb, [], 1.0)
    kept = sorted(p.name for p in (tmp_path / "cache" / "n").iterdir())
    assert len(kept) == 2 and entry.key not in kept  # the oldest went first
    assert store.last_components("n")["parameters"] == {"seed": 3}


def test_a_half_written_entry_is_never_served_and_is_cleaned(tmp_path, monkeypatch):
    nb = tmp_path / "n.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), nb)
    store = nbcache.NotebookCache(tmp_path / "cache")

    def crash(src, dst):  # the process dies while renaming the finished entry into place
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        store.store("n", _parts(), nb, [], 1.0)
    monkeypatch.undo()
    assert store.lookup("n", _parts()) is None
    assert list((tmp_path / "cache" / "n").iterdir()) == []  # the temporary folder went with the failure
    leftover = tmp_path / "cache" / "n" / ".tmp-killed"  # what a SIGKILL would leave
    leftover.mkdir()
    assert store.clean() == [leftover] and not leftover.exists()
    # an entry whose record does not match its key is ignored
    entry = store.store("n", _parts(), nb, [], 1.0)
    meta = json.loads((entry.folder / "entry.json").read_text())
    (entry.folder / "entry.json").write_text(json.dumps({**meta, "components": _parts(cxlib="other")}))
    assert store.lookup("n", _parts()) is None


# --------------------------------------------------------------------------- the runner with a cache

COUNT = ('import pandas as pd\nfrom pathlib import Path\n'
         'from cxlib.findings import Finding, record\n'
         'n = len(pd.read_csv(Path(data_dir) / "{table}.csv")) * {scale}\n'
         'record(findings_path, Finding(key="{name}", section="{name}", label="{name} rows", estimate=n, '
         'method="count", n=n, period=period))\n'
         'print("{name} rows", n)')
MARK = 'from pathlib import Path\nPath(r"{dir}").joinpath("{name}.ran").write_text("ran")'


@pytest.fixture
def world(tmp_path):
    """Data with two tables; notebooks `cust` (reads customers), `tick` (reads tickets), `summary` (their findings)."""
    nbs, data, marks = tmp_path / "notebooks", tmp_path / "data", tmp_path / "marks"
    for d in (nbs, data, marks):
        d.mkdir()
    (data / "customers.csv").write_text("customer_id\nc1\nc2\n", encoding="utf-8")
    (data / "tickets.csv").write_text("ticket_id\nt1\n", encoding="utf-8")
    write_cust(tmp_path)
    write_notebook(nbs / "tick.ipynb", COUNT.format(table="tickets", name="tick", scale=1),
                   MARK.format(dir=marks, name="tick"), params=PARAMS)
    write_summary(tmp_path, "Summary of the quarter.")
    return tmp_path


def write_cust(root: Path, *, scale: int = 1, narrative: str = "Customers, counted.") -> None:
    nb = write_notebook(root / "notebooks" / "cust.ipynb", COUNT.format(table="customers", name="cust", scale=scale),
                        MARK.format(dir=root / "marks", name="cust"), params=PARAMS + "scale_note = 'x'\n")
    _add_markdown(nb, narrative)


def write_summary(root: Path, narrative: str) -> None:
    nb = write_notebook(root / "notebooks" / "summary.ipynb",
                        "from cxlib import findings, summary\n"
                        "print('\\n'.join(summary.sentence(f) for f in findings.read(findings_dir)))",
                        MARK.format(dir=root / "marks", name="summary"), params=PARAMS + 'findings_dir = ""\n')
    _add_markdown(nb, narrative)


def _add_markdown(path: Path, text: str) -> None:
    nb = nbformat.read(path, as_version=4)
    cell = nbformat.v4.new_markdown_cell(text)
    cell.id = "narrative"
    nb.cells.insert(2, cell)
    nbformat.write(nb, path)


def plan_of(root: Path, **params):
    raw = {"title": "Cached report", "output": "test-report", "notebooks_dir": str(root / "notebooks"),
           "parameters": {"period": "2025Q4", "comparison_period": "2025Q3", "alpha": 0.05, "seed": 7, **params},
           "notebooks": [{"notebook": "summary.ipynb", "depends_on": "all"}, {"notebook": "cust.ipynb"},
                         {"notebook": "tick.ipynb"}]}
    return plan_from_dict(raw, base=root, data_dir=root / "data")


def run(root: Path, plan=None, *, code_version: str = "v1", reuse: bool = True, lines: list | None = None):
    """One report run with the run cache; returns the result and the notebooks that executed (by their marks)."""
    for mark in (root / "marks").glob("*.ran"):
        mark.unlink()
    store = nbcache.NotebookCache(root / "reports" / "_cache", reuse=reuse, code_version=code_version,
                                  environment="env")
    result = runner.run_plan(plan or plan_of(root), out_dir=root / "reports", jobs=2, renderer=FakeRenderer(),
                             progress=(lines.append if lines is not None else None), data_loader=None, cache=store)
    assert result.ok, result.to_frame()
    ran = sorted(p.stem for p in (root / "marks").glob("*.ran"))
    return result, ran


def published(root: Path, name: str) -> nbformat.NotebookNode:
    return nbformat.read(root / "reports" / "_output" / "notebooks" / f"{name}.ipynb", as_version=4)


def test_an_unchanged_rerun_executes_nothing_and_publishes_the_same_bytes(world):
    first, ran = run(world)
    assert ran == ["cust", "summary", "tick"] and not any(r.cached for r in first.runs)
    out = world / "reports" / "_output"
    before = {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
              if p.is_file() and p.name != "provenance.json"}
    lines: list[str] = []
    second, ran = run(world, lines=lines)
    assert ran == [] and [r.cached for r in second.runs] == [True, True, True]
    assert all(r.saved_seconds > 0 for r in second.runs) and second.saved_seconds == pytest.approx(
        sum(r.seconds for r in first.runs), abs=0.01)
    after = {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
             if p.is_file() and p.name != "provenance.json"}
    assert after == before  # findings, notebooks, HTML and PDF byte-identical to the executed run
    assert any(ln.startswith("[cust] cached (saved ") for ln in lines)
    assert "3 notebook(s) from the cache saved" in lines[-1]
    record = json.loads((out / "provenance.json").read_text())
    assert record["run"]["cache"]["cust"]["cached"] is True and len(record["run"]["cache"]["cust"]["key"]) == 64


def test_a_narrative_edit_is_spliced_in_without_recomputation(world):
    run(world)
    write_summary(world, "A rewritten summary paragraph.")
    write_cust(world, narrative="Customers, counted again, with new words.")
    result, ran = run(world)
    assert ran == [] and all(r.cached for r in result.runs)
    html = (world / "reports" / "_output" / "test-report.html").read_text(encoding="utf-8")
    assert "A rewritten summary paragraph." in html and "Summary of the quarter." not in html
    assert "Customers, counted again, with new words." in html
    assert "cust rows 2" in html and "tick rows 1" in html  # the cached outputs are still there
    spliced = {p: (world / "reports" / "_output" / "notebooks" / p).read_bytes() for p in ("cust.ipynb",
                                                                                         "summary.ipynb")}
    # byte-identical to executing the edited notebooks afresh
    run(world, reuse=False)
    assert {p: (world / "reports" / "_output" / "notebooks" / p).read_bytes() for p in spliced} == spliced


def test_a_code_change_reruns_the_notebook_and_what_reads_its_findings(world):
    run(world)
    write_cust(world, scale=10)
    lines: list[str] = []
    result, ran = run(world, lines=lines)
    assert ran == ["cust", "summary"]  # tick is untouched; the summary reads cust's new findings
    assert "[cust] not cached: code cells changed" in lines
    assert "[summary] not cached: findings of 'cust' changed" in lines
    assert findings.read(world / "reports" / "_output" / "findings" / "cust.json")[0].estimate == 20


def test_the_same_findings_upstream_keep_the_summary_cached(world):
    run(world)
    nb = nbformat.read(world / "notebooks" / "tick.ipynb", as_version=4)
    nb.cells[-1].source += "\nx = 'a new cell line that changes no finding'"
    nbformat.write(nb, world / "notebooks" / "tick.ipynb")
    _, ran = run(world)
    assert ran == ["tick"]


def test_a_parameter_change_reruns_the_notebooks_that_take_it(world):
    run(world)
    lines: list[str] = []
    _, ran = run(world, plan_of(world, seed=8), lines=lines)
    assert ran == ["cust", "summary", "tick"] and "[tick] not cached: parameter 'seed' changed" in lines
    plan = plan_from_dict({"title": "Cached report", "output": "test-report", "notebooks_dir": str(world / "notebooks"),
                           "parameters": {"period": "2025Q4", "comparison_period": "2025Q3", "alpha": 0.05,
                                          "seed": 8},
                           "notebooks": [{"notebook": "summary.ipynb", "depends_on": "all"},
                                         {"notebook": "cust.ipynb", "parameters": {"scale_note": "y"}},
                                         {"notebook": "tick.ipynb"}]}, base=world, data_dir=world / "data")
    _, ran = run(world, plan)
    assert ran == ["cust"]  # only cust declares scale_note; its findings did not change, so the summary is kept


@pytest.mark.parametrize("table, expected", [("customers", ["cust", "summary"]), ("tickets", ["summary", "tick"])])
def test_a_changed_table_reruns_exactly_the_notebooks_that_read_it(world, table, expected):
    run(world)
    (world / "data" / f"{table}.csv").write_text(f"{table}_id\nx1\nx2\nx3\n", encoding="utf-8")
    lines: list[str] = []
    _, ran = run(world, lines=lines)
    assert ran == expected
    reader = "cust" if table == "customers" else "tick"
    assert f"[{reader}] not cached: data table '{table}.csv' changed" in lines


def test_a_new_file_nobody_reads_reruns_nothing_but_reads_all_does(world):
    run(world)
    (world / "data" / "units.csv").write_text("unit_id\nS01\n", encoding="utf-8")
    _, ran = run(world)
    assert ran == []
    raw = plan_of(world).to_dict()
    raw["notebooks"][2]["reads"] = "all"
    plan = plan_from_dict(raw, base=world, data_dir=world / "data")
    run(world, plan)
    (world / "data" / "units.csv").write_text("unit_id\nS01\nS02\n", encoding="utf-8")
    _, ran = run(world, plan)
    assert ran == ["tick"]  # declared to read every file; its findings did not change


def test_a_cxlib_change_reruns_everything(world):
    run(world)
    lines: list[str] = []
    _, ran = run(world, code_version="v2", lines=lines)
    assert ran == ["cust", "summary", "tick"] and "[cust] not cached: cxlib source changed" in lines


def test_no_cache_executes_everything_and_refreshes_the_cache(world):
    run(world)
    _, ran = run(world, reuse=False)
    assert ran == ["cust", "summary", "tick"]
    _, ran = run(world)
    assert ran == []


def test_a_corrupt_entry_is_executed_again_without_stale_findings(world):
    run(world)
    entry = next((world / "reports" / "_cache" / "cust").iterdir())
    (entry / "notebook.ipynb").write_text("{not json", encoding="utf-8")
    lines: list[str] = []
    _, ran = run(world, lines=lines)
    assert ran == ["cust"] and any(ln.startswith("[cust] cache entry unusable") for ln in lines)
    assert [f.key for f in findings.read(world / "reports" / "_output" / "findings" / "cust.json")] == ["cust"]


def test_a_full_disk_while_storing_only_skips_the_cache(world, monkeypatch):
    import errno

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(nbcache.NotebookCache, "store", full)
    lines: list[str] = []
    result, ran = run(world, lines=lines)
    assert result.ok and ran == ["cust", "summary", "tick"]
    assert any("result not stored in the run cache" in ln and "No space left" in ln for ln in lines)


def test_cli_report_uses_the_cache_and_no_cache_forces_a_full_run(world, monkeypatch):
    plan_file = world / "plan.json"
    plan_file.write_text(json.dumps(plan_of(world).to_dict()), encoding="utf-8")
    real = runner.run_plan
    seen: list = []

    def fake(plan, **kw):
        seen.append(kw["cache"])
        return real(plan, **{**kw, "renderer": FakeRenderer(), "data_loader": None, "progress": None})

    monkeypatch.setattr(runner, "run_plan", fake)
    args = ["report", "--params", str(plan_file), "--data", str(world / "data"), "--out", str(world / "reports")]
    assert CliRunner().invoke(main, args).exit_code == 0
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0 and "cached" in res.output and "saved" in res.output
    assert seen[1].folder == world / "reports" / "_cache" and seen[1].reuse
    (world / "marks" / "cust.ran").unlink()
    res = CliRunner().invoke(main, [*args, "--no-cache"])
    assert res.exit_code == 0 and not seen[2].reuse and (world / "marks" / "cust.ran").is_file()


class CountingLoader:
    """A data loader that counts its calls and returns a one-row validation summary."""

    def __init__(self):
        self.calls = 0

    def __call__(self, folder):
        import pandas as pd

        self.calls += 1
        return type("Loaded", (), {"validation": pd.DataFrame(
            {"table": ["customers"], "rows": [len(Path(folder, "customers.csv").read_text().splitlines()) - 1],
             "first": pd.to_datetime(["2025-01-02 03:04:05"])})})()


def test_data_validation_is_repeated_only_when_a_file_changed(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "customers.csv").write_text("customer_id\nc1\n", encoding="utf-8")
    store = nbcache.NotebookCache(tmp_path / "cache", code_version="v1", environment="env")
    loader, lines = CountingLoader(), []

    def validate():
        return nbcache.validate_data(loader, str(data), prov.file_hashes(data), cache=store,
                                    progress=lines.append)

    first = validate()
    assert first == [{"table": "customers", "rows": 1, "first": "2025-01-02 03:04:05"}] and loader.calls == 1
    assert validate() == first and loader.calls == 1
    assert lines == ["data validation cached (files unchanged since it passed)"]
    (data / "customers.csv").write_text("customer_id\nc1\nc2\n", encoding="utf-8")
    assert validate()[0]["rows"] == 2 and loader.calls == 2
    store.reuse = False
    validate()
    assert loader.calls == 3
    assert nbcache.validate_data(loader, str(data), {}, cache=nbcache.NotebookCache(
        tmp_path / "cache", code_version="v2", environment="env")) == validate() and loader.calls == 5
