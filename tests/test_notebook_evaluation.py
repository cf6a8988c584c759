"""Tests of notebooks/40_evaluation.ipynb: its conventions (fast) and a papermill run on a synthetic world whose
recorded program effects are compared with the world's planted truth (``truth.json`` -> ``program_effects``)."""
from __future__ import annotations

import json
import math
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "40_evaluation.ipynb"
RATES = ("complaint_rate", "purchase_frequency", "return_rate", "out_of_stock_rate")
METRICS = (*RATES, "nps", "csat")  # every outcome the program targets
BETTER = {"complaint_rate": "lower", "purchase_frequency": "higher", "return_rate": "lower",
          "out_of_stock_rate": "lower", "nps": "higher", "csat": "higher"}
UNITS = {**{m: "%" for m in RATES}, "nps": "points", "csat": "pp"}  # NPS and CSAT effects in their own unit


def _code(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def test_notebook_follows_the_conventions():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert nb.metadata["kernelspec"] == {"name": "cxlib", "display_name": "Python (cxlib workbook)",
                                         "language": "python"}
    assert nb.cells[0].cell_type == "raw" and nb.cells[0].source.startswith("---\ntitle:")
    params = nb.cells[1]
    assert params.metadata["tags"] == ["parameters"]
    for name in ("data_dir", "findings_path", "period", "alpha", "seed", "metrics", "program", "program_start",
                 "pre_start", "post_end", "freq", "control_group", "designs", "design", "check_design", "event_window",
                 "counterfactual_metric", "n_sim"):
        assert f"\n{name} = " in "\n" + params.source
    code = _code(nb)
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)  # saved without outputs
    assert not any("matplotlib.use" in c.source for c in code)
    labels = [l.split(":", 1)[1].strip() for c in code for l in c.source.splitlines() if l.startswith("#| label:")]
    assert labels == ["tbl-program-decision", "fig-event-study", "tbl-effects", "fig-effects", "fig-counterfactual"]
    # the full design table, the forest plot and the counterfactual go to the report's appendix
    appendix = [c for c in code if "appendix" in c.metadata.get("tags", [])]
    assert any("tbl-effects" in c.source for c in appendix) and any("fig-counterfactual" in c.source for c in appendix)

    def logic_lines(source):  # not counting Quarto options, imports and blank lines
        return [l for l in source.splitlines() if l.strip() and not l.startswith(("#|", "import ", "from ", "%"))]
    assert max(len(logic_lines(c.source)) for c in code[1:]) <= 15


def test_parameters_are_valid_for_the_runner():
    from cxlib.report.plan import declared_parameters

    params = declared_parameters(NOTEBOOK)
    assert params["design"] == "twfe" and params["metrics"] == list(METRICS)
    assert params["event_window"] == [-6, 6]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    # 10,000 customers (~420 per store): the size at which the TWFE intervals cover every planted effect
    # (the default report world; measured errors -1.2, -1.4, -0.5, -0.9 pp). Generation ~5 s, notebook ~10 s.
    from cxlib.synth import generate

    out = tmp_path_factory.mktemp("evaluation_world")
    truth = generate(out / "data", n_customers=10_000, seed=20261123)
    return out, truth


def _execute(out: Path, name: str, **parameters) -> tuple[Path, list[dict]]:
    import papermill as pm

    from cxlib.report.runner import KERNEL_NAME, ensure_kernel

    ensure_kernel(KERNEL_NAME)
    findings_path = out / name / "findings.json"
    output = out / name / "40_evaluation.ipynb"
    output.parent.mkdir(parents=True, exist_ok=True)
    pm.execute_notebook(str(NOTEBOOK), str(output), kernel_name=KERNEL_NAME, cwd=str(NOTEBOOK.parent),
                        parameters={"data_dir": str(out / "data"), "findings_path": str(findings_path),
                                    **parameters}, progress_bar=False)
    return output, json.loads(findings_path.read_text())


@pytest.fixture(scope="module")
def executed(world):
    out, truth = world
    output, found = _execute(out, "default")
    return truth, nbformat.read(output, as_version=4), {f["key"]: f for f in found}


@pytest.mark.slow
@pytest.mark.pipeline
def test_one_finding_per_metric_with_ordered_finite_intervals(executed):
    _, _, found = executed
    assert set(found) == {f"program_effect_{m}" for m in METRICS} | {"program_stores"}
    assert (found["program_stores"]["estimate"], found["program_stores"]["n"]) == (18, 24)
    for metric in METRICS:
        f = found[f"program_effect_{metric}"]
        assert f["section"] == "evaluation" and f["unit"] == UNITS[metric] and f["better"] == BETTER[metric]
        assert ("Callaway-Sant'Anna DiD agrees" in f["detail"]) or ("Callaway-Sant'Anna DiD disagrees" in f["detail"])
        assert all(math.isfinite(f[k]) for k in ("estimate", "ci_lower", "ci_upper", "p_value"))
        assert f["ci_lower"] < f["estimate"] < f["ci_upper"]
        assert 0 <= f["p_value"] <= 1 and f["ci_level"] == 0.95
        assert f["n"] == 24 and "TWFE" in f["method"] and f["comparison"] == ""


@pytest.mark.slow
@pytest.mark.pipeline
@pytest.mark.parametrize("metric", RATES)
def test_recorded_twfe_effects_cover_the_planted_truth(executed, metric):
    truth, _, found = executed
    planted = 100 * (truth["program_effects"][metric]["relative_effect"] - 1)  # -30, +20, -25, -40 %
    f = found[f"program_effect_{metric}"]
    assert f["ci_lower"] < planted < f["ci_upper"]
    assert abs(f["estimate"] - planted) < 5  # measured: 1.2, 1.4, 0.5, 0.9 percentage points
    assert f["p_value"] < 0.01  # every planted effect is detected at this size (largest p measured 0.0022)


@pytest.mark.slow
@pytest.mark.pipeline
def test_report_shows_tables_figures_verdicts_and_caveats_without_tracebacks(executed):
    _, nb, _ = executed
    code = _code(nb)
    outputs = [o for c in code for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    assert not [o for o in outputs if o.output_type == "stream" and o.name == "stderr"]  # no warning leaks
    pngs = [o for o in outputs if "data" in o and "image/png" in o["data"]]
    assert len(pngs) == 3  # event study, forest plot, counterfactual
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    verdicts = [l for l in text.splitlines() if l.startswith("- ") and "relative to comparable stores" in l]
    assert len(verdicts) == 6 and all("24 stores" in v for v in verdicts)
    # pre-trends in plain words, and where TWFE and the staggered design disagree, which assumption decides
    assert "Before the rollout, the stores that got the program and the comparison stores moved in step" in text
    assert ("**Where the designs disagree.**" in text and "works equally in every rollout wave" in text) or \
        "**The designs agree.**" in text
    assert "Purchase frequency rose" in text and "Complaints per 1,000 customers fell" in text
    # six never-treated donors cannot reach p < 0.05 in the placebo test: said to the reader, not on stderr
    assert "**Small sample**" in text and "smallest p-value 1/7" in text
    table = next(o["data"]["text/markdown"] for c in code if "tbl-effects" in c.source for o in c.outputs
                 if "data" in o and "text/markdown" in o["data"])
    assert table.count("naive before/after") == 6 and table.count("TWFE DiD") == 6
    assert "∞" not in table  # an unbounded interval is a dash, explained in the caption


@pytest.mark.slow
@pytest.mark.pipeline
def test_common_start_runs_the_2x2_design_and_shows_the_pretrend_caveat(world):
    # Forcing one start (2025-01-01) on all three waves is wrong on purpose: the first wave is already treated
    # before it, so its "pre" months contain the effect: the lead at -3 jumps and the joint test over
    # leads -4..-1 rejects (measured p = 0.014 on this world).
    out, _ = world
    output, found = _execute(out, "common_start", program_start="2025-01-01", design="2x2",
                             designs=["naive", "2x2", "twfe"], metrics=["out_of_stock_rate"], event_window=[-4, 4],
                             counterfactual_metric="return_rate")  # not in metrics: its panel is built on demand
    nb = nbformat.read(output, as_version=4)
    text = "".join(o.get("text", "") for c in _code(nb) for o in c.get("outputs", []) if o.output_type == "stream")
    assert "common program start 2025-01-01" in text
    assert "Parallel pre-trends doubtful" in text and "⚠" in text
    assert not [o for c in _code(nb) for o in c.get("outputs", []) if o.output_type == "stream" and o.name == "stderr"]
    assert [f["key"] for f in found] == ["program_effect_out_of_stock_rate", "program_stores"]
    assert found[0]["method"] == "2x2 DiD vs comparable stores"
    assert found[0]["ci_lower"] < -40 + 10 and found[0]["estimate"] < 0  # biased towards zero (measured -34.5%)
