"""Open the rendered HTML report in headless Chromium, offline, and check what a reader gets.

The report is copied with a small probe script injected at the top of
``<head>``: it records failed resource loads, script errors and
``console.error``/``console.warn`` calls, then on ``load`` writes into the DOM
how many images decoded, which network resources were fetched (Resource
Timing: none is expected, everything is embedded) and the document's outline.
``chromium --dump-dom`` prints the DOM after load, so no DevTools client is
needed.  DNS is disabled for the browser (``--host-resolver-rules``), so any
external URL would show up as a failed request.  Each check runs on both renderers
(the ``renderer`` fixture of ``tests/conftest.py``; Quarto's half is skipped without Quarto):
Quarto once linked require.js and jQuery from a CDN here ("define is not defined" offline).
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from cxlib.report.render import render_report

pytestmark = pytest.mark.browser

BROWSERS = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
PROBE = """<script id="cx-probe-script">
(function () {
  var probe = {resourceErrors: [], scriptErrors: [], console: []};
  window.__cxProbe = probe;
  window.addEventListener("error", function (e) {
    if (e.target && e.target !== window) {
      probe.resourceErrors.push((e.target.tagName || "?") + " " + (e.target.src || e.target.href || ""));
    } else {
      probe.scriptErrors.push(String(e.message));
    }
  }, true);
  ["error", "warn"].forEach(function (level) {
    var original = console[level];
    console[level] = function () {
      probe.console.push(level + ": " + Array.prototype.join.call(arguments, " "));
      return original.apply(console, arguments);
    };
  });
  window.addEventListener("load", function () {
    var imgs = Array.prototype.slice.call(document.images);
    probe.images = imgs.length;
    probe.decoded = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
    probe.fetched = performance.getEntriesByType("resource").map(function (r) { return r.name; });
    probe.title = document.title;
    probe.h1 = Array.prototype.map.call(document.querySelectorAll("h1"), function (h) { return h.textContent; });
    probe.tocLinks = document.querySelectorAll("nav#TOC a").length;
    probe.math = document.querySelectorAll("math").length;
    probe.tables = document.querySelectorAll("table").length;
    probe.bodyFont = getComputedStyle(document.body).fontFamily;
    var out = document.createElement("pre");
    out.id = "cx-probe";
    out.textContent = JSON.stringify(probe);
    document.body.appendChild(out);
  });
})();
</script>"""


def _browser() -> str | None:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def _load_test_render():
    spec = importlib.util.spec_from_file_location("_cx_test_render", Path(__file__).with_name("test_render.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_probe(browser: str, html: Path, workdir: Path) -> tuple[dict, str]:
    page = workdir / "probe.html"
    text = html.read_text(encoding="utf-8")
    page.write_text(re.sub(r"<head>", "<head>\n" + PROBE.replace("\\", "\\\\"), text, count=1), encoding="utf-8")
    profile = workdir / "profile"
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--host-resolver-rules=MAP * ~NOTFOUND",
           "--virtual-time-budget=5000", "--dump-dom", page.as_uri()]
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    match = re.search(r'<pre id="cx-probe">(.*?)</pre>', proc.stdout, re.DOTALL)
    if match is None:
        raise AssertionError(f"the probe did not report (exit {proc.returncode}); stderr:\n{proc.stderr[-3000:]}")
    raw = match.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")
    return json.loads(raw), proc.stderr


@pytest.fixture(scope="module")
def browser() -> str:
    path = _browser()
    if path is None:
        pytest.skip("no Chromium on PATH: install it with `apt-get install -y chromium` to run the browser check")
    return path


@pytest.fixture(scope="module")
def report(tmp_path_factory, renderer) -> Path:
    helpers = _load_test_render()
    base = tmp_path_factory.mktemp(f"browser-{renderer}")
    nb1 = helpers.make_notebook(base / "10_metrics.ipynb")
    nb2 = helpers.make_notebook(base / "20_journeys.ipynb", title="Journeys", fig_label="fig-b",
                                tbl_label="tbl-journeys")
    return render_report([nb1, nb2], base / "out", title="Quarterly CX report", engine=renderer).html


def test_report_opens_offline_without_errors(browser, report, tmp_path):
    probe, _ = run_probe(browser, report, tmp_path)
    assert probe["resourceErrors"] == []
    assert probe["scriptErrors"] == []
    assert probe["console"] == []
    assert probe["fetched"] == []  # every resource is embedded: nothing goes to the network
    assert probe["images"] == 2 and probe["decoded"] == 2
    assert probe["title"] == "Quarterly CX report"
    assert probe["h1"] == ["Quarterly CX report", "1 Customer metrics", "2 Journeys"]
    assert probe["tocLinks"] == 4 and probe["tables"] == 2 and probe["math"] == 2
    assert "system-ui" in probe["bodyFont"]  # the embedded report.css applies


def test_probe_catches_broken_and_external_resources(browser, report, tmp_path):
    """The check itself must fail on a broken image and on an external stylesheet."""
    broken = tmp_path / "broken.html"
    html = report.read_text(encoding="utf-8")
    html = html.replace("</body>", '<img src="data:image/png;base64,AAAA" alt="broken"/>'
                                   '<link rel="stylesheet" href="https://cdn.example.invalid/x.css"/></body>')
    broken.write_text(html, encoding="utf-8")
    probe, _ = run_probe(browser, broken, tmp_path)
    assert probe["images"] == 3 and probe["decoded"] == 2
    assert any("IMG" in e for e in probe["resourceErrors"])
    assert any("cdn.example.invalid" in e for e in probe["resourceErrors"])


def test_journey_sankey_draws_offline(browser, tmp_path, renderer):
    """The interactive flow figure of the journeys section draws its nodes and links in the browser, offline."""
    import nbformat
    import pandas as pd

    from cxlib.sections.journeys import interactive_figure
    from cxlib.plots import journey as pj

    paths = pd.DataFrame({"path": ["a > b", "b", "a"], "journeys": [10, 5, 3],
                                            "conversions": [4, 0, 1]})
    shown = interactive_figure(pj.path_flow(paths).figure, pj.path_flow_interactive(paths), div_id="flow-1",
                               alt="Flow")
    data, meta = shown._repr_mimebundle_()
    cell = nbformat.v4.new_code_cell('#| label: fig-flow\n#| fig-cap: "Top paths."\nflow', execution_count=1)
    cell.outputs = [nbformat.v4.new_output("display_data", data=data, metadata=meta)]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_raw_cell('---\ntitle: "Journeys"\n---'), cell])
    nbformat.write(nb, tmp_path / "20_journeys.ipynb")
    html = render_report([tmp_path / "20_journeys.ipynb"], tmp_path / "out", title="R", engine=renderer).html
    text = html.read_text(encoding="utf-8")
    assert "require.min.js" not in text and "jquery" not in text.lower()  # no CDN script, not even a dead link
    probe, _ = run_probe(browser, html, tmp_path)
    assert probe["scriptErrors"] == [] and probe["resourceErrors"] == [] and probe["fetched"] == []
    assert probe["console"] == []  # "define is not defined" was Quarto's CDN require.js missing offline
    assert probe["images"] == 0  # the static PNG stays out of the HTML
    page = tmp_path / "dom.html"
    page.write_text(html.read_text(encoding="utf-8"), encoding="utf-8")
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage",
           f"--user-data-dir={tmp_path / 'profile2'}", "--host-resolver-rules=MAP * ~NOTFOUND",
           "--virtual-time-budget=5000", "--dump-dom", page.as_uri()]
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout
    # nodes: a, b (step 1), b (step 2), converted / not converted at steps 2 and 3 -> 7; links: a->b and 5 ends
    assert len(re.findall(r'<g class="sankey-node"', dom)) == 7
    assert len(re.findall(r'class="sankey-link"', dom)) == 6
