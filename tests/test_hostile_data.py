"""Hostile and personal data through the whole report (issue 19): nothing in the data runs, nothing personal leaks.

A small synthetic world gets payloads planted in every text column the report can show (store ids,
region, tier, touchpoint, ticket channel and category, membership plan, comments) and in the plan's
title: HTML that would run a script, Markdown and Typst markup, matplotlib mathtext, spreadsheet
formulas.  It also gets personal data of many formats and languages (the corpus of
``tests/test_privacy.py``) planted into comments and customer names, and ordinary comments that must
come through untouched.  Then the real report runs (``cx report``'s runner, real kernels, pandoc and
Typst) and ``cx actions`` writes its CSV files, and the tests check every output:

* the HTML, opened in headless Chromium: no planted element or attribute exists in the DOM, no
  planted script ran (the payloads would set ``data-cx-fired`` on the body or call ``alert``);
* the PDF's text (``pdftotext``): every payload that reaches it is shown as its literal text;
* every CSV cell is neutral (OWASP: no formula trigger first);
* every output file (HTML, PDF text, executed notebooks, findings, provenance, CSVs) and the run's
  log: no planted personal item, counted (0 expected), with the redactor's false positives on
  the clean comments reported as a figure.
"""
from __future__ import annotations

import csv
import html
import importlib.util
import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from cxlib.escape import csv_cell_is_neutral, one_line
from cxlib.privacy import Redactor, find_personal_data
from cxlib.report.plan import load_plan, project_root

ROOT = project_root()
N_CUSTOMERS = 1_500
SEED = 20261123


def _load_test_module(name: str):
    spec = importlib.util.spec_from_file_location(f"_cx_{name}", Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PRIVACY = _load_test_module("test_privacy")

# ------------------------------------------------------------------------------------------- the payloads
#: What fires if a payload runs in the browser: an attribute on <body>, or a call of alert().
FIRE = "document.body.setAttribute('data-cx-fired','{m}')"
#: Planted text, by where it goes.  Every payload carries a marker "cxNN" so that its copies can be found.
PAYLOADS = {
    "region": {  # a segment column: tables, forest plots, alerts, findings, the executive summary
        "North": f'North <img src=x onerror="{FIRE.format(m="cx01")}"> cx01',
        "South": "South **cx02 bold** [cx02 link](javascript:alert(2)) <cx-hostile>cx02</cx-hostile>",
        "East": "East #set page(fill: red) `#text(red)[cx03]`{=typst} $cx03$ @fig-cx03",
        "West": "West $$ cx04 big spenders",
        "Central": '=HYPERLINK("http://example.invalid/cx05","cx05")',
    },
    "loyalty_tier": {  # the other segment column
        "bronze": f"bronze <script>{FIRE.format(m='cx06')}</script> cx06",
        "silver": "@SUM(cx07) silver",
        "gold": "+cx08 gold | table | break",
    },
    "plan": {"premium": "premium $$ cx09 $$ plan", "plus": "plus <b onmouseover=alert(10)>cx10</b>"},
    "touchpoint": {"search": f'search <img src=x onerror="{FIRE.format(m="cx11")}"> cx11',
                   "homepage": "homepage </script><script>alert(12)</script> cx12"},
    "channel": {"chat": "-cx13+1 chat", "email": "email ${cx14} &lt;b&gt; cx14"},
    "category": {"price": "price `x`{=html} <iframe src=javascript:alert(15)></iframe> cx15"},
    "unit_id": {"S01": "S01<svg onload=alert(16)>cx16"},
}
TITLE = (f"CX review <img src=x onerror=\"{FIRE.format(m='cx20')}\"> #set page(fill: red) $x^2$ **cx20**")
#: Comments with payloads (comments reach the verbatims, topics and the detractor list).
COMMENT_PAYLOADS = [
    f"The app crashed <script>{FIRE.format(m='cx21')}</script> cx21",
    "Great staff, see [cx22](javascript:alert(22)) and ![x](http://example.invalid/cx22.png)",
    "=cmd|' /C calc'!A0 cx23 the price was too high",
    "Delivery late #set text(red) `cx24`{=typst} $$ cx24 $$",
]
MARKERS = sorted({m for group in PAYLOADS.values() for p in group.values() for m in re.findall(r"cx\d\d", p)}
                 | {"cx20"} | {m for p in COMMENT_PAYLOADS for m in re.findall(r"cx\d\d", p)})


def _remap(frame: pd.DataFrame, column: str, mapping: dict[str, str]) -> pd.DataFrame:
    if column in frame:
        frame[column] = frame[column].astype(object).map(lambda v: mapping.get(v, v) if isinstance(v, str) else v)
    return frame


def build_hostile_world(folder: Path) -> dict:
    """A synthetic world with every payload and the personal-data corpus planted; returns what was planted."""
    from cxlib.synth import generate

    generate(folder, n_customers=N_CUSTOMERS, seed=SEED)
    tables = {p.stem: pd.read_parquet(p) for p in folder.glob("*.parquet") if not p.stem.startswith("truth")}
    rng = np.random.default_rng(7)
    for column in ("region", "loyalty_tier"):
        _remap(tables["customers"], column, PAYLOADS[column])
    _remap(tables["subscriptions"], "plan", PAYLOADS["plan"])
    _remap(tables["events"], "touchpoint", PAYLOADS["touchpoint"])
    _remap(tables["tickets"], "channel", PAYLOADS["channel"])
    _remap(tables["tickets"], "category", PAYLOADS["category"])
    for name, frame in tables.items():
        for column in ("unit_id", "home_unit_id"):
            _remap(frame, column, PAYLOADS["unit_id"])
    # personal data: the corpus customers get their names; comments carry the corpus, payloads and clean text
    customers = tables["customers"]
    named = customers.index[: len(PRIVACY.CORPUS_CUSTOMERS)]
    customers.loc[named, "first_name"] = [f for f, _ in PRIVACY.CORPUS_CUSTOMERS]
    customers.loc[named, "last_name"] = [last for _, last in PRIVACY.CORPUS_CUSTOMERS]
    ids = customers["customer_id"].tolist()
    responses = tables["survey_responses"]
    commented = responses.index[responses["comment"].notna()].to_numpy()
    pick = rng.choice(commented, size=len(PRIVACY.CORPUS) + len(COMMENT_PAYLOADS) + len(PRIVACY.CLEAN_COMMENTS),
                      replace=False)
    planted, clean = [], []
    for row, (text, item) in zip(pick, PRIVACY.CORPUS):
        if item in ("C000123", "c000124"):  # the data's own ids, as customers write them
            real = ids[5] if item == "C000123" else ids[6].lower()
            text, item = text.replace(item, real), real
        responses.loc[row, "comment"] = text
        planted.append(item)
    rest = pick[len(PRIVACY.CORPUS):]
    for row, text in zip(rest, COMMENT_PAYLOADS):
        responses.loc[row, "comment"] = text
    for row, text in zip(rest[len(COMMENT_PAYLOADS):], PRIVACY.CLEAN_COMMENTS):
        responses.loc[row, "comment"] = text
        clean.append(row)
    # the planted comments must be in the report period's verbatims and the detractor list: make them recent
    responses.loc[pick, "responded_at"] = pd.Timestamp("2025-11-20 12:00") + pd.to_timedelta(
        rng.integers(0, 30 * 24 * 60, pick.size), unit="min")
    responses.loc[pick[: len(PRIVACY.CORPUS) + len(COMMENT_PAYLOADS)], "nps"] = 2  # detractors: in detractors.csv
    for name, frame in tables.items():
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    pii = pd.read_parquet(folder / "truth_pii.parquet")["value"].tolist()  # the generator's own planted items
    names = [n for pair in PRIVACY.CORPUS_CUSTOMERS for n in pair if len(n) > 1]  # "伟" alone is no name to scan for
    return {"planted": list(dict.fromkeys([*planted, *pii, *names])), "clean_rows": clean, "planted_rows": list(pick),
            "responses": responses, "customers": customers}


# ------------------------------------------------------------------------------------------- the run

@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    from click.testing import CliRunner

    from cxlib.cli import main
    from cxlib.report import runner

    base = tmp_path_factory.mktemp("hostile")
    world = build_hostile_world(base / "data")
    raw = yaml.safe_load((ROOT / "reports" / "plan.yml").read_text(encoding="utf-8"))
    raw["title"], raw["notebooks_dir"] = TITLE, str(ROOT / "notebooks")
    raw["parameters"]["segment_columns"] = ["loyalty_tier", "region"]
    plan_file = base / "plan.yml"
    plan_file.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), encoding="utf-8")
    log: list[str] = []
    result = runner.run_plan(load_plan(plan_file, data_dir=base / "data"), out_dir=base / "reports", jobs=2,
                             engine="pandoc", progress=log.append)
    assert result.ok, "\n".join(log[-40:])
    with pytest.MonkeyPatch.context() as mp:  # a project secret, as on real data
        mp.setenv("CX_PSEUDONYM_KEY", "hostile-test-secret")
        res = CliRunner().invoke(main, ["actions", str(base / "data"), "--out", str(base / "actions")])
    assert res.exit_code == 0, res.output
    return {**world, "base": base, "result": result, "log": log + [res.output], "plan": plan_file}


def _pdf_text(pdf: Path) -> str:
    exe = shutil.which("pdftotext")
    if exe is not None:
        return subprocess.run([exe, "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True,
                              check=True).stdout
    from pypdf import PdfReader

    return "\n".join(p.extract_text() for p in PdfReader(pdf).pages)


def _outputs(h: dict) -> dict[str, str]:
    """Every output file of the run, as text: HTML, PDF text, notebooks, JSON, CSV; plus the log."""
    out: dict[str, str] = {}
    for path in sorted((h["base"] / "reports").rglob("*")) + sorted((h["base"] / "actions").rglob("*")):
        if not path.is_file() or "_cache" in path.parts:
            continue
        if path.suffix == ".pdf":
            out[str(path)] = _pdf_text(path)
        elif path.suffix in (".html", ".ipynb", ".json", ".csv", ".txt", ".md", ".typ"):
            out[str(path)] = path.read_text(encoding="utf-8")
    out["log"] = "\n".join(h["log"])
    return out


# ------------------------------------------------------------------------------------------- hostile data

BROWSERS = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
PROBE = """<script id="cx-probe-script">
(function () {
  var probe = {alerts: [], scriptErrors: []};
  ["alert", "confirm", "prompt"].forEach(function (name) {
    window[name] = function (x) { probe.alerts.push(name + ":" + x); };
  });
  window.addEventListener("error", function (e) {
    if (!(e.target && e.target !== window)) { probe.scriptErrors.push(String(e.message)); }
  }, true);
  window.addEventListener("load", function () {
    var hover = document.querySelectorAll("*");
    for (var i = 0; i < hover.length; i++) {  // what a reader's mouse would trigger
      ["mouseover", "click", "focus"].forEach(function (t) { hover[i].dispatchEvent(new Event(t)); });
    }
    setTimeout(function () {
      probe.fired = document.body.getAttribute("data-cx-fired");
      var out = document.createElement("pre");
      out.id = "cx-probe";
      out.textContent = JSON.stringify(probe);
      document.body.appendChild(out);
    }, 500);
  });
})();
</script>"""


class _Dom(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data):
        self.text.append(data)


def _dom(h: dict, tmp_path: Path) -> tuple[dict, _Dom]:
    browser = next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)
    if browser is None:
        pytest.skip("no Chromium on PATH: `apt-get install -y chromium` to run the DOM checks")
    report = h["result"].html.read_text(encoding="utf-8")
    page = tmp_path / "probe.html"
    page.write_text(report.replace("<head>", "<head>\n" + PROBE, 1), encoding="utf-8")
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage",
           f"--user-data-dir={tmp_path / 'profile'}", "--host-resolver-rules=MAP * ~NOTFOUND",
           "--virtual-time-budget=8000", "--dump-dom", page.as_uri()]
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env).stdout
    match = re.search(r'<pre id="cx-probe">(.*?)</pre>', dom, re.DOTALL)
    assert match is not None, "the probe did not report"
    probe = json.loads(html.unescape(match.group(1)))
    parsed = _Dom()
    parsed.feed(dom[:match.start()])
    return probe, parsed


@pytest.mark.pipeline
@pytest.mark.slow
def test_nothing_planted_runs_or_exists_in_the_dom(hostile, tmp_path):
    probe, dom = _dom(hostile, tmp_path)
    assert probe["fired"] is None and probe["alerts"] == []
    planted_tags = {"cx-hostile", "iframe", "svg", "script"}
    for tag, attrs in dom.elements:
        assert not (tag == "img" and attrs.get("src") == "x"), attrs
        assert not (tag == "b" and "onmouseover" in attrs)
        hostile_attrs = [k for k, v in attrs.items() if k.startswith("on") or "javascript:" in v.lower()]
        assert hostile_attrs == [], (tag, attrs)
        if tag in planted_tags:  # the report's own scripts (plotly, the probe) carry no marker
            assert not re.search(r"cx\d\d", json.dumps(attrs)), (tag, attrs)
    text = " ".join(" ".join(dom.text).split())
    shown = [m for m in MARKERS if m in text]
    assert {"cx01", "cx02", "cx03", "cx04", "cx20"} <= set(shown)  # the payloads are there, as text
    assert f'CX review <img src=x onerror="{FIRE.format(m="cx20")}"> #set page(fill: red) $x^2$ **cx20**' in text


@pytest.mark.pipeline
@pytest.mark.slow
def test_the_dom_has_no_element_or_script_from_the_data(hostile):
    """The report's own markup only: a script tag holds plotly or nothing, never text from the data."""
    page = hostile["result"].html.read_text(encoding="utf-8")
    for script in re.findall(r"<script\b[^>]*>(.*?)</script>", page, re.DOTALL):
        assert "data-cx-fired" not in script.replace("\\u003c", "<")
        assert "</script><script>alert(12)" not in script


@pytest.mark.pipeline
@pytest.mark.slow
def test_the_pdf_shows_every_payload_that_reaches_it_as_literal_text(hostile):
    """Each payload found in the PDF's text is there character for character (Typst ran none of it).

    The text comes from pypdf (pdftotext drops a hyphen at the end of a line); white space is ignored,
    since tables wrap cells, and a line break after a hyphen is read both ways (a hyphen of the text, or
    one Typst added to break a word).
    """
    from pypdf import PdfReader

    text = "\n".join(page.extract_text() for page in PdfReader(hostile["result"].pdf).pages)
    text = text.replace("\u00ad", "").replace("\ufb01", "fi").replace("\ufb02", "fl")
    kept, joined = re.sub(r"\s+", "", text), re.sub(r"\s+", "", re.sub(r"-\n", "", text))
    payloads = {p for group in PAYLOADS.values() for p in group.values()} | {TITLE, *COMMENT_PAYLOADS}
    reached = sorted(p for p in payloads if any(m in text for m in re.findall(r"cx\d\d", p)))
    assert len(reached) >= 12, reached
    mangled = [p for p in reached if re.sub(r"\s+", "", one_line(p)) not in kept + "\0" + joined]
    assert mangled == []


# ------------------------------------------------------------------------------------------- CSV

@pytest.mark.pipeline
@pytest.mark.slow
def test_every_csv_cell_is_neutral(hostile):
    files = sorted((hostile["base"] / "actions").glob("*.csv")) + sorted((hostile["base"] / "reports").rglob("*.csv"))
    assert len(files) >= 4
    cells = []
    for path in files:
        with path.open(newline="", encoding="utf-8") as fh:
            cells += [(path.name, c) for row in csv.reader(fh) for c in row]
    assert [c for c in cells if not csv_cell_is_neutral(c[1])] == []
    assert any("cx23" in c for _, c in cells)  # a planted formula reached a CSV, neutralised


# ------------------------------------------------------------------------------------------- personal data

@pytest.mark.pipeline
@pytest.mark.slow
def test_no_personal_data_in_any_output(hostile):
    inputs = "\n".join([*hostile["responses"]["comment"].dropna(), *hostile["customers"]["first_name"].dropna(),
                        *hostile["customers"]["last_name"].dropna()])
    planted = find_personal_data(inputs, hostile["planted"])  # the items really in the data: the scan finds them
    assert len(planted) >= 60
    outputs = _outputs(hostile)
    leaks = {name: find_personal_data(text, planted) for name, text in outputs.items()}
    leaks = {k: v for k, v in leaks.items() if v}
    count = sum(len(v) for v in leaks.values())
    print(f"\npersonal-data leak count: {count} ({len(planted)} items planted, {len(outputs)} outputs scanned)")
    assert leaks == {}


@pytest.mark.pipeline
@pytest.mark.slow
def test_the_redactor_leaves_clean_comments_alone(hostile):
    """The false-positive figure: clean comments (and the world's ordinary ones) changed by the redactor."""
    redactor = Redactor.from_customers(hostile["customers"])
    clean = hostile["responses"].loc[hostile["clean_rows"], "comment"]
    changed = [c for c in clean if redactor.redact(c).total]
    responses = hostile["responses"]
    pii_rows = set(pd.read_parquet(hostile["base"] / "data" / "truth_pii.parquet")["response_id"])
    ordinary = responses["comment"].dropna()  # the generator's comments without its planted personal data
    ordinary = ordinary[~responses.loc[ordinary.index, "response_id"].isin(pii_rows)
                        & ~ordinary.index.isin(hostile["planted_rows"])]
    ordinary_changed = int(sum(redactor.redact(c).total > 0 for c in ordinary))
    print(f"\nfalse positives: {len(changed)} of {len(clean)} clean comments, {ordinary_changed} of {len(ordinary)} "
          f"ordinary synthetic comments")
    assert len(changed) <= 2 and ordinary_changed / len(ordinary) < 0.01


# ------------------------------------------------------------------------------------------- quick checks

def _notebook_with_outputs(path: Path, *outputs) -> Path:
    import nbformat

    cell = nbformat.v4.new_code_cell("#| echo: false\n#| output: asis\nshow()", execution_count=1)
    cell.outputs = list(outputs)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_raw_cell('---\ntitle: "Hostile"\n---'), cell])
    nbformat.write(nb, path)
    return path


def test_the_lua_filter_passes_no_raw_markup_from_an_output(tmp_path):
    """A notebook that printed data without escaping it: raw HTML, raw Typst, a script link, a remote image."""
    import nbformat

    from cxlib.report.render import render_report

    raw = ('Label <img src=x onerror="alert(1)"> `#set page(fill: red)`{=typst} `<b>cx30</b>`{=html} '
           '[cx31](javascript:alert(31)) ![cx32](http://example.invalid/cx32.png) [cx34](#x){onclick="alert(34)"} '
           '<span onmouseover="alert(35)" style="position:fixed">cx35</span>\n\n<div onclick="x()">cx33</div>')
    nb = _notebook_with_outputs(tmp_path / "10_x.ipynb", nbformat.v4.new_output("stream", name="stdout", text=raw))
    result = render_report([nb], tmp_path / "out", title="T", engine="pandoc")
    page = result.html.read_text(encoding="utf-8")
    body = page[page.index("<body"):]
    assert not re.search(r"<img[^>]*src=\"?x", body) and not re.search(r"<b>cx30</b>", body)
    assert not re.search(r"href=\"javascript:", body) and "example.invalid/cx32.png\"" not in body
    assert not re.search(r"<\w+[^>]*\s(on\w+|style)=", body), re.findall(r"<\w+[^>]*\s(?:on\w+|style)=[^>]*>", body)
    assert all(f"cx3{i}" in body for i in range(6))  # every piece is there, as text
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in body or "&lt;img src=x onerror=\"alert(1)\"&gt;" in body
    from pypdf import PdfReader

    text = " ".join(p.extract_text() for p in PdfReader(result.pdf).pages)
    assert "#set page(fill: red)" in text and "<b>cx30</b>" in text  # shown, not run (the page is not red)


def test_a_dollar_segment_label_draws_and_shows_as_written():
    from cxlib.plots import metrics as mplots
    from cxlib.report.figures import show_figure

    frame = pd.DataFrame({"comparison": ["region: $$ big spenders", "region: $5 deals"], "difference": [1.0, -2.0],
                          "ci_lower": [0.5, -3.0], "ci_upper": [1.5, -1.0], "p_value": [0.01, 0.2],
                          "significant": [True, False]})
    ax = mplots.forest_plot(frame, alpha=0.05, xlabel="$$ points")
    shown = show_figure(ax.figure, alt="forest")  # unescaped, matplotlib's mathtext would raise ValueError
    assert shown.png[:4] == b"\x89PNG"
    assert "region: $$ big spenders" in [t.get_text() for t in ax.get_yticklabels()]


def test_summary_sentences_escape_labels_from_data():
    from cxlib.findings import Finding
    from cxlib.sections.summary import summary_markdown

    label = "NPS of <img src=x onerror=alert(1)> `#x`{=typst} **y**"
    text = summary_markdown([Finding(key="k", section="segments", label=label, estimate=1.0, method="m", n=10)])
    assert "- NPS of \\<img src=x onerror=alert(1)\\> \\`\\#x\\`\\{=typst\\} \\*\\*y\\*\\* was 1" in text


def test_show_table_escapes_every_cell():
    from cxlib.report.tables import show_table

    shown = show_table(pd.DataFrame({"segment": ["<script>x</script>", "a | b", "1. list"], "n": [1, 2, 3]}))
    assert "\\<script\\>x\\</script\\>" in shown.markdown and "a \\| b" in shown.markdown
    assert "| 1\\. list |" in shown.markdown and "&lt;script&gt;" in shown.html and "<script>" not in shown.html


def test_a_transaction_dated_1900_is_rejected(tmp_path, monkeypatch):
    from cxlib.data import load
    from cxlib.errors import DataContractError

    pd.DataFrame({"customer_id": ["C1", "C2"], "timestamp": ["1900-01-01 10:00", "2025-01-02 10:00"],
                  "amount": [10.0, 20.0]}).to_csv(tmp_path / "transactions.csv", index=False)
    with pytest.raises(DataContractError, match=r"timestamp.*before 1990-01-01, the earliest plausible date"):
        load(tmp_path)
    monkeypatch.setenv("CX_DATE_RANGE", "1899-01-01..")
    assert len(load(tmp_path).transactions) == 2


def test_cx_actions_on_real_data_needs_the_pseudonym_secret(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from cxlib.cli import main
    from cxlib.synth import generate

    generate(tmp_path / "demo", n_customers=300, seed=5)
    real = tmp_path / "real"
    shutil.copytree(tmp_path / "demo", real, ignore=shutil.ignore_patterns("truth*"))  # no planted truth: real data
    monkeypatch.delenv("CX_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("CX_DEMO_DATA", raising=False)
    res = CliRunner().invoke(main, ["actions", str(real), "--out", str(tmp_path / "out")])
    assert res.exit_code == 1 and "CX_PSEUDONYM_KEY is not set" in res.output and "token_hex" in res.output
    assert not (tmp_path / "out").exists()
    with pytest.warns(Warning, match="synthetic demo data"):  # the demo keeps its marked key
        res = CliRunner().invoke(main, ["actions", str(tmp_path / "demo"), "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
