"""Executes notebooks/30_churn.ipynb on a small synthetic world and checks its findings against the truth."""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "30_churn.ipynb"

pytestmark = [pytest.mark.pipeline, pytest.mark.slow]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from cxlib.synth import generate
    folder = tmp_path_factory.mktemp("churn_world") / "data"
    generate(folder, n_customers=2000, seed=1)
    return folder, json.loads((folder / "truth.json").read_text())


@pytest.fixture(scope="module")
def executed(world, tmp_path_factory):
    papermill = pytest.importorskip("papermill", reason="papermill executes the notebook")
    folder, _ = world
    out = tmp_path_factory.mktemp("churn_out")
    findings_path = out / "findings" / "30_churn.json"
    papermill.execute_notebook(str(NOTEBOOK), str(out / "30_churn.ipynb"), kernel_name="cxlib",
                               cwd=str(ROOT / "notebooks"), progress_bar=False,
                               parameters={"data_dir": str(folder), "findings_path": str(findings_path)})
    found = {f["key"]: f for f in json.loads(findings_path.read_text())}
    return found, (out / "30_churn.ipynb").read_text(encoding="utf-8")


def test_notebook_is_saved_without_outputs_and_follows_conventions():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "cxlib"
    assert nb.cells[0].cell_type == "raw" and nb.cells[0].source.startswith("---\ntitle:")
    assert nb.cells[1].metadata["tags"] == ["parameters"]
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    logic = [[ln for ln in c.source.splitlines() if ln.strip() and not ln.startswith(("#|", "import ", "from ", "%"))]
             for c in code[1:]]
    assert max(map(len, logic)) <= 15
    assert not any("matplotlib.use" in c.source for c in code)


def test_findings_are_complete_and_ordered(executed):
    found, _ = executed
    expected = {"churn_retention_12m", "churn_hr_detractor", "churn_hr_unresolved_ticket", "churn_hr_plan_plus",
                "churn_hr_plan_premium", "churn_top_cx_driver"}
    assert expected <= set(found)
    for f in found.values():
        assert f["section"] == "churn" and f["n"] > 0 and f["method"]
        assert math.isfinite(f["estimate"]) and f["ci_lower"] < f["estimate"] < f["ci_upper"]
    assert 0 < found["churn_retention_12m"]["estimate"] < 1


@pytest.mark.parametrize("term", ["detractor", "unresolved_ticket", "plan_plus", "plan_premium"])
def test_hazard_ratios_cover_the_planted_ones(executed, world, term):
    found, _ = executed
    truth = world[1]["subscriptions"]["hazard_ratios"][term]
    f = found[f"churn_hr_{term}"]
    assert f["ci_lower"] <= truth <= f["ci_upper"], (term, truth, f["ci_lower"], f["estimate"], f["ci_upper"])
    assert abs(math.log(f["estimate"] / truth)) < 0.35


def test_retention_matches_the_planted_weibull(executed, world):
    """Planted marginal 12-month retention = mean over subscribers of S(365.25 | x), checked loosely (+-0.06)."""
    import numpy as np
    import pandas as pd
    folder, truth = world
    sub = truth["subscriptions"]
    subs = pd.read_parquet(folder / "subscriptions.parquet")
    hr = subs["plan"].map({"basic": 1.0, "plus": sub["hazard_ratios"]["plan_plus"],
                           "premium": sub["hazard_ratios"]["plan_premium"]})
    base = np.exp(-(365.25 / sub["weibull"]["scale_days"]) ** sub["weibull"]["shape"])
    # detractor / ticket shares raise the hazard for a minority; the plan-only value bounds it from above
    upper = float(np.mean(base ** hr))
    f = executed[0]["churn_retention_12m"]
    assert upper - 0.08 < f["estimate"] < upper + 0.01


def test_strongest_cx_driver_is_the_detractor_status(executed):
    found, text = executed
    assert found["churn_top_cx_driver"]["estimate"] == found["churn_hr_detractor"]["estimate"]
    assert found["churn_top_cx_driver"]["p_value"] < 0.05
    assert not re.search(r"\bC\d{7}\b", text)  # no raw customer id reaches the report
