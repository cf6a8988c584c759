"""Tests of cxlib.requirements (what each section needs) and cxlib.report.coverage (how the report shows it).

The section plan is decided by one function, :func:`cxlib.requirements.plan_sections`; ``cx validate``, the
report runner and the notebooks all call it, and these tests hold them to it.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from cxlib import requirements as rq
from cxlib.report import coverage
from cxlib.schema import TABLES

ROOT = Path(__file__).resolve().parents[1]
FULL = {t.name: [c.name for c in t.columns] for t in TABLES.values()}


def without(tables=(), columns=None):
    """The full contract minus some tables and columns."""
    out = {t: list(c) for t, c in FULL.items() if t not in tables}
    for table, cols in (columns or {}).items():
        out[table] = [c for c in out[table] if c not in cols]
    return out


def test_every_need_names_a_contract_table_and_column():
    for sec in rq.SECTIONS:
        needs = list(sec.needs) + [n for p in sec.parts for n in p.needs]
        needs += [n for p in sec.parts if p.choice for ns in p.choice.needs.values() for n in ns]
        for need in needs:
            assert need.table in TABLES, (sec.name, need)
            for col in (*need.columns, *need.one_of):
                assert col in FULL[need.table], (sec.name, need.table, col)


def test_full_contract_runs_every_section():
    plan = rq.plan_sections(FULL)
    assert plan.complete and [s.status for s in plan] == ["runs"] * len(rq.SECTIONS)
    assert plan.to_frame()["reason"].eq("").all()


def test_transactions_only():
    plan = rq.plan_sections({"transactions": ["customer_id", "timestamp", "amount"]})
    status = dict(zip(plan.to_frame()["section"], plan.to_frame()["status"]))
    assert status == {"overview": "partial", "metrics": "skipped", "journeys": "skipped", "churn": "skipped",
                      "clv": "partial", "evaluation": "skipped", "voc": "skipped", "segments": "skipped"}
    assert plan["metrics"].reason == "no survey_responses table"
    assert plan["evaluation"].reasons == ("no units table", "no program_rollout table")
    clv = plan["clv"]
    assert not clv.runs("segments") and not clv.runs("value_at_stake")
    assert clv.tables == ("transactions",)


@pytest.mark.parametrize("table, part", [("tickets", "support"), ("events", "conversion"), ("customers", "segments")])
def test_metrics_without_a_table_runs_in_part(table, part):
    cov = rq.plan_sections(without([table]))["metrics"]
    assert cov.status == "partial" and not cov.runs(part)
    assert cov.note(part).endswith(f"skipped (no {table} table).")
    assert table not in cov.tables


def test_segment_columns_are_filtered_to_the_customers_columns():
    cols = without(columns={"customers": ["region"]})
    cov = rq.plan_sections(cols, {"segment_columns": ["loyalty_tier", "region", "platform"]})["metrics"]
    assert cov.status == "partial" and cov.usable("segment_columns") == ["loyalty_tier"]
    assert cov.parts["segments"].status == "partial"
    assert "segment_columns 'region': customers has no column 'region'" in cov.reason
    # an extra column of the customers file is a segment like any other
    cols["customers"].append("platform")
    cov = rq.plan_sections(cols, {"segment_columns": ["platform"]})["metrics"]
    assert cov.status == "runs" and cov.usable("segment_columns") == ["platform"]


def test_churn_without_survey_and_tickets_keeps_the_plan_covariate():
    cov = rq.plan_sections(without(["survey_responses", "tickets"]))["churn"]
    assert cov.status == "partial" and cov.usable("cox_covariates") == ["plan"]
    assert cov.parts["drivers"].status == "partial" and cov.runs("drivers")
    cov = rq.plan_sections(without(["survey_responses", "tickets"], {"subscriptions": ["plan"]}))["churn"]
    assert not cov.runs("drivers") and cov.runs("segments")
    assert "Drivers of cancellation (Cox model): skipped" in cov.reason


def test_evaluation_needs_a_metric():
    cols = without(["tickets"], {"transactions": ["returned_items", "stockout_items"]})
    cov = rq.plan_sections(cols)["evaluation"]
    assert cov.status == "partial" and cov.usable("metrics") == ["purchase_frequency", "nps", "csat"]
    assert not cov.runs("counterfactual")  # out_of_stock_rate needs stockout_items
    cov = rq.plan_sections(cols, {"metrics": ["return_rate"]})["evaluation"]
    assert cov.status == "skipped" and "transactions has no column 'returned_items'" in cov.reason


def test_per_notebook_parameters_override_the_global_ones():
    plan = rq.plan_sections(FULL, {"segment_columns": ["region"]},
                            section_parameters={"30_churn": {"segment_columns": ["nope"]}})
    assert plan["metrics"].usable("segment_columns") == ["region"]
    assert plan["churn"].usable("segment_columns") == [] and not plan["churn"].runs("segments")


def test_available_columns_of_a_folder_frames_and_dataset(tmp_path):
    pd.DataFrame({"customer_id": ["a"], "timestamp": ["2025-01-01"], "amount": [1.0]}).to_csv(
        tmp_path / "transactions.csv", index=False)
    pd.DataFrame({"customer_id": ["a"], "region": ["x"]}).to_parquet(tmp_path / "customers.parquet")
    (tmp_path / "notes.csv").write_text("a\n1\n")
    assert rq.available_columns(tmp_path) == {"customers": ["customer_id", "region"],
                                              "transactions": ["customer_id", "timestamp", "amount"]}
    frames = {"tickets": pd.DataFrame(columns=["customer_id", "opened_at"])}
    assert rq.available_columns(frames) == {"tickets": ["customer_id", "opened_at"]}


def test_notes_and_box_escape_markdown():
    cols = {"survey_responses": ["customer_id", "responded_at", "nps"], "customers": ["customer_id"]}
    cov = rq.plan_sections(cols, {"segment_columns": ["a*b_<c>"]})["metrics"]
    assert "a\\*b\\_\\<c\\>" in cov.notes() and "<c>" not in cov.notes()
    box = coverage.coverage_markdown(rq.plan_sections(cols, {"segment_columns": ["a*b_<c>"]}))
    assert box.startswith("> **What these data cover.**") and all(ln.startswith(">") for ln in box.splitlines())
    assert "<c>" not in box and "**Churn: skipped** — no subscriptions table." in box
    assert coverage.coverage_markdown(rq.plan_sections(FULL)) == ""


def test_readme_table_is_generated_from_the_declarations():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    begin, end = "<!-- section-requirements:begin -->", "<!-- section-requirements:end -->"
    assert begin in readme and end in readme, "README lacks the generated table of what each section needs"
    body = readme.split(begin, 1)[1].split(end, 1)[0].strip()
    assert body == rq.requirements_markdown(), ("README's table of what each section needs is stale: replace it "
                                                "with `python -c 'import cxlib.requirements as r; "
                                                "print(r.requirements_markdown())'`")
    for sec in rq.SECTIONS:
        assert re.search(rf"^\| {re.escape(sec.title)} \|", body, flags=re.M)


# ------------------------------------------------------------------ cx validate and the runner: one decision


def _toy_notebook(path: Path, title: str, body: str) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "cxlib", "display_name": "Python (cxlib workbook)", "language": "python"}
    params = nbformat.v4.new_code_cell('data_dir = "../data"\nfindings_path = ""\nperiod = "2025Q4"\n'
                                       'comparison_period = "2025Q3"\nalpha = 0.05\nseed = 1\n'
                                       'segment_columns = ["loyalty_tier"]\n')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_raw_cell(f'---\ntitle: "{title}"\n---'), params, nbformat.v4.new_code_cell(body)]
    nbformat.write(nb, path)


class _Renderer:
    def __init__(self):
        self.notebooks = []

    def __call__(self, notebooks, out_dir, *, title, subtitle="", engine="auto", progress=None):
        import nbformat

        from cxlib.report.render import RenderResult

        self.notebooks = [Path(n) for n in notebooks]
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        text = "\n".join(c.source for n in notebooks for c in nbformat.read(n, as_version=4).cells)
        (out_dir / "r.html").write_text(text, encoding="utf-8")
        (out_dir / "r.pdf").write_bytes(b"%PDF fake")
        return RenderResult(out_dir / "r.html", out_dir / "r.pdf", "fake")


@pytest.mark.pipeline
def test_cx_validate_and_the_runner_apply_the_same_decision(tmp_path, monkeypatch):
    from cxlib.cli import main
    from cxlib.report import runner
    from cxlib.report.plan import plan_from_dict

    data, nbs = tmp_path / "data", tmp_path / "notebooks"
    data.mkdir(), nbs.mkdir()
    pd.DataFrame({"customer_id": ["c1", "c2"], "loyalty_tier": ["gold", "silver"]}).to_csv(
        data / "customers.csv", index=False)
    pd.DataFrame({"customer_id": ["c1", "c2"], "responded_at": ["2025-07-02 10:00:00", "2025-10-02 10:00:00"],
                  "nps": [7, 9]}).to_csv(
        data / "survey_responses.csv", index=False)
    marks = tmp_path / "marks"
    marks.mkdir()
    for stem, title in (("10_metrics", "Metrics"), ("30_churn", "Churn story"), ("99_executive_summary", "Summary")):
        _toy_notebook(nbs / f"{stem}.ipynb", title, f"open(r'{marks / stem}', 'w').close()")
    raw = {"title": "T", "output": "t", "notebooks_dir": str(nbs),
           "parameters": {"period": "2025Q4", "comparison_period": "2025Q3", "alpha": 0.05, "seed": 1},
           "notebooks": [{"notebook": "99_executive_summary.ipynb", "depends_on": "all"},
                         {"notebook": "10_metrics.ipynb"}, {"notebook": "30_churn.ipynb"}]}
    plan = plan_from_dict(raw, base=tmp_path, data_dir=data)
    (tmp_path / "plan.yml").write_text(__import__("yaml").safe_dump(raw))

    calls = []
    real = coverage.plan_sections

    def spy(*args, **kwargs):
        calls.append(real(*args, **kwargs))
        return calls[-1]

    monkeypatch.setattr(coverage, "plan_sections", spy)
    out = CliRunner().invoke(main, ["validate", str(data), "--params", str(tmp_path / "plan.yml")])
    assert out.exit_code == 0, out.output
    printed = out.output.split("Report sections on these data:\n", 1)[1].splitlines()
    decided = calls[-1]
    assert [ln.strip() for ln in printed] == [ln.strip() for ln in coverage.SectionPlan(
        tuple(s for s in decided if s.notebook in ("10_metrics", "30_churn"))).lines()]
    assert re.fullmatch(r"Churn\s+skipped\s+no subscriptions table", printed[1].strip())

    fake = _Renderer()
    result = runner.run_plan(plan, out_dir=tmp_path / "reports", jobs=1, renderer=fake, progress=None,
                             data_loader=None)
    assert result.ok and len(calls) == 2
    assert calls[1].to_frame().equals(calls[0].to_frame())  # the runner decided exactly what validate printed
    # the skipped section's notebook never ran; the others did
    assert sorted(p.name for p in marks.iterdir()) == ["10_metrics", "99_executive_summary"]
    churn = next(r for r in result.runs if r.notebook == "30_churn")
    assert churn.status == "ok" and churn.skipped_section == "no subscriptions table"
    # the report: the coverage box first, the skipped section keeps its place with a stand-in chapter
    assert [p.stem for p in fake.notebooks] == ["00_coverage", "99_executive_summary", "10_metrics", "30_churn",
                                                "zz_provenance"]
    html = (result.html).read_text(encoding="utf-8")
    assert 'title: "Churn story (skipped)"' in html or "title: Churn story (skipped)" in html
    assert "> - **Churn: skipped** — no subscriptions table." in html
    assert "> - **Experience metrics: in part** — " in html


@pytest.mark.pipeline
def test_a_section_with_too_little_data_is_shown_skipped_not_failed(tmp_path):
    from cxlib.report import runner
    from cxlib.report.plan import plan_from_dict

    data, nbs = tmp_path / "data", tmp_path / "notebooks"
    data.mkdir(), nbs.mkdir()
    pd.DataFrame({"customer_id": ["c1", "c1"], "timestamp": ["2025-07-02 10:00:00", "2025-10-02 10:00:00"],
                  "amount": [3.0, 4.0]}).to_csv(data / "transactions.csv", index=False)
    _toy_notebook(nbs / "35_clv.ipynb", "Value", "from cxlib.sections.notes import essential\n"
                  "essential('The lifetime-value models', lambda: 1 / 0)")
    _toy_notebook(nbs / "99_executive_summary.ipynb", "Summary", "print('summary ran')")
    raw = {"title": "T", "output": "t", "notebooks_dir": str(nbs),
           "parameters": {"period": "2025Q4", "comparison_period": "2025Q3", "alpha": 0.05, "seed": 1},
           "notebooks": [{"notebook": "99_executive_summary.ipynb", "depends_on": "all"}, {"notebook": "35_clv.ipynb"}]}
    fake = _Renderer()
    result = runner.run_plan(plan_from_dict(raw, base=tmp_path, data_dir=data), out_dir=tmp_path / "reports", jobs=1,
                             renderer=fake, progress=None, data_loader=None)
    assert result.ok, [r.message for r in result.runs]
    clv = next(r for r in result.runs if r.notebook == "35_clv")
    assert clv.skipped_section == "The lifetime-value models could not be estimated on these data (division by zero)"
    html = result.html.read_text(encoding="utf-8")
    assert "Value (skipped)" in html and "Traceback" not in html
    assert "> **Value: skipped** — The lifetime-value models could not be estimated on these data" in html
