"""End to end: `cx report` on small synthetic data, real kernels, real renderer (marked ``pipeline``).

Checks that every planned section reaches the HTML and the PDF, that the
executive summary's sentences carry exactly the recorded findings, that the
provenance covers every input file, and that the same inputs give
byte-identical reports.
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import nbformat
import pytest
import yaml
from click.testing import CliRunner

from cxlib import findings
from cxlib.cli import main
from cxlib.report.plan import load_plan, project_root
from cxlib.sections.summary import decimals_for, parse_sentence

pytestmark = [pytest.mark.pipeline, pytest.mark.slow]
ROOT = project_root()
N_CUSTOMERS = 1_500


@pytest.fixture(scope="module")
def synth_data(tmp_path_factory):
    synth = pytest.importorskip("cxlib.synth", reason="cxlib.synth (the synthetic data generator) is not available")
    folder = tmp_path_factory.mktemp("pipeline") / "data"
    synth.generate(folder, n_customers=N_CUSTOMERS, seed=20261123)
    return folder


def _title(nb_path: Path) -> str:
    raw = nbformat.read(nb_path, as_version=4).cells[0]
    return yaml.safe_load(raw.source.strip().strip("-"))["title"]


def _subset_plan(tmp_path: Path, names: list[str]) -> Path:
    raw = yaml.safe_load((ROOT / "reports" / "plan.yml").read_text(encoding="utf-8"))
    raw["notebooks_dir"] = str(ROOT / "notebooks")
    raw["notebooks"] = [e for e in raw["notebooks"] if Path(e["notebook"]).stem in names]
    path = tmp_path / "plan.yml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def _report(plan_file: Path, data: Path, out: Path, *extra: str) -> Path:
    res = CliRunner().invoke(main, ["report", "--params", str(plan_file), "--data", str(data), "--out", str(out),
                                    *extra])
    assert res.exit_code == 0, res.output
    _report.output = res.output
    return out / "_output"


def _check_report(published: Path, plan_file: Path, data: Path) -> None:
    plan = load_plan(plan_file, data_dir=data)
    html = " ".join((published / f"{plan.output}.html").read_text(encoding="utf-8").split())
    pdf = (published / f"{plan.output}.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    from pypdf import PdfReader

    pdf_text = " ".join(p.extract_text() for p in PdfReader(published / f"{plan.output}.pdf").pages)
    pdf_text = " ".join(pdf_text.split())
    # every planned section, in plan order, then the provenance appendix
    titles = [_title(s.path) for s in plan.notebooks] + ["Appendix: provenance"]
    positions = [html.find(t) for t in titles]
    assert all(p >= 0 for p in positions), dict(zip(titles, positions))
    assert positions == sorted(positions)
    assert all(t in pdf_text for t in titles)
    assert sorted(p.stem for p in (published / "notebooks").glob("*.ipynb")) == sorted(plan.names + ["zz_provenance"])
    # the summary says exactly what the notebooks recorded
    recorded = {f.key: f for f in findings.read(published / "findings")}
    assert "customers" in recorded and recorded["customers"].estimate == N_CUSTOMERS
    summary_nb = nbformat.read(published / "notebooks" / "99_executive_summary.ipynb", as_version=4)
    text = "\n".join(o.get("text", "") for c in summary_nb.cells for o in c.get("outputs", [])
                     if o.output_type == "stream")
    sentences = [ln[2:] for ln in text.splitlines() if ln.startswith("- ")]
    stated = set()
    for s in sentences:
        parsed = parse_sentence(s)
        matches = [f.key for f in recorded.values() if f.label == parsed["label"] and _agrees(parsed, f)]
        assert matches, f"no recorded finding has the numbers of: {s}"
        stated.update(matches)
    assert stated == set(recorded)  # every finding is stated, each with its own numbers
    # privacy: no planted personal data (fake e-mails, phones, names) and no raw customer id is published
    import pandas as pd

    from cxlib.privacy import find_personal_data

    planted = pd.read_parquet(data / "truth_pii.parquet")["value"].tolist()
    assert len(planted) > 0
    for name, text in (("HTML", html), ("PDF", pdf_text)):
        assert find_personal_data(text, planted) == [], f"personal data in the {name} report"
        assert re.findall(r"\bC\d{7}\b", text) == [], f"raw customer ids in the {name} report"
    # provenance: every input file hashed, parameters recorded
    prov = json.loads((published / "provenance.json").read_text(encoding="utf-8"))
    files = sorted(p.name for p in data.iterdir() if p.is_file())
    assert sorted(prov["data"]["sha256"]) == files
    assert prov["parameters"]["00_data_overview"]["period"] == "2025Q4"
    assert {r["table"] for r in prov["data"]["validation"]} >= {"customers", "events", "survey_responses"}


def _agrees(parsed: dict, f: findings.Finding) -> bool:
    """The sentence's numbers equal the finding's at the displayed precision."""
    scale = 100 if f.unit == "share" else 1
    values = [v * scale for v in (f.estimate, f.ci_lower, f.ci_upper)]
    tol = 0.5 * 10 ** -decimals_for(values) + 1e-9
    ok = abs(parsed["estimate"] - values[0]) <= tol and parsed["method"] == f.method
    if math.isfinite(f.ci_lower) and math.isfinite(f.ci_upper):
        ok &= abs(parsed["ci_lower"] - values[1]) <= tol and abs(parsed["ci_upper"] - values[2]) <= tol
    elif math.isinf(f.ci_lower) or math.isinf(f.ci_upper):
        ok &= parsed["ci_unbounded"]
    if not math.isnan(f.n):
        ok &= parsed["n"] == round(f.n)
    if not math.isnan(f.p_value) and parsed["p_bound"] == "=":
        ok &= abs(parsed["p_value"] - f.p_value) <= 0.005
    return bool(ok)


def test_pipeline_end_to_end_is_byte_identical(synth_data, tmp_path):
    """`make report`'s command on 1,500 synthetic customers, three times: same inputs, same bytes.

    The second run executes everything again (``--no-cache``); the third restores every
    notebook from the run cache, and must publish the same bytes as the executed runs.
    Runs the default plan; while some planned notebooks are still unwritten, the
    plan restricted to those present (at least 00 and 99; see the next test).
    """
    plan = load_plan(ROOT / "reports" / "plan.yml", data_dir=synth_data)
    present = [s.name for s in plan.notebooks if s.path.exists()]
    assert {"00_data_overview", "99_executive_summary"} <= set(present)
    plan_file = ROOT / "reports" / "plan.yml" if len(present) == len(plan.notebooks) else _subset_plan(tmp_path,
                                                                                                      present)
    out = tmp_path / "reports"
    published = _report(plan_file, synth_data, out)
    _check_report(published, plan_file, synth_data)
    first = {ext: (published / f"cx-quarterly-review.{ext}").read_bytes() for ext in ("html", "pdf")}
    notebooks = {p.name: p.read_bytes() for p in (published / "notebooks").glob("*.ipynb")}
    published = _report(plan_file, synth_data, out, "--no-cache")
    assert " cached " not in _report.output
    assert (published / "cx-quarterly-review.html").read_bytes() == first["html"]
    assert (published / "cx-quarterly-review.pdf").read_bytes() == first["pdf"]
    assert (out / "cx-quarterly-review.html").resolve() == (published / "cx-quarterly-review.html").resolve()
    published = _report(plan_file, synth_data, out)
    n_cached = len(re.findall(r"^\s+\S+\s+cached\s", _report.output, flags=re.M))
    assert n_cached == len(load_plan(plan_file, data_dir=synth_data).notebooks), _report.output
    assert (published / "cx-quarterly-review.html").read_bytes() == first["html"]
    assert (published / "cx-quarterly-review.pdf").read_bytes() == first["pdf"]
    assert {p.name: p.read_bytes() for p in (published / "notebooks").glob("*.ipynb")} == notebooks


def test_every_planned_notebook_exists():
    plan = load_plan(ROOT / "reports" / "plan.yml", data_dir=ROOT)
    missing = [s.path.name for s in plan.notebooks if not s.path.exists()]
    if missing:
        pytest.skip(f"the end-to-end test ran a partial plan; planned notebooks not written yet: {missing}")
    assert [s.path.exists() for s in plan.notebooks] == [True] * len(plan.notebooks)
