"""Executes notebooks/35_clv.ipynb on a small synthetic world and checks its findings against the truth.

The BG/NBD world is exact before the first program rollout (truth -> bgnbd -> exact_window), so the test
fits on purchases up to the day before it (``calibration_end``) and records the model parameters.
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "35_clv.ipynb"

pytestmark = [pytest.mark.pipeline, pytest.mark.slow]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from cxlib.synth import generate
    folder = tmp_path_factory.mktemp("clv_world") / "data"
    generate(folder, n_customers=2000, seed=1)
    return folder, json.loads((folder / "truth.json").read_text())


@pytest.fixture(scope="module")
def executed(world, tmp_path_factory):
    papermill = pytest.importorskip("papermill", reason="papermill executes the notebook")
    folder, truth = world
    out = tmp_path_factory.mktemp("clv_out")
    findings_path = out / "findings" / "35_clv.json"
    cal_end = (pd.Timestamp(truth["bgnbd"]["exact_window"]["end"]) - pd.Timedelta(days=1)).date().isoformat()
    papermill.execute_notebook(str(NOTEBOOK), str(out / "35_clv.ipynb"), kernel_name="cxlib",
                               cwd=str(ROOT / "notebooks"), progress_bar=False,
                               parameters={"data_dir": str(folder), "findings_path": str(findings_path),
                                           "calibration_end": cal_end, "record_model_parameters": True})
    found = {f["key"]: f for f in json.loads(findings_path.read_text())}
    return found, (out / "35_clv.ipynb").read_text(encoding="utf-8")


def test_notebook_is_saved_without_outputs_and_follows_conventions():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "cxlib"
    assert nb.cells[0].cell_type == "raw" and nb.cells[0].source.startswith("---\ntitle:")
    assert nb.cells[1].metadata["tags"] == ["parameters"]
    assert "record_model_parameters = False" in nb.cells[1].source
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    logic = [[ln for ln in c.source.splitlines() if ln.strip() and not ln.startswith(("#|", "import ", "from ", "%"))]
             for c in code[1:]]
    assert max(map(len, logic)) <= 15


def test_headline_findings_are_finite_with_ordered_intervals(executed):
    found, _ = executed
    assert {"clv_median", "clv_total", "clv_at_risk"} <= set(found)
    for key in ("clv_median", "clv_total", "clv_at_risk"):
        f = found[key]
        assert f["section"] == "clv" and f["unit"] == "EUR" and f["n"] > 0
        assert math.isfinite(f["estimate"]) and 0 < f["ci_lower"] < f["estimate"] < f["ci_upper"]
    # value at stake is a fraction of the whole base's value; the median is below the mean
    assert found["clv_at_risk"]["estimate"] < found["clv_total"]["estimate"]
    assert found["clv_median"]["estimate"] < found["clv_total"]["estimate"] / found["clv_total"]["n"]


@pytest.mark.parametrize("model,param,truth_key,name", [
    ("betageo", "r", "bgnbd", "r"), ("betageo", "alpha", "bgnbd", "alpha"), ("betageo", "a", "bgnbd", "a"),
    ("betageo", "b", "bgnbd", "b"), ("gammagamma", "p", "gamma_gamma", "p"), ("gammagamma", "q", "gamma_gamma", "q"),
    ("gammagamma", "gamma", "gamma_gamma", "gamma")])
def test_model_parameters_cover_the_planted_ones(executed, world, model, param, truth_key, name):
    found, _ = executed
    truth = world[1][truth_key][name]
    f = found[f"clv_param_{model}_{param}"]
    assert f["ci_lower"] <= truth <= f["ci_upper"], (param, truth, f["ci_lower"], f["estimate"], f["ci_upper"])


def test_no_raw_customer_id_is_shown(executed):
    _, text = executed
    assert not re.search(r"\bC\d{7}\b", text)
    assert re.search(r"\bP[0-9a-f]{16}\b", text)  # the at-risk table shows pseudonyms instead
