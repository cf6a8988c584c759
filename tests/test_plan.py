"""Tests of cxlib.report.plan: reading plans and validating parameters before anything executes."""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml

from cxlib.errors import ParameterError
from cxlib.report import runner
from cxlib.report.cache import notebook_reads
from cxlib.report.plan import (REQUIRED_GLOBALS, declared_parameters, load_plan, plan_from_dict, project_root,
                               resolve_notebook, validate_plan, validate_value)

PARAMS = ('data_dir = "../data/default"\nfindings_path = ""\nperiod = "2025Q4"\ncomparison_period = "2025Q3"\n'
          'alpha = 0.05\nseed = 20261123\nsegment_columns = ["loyalty_tier", "region"]\n')


def write_notebook(path: Path, *cells: str, params: str = PARAMS) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "cxlib", "display_name": "Python (cxlib workbook)", "language": "python"}
    pcell = nbformat.v4.new_code_cell(params)
    pcell.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_raw_cell('---\ntitle: "t"\n---'), pcell, *map(nbformat.v4.new_code_cell, cells)]
    nbformat.write(nb, path)
    return path


@pytest.fixture
def root(tmp_path):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "customers.csv").write_text("customer_id\nc1\n", encoding="utf-8")
    mark = 'from pathlib import Path\nPath(r"{p}").write_text("ran")'.format(p=tmp_path / "ran.txt")
    write_notebook(tmp_path / "notebooks" / "10_metrics.ipynb", mark,
                   params=PARAMS + "n_boot: int = 2000\nthreshold = 0.5\nlabel = None\n")
    write_notebook(tmp_path / "notebooks" / "20_journeys.ipynb", mark)
    write_notebook(tmp_path / "notebooks" / "99_summary.ipynb", mark, params=PARAMS + 'findings_dir = ""\n')
    return tmp_path


def raw_plan(root: Path, **changes) -> dict:
    raw = {"title": "T", "notebooks_dir": str(root / "notebooks"),
           "parameters": {"period": "2025Q4", "comparison_period": "2025Q3", "alpha": 0.05, "seed": 1,
                          "segment_columns": ["region"]},
           "notebooks": [{"notebook": "99_summary.ipynb", "depends_on": "all"},
                         {"notebook": "10_metrics.ipynb", "parameters": {"n_boot": 500}},
                         {"notebook": "20_journeys"}]}
    raw.update(changes)
    return raw


def test_declared_parameters_reads_defaults_without_executing(root):
    decl = declared_parameters(root / "notebooks" / "10_metrics.ipynb")
    assert decl == {"data_dir": "../data/default", "findings_path": "", "period": "2025Q4",
                    "comparison_period": "2025Q3", "alpha": 0.05, "seed": 20261123,
                    "segment_columns": ["loyalty_tier", "region"], "n_boot": 2000, "threshold": 0.5, "label": None}
    assert not (root / "ran.txt").exists()


def test_plan_resolves_globals_own_parameters_and_dependencies(root):
    plan = plan_from_dict(raw_plan(root), base=root, data_dir=root / "data")
    assert plan.names == ["99_summary", "10_metrics", "20_journeys"]
    assert plan.notebook("99_summary").depends_on == ("10_metrics", "20_journeys")
    assert plan.notebook("20_journeys").path == root / "notebooks" / "20_journeys.ipynb"
    resolved = validate_plan(plan)
    assert resolved["10_metrics"] == {"period": "2025Q4", "comparison_period": "2025Q3", "alpha": 0.05, "seed": 1,
                                      "segment_columns": ["region"], "data_dir": str(root / "data"), "n_boot": 500}
    assert "n_boot" not in resolved["20_journeys"] and resolved["20_journeys"]["seed"] == 1
    # the plan round-trips through its dict form (what provenance.json stores)
    again = plan_from_dict(plan.to_dict(), base=Path("/nowhere"))
    assert again.names == plan.names and dict(again.parameters) == dict(plan.parameters)


def test_data_dir_from_plan_is_relative_to_the_project_root(root):
    plan = plan_from_dict(raw_plan(root, parameters={**raw_plan(root)["parameters"], "data_dir": "data"}), base=root)
    assert plan.parameters["data_dir"] == str(root / "data")


BAD = [
    # (where, name, value, expected message fragment)
    ("own", "n_boots", 10, r"Notebook '10_metrics', parameter 'n_boots': unknown; expected one of the declared"),
    ("global", "colour", "red", r"global parameter 'colour': unknown; no notebook declares it"),
    ("own", "n_boot", "2000", r"Notebook '10_metrics', parameter 'n_boot': expected type int \(like the default "
                              r"2000\); found str '2000'"),
    ("own", "n_boot", True, r"parameter 'n_boot': expected type int .*found bool True"),
    ("own", "n_boot", 2.5, r"parameter 'n_boot': expected type int .*found float 2.5"),
    ("global", "alpha", "0.05", r"Notebook '99_summary', parameter 'alpha': expected type float .*found str"),
    ("global", "segment_columns", "region", r"parameter 'segment_columns': expected type list .*found str 'region'"),
    ("global", "segment_columns", ["region", 3], r"parameter 'segment_columns': expected a list of str"),
    ("global", "period", None, r"Notebook '99_summary', parameter 'period': expected a value of type str; found a "
                               r"missing value"),
    ("global", "period", "2025-Q4", r"parameter 'period': expected a period like '2025Q4' \(quarter\), '2025-11' "
                                    r"\(month\) or '2025' \(year\), or 'auto' \(from the data\); found '2025-Q4'"),
    ("global", "comparison_period", "2025Q5", r"parameter 'comparison_period': expected a period like"),
    ("global", "period", "auto", r"parameter 'period': 'auto' takes the period from the data, but the data folder "
                                 r"has no table with dates"),
    ("global", "alpha", 0.5, r"parameter 'alpha': expected a number in \(0, 0.5\); found 0.5"),
    ("global", "alpha", 0, r"parameter 'alpha': expected a number in \(0, 0.5\); found 0"),
    ("global", "seed", -1, r"parameter 'seed': expected a non-negative integer seed; found -1"),
    ("global", "findings_path", "x.json", r"Global parameter 'findings_path' is set by the runner"),
]


@pytest.mark.parametrize("where,name,value,message", BAD, ids=[f"{b[1]}={b[2]!r}" for b in BAD])
def test_bad_parameters_raise_before_anything_runs(root, where, name, value, message):
    raw = raw_plan(root)
    if where == "own":
        raw["notebooks"][1]["parameters"] = {name: value}
    else:
        raw["parameters"] = {**raw["parameters"], name: value}
    with pytest.raises(ParameterError, match=message):
        plan = plan_from_dict(raw, base=root, data_dir=root / "data")
        runner.run_plan(plan, out_dir=root / "reports", renderer=_never, progress=None, data_loader=_never)
    assert not (root / "ran.txt").exists()  # no notebook executed
    assert not (root / "reports").exists()  # no build folder, nothing touched


def _never(*args, **kwargs):
    raise AssertionError("must not be called when the plan is invalid")


def test_int_is_accepted_for_a_float_default(root):
    spec = plan_from_dict(raw_plan(root), base=root, data_dir=root / "data").notebook("10_metrics")
    spec = type(spec)(spec.name, spec.path, {"threshold": 1, "label": "anything"})
    assert resolve_notebook(spec, {})["threshold"] == 1
    assert validate_value("nb", "threshold", 1, 0.5) == 1


def test_missing_data_folder_and_missing_globals(root):
    plan = plan_from_dict(raw_plan(root), base=root, data_dir=root / "nope")
    with pytest.raises(ParameterError, match=r"parameter 'data_dir': expected an existing data folder; found "
                                             r".*nope.*make data"):
        validate_plan(plan)
    plan = plan_from_dict(raw_plan(root), base=root)  # no --data, none in the plan
    with pytest.raises(ParameterError, match=r"global parameter\(s\) \['data_dir'\] missing; .*pass --data DIR"):
        validate_plan(plan)
    params = {k: v for k, v in raw_plan(root)["parameters"].items() if k != "seed"}
    plan = plan_from_dict(raw_plan(root, parameters=params), base=root, data_dir=root / "data")
    with pytest.raises(ParameterError, match=r"\['seed'\] missing"):
        validate_plan(plan)
    assert set(REQUIRED_GLOBALS) == {"data_dir", "period", "comparison_period", "alpha", "seed"}


@pytest.mark.parametrize("change,message", [
    ({"notebooks": [{"notebook": "10_metrics.ipynb", "depends_on": "20_journeys"},
                    {"notebook": "20_journeys.ipynb", "depends_on": "10_metrics"}]}, "form a cycle"),
    ({"notebooks": [{"notebook": "10_metrics.ipynb", "depends_on": "30_churn"}]}, "depends on '30_churn'"),
    ({"notebooks": ["10_metrics.ipynb", "10_metrics.ipynb"]}, r"\['10_metrics'\] are listed twice"),
    ({"notebooks": [{"notebook": "10_metrics.ipynb", "params": {}}]}, r"unknown key\(s\) \['params'\]"),
    ({"notebooks": []}, "lists no notebooks"),
    ({"colour": "red"}, r"Unknown key\(s\) \['colour'\]"),
    ({"output": "../evil"}, "must be a plain file stem"),
])
def test_malformed_plans(root, change, message):
    with pytest.raises(ParameterError, match=message):
        plan_from_dict(raw_plan(root, **change), base=root, data_dir=root / "data")


def test_missing_notebook_or_parameters_cell(root):
    plan = plan_from_dict(raw_plan(root, notebooks=["10_metrics", "30_churn"]), base=root, data_dir=root / "data")
    with pytest.raises(ParameterError, match=r"Notebook '30_churn': file .*30_churn.ipynb' not found"):
        validate_plan(plan)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1")]
    nbformat.write(nb, root / "notebooks" / "30_churn.ipynb")
    with pytest.raises(ParameterError, match="'30_churn' has no code cell tagged 'parameters'"):
        validate_plan(plan)


def test_load_plan_errors(tmp_path):
    with pytest.raises(ParameterError, match="not found"):
        load_plan(tmp_path / "missing.yml")
    (tmp_path / "bad.yml").write_text("notebooks: [a\n", encoding="utf-8")
    with pytest.raises(ParameterError, match="is not valid YAML"):
        load_plan(tmp_path / "bad.yml")


def test_the_default_plan(tmp_path):
    root = project_root()
    data = tmp_path / "data"  # dated like the synthetic world: the last complete quarter is 2025Q4
    data.mkdir()
    pd.DataFrame({"customer_id": ["C1", "C2"], "timestamp": ["2024-01-03 10:00", "2025-12-31 18:00"],
                  "amount": [10.0, 20.0]}).to_csv(data / "transactions.csv", index=False)
    plan = load_plan(root / "reports" / "plan.yml", data_dir=data)
    assert (plan.parameters["period"], plan.parameters["comparison_period"]) == ("2025Q4", "2025Q3")
    slugs = ["99_executive_summary", "00_data_overview", "10_metrics", "20_journeys", "30_churn", "35_clv",
             "40_evaluation", "50_voc", "60_segments"]
    assert plan.names == slugs and plan.output == "cx-quarterly-review"
    assert plan.notebook("99_executive_summary").depends_on == tuple(slugs[1:])
    assert all(plan.notebook(s).depends_on == () for s in slugs[1:])
    raw = yaml.safe_load((root / "reports" / "plan.yml").read_text(encoding="utf-8"))
    assert raw["parameters"] == {"period": "auto", "comparison_period": "auto", "alpha": 0.05,
                                 "seed": 20261123, "segment_columns": ["loyalty_tier", "region"], "journey_gap": "3D",
                                 # the value-at-stake pipeline's one parameter set (30, 35, 60)
                                 "clv_horizon_weeks": 52, "annual_discount_rate": 0.1, "margin": 0.3,
                                 "risk_horizon_days": 90, "landmark_days": 1,
                                 "cox_covariates": ["detractor", "unresolved_ticket", "plan"]}
    # the notebooks of this plan that exist accept the plan's parameters
    existing = [s for s in plan.notebooks if s.path.exists()]
    assert {"00_data_overview", "99_executive_summary"} <= {s.name for s in existing}
    for spec in existing:
        assert resolve_notebook(spec, plan.parameters)["seed"] == 20261123


@pytest.mark.parametrize("slug", ["00_data_overview", "99_executive_summary"])
def test_owned_notebooks_follow_the_conventions(slug):
    path = project_root() / "notebooks" / f"{slug}.ipynb"
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata.kernelspec == {"name": "cxlib", "display_name": "Python (cxlib workbook)",
                                      "language": "python"}
    assert nb.cells[0].cell_type == "raw" and nb.cells[0].source.startswith("---\ntitle: ")
    assert nb.cells[1].metadata.tags == ["parameters"]
    decl = declared_parameters(path)
    assert {k: decl[k] for k in ("data_dir", "findings_path", "period", "comparison_period", "alpha", "seed",
                                 "segment_columns")} == {
        "data_dir": "../data/default", "findings_path": "", "period": "2025Q4", "comparison_period": "2025Q3",
        "alpha": 0.05, "seed": 20261123, "segment_columns": ["loyalty_tier", "region"]}
    assert all(c.get("outputs", []) == [] and c.get("execution_count") is None
               for c in nb.cells if c.cell_type == "code")
    assert not any("matplotlib.use(" in c.source for c in nb.cells)


def test_cross_reference_labels_are_unique_across_the_planned_notebooks():
    """The renderer refuses a label used twice in the assembled report: catch it before any run."""
    import nbformat

    from cxlib.report.render import parse_cell_options

    root = project_root()
    plan = load_plan(root / "reports" / "plan.yml", data_dir=root)
    seen: dict[str, str] = {}
    for spec in plan.notebooks:
        for cell in nbformat.read(spec.path, as_version=4).cells:
            label = parse_cell_options(cell.source)[0].get("label") if cell.cell_type == "code" else None
            if label:
                assert label not in seen, f"label {label!r} in {spec.name} and {seen[label]}"
                seen[label] = spec.name
    assert len(seen) > 20


def test_reads_declares_the_data_a_notebook_depends_on(root):
    entries = [{"notebook": "99_summary.ipynb", "depends_on": "all"},
               {"notebook": "10_metrics.ipynb", "reads": ["survey_responses", "customers", "customers"]},
               {"notebook": "20_journeys", "reads": "all"}]
    plan = plan_from_dict(raw_plan(root, notebooks=entries), base=root, data_dir=root / "data")
    assert [s.reads for s in plan.notebooks] == [None, ("customers", "survey_responses"), ("*",)]
    assert [s.to_dict().get("reads") for s in plan.notebooks] == [None, ["customers", "survey_responses"], "all"]
    again = plan_from_dict(plan.to_dict(), base=root, data_dir=root / "data")  # provenance round trip
    assert [s.reads for s in again.notebooks] == [s.reads for s in plan.notebooks]


def test_runner_detects_reads_when_the_plan_does_not_say(root):
    nb = write_notebook(root / "notebooks" / "30_churn.ipynb",
                        'from cxlib import data\nds = data.load(data_dir, tables=["customers", "subscriptions"])')
    plan = plan_from_dict(raw_plan(root, notebooks=[{"notebook": "30_churn.ipynb"},
                                                    {"notebook": "20_journeys.ipynb", "reads": "all"}]),
                          base=root, data_dir=root / "data")
    source = nbformat.read(nb, as_version=4)
    assert notebook_reads(plan.notebooks[0], source) == frozenset({"customers", "subscriptions"})
    assert notebook_reads(plan.notebooks[1], source) is None  # every file


@pytest.mark.parametrize("reads, match", [
    (5, "'reads' must be 'all' or a list of table names"),
    ([""], "'reads' must be 'all' or a list of table names"),
    (["../secrets.csv"], "'reads' entry '../secrets.csv' must name a table or a file inside the data folder"),
    (["/etc/passwd"], "'reads' entry '/etc/passwd' must name a table or a file inside the data folder"),
])
def test_bad_reads_raise(root, reads, match):
    entries = [{"notebook": "10_metrics.ipynb", "reads": reads}]
    with pytest.raises(ParameterError, match=re.escape(f"Notebook '10_metrics': {match}")):
        plan_from_dict(raw_plan(root, notebooks=entries), base=root, data_dir=root / "data")


def test_python_parsing_is_serialised_across_threads(monkeypatch):
    """The runner parses notebooks on several threads; CPython 3.11's ast converter is not
    thread-safe (gh-106905 made our CI fail), so no two parses may overlap."""
    import ast
    import threading
    import time

    from cxlib.report import cache, plan

    inside, overlap, real_parse = [0], [0], ast.parse

    def slow_parse(source, *args, **kwargs):
        inside[0] += 1
        overlap[0] = max(overlap[0], inside[0])
        time.sleep(0.01)
        inside[0] -= 1
        return real_parse(source, *args, **kwargs)

    monkeypatch.setattr(plan.ast, "parse", slow_parse)
    sources = [f"x{i} = data.load(data_dir, tables=['customers'])" for i in range(16)]
    threads = [threading.Thread(target=cache.tables_read, args=([s],), kwargs={"all_tables": ["customers"]})
               for s in sources]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlap[0] == 1
    assert isinstance(plan.parse_python("a = 1"), ast.Module)
    with pytest.raises(SyntaxError):
        plan.parse_python("a = (")


def test_a_renamed_notebook_parameter_still_works_and_warns(tmp_path):
    """``inactivity_gap`` (notebook 20 until issue 16) is now the report-wide ``journey_gap``."""
    from cxlib.report.plan import plan_from_dict

    raw = {"parameters": {"period": "2025Q4", "comparison_period": "2025Q3", "alpha": 0.05, "seed": 1},
           "notebooks": [{"notebook": "20_journeys.ipynb", "parameters": {"inactivity_gap": "2D"}}]}
    with pytest.warns(DeprecationWarning, match="'inactivity_gap'.*use 'journey_gap'"):
        plan = plan_from_dict(raw, data_dir=tmp_path)
    assert dict(plan.notebooks[0].parameters) == {"journey_gap": "2D"}
    raw["notebooks"][0]["parameters"]["journey_gap"] = "1D"
    with pytest.raises(ParameterError, match="both 'inactivity_gap' and its new name 'journey_gap'"):
        plan_from_dict(raw, data_dir=tmp_path)


# --------------------------------------------------------------------------- periods from the data (issue 17)

def _dated_folder(folder: Path, first: str, last: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"customer_id": ["C1", "C2"], "timestamp": [first, last], "amount": [1.0, 2.0]}).to_csv(
        folder / "transactions.csv", index=False)
    return folder


@pytest.mark.parametrize("given, expected", [
    ({"period": "auto", "comparison_period": "auto"}, ("2025Q4", "2025Q3")),
    ({}, ("2025Q4", "2025Q3")),  # no period in the plan: from the data too
    ({"period": "2025-11", "comparison_period": "auto"}, ("2025-11", "2025-10")),
    ({"period": "2025", "comparison_period": "2024"}, ("2025", "2024")),
    ({"period": "auto", "comparison_period": "2025-10"}, ("2025-12", "2025-10")),
    ({"period": "2024Q1", "comparison_period": "auto"}, ("2024Q1", "2023Q4")),  # a comparison before the data is allowed
])
def test_plan_periods_from_the_data(tmp_path, given, expected):
    from cxlib.report.plan import periods_from_data

    data = _dated_folder(tmp_path / "d", "2024-01-02 09:00", "2025-12-31 20:00")
    out = periods_from_data({**given, "data_dir": str(data)})
    assert (out["period"], out["comparison_period"]) == expected


@pytest.mark.parametrize("given, message", [
    ({"period": "2026Q1", "comparison_period": "2025Q4"},
     r"period='2026Q1' \(2026-01-01 to 2026-03-31\) lies outside the data, which span 2024-01-02 to 2025-12-31"),
    ({"period": "2025Q4", "comparison_period": "2025-09"}, r"'2025Q4' is a quarter but comparison_period '2025-09' "
                                                           r"is a month"),
])
def test_plan_periods_outside_the_data_are_errors_stating_the_span(tmp_path, given, message):
    from cxlib.report.plan import periods_from_data

    data = _dated_folder(tmp_path / "d", "2024-01-02 09:00", "2025-12-31 20:00")
    with pytest.raises(ParameterError, match=message):
        periods_from_data({**given, "data_dir": str(data)})


def test_plan_period_auto_on_short_data_takes_months_else_is_an_error(tmp_path):
    from cxlib.report.plan import periods_from_data

    data = _dated_folder(tmp_path / "d", "2025-11-03 09:00", "2025-12-31 20:00")  # no complete quarter
    out = periods_from_data({"period": "auto", "comparison_period": "auto", "data_dir": str(data)})
    assert (out["period"], out["comparison_period"]) == ("2025-12", "2025-11")
    data = _dated_folder(tmp_path / "e", "2025-12-03 09:00", "2025-12-20 20:00")  # no complete month either
    with pytest.raises(ParameterError, match=r"period 'auto' finds no complete quarter or month in the data, which "
                                             r"span 2025-12-03 to 2025-12-20"):
        periods_from_data({"period": "auto", "comparison_period": "auto", "data_dir": str(data)})


# ---------------------------------------------------------------- confinement and the notebooks' own parameters

@pytest.mark.parametrize("entry", ["../outside.ipynb", "/tmp/x/evil.ipynb", "sub/../../outside.ipynb", "link.ipynb"])
def test_a_plan_runs_only_notebooks_of_its_notebooks_folder(root, entry):
    write_notebook(root / "outside.ipynb", "print('escaped')")
    (root / "notebooks" / "link.ipynb").symlink_to(root / "outside.ipynb")
    with pytest.raises(ParameterError, match=r"outside the plan's notebooks folder .*give a file name"):
        plan_from_dict(raw_plan(root, notebooks=[entry]), base=root, data_dir=root / "data")


def test_notebooks_in_a_subfolder_are_inside(root):
    (root / "notebooks" / "extra").mkdir()
    write_notebook(root / "notebooks" / "extra" / "70_more.ipynb")
    plan = plan_from_dict(raw_plan(root, notebooks=["extra/70_more.ipynb"]), base=root, data_dir=root / "data")
    assert plan.notebook("70_more").path == root / "notebooks" / "extra" / "70_more.ipynb"


OWN = [  # (notebook, parameter, value, message): the project notebooks' own parameters, before anything runs
    ("60_segments", "observation_end", "1900-01-01", r"'1900-01-01' is outside the plausible dates 1990-01-01 to "),
    ("60_segments", "observation_end", "2025-13-45", r"expected a date such as '2025-12-31'"),
    ("60_segments", "observation_end", "2199-01-01", r"outside the plausible dates"),
    ("60_segments", "k_max", 1, r"expected an integer from 2 to 30 .*found 1"),
    ("60_segments", "k_max", 500, r"expected an integer from 2 to 30"),
    ("60_segments", "padjust", "bh", r"expected one of \['holm', 'fdr_bh', 'bonferroni', "),
    ("60_segments", "algorithm", "dbscan", r"expected one of \['kmeans', 'gmm'\]; found 'dbscan'"),
    ("60_segments", "alert_dimensions", ["touchpoint", "customer_id"], r"'customer_id' holds personal data"),
    ("60_segments", "save_rate", 1.5, r"expected a share in \[0, 1\]; found 1.5"),
    ("60_segments", "top_n", 0, r"expected a positive integer; found 0"),
    ("20_journeys", "segment_column", "last_name", r"'last_name' holds personal data"),
    ("20_journeys", "end_date", "1900-01-01", r"outside the plausible dates"),
    ("20_journeys", "journey_gap", "-3D", r"expected a positive duration such as '3D'"),
    ("40_evaluation", "designs", ["twfe", "magic"], r"expected values of \['naive', .*found 'magic'"),
    ("40_evaluation", "control_group", "everyone", r"expected one of \['never_treated', 'not_yet_treated'\]"),
    ("30_churn", "curve_segments", ["email"], r"'email' holds personal data"),
]


@pytest.mark.parametrize("notebook, name, value, message", OWN, ids=[f"{o[1]}={o[2]!r}" for o in OWN])
def test_notebook_parameters_are_checked_by_value_before_the_first_notebook(tmp_path, notebook, name, value, message):
    root = project_root()
    raw = yaml.safe_load((root / "reports" / "plan.yml").read_text(encoding="utf-8"))
    raw["parameters"].update(period="2025Q4", comparison_period="2025Q3")
    for entry in raw["notebooks"]:
        if entry["notebook"].startswith(notebook):
            entry["parameters"] = {name: value}
    data = tmp_path / "data"
    data.mkdir()
    (data / "customers.csv").write_text("customer_id\nC1\n", encoding="utf-8")
    plan = plan_from_dict(raw, base=root, data_dir=data)
    with pytest.raises(ParameterError, match=rf"Notebook '{notebook}.*', parameter '{name}': .*" + message):
        runner.run_plan(plan, out_dir=tmp_path / "reports", renderer=_never, progress=None, data_loader=_never)
    assert not (tmp_path / "reports").exists()


@pytest.mark.parametrize("columns", [["first_name"], ["region", "E-Mail"], ["customer_id"], ["comment"],
                                     ["mobile_phone"]])
def test_personal_columns_cannot_be_segments(root, columns):
    raw = raw_plan(root)
    raw["parameters"]["segment_columns"] = columns
    plan = plan_from_dict(raw, base=root, data_dir=root / "data")
    with pytest.raises(ParameterError, match=r"parameter 'segment_columns': '.*' holds personal data"):
        validate_plan(plan)


def test_the_plausible_date_range_is_configurable(monkeypatch):
    from cxlib.report.plan import check_parameter

    check_parameter("w", "observation_end", "1995-06-30")
    monkeypatch.setenv("CX_DATE_RANGE", "2000-01-01..")
    with pytest.raises(ParameterError, match=r"outside the plausible dates 2000-01-01 to .*CX_DATE_RANGE"):
        check_parameter("w", "observation_end", "1995-06-30")
    monkeypatch.setenv("CX_DATE_RANGE", "2030-01-01..2000-01-01")
    with pytest.raises(ParameterError, match="the first date is after the second"):
        check_parameter("w", "observation_end", "2010-06-30")
    check_parameter("w", "observation_end", "")  # empty: the notebook's default
