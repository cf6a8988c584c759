"""The default report read as a stakeholder reads it (marked ``pipeline``, ``slow``): `cx report` on the
demo data of `make data`, then checks on the rendered PDF and HTML.

- page budget: a body of at most 25 pages before the appendix, at most 60 pages in all;
- an HTML file of at most 5 MB (no plotting library embedded for one figure);
- the executive summary on page 1: its key messages, each number equal to the recorded finding it cites;
- no variable names of the notebooks' parameters, no developer wording, no tool errors in the prose;
- no ``nan``, ``inf``, ``None`` or infinity sign as a displayed value;
- demo data said once, on the title page.
"""
from __future__ import annotations

import html as _html
import json
import re

import nbformat
import pytest
from click.testing import CliRunner

from cxlib import findings
from cxlib.cli import main
from cxlib.format import format_number
from cxlib.report.plan import load_plan, project_root
from cxlib.schema import contract_frame
from cxlib.sections import summary

pytestmark = [pytest.mark.pipeline, pytest.mark.slow]
ROOT = project_root()
BODY_PAGES, TOTAL_PAGES, HTML_BYTES = 25, 60, 5 * 1024 * 1024
CONTRACT_COLUMNS = frozenset(contract_frame()["column"])
#: Wording meant for developers or test harnesses, never for a reader of the report.
DEVELOPER_WORDS = ("synthetic world", "plants", "planted", "quarto not found", "not found", "Traceback",
                   "DownloadLink(", "object at 0x", "<IPython", "cxlib.", "acceptable for synthetic")


@pytest.fixture(scope="module")
def report(tmp_path_factory, monkeypatch_module):
    data = ROOT / "data" / "default"
    if not (data / "truth.json").is_file():  # `make data` not run: the same demo world, in a temporary folder
        from cxlib.synth import generate

        data = tmp_path_factory.mktemp("demo") / "data"
        generate(data, n_customers=10_000, seed=20261123)
    monkeypatch_module.setenv("CX_DEMO_DATA", "1")
    out = tmp_path_factory.mktemp("report")
    res = CliRunner().invoke(main, ["report", "--params", str(ROOT / "reports" / "plan.yml"), "--data", str(data),
                                    "--out", str(out), "--no-cache"])
    assert res.exit_code == 0, res.output
    published = out / "_output"
    plan = load_plan(ROOT / "reports" / "plan.yml", data_dir=data)
    from pypdf import PdfReader

    reader = PdfReader(published / f"{plan.output}.pdf")
    raw_html = (published / f"{plan.output}.html").read_text(encoding="utf-8")
    return {"published": published, "plan": plan, "reader": reader,
            "pages": [" ".join((p.extract_text() or "").split()) for p in reader.pages],
            "html_bytes": (published / f"{plan.output}.html").stat().st_size, "raw_html": raw_html,
            "html_text": _visible_text(raw_html), "recorded": findings.read(published / "findings")}


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def _visible_text(page: str) -> str:
    page = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", page)
    page = re.sub(r"(?s)<[^>]+>", " ", page)
    return " ".join(_html.unescape(page).split())


def _appendix_start(reader) -> int:
    """1-based page of the first chapter whose title starts with 'Appendix' (from the PDF outline)."""
    for item in reader.outline:
        if not isinstance(item, list) and re.sub(r"^\d+\s+", "", item.title).startswith("Appendix"):
            return reader.get_destination_page_number(item) + 1
    raise AssertionError("the report has no appendix chapter")


def _provenance_start(pages: list[str]) -> int:
    return next(i for i, p in enumerate(pages) if "Appendix: provenance" in p and "Package versions" in p)


def test_page_budget_and_html_size(report):
    body = _appendix_start(report["reader"]) - 1
    total = len(report["pages"])
    assert body <= BODY_PAGES, f"the body runs {body} pages (budget {BODY_PAGES})"
    assert total <= TOTAL_PAGES, f"the PDF has {total} pages (budget {TOTAL_PAGES})"
    assert report["html_bytes"] <= HTML_BYTES, f"the HTML is {report['html_bytes'] / 1e6:.1f} MB"
    assert "plotly" not in report["raw_html"].lower()  # the journey flow is an inline SVG


def test_executive_summary_is_page_one_with_the_recorded_numbers(report):
    recorded = report["recorded"]
    alpha = report["plan"].parameters["alpha"]
    messages = summary.key_messages(recorded, alpha=alpha)
    assert 3 <= len(messages) <= 5
    assert [m.importance for m in messages] == sorted((m.importance for m in messages), reverse=True)
    first = report["pages"][0]
    by_key = {f.key: f for f in recorded}
    for m in messages:
        for part in (m.text, m.recommendation):  # on page 1 of the PDF and in the HTML, word for word
            assert " ".join(part.split()) in first, part
            assert " ".join(part.split()) in report["html_text"], part
        for key, field, shown in m.numbers:  # every number is the recorded one at the shown precision
            f = by_key[key]
            if f.unit == "share":
                f = findings.Finding(**{**f.__dict__, "estimate": 100 * f.estimate, "ci_lower": 100 * f.ci_lower,
                                        "ci_upper": 100 * f.ci_upper, "unit": "pp"})
            value = f.n - f.estimate if field == "n - estimate" else getattr(f, field)
            digits = 0 if field in ("n", "n - estimate") else summary.message_digits(f)
            expected = format_number(value, digits)
            assert shown.lstrip("−-") == expected.lstrip("−-"), (key, field, shown, expected)
    # the significance rule is stated once, and the scorecard follows on page 2
    assert first.count("false-discovery control across all") == 1
    assert "How are we doing?" in report["pages"][1]


def test_findings_appendix_lists_every_recorded_result(report):
    nb = nbformat.read(report["published"] / "notebooks" / "99_executive_summary.ipynb", as_version=4)
    tables = [o["data"]["text/markdown"] for c in nb.cells if "#| label: tbl-findings" in c.source
              for o in c.get("outputs", []) if "data" in o and "text/markdown" in o["data"]]
    assert len(tables) == 1
    sig = summary.significance_table(report["recorded"])
    rows = [ln for ln in tables[0].splitlines() if ln.startswith("| ")][1:]
    assert len(rows) == int((sig["repeat_of"] == "").sum())


def test_no_variable_names_or_developer_words_in_the_prose(report):
    names = set()
    for spec in report["plan"].notebooks:
        params = nbformat.read(spec.path, as_version=4).cells[1].source
        names |= {n for n in re.findall(r"^(\w+)\s*=", params, flags=re.M) if "_" in n}
    body = report["pages"][:_provenance_start(report["pages"])]  # the provenance lists the plan by its names
    raw = report["raw_html"].split("Appendix: provenance")[0]
    html = _visible_text(re.sub(r"(?is)<table\b.*?</table>", " ", raw))  # prose: a data column may be so named
    in_tables = " ".join(re.findall(r"(?is)<table\b.*?</table>", raw))
    for where, text in [("PDF", " ".join(body)), ("HTML", html)]:
        # a parameter may share its name with a data column of the contract, which tables show by name
        shown = (names if where == "HTML" else {n for n in names if n not in in_tables}) - CONTRACT_COLUMNS
        found = sorted(n for n in shown if re.search(rf"(?<![\w/.-]){re.escape(n)}(?![\w/.-])", text))
        assert found == [], f"parameter names in the {where} prose: {found}"
        words = [w for w in DEVELOPER_WORDS if w.lower() in text.lower()]
        assert words == [], f"developer wording in the {where}: {words}"


def test_no_missing_or_infinite_values_displayed(report):
    for where, text in [("PDF", " ".join(report["pages"])), ("HTML", report["html_text"])]:
        bad = re.findall(r"(?<![\w.])(nan|NaN|inf|-inf|None|∞)(?![\w.])", text)
        assert bad == [], f"{where} displays {sorted(set(bad))}"


def test_demo_data_is_said_once_on_the_title_page(report):
    pages = report["pages"]
    assert summary.DEMO_NOTE in pages[0]
    assert sum(p.count(summary.DEMO_NOTE) for p in pages) == 1
    assert report["html_text"].count(summary.DEMO_NOTE) == 1


def test_provenance_names_the_renderer_used(report):
    prov = json.loads((report["published"] / "provenance.json").read_text(encoding="utf-8"))
    engine = prov["run"]["engine"]
    text = " ".join(report["pages"][_provenance_start(report["pages"]):])
    assert ("Rendered with Quarto" if engine == "quarto" else "Rendered with pandoc") in text
