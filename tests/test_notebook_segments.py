"""Executes notebooks/60_segments.ipynb on a small synthetic world and checks its findings and privacy."""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "60_segments.ipynb"

pytestmark = [pytest.mark.pipeline, pytest.mark.slow]


def test_notebook_is_saved_without_outputs_and_follows_conventions():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "cxlib"
    assert nb.cells[0].cell_type == "raw" and nb.cells[0].source.startswith("---\ntitle:")
    assert nb.cells[1].metadata["tags"] == ["parameters"]
    for name in ("data_dir", "findings_path", "period", "comparison_period", "alpha", "seed", "segment_columns"):
        assert re.search(rf"^{name} = ", nb.cells[1].source, re.M), name
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    logic = [[ln for ln in c.source.splitlines() if ln.strip() and not ln.startswith(("#|", "import ", "from ", "%"))]
             for c in code[1:]]
    assert max(map(len, logic)) <= 15
    assert "matplotlib.use" not in "".join(c.source for c in code)


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    papermill = pytest.importorskip("papermill", reason="papermill executes the notebook")
    from cxlib.synth import generate
    folder = tmp_path_factory.mktemp("seg_world") / "data"
    generate(folder, n_customers=2000, seed=1)
    out = tmp_path_factory.mktemp("seg_out")
    findings_path = out / "findings" / "60_segments.json"
    papermill.execute_notebook(str(NOTEBOOK), str(out / "60_segments.ipynb"), kernel_name="cxlib",
                               cwd=str(ROOT / "notebooks"), progress_bar=False,
                               parameters={"data_dir": str(folder), "findings_path": str(findings_path),
                                           "fdr_dashboards": 200, "stability_bootstraps": 5})
    found = {f["key"]: f for f in json.loads(findings_path.read_text())}
    return found, (out / "60_segments.ipynb").read_text(encoding="utf-8")


def test_findings_are_recorded_with_their_evidence(executed):
    found, _ = executed
    assert {"alerts_period_count", "alerts_rest_count", "alerts_fdr", "segments_k", "segments_stability",
            "action_detractors_rows", "action_churn_risk_rows", "action_churn_risk_value",
            "action_sla_breaches_rows"} <= set(found)
    assert all(f["section"] == "segments" for f in found.values())
    st = found["segments_stability"]
    assert 0 <= st["ci_lower"] <= st["estimate"] <= st["ci_upper"] <= 1
    v = found["action_churn_risk_value"]
    assert v["unit"] == "EUR" and 0 < v["ci_lower"] < v["estimate"] < v["ci_upper"] and v["n"] > 0
    assert "assumption" in v["detail"]
    # agreement with the synthetic world's planted groups is shown in the section, not in the summary
    assert "segments_truth_ari" not in found
    assert 2 <= found["segments_k"]["estimate"] <= 8
    # the dashboard over every family does not cry wolf: simulated FDR at most alpha, within Monte Carlo error
    fdr = found["alerts_fdr"]
    assert fdr["n"] == 200 and fdr["ci_lower"] <= fdr["estimate"] <= fdr["ci_upper"]
    assert fdr["ci_lower"] <= 0.05 and "power" in fdr["detail"]


def test_alerts_cover_every_family_and_the_lists_carry_the_segments(executed):
    _, raw = executed
    text = raw.replace("\\\\_", "_").replace("\\_", "_")  # markdown tables escape underscores
    assert "tbl-alert-fdr" in text and "false_alert_rate" in text and "| family |" in text
    assert "p_adjusted" in text and "alerts.csv" in text  # the full table: appendix and CSV download
    assert "| customer pseudonym | rfm segment | behavioural segment |" in text
    assert "planted" not in text and "synthetic world" not in text  # no test-harness wording for readers


def test_no_raw_customer_id_is_shown(executed):
    _, text = executed
    assert not re.search(r"\bC\d{7}\b", text)
    assert re.search(r"\bP[0-9a-f]{16}\b", text)
