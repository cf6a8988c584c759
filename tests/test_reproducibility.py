"""Same inputs, same parameters: same numbers, same bytes; and `cx report --reproduce` gives them again.

What is already proven elsewhere, and not repeated here:

* ``tests/test_pipeline.py::test_pipeline_end_to_end_is_byte_identical`` runs the
  real default plan (every notebook, 1,500 synthetic customers) twice and
  compares the HTML and PDF bytes (slow, ``pipeline``);
* ``tests/test_render.py::test_pdf_is_byte_identical_across_renders`` renders one
  notebook twice;
* ``tests/test_runner.py::test_provenance_record_of_a_run`` checks what
  ``provenance.json`` records and that ``reproduce_plan`` recovers the plan;
  ``test_cli_reproduce_warns_on_changed_inputs`` the warning for changed data.

Here, on a small report of two notebooks that use seeded resampling, a figure
and a table over 800 synthetic customers (real kernels, the real pandoc + Typst renderer):

* two runs record identical numbers in every finding and identical executed
  notebooks, HTML and PDF, also when the second run uses another number of jobs;
* ``cx report --reproduce <provenance.json>`` re-runs the recorded plan on the
  recorded data and gives the same bytes again;
* a different seed changes the seeded numbers (the test would notice if the
  seed were ignored and the sameness came from nowhere).
"""
from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from cxlib import findings
from cxlib.cli import main
from cxlib.report import provenance as prov
from cxlib.synth import generate

pytestmark = [pytest.mark.pipeline]

PARAMS = ('data_dir = "../data"\nfindings_path = ""\nperiod = "2025Q4"\ncomparison_period = "2025Q3"\nalpha = 0.05\n'
          'seed = 1\n')
METRICS = '''\
import numpy as np
import pandas as pd
from pathlib import Path
from matplotlib.figure import Figure
from cxlib.findings import Finding, record
from cxlib.metrics import by_segment, nps, period_labels
from cxlib.significance import compare_nps
from cxlib.report.figures import show_figure
from cxlib.report.tables import show_table
rng = np.random.default_rng(seed)
survey = pd.read_parquet(Path(data_dir) / "survey_responses.parquet").dropna(subset=["nps"])
survey["quarter"] = period_labels(survey["responded_at"])
r = nps(survey, alpha=alpha)
boot = np.array([nps(survey.sample(frac=1, replace=True, random_state=rng)).estimate for _ in range(60)])
c = compare_nps(survey, group="quarter", a=period, b=comparison_period, alpha=alpha)
record(findings_path, Finding(key="nps", section="metrics", label="NPS", estimate=r.estimate, ci_lower=r.ci_lower,
       ci_upper=r.ci_upper, n=r.n, method="adjusted Wald", unit="points", better="higher", period=period))
record(findings_path, Finding(key="nps_boot", section="metrics", label="NPS bootstrap SE", estimate=boot.std(ddof=1),
       n=boot.size, method="bootstrap", unit="points", period=period))
record(findings_path, Finding(key="nps_change", section="metrics", label="NPS change", estimate=c.difference,
       ci_lower=c.ci_lower, ci_upper=c.ci_upper, p_value=c.p_value, n=c.n_a + c.n_b, method="adjusted Wald",
       unit="points", better="higher", period=period, comparison=comparison_period))
print(f"NPS {r.estimate:.2f}, bootstrap SE {boot.std(ddof=1):.4f}")'''
FIGURE = '''\
#| label: fig-boot
#| fig-cap: "Bootstrap distribution of the NPS"
fig = Figure(figsize=(4, 2.5), dpi=90)
ax = fig.subplots()
ax.hist(boot, bins=12, color="#4477aa")
ax.set_xlabel("NPS")
show_figure(fig, dpi=90, alt="Histogram of 60 bootstrap NPS values")'''
TABLE = '''\
#| label: tbl-tiers
#| tbl-cap: "NPS by touchpoint"
show_table(by_segment(nps, survey, segment="touchpoint").reset_index()[["touchpoint", "estimate", "ci_lower", "ci_upper", "n"]],
           digits=1)'''
SUMMARY = '''\
from cxlib import findings, summary
for f in findings.read(findings_dir):
    print("- " + summary.sentence(f))'''


def _notebook(path: Path, title: str, *cells: str, params: str = PARAMS) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "cxlib", "display_name": "Python (cxlib workbook)", "language": "python"}
    pcell = nbformat.v4.new_code_cell(params)
    pcell.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_raw_cell(f'---\ntitle: "{title}"\n---'), pcell,
                nbformat.v4.new_markdown_cell("The numbers below come from a seeded resample."),
                *map(nbformat.v4.new_code_cell, cells)]
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def small_report(tmp_path_factory):
    """Two notebooks, a small synthetic world (800 customers, seeded) and a plan file."""
    root = tmp_path_factory.mktemp("repro")
    nbs = root / "notebooks"
    nbs.mkdir()
    generate(root / "data", n_customers=800, seed=20261123)
    _notebook(nbs / "10_metrics.ipynb", "Metrics", METRICS, FIGURE, TABLE)
    _notebook(nbs / "99_summary.ipynb", "Summary", SUMMARY, params=PARAMS + 'findings_dir = ""\n')
    plan = {"title": "Reproducibility check", "subtitle": "two notebooks", "output": "repro",
            "notebooks_dir": str(nbs),
            "parameters": {"period": "2025Q4", "comparison_period": "2025Q3", "alpha": 0.05, "seed": 20261123},
            "notebooks": [{"notebook": "99_summary.ipynb", "depends_on": "all"}, {"notebook": "10_metrics.ipynb"}]}
    (root / "plan.yml").write_text(yaml.safe_dump(plan, sort_keys=False), encoding="utf-8")
    return root


def _cx_report(*args: str) -> None:
    res = CliRunner().invoke(main, ["report", "--engine", "pandoc", *args])
    assert res.exit_code == 0, res.output


def _report(root: Path, out: str, *extra: str) -> Path:
    _cx_report("--params", str(root / "plan.yml"), "--data", str(root / "data"), "--out", str(root / out), *extra)
    return root / out / "_output"


def _digests(published: Path) -> dict[str, str]:
    """sha256 of every published file except provenance.json (which records run times)."""
    return {p.relative_to(published).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(published.rglob("*")) if p.is_file() and p.name != "provenance.json"}


def _numbers(published: Path) -> dict[str, tuple]:
    """Every number of every finding, NaN as None so that equal means equal."""
    return {f.key: tuple(None if math.isnan(v) else v for v in (f.estimate, f.ci_lower, f.ci_upper, f.p_value, f.n))
            for f in findings.read(published / "findings")}


def _state(published: Path) -> dict:
    return {"digests": _digests(published), "numbers": _numbers(published),
            "provenance": prov.read(published / "provenance.json")}


@pytest.fixture(scope="module")
def two_runs(small_report):
    """`make report` twice into the same reports folder (2 jobs, then 1): the state after each.

    Both runs execute every notebook (``--no-cache``): the promise is that re-computation gives the same
    bytes, not that the cache returns what it stored (that is tests/test_cache.py)."""
    first = _state(_report(small_report, "reports", "--jobs", "2", "--no-cache"))
    second = _state(_report(small_report, "reports", "--jobs", "1", "--no-cache"))
    return first, second


def test_two_runs_record_identical_numbers_in_every_finding(two_runs):
    first, second = two_runs
    assert sorted(first["numbers"]) == ["nps", "nps_boot", "nps_change"]
    assert all(v[0] is not None and math.isfinite(v[0]) for v in first["numbers"].values())
    assert first["numbers"]["nps_boot"][4] == 60 and first["numbers"]["nps_change"][3] is not None
    assert second["numbers"] == first["numbers"]  # exactly equal, at full precision
    assert first["digests"]["findings/10_metrics.json"] == second["digests"]["findings/10_metrics.json"]


def test_two_runs_give_identical_html_pdf_and_notebooks(small_report, two_runs):
    first, second = two_runs
    assert {"repro.html", "repro.pdf", "notebooks/10_metrics.ipynb", "notebooks/99_summary.ipynb",
            "notebooks/zz_provenance.ipynb"} <= set(first["digests"])
    assert second["digests"] == first["digests"]
    published = small_report / "reports" / "_output"
    html = (published / "repro.html").read_text(encoding="utf-8")
    assert "Bootstrap distribution of the NPS" in html and "data:image/png;base64," in html
    assert (published / "repro.pdf").read_bytes().startswith(b"%PDF")
    # the published notebook names where its findings are now, not the build folder they were written in
    executed = (published / "notebooks" / "10_metrics.ipynb").read_text(encoding="utf-8")
    assert "_build" not in executed and str(published / "findings" / "10_metrics.json") in executed
    # run times live in provenance.json only; everything else it records is the same
    pa, pb = first["provenance"], second["provenance"]
    assert pa["run"]["started_at"] <= pb["run"]["started_at"] and pa["run"]["status"] == "success"
    assert {k: v for k, v in pa.items() if k != "run"} == {k: v for k, v in pb.items() if k != "run"}


def test_cx_report_reproduce_gives_the_same_bytes(small_report, two_runs):
    first, _ = two_runs
    recorded = small_report / "recorded-provenance.json"
    recorded.write_text(json.dumps(first["provenance"]), encoding="utf-8")
    _cx_report("--reproduce", str(recorded), "--out", str(small_report / "reports"))
    again = _state(small_report / "reports" / "_output")
    assert again["digests"] == first["digests"] and again["numbers"] == first["numbers"]
    assert again["provenance"]["seeds"] == {"99_summary": 20261123, "10_metrics": 20261123}
    assert again["provenance"]["data"]["sha256"] == prov.file_hashes(small_report / "data")
    assert again["provenance"]["plan"] == first["provenance"]["plan"]


def test_another_seed_changes_only_the_seeded_numbers(small_report, two_runs, tmp_path):
    first, _ = two_runs
    plan = yaml.safe_load((small_report / "plan.yml").read_text(encoding="utf-8"))
    plan["parameters"]["seed"] = 7
    (tmp_path / "plan.yml").write_text(yaml.safe_dump(plan), encoding="utf-8")
    _cx_report("--params", str(tmp_path / "plan.yml"), "--data", str(small_report / "data"), "--out",
               str(tmp_path / "reports"))
    a, b = first["numbers"], _numbers(tmp_path / "reports" / "_output")
    assert a["nps"] == b["nps"] and a["nps_change"] == b["nps_change"]  # no randomness in these
    assert a["nps_boot"][0] != b["nps_boot"][0]  # the bootstrap follows the seed parameter
